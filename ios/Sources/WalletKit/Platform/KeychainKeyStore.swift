// `KeychainKeyStore`: the wallet store's data key kept in the Keychain. Apple platforms only:
// compiled where the Security framework exists. NOT compiled or run on the project's Linux
// machines; `FileKeyStore` is the portable implementation of the same contract (see
// KeyReference.swift) and is what the tests here exercise.

#if canImport(Security)
import Foundation
import Security
import WalletFFI

/// Keeps each data key in a generic-password Keychain item (`kSecClassGenericPassword`,
/// service `service`, account = alias, `kSecAttrAccessibleWhenUnlockedThisDeviceOnly`: never in
/// backups, never on another device) and gives the library a `KeyReference` to it.
/// Unwrapping fails with `KeyStoreFfiError.Unwrap` when the item is gone (`key_missing`) or
/// holds another key (`key_mismatch`), and with `KeyStoreFfiError.Failure` code
/// `user_not_authenticated` while the device is locked.
public final class KeychainKeyStore: KeyStore, @unchecked Sendable {
    /// `kSecAttrService` of the items.
    public let service: String
    /// Keychain access group (`keychain-access-groups` entitlement), or the app's default group.
    public let accessGroup: String?

    /// A key store writing items of `service`.
    public init(service: String = "org.openwallet.wallet.data-key", accessGroup: String? = nil) {
        self.service = service
        self.accessGroup = accessGroup
    }

    public func wrapKey(alias: String, key: Data) throws -> Data {
        let reference = KeyReference.random()
        try deleteKey(alias: alias)
        var item = baseQuery(alias)
        item[kSecValueData as String] = reference.entry(for: key)
        item[kSecAttrAccessible as String] = kSecAttrAccessibleWhenUnlockedThisDeviceOnly
        let status = SecItemAdd(item as CFDictionary, nil)
        guard status == errSecSuccess else { throw Self.failure("add_item", status) }
        return reference.encoded
    }

    public func unwrapKey(alias: String, wrapped: Data) throws -> Data {
        let reference = try KeyReference(decoding: wrapped)
        var query = baseQuery(alias)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var result: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &result)
        switch status {
        case errSecSuccess:
            guard let entry = result as? Data else {
                throw KeyStoreFfiError.Unwrap(code: "key_missing", errorMessage: "Keychain item \(alias) has no data")
            }
            return try reference.key(in: entry)
        case errSecItemNotFound:
            throw KeyStoreFfiError.Unwrap(code: "key_missing", errorMessage: "no Keychain item \(alias)")
        default:
            throw Self.failure("copy_item", status)
        }
    }

    /// Deletes the item of `alias` (no error when there is none). The wallet whose store it
    /// wraps can no longer be opened.
    public func deleteKey(alias: String) throws {
        let status = SecItemDelete(baseQuery(alias) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw Self.failure("delete_item", status)
        }
    }

    private func baseQuery(_ alias: String) -> [String: Any] {
        var query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: alias,
        ]
        if let accessGroup { query[kSecAttrAccessGroup as String] = accessGroup }
        #if os(macOS)
        query[kSecUseDataProtectionKeychain as String] = true
        #endif
        return query
    }

    private static func failure(_ operation: String, _ status: OSStatus) -> KeyStoreFfiError {
        let text = (SecCopyErrorMessageString(status, nil) as String?) ?? "OSStatus \(status)"
        let code = status == errSecInteractionNotAllowed ? "user_not_authenticated" : "keychain_\(operation)"
        return .Failure(code: code, errorMessage: "\(operation): \(text)")
    }
}
#endif
