// `SoftwareSigner`: a portable `Signer` whose P-256 keys live in process memory. Apple
// platforms use CryptoKit; Linux (no CryptoKit, and swift-crypto cannot be fetched offline) uses
// the system's OpenSSL `libcrypto.so.3` through `dlopen`. For tests, headless tools and
// development on Linux; an app uses `SecureEnclaveSigner`.

import Foundation
import WalletFFI

#if canImport(CryptoKit)
import CryptoKit

/// One P-256 key pair of `SoftwareSigner`, from CryptoKit.
final class SoftwareP256KeyPair: @unchecked Sendable {
    private let key = P256.Signing.PrivateKey()

    init() throws {}

    /// SEC1 uncompressed (`04 ‖ X ‖ Y`).
    var publicKey: Data { key.publicKey.x963Representation }

    /// ECDSA P-256 over SHA-256(message), ASN.1 DER.
    func sign(_ message: Data) throws -> Data { try key.signature(for: message).derRepresentation }
}
#elseif os(Linux)
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The system's OpenSSL (`libcrypto.so.3`, which Foundation's networking already depends on),
/// loaded with `dlopen`: only the few EC functions the signer needs, through their C ABI.
final class LibCrypto: @unchecked Sendable {
    typealias NewByCurveName = @convention(c) (Int32) -> OpaquePointer?
    typealias KeyToInt = @convention(c) (OpaquePointer?) -> Int32
    typealias KeyToPointer = @convention(c) (OpaquePointer?) -> OpaquePointer?
    typealias PointToOctets = @convention(c) (
        OpaquePointer?, OpaquePointer?, UInt32, UnsafeMutablePointer<UInt8>?, Int, OpaquePointer?
    ) -> Int
    typealias EcdsaSign = @convention(c) (
        Int32, UnsafePointer<UInt8>?, Int32, UnsafeMutablePointer<UInt8>?,
        UnsafeMutablePointer<UInt32>?, OpaquePointer?
    ) -> Int32
    typealias Sha256 = @convention(c) (UnsafeRawPointer?, Int, UnsafeMutablePointer<UInt8>?)
        -> UnsafeMutablePointer<UInt8>?
    typealias Free = @convention(c) (OpaquePointer?) -> Void

    /// `NID_X9_62_prime256v1`.
    static let p256 = Int32(415)
    /// `POINT_CONVERSION_UNCOMPRESSED`.
    static let uncompressed = UInt32(4)
    /// Loaded once; the error says which library or symbol is missing.
    static let shared: Result<LibCrypto, SignerFfiError> = Result { try LibCrypto() }
        .mapError { $0 as? SignerFfiError ?? unavailable("\($0)") }

    let newKey: NewByCurveName, generateKey: KeyToInt, group: KeyToPointer, publicKey: KeyToPointer
    let pointToOctets: PointToOctets, signatureSize: KeyToInt, sign: EcdsaSign, sha256: Sha256
    let freeKey: Free

    private static func unavailable(_ what: String) -> SignerFfiError {
        .Platform(code: "libcrypto_unavailable", errorMessage: what)
    }

    private init() throws {
        guard let lib = dlopen("libcrypto.so.3", RTLD_NOW) else {
            throw Self.unavailable("cannot load libcrypto.so.3")
        }
        func symbol<T>(_ name: String, _: T.Type) throws -> T {
            guard let address = dlsym(lib, name) else {
                throw Self.unavailable("libcrypto.so.3 has no \(name)")
            }
            return unsafeBitCast(address, to: T.self)
        }
        newKey = try symbol("EC_KEY_new_by_curve_name", NewByCurveName.self)
        generateKey = try symbol("EC_KEY_generate_key", KeyToInt.self)
        group = try symbol("EC_KEY_get0_group", KeyToPointer.self)
        publicKey = try symbol("EC_KEY_get0_public_key", KeyToPointer.self)
        pointToOctets = try symbol("EC_POINT_point2oct", PointToOctets.self)
        signatureSize = try symbol("ECDSA_size", KeyToInt.self)
        sign = try symbol("ECDSA_sign", EcdsaSign.self)
        sha256 = try symbol("SHA256", Sha256.self)
        freeKey = try symbol("EC_KEY_free", Free.self)
    }
}

/// One P-256 key pair of `SoftwareSigner`, generated and used by the system's OpenSSL (see
/// `LibCrypto`); freed with the object.
final class SoftwareP256KeyPair: @unchecked Sendable {
    private let crypto: LibCrypto
    private let key: OpaquePointer

    init() throws {
        let crypto = try LibCrypto.shared.get()
        guard let key = crypto.newKey(LibCrypto.p256) else {
            throw SignerFfiError.Platform(code: "ec_key_new", errorMessage: "EC_KEY_new_by_curve_name failed")
        }
        guard crypto.generateKey(key) == 1 else {
            crypto.freeKey(key)
            throw SignerFfiError.Platform(code: "ec_key_generate", errorMessage: "EC_KEY_generate_key failed")
        }
        self.crypto = crypto
        self.key = key
    }

    deinit { crypto.freeKey(key) }

    /// SEC1 uncompressed (`04 ‖ X ‖ Y`).
    var publicKey: Data {
        var point = [UInt8](repeating: 0, count: 65)
        let length = crypto.pointToOctets(
            crypto.group(key), crypto.publicKey(key), LibCrypto.uncompressed, &point, point.count, nil)
        return Data(point.prefix(length))
    }

    /// ECDSA P-256 over SHA-256(message), ASN.1 DER (what `ECDSA_sign` produces).
    func sign(_ message: Data) throws -> Data {
        var digest = [UInt8](repeating: 0, count: 32)
        _ = message.withUnsafeBytes { crypto.sha256($0.baseAddress, message.count, &digest) }
        var signature = [UInt8](repeating: 0, count: Int(crypto.signatureSize(key)))
        var length = UInt32(0)
        guard crypto.sign(0, digest, Int32(digest.count), &signature, &length, key) == 1 else {
            throw SignerFfiError.Platform(code: "ecdsa_sign", errorMessage: "ECDSA_sign failed")
        }
        return Data(signature.prefix(Int(length)))
    }
}
#endif

#if canImport(CryptoKit) || os(Linux)
/// A `Signer` holding one P-256 key per alias in process memory (keys are lost with the object).
/// Thread-safe: the library calls it on its own threads. For tests, headless tools and Linux;
/// on a device use `SecureEnclaveSigner`, whose keys never leave the Secure Enclave.
public final class SoftwareSigner: Signer, @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: SoftwareP256KeyPair] = [:]

    /// An empty signer.
    public init() {}

    /// Aliases that currently have a key.
    public var aliases: [String] {
        lock.lock()
        defer { lock.unlock() }
        return keys.keys.sorted()
    }

    public func generateKey(alias: String) throws -> Data {
        let pair = try SoftwareP256KeyPair()
        lock.lock()
        keys[alias] = pair
        lock.unlock()
        return pair.publicKey
    }

    public func publicKey(alias: String) throws -> Data? {
        key(alias)?.publicKey
    }

    public func sign(alias: String, message: Data) throws -> Data {
        guard let pair = key(alias) else {
            throw SignerFfiError.KeyNotFound(errorMessage: "no key \(alias)")
        }
        return try pair.sign(message)
    }

    public func deleteKey(alias: String) throws {
        lock.lock()
        keys[alias] = nil
        lock.unlock()
    }

    private func key(_ alias: String) -> SoftwareP256KeyPair? {
        lock.lock()
        defer { lock.unlock() }
        return keys[alias]
    }
}
#endif
