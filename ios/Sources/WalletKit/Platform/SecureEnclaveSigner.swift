// `SecureEnclaveSigner`: the device key of non-SE remote payment, a P-256 key generated inside
// the Secure Enclave (it never leaves it), behind an access-control policy (biometry or device
// passcode). Apple platforms only: compiled where the Security framework exists.
// NOT compiled or run on the project's Linux machines; see ios/README.md.

#if canImport(Security)
import Foundation
import Security
import WalletFFI
#if canImport(LocalAuthentication)
import LocalAuthentication
#endif
#if canImport(CryptoKit)
import CryptoKit
#endif

/// A `Signer` whose keys are Secure Enclave P-256 keys, one Keychain key item per alias
/// (`kSecAttrApplicationTag` = `tagPrefix + alias`).
///
/// - Keys are created with `SecKeyCreateRandomKey` (`kSecAttrTokenIDSecureEnclave`,
///   `kSecAttrAccessibleWhenUnlockedThisDeviceOnly`, `.privateKeyUsage` plus the chosen
///   `UserPresence` policy).
/// - Signatures are `SecKeyCreateSignature(.ecdsaSignatureMessageX962SHA256)`: SHA-256 inside,
///   ASN.1 DER out, as the library expects.
/// - Public keys are `SecKeyCopyExternalRepresentation` of the public key: SEC1 uncompressed.
///
/// A signature that needs biometry shows the system prompt on the calling (library) thread; an
/// app that authenticated the user already passes its `LAContext` as `authenticationContext`.
/// A missing key (deleted, or invalidated by new biometry with `.biometryCurrentSet`) throws
/// `SignerFfiError.KeyNotFound`; a cancelled or failed authentication
/// `SignerFfiError.UserNotAuthenticated`.
public final class SecureEnclaveSigner: Signer, @unchecked Sendable {
    /// Who must be present for each signature.
    public enum UserPresence: Sendable {
        /// Only an unlocked device (`.privateKeyUsage` alone).
        case unlockedDevice
        /// Face ID / Touch ID of the currently enrolled biometry; re-enrolment invalidates the key.
        case biometryCurrentSet
        /// Biometry, falling back to the device passcode.
        case userPresence
        /// The device passcode.
        case devicePasscode

        var flags: SecAccessControlCreateFlags {
            switch self {
            case .unlockedDevice: return [.privateKeyUsage]
            case .biometryCurrentSet: return [.privateKeyUsage, .biometryCurrentSet]
            case .userPresence: return [.privateKeyUsage, .userPresence]
            case .devicePasscode: return [.privateKeyUsage, .devicePasscode]
            }
        }
    }

    /// Prefix of every key's application tag.
    public let tagPrefix: String
    /// The policy new keys get.
    public let userPresence: UserPresence
    /// Keychain access group of the keys (`keychain-access-groups` entitlement), or the app's
    /// default group.
    public let accessGroup: String?
    #if canImport(LocalAuthentication)
    /// An authentication the app already performed, reused for signatures (no second prompt).
    public let authenticationContext: LAContext?
    #endif

    /// Whether this device has a Secure Enclave the signer can use (false in most simulators
    /// and on Macs without one).
    public static var isAvailable: Bool {
        #if canImport(CryptoKit)
        return SecureEnclave.isAvailable
        #else
        return false
        #endif
    }

    #if canImport(LocalAuthentication)
    /// A signer for keys tagged `tagPrefix + alias`, created with `userPresence`.
    public init(
        tagPrefix: String = "org.openwallet.wallet.device-key.", userPresence: UserPresence = .userPresence,
        accessGroup: String? = nil, authenticationContext: LAContext? = nil
    ) {
        self.tagPrefix = tagPrefix
        self.userPresence = userPresence
        self.accessGroup = accessGroup
        self.authenticationContext = authenticationContext
    }
    #else
    /// A signer for keys tagged `tagPrefix + alias`, created with `userPresence`.
    public init(
        tagPrefix: String = "org.openwallet.wallet.device-key.", userPresence: UserPresence = .userPresence,
        accessGroup: String? = nil
    ) {
        self.tagPrefix = tagPrefix
        self.userPresence = userPresence
        self.accessGroup = accessGroup
    }
    #endif

    public func generateKey(alias: String) throws -> Data {
        try deleteKey(alias: alias)
        var error: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(
            kCFAllocatorDefault, kSecAttrAccessibleWhenUnlockedThisDeviceOnly, userPresence.flags, &error)
        else {
            throw Self.signerError("access_control", error)
        }
        var attributes: [String: Any] = [
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrKeySizeInBits as String: 256,
            kSecAttrTokenID as String: kSecAttrTokenIDSecureEnclave,
            kSecPrivateKeyAttrs as String: [
                kSecAttrIsPermanent as String: true,
                kSecAttrApplicationTag as String: tag(alias),
                kSecAttrAccessControl as String: access,
            ] as [String: Any],
        ]
        if let accessGroup { attributes[kSecAttrAccessGroup as String] = accessGroup }
        guard let key = SecKeyCreateRandomKey(attributes as CFDictionary, &error) else {
            throw Self.signerError("create_key", error)
        }
        return try Self.publicKeyData(of: key)
    }

    public func publicKey(alias: String) throws -> Data? {
        guard let key = try privateKey(alias: alias) else { return nil }
        return try Self.publicKeyData(of: key)
    }

    public func sign(alias: String, message: Data) throws -> Data {
        guard let key = try privateKey(alias: alias) else {
            throw SignerFfiError.KeyNotFound(errorMessage: "no Secure Enclave key \(alias)")
        }
        var error: Unmanaged<CFError>?
        guard let signature = SecKeyCreateSignature(
            key, .ecdsaSignatureMessageX962SHA256, message as CFData, &error)
        else {
            throw Self.signerError("sign", error)
        }
        return signature as Data
    }

    public func deleteKey(alias: String) throws {
        let status = SecItemDelete(baseQuery(alias) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw Self.statusError("delete_key", status)
        }
    }

    private func tag(_ alias: String) -> Data { Data((tagPrefix + alias).utf8) }

    private func baseQuery(_ alias: String) -> [String: Any] {
        var query: [String: Any] = [
            kSecClass as String: kSecClassKey,
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrApplicationTag as String: tag(alias),
        ]
        if let accessGroup { query[kSecAttrAccessGroup as String] = accessGroup }
        return query
    }

    /// The private key reference of `alias` (a handle: the key stays in the Secure Enclave).
    private func privateKey(alias: String) throws -> SecKey? {
        var query = baseQuery(alias)
        query[kSecAttrKeyClass as String] = kSecAttrKeyClassPrivate
        query[kSecReturnRef as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        #if canImport(LocalAuthentication)
        if let authenticationContext { query[kSecUseAuthenticationContext as String] = authenticationContext }
        #endif
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let item, CFGetTypeID(item) == SecKeyGetTypeID() else {
                throw SignerFfiError.Platform(code: "keychain_item", errorMessage: "item \(alias) is not a key")
            }
            return unsafeBitCast(item, to: SecKey.self)
        case errSecItemNotFound:
            return nil
        default:
            throw Self.statusError("find_key", status)
        }
    }

    private static func publicKeyData(of privateKey: SecKey) throws -> Data {
        guard let publicKey = SecKeyCopyPublicKey(privateKey) else {
            throw SignerFfiError.Platform(code: "public_key", errorMessage: "no public key")
        }
        var error: Unmanaged<CFError>?
        guard let data = SecKeyCopyExternalRepresentation(publicKey, &error) else {
            throw signerError("export_public_key", error)
        }
        return data as Data
    }

    /// Authentication failures become `UserNotAuthenticated`; the rest `Platform(code:)`.
    private static func signerError(_ code: String, _ error: Unmanaged<CFError>?) -> SignerFfiError {
        guard let cfError = error?.takeRetainedValue() else {
            return .Platform(code: code, errorMessage: "\(code) failed")
        }
        let nsError = cfError as Error as NSError
        if nsError.domain == NSOSStatusErrorDomain, isAuthenticationStatus(OSStatus(nsError.code)) {
            return .UserNotAuthenticated(errorMessage: nsError.localizedDescription)
        }
        #if canImport(LocalAuthentication)
        if nsError.domain == LAErrorDomain {
            return .UserNotAuthenticated(errorMessage: nsError.localizedDescription)
        }
        #endif
        return .Platform(code: code, errorMessage: "\(nsError.domain) \(nsError.code): \(nsError.localizedDescription)")
    }

    private static func statusError(_ code: String, _ status: OSStatus) -> SignerFfiError {
        let text = (SecCopyErrorMessageString(status, nil) as String?) ?? "OSStatus \(status)"
        if isAuthenticationStatus(status) { return .UserNotAuthenticated(errorMessage: text) }
        return .Platform(code: code, errorMessage: text)
    }

    private static func isAuthenticationStatus(_ status: OSStatus) -> Bool {
        status == errSecUserCanceled || status == errSecAuthFailed || status == errSecInteractionNotAllowed
    }
}

#endif
