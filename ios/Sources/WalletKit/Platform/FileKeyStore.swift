// `FileKeyStore`: the portable `KeyStore` (Linux, headless tools, tests): the data key is kept in
// an owner-only file in a directory of its own, and the library stores only a reference to it —
// the same contract as `KeychainKeyStore`, with a file instead of a Keychain item.

import Foundation
import WalletFFI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps each data key in `<directory>/<alias>.key` (mode 0600; the directory 0700) and gives the
/// library a `KeyReference`. Put the directory apart from the wallet's data directory (a file
/// next to the store protects nothing). Unwrapping fails with `KeyStoreFfiError.Unwrap` when the
/// file is gone (`key_missing`) or holds another key (`key_mismatch`).
public final class FileKeyStore: KeyStore, @unchecked Sendable {
    /// Where the key files live.
    public let directory: URL
    private let lock = NSLock()

    /// A key store over `directory` (created on the first `wrapKey`).
    public init(directory: URL) {
        self.directory = directory
    }

    /// The file holding the key `alias` (aliases are restricted to a safe file-name alphabet).
    public func fileURL(alias: String) throws -> URL {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        guard !alias.isEmpty, !alias.hasPrefix("."), alias.allSatisfy(allowed.contains) else {
            throw KeyStoreFfiError.Failure(code: "invalid_alias", errorMessage: "alias \(alias) is not a file name")
        }
        return directory.appendingPathComponent("\(alias).key")
    }

    public func wrapKey(alias: String, key: Data) throws -> Data {
        let file = try fileURL(alias: alias)
        let reference = KeyReference.random()
        lock.lock()
        defer { lock.unlock() }
        do {
            let manager = FileManager.default
            try manager.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let partial = directory.appendingPathComponent(".\(alias).key.partial")
            try? manager.removeItem(at: partial)
            guard manager.createFile(
                atPath: partial.path, contents: reference.entry(for: key), attributes: [.posixPermissions: 0o600])
            else {
                throw KeyStoreFfiError.Failure(code: "io", errorMessage: "cannot write \(partial.path)")
            }
            // rename(2) replaces an older key file atomically.
            guard rename(partial.path, file.path) == 0 else {
                let reason = String(cString: strerror(errno))
                try? manager.removeItem(at: partial)
                throw KeyStoreFfiError.Failure(code: "io", errorMessage: "cannot replace \(file.path): \(reason)")
            }
        } catch let error as KeyStoreFfiError {
            throw error
        } catch {
            throw KeyStoreFfiError.Failure(code: "io", errorMessage: "storing key \(alias): \(error)")
        }
        return reference.encoded
    }

    public func unwrapKey(alias: String, wrapped: Data) throws -> Data {
        let reference = try KeyReference(decoding: wrapped)
        let file = try fileURL(alias: alias)
        lock.lock()
        defer { lock.unlock() }
        guard let entry = FileManager.default.contents(atPath: file.path) else {
            throw KeyStoreFfiError.Unwrap(code: "key_missing", errorMessage: "no key file \(file.path)")
        }
        return try reference.key(in: entry)
    }

    /// Deletes the key `alias` (no error when there is none). The wallet whose store it wraps
    /// can no longer be opened.
    public func deleteKey(alias: String) throws {
        let file = try fileURL(alias: alias)
        lock.lock()
        defer { lock.unlock() }
        if FileManager.default.fileExists(atPath: file.path) {
            do {
                try FileManager.default.removeItem(at: file)
            } catch {
                throw KeyStoreFfiError.Failure(code: "io", errorMessage: "deleting key \(alias): \(error)")
            }
        }
    }
}
