import Foundation
import WalletKit
import XCTest

#if canImport(CryptoKit)
import CryptoKit

/// One P-256 key pair of `SwiftSigner`, from CryptoKit (a Secure Enclave signer would use
/// `SecureEnclave.P256.Signing.PrivateKey`, which has the same API).
final class P256KeyPair: @unchecked Sendable {
    private let key = P256.Signing.PrivateKey()

    init() throws {}

    /// SEC1 uncompressed (`04 ‖ X ‖ Y`).
    var publicKey: Data { key.publicKey.x963Representation }

    /// ECDSA P-256 / SHA-256, ASN.1 DER.
    func sign(_ message: Data) throws -> Data { try key.signature(for: message).derRepresentation }
}
#else
#if canImport(Glibc)
import Glibc
#endif

/// The system's OpenSSL (`libcrypto.so.3`, which Foundation's networking already depends on),
/// loaded with `dlopen`: Linux has no CryptoKit, and swift-crypto cannot be fetched offline.
/// Only the few EC functions the signer needs, through their C ABI.
final class LibCrypto: @unchecked Sendable {
    typealias NewByCurveName = @convention(c) (Int32) -> OpaquePointer?
    typealias KeyToInt = @convention(c) (OpaquePointer?) -> Int32
    typealias KeyToPointer = @convention(c) (OpaquePointer?) -> OpaquePointer?
    typealias PointToOctets = @convention(c) (
        OpaquePointer?, OpaquePointer?, UInt32, UnsafeMutablePointer<UInt8>?, Int, OpaquePointer?
    ) -> Int
    typealias EcdsaSign = @convention(c) (
        Int32, UnsafePointer<UInt8>?, Int32, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt32>?,
        OpaquePointer?
    ) -> Int32
    typealias Sha256 = @convention(c) (UnsafeRawPointer?, Int, UnsafeMutablePointer<UInt8>?) -> UnsafeMutablePointer<UInt8>?
    typealias Free = @convention(c) (OpaquePointer?) -> Void

    /// `NID_X9_62_prime256v1`.
    static let p256 = Int32(415)
    /// `POINT_CONVERSION_UNCOMPRESSED`.
    static let uncompressed = UInt32(4)
    /// Loaded once; `nil` if the library or a symbol is missing.
    static let shared: LibCrypto? = try? LibCrypto()

    let newKey: NewByCurveName, generateKey: KeyToInt, group: KeyToPointer, publicKey: KeyToPointer
    let pointToOctets: PointToOctets, signatureSize: KeyToInt, sign: EcdsaSign, sha256: Sha256
    let freeKey: Free

    private init() throws {
        guard let lib = dlopen("libcrypto.so.3", RTLD_NOW) else { throw TestFailure("no libcrypto.so.3") }
        func symbol<T>(_ name: String, _: T.Type) throws -> T {
            guard let address = dlsym(lib, name) else { throw TestFailure("libcrypto has no \(name)") }
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

/// One P-256 key pair of `SwiftSigner`, generated and used by the system's OpenSSL (see
/// `LibCrypto`); freed with the object.
final class P256KeyPair: @unchecked Sendable {
    private let crypto: LibCrypto
    private let key: OpaquePointer

    init() throws {
        guard let crypto = LibCrypto.shared else { throw TestFailure("OpenSSL libcrypto.so.3 unavailable") }
        guard let key = crypto.newKey(LibCrypto.p256) else { throw TestFailure("EC_KEY_new_by_curve_name") }
        guard crypto.generateKey(key) == 1 else {
            crypto.freeKey(key)
            throw TestFailure("EC_KEY_generate_key")
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

/// A `Signer` implemented in Swift, standing in for the Secure Enclave: one key pair per alias,
/// and a log of every call (thread-safe: the library calls it on its own threads).
final class SwiftSigner: Signer, @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: P256KeyPair] = [:]
    private var _calls: [String] = []

    /// Every call, as `generate:<alias>`, `public:<alias>`, `sign:<alias>`, `delete:<alias>`.
    var calls: [String] { lock.lock(); defer { lock.unlock() }; return _calls }

    /// How many calls start with `prefix`.
    func count(_ prefix: String) -> Int { calls.filter { $0.hasPrefix(prefix) }.count }

    private func record(_ call: String) { lock.lock(); _calls.append(call); lock.unlock() }

    private func key(_ alias: String) -> P256KeyPair? { lock.lock(); defer { lock.unlock() }; return keys[alias] }

    func generateKey(alias: String) throws -> Data {
        record("generate:\(alias)")
        let pair = try P256KeyPair()
        lock.lock()
        keys[alias] = pair
        lock.unlock()
        return pair.publicKey
    }

    func publicKey(alias: String) throws -> Data? {
        record("public:\(alias)")
        return key(alias)?.publicKey
    }

    func sign(alias: String, message: Data) throws -> Data {
        record("sign:\(alias)")
        guard let pair = key(alias) else { throw SignerFfiError.KeyNotFound(errorMessage: "no key \(alias)") }
        return try pair.sign(message)
    }

    func deleteKey(alias: String) throws {
        record("delete:\(alias)")
        lock.lock()
        keys[alias] = nil
        lock.unlock()
    }
}

/// Remote (in-app) payment end to end against the mock backend (WALLET_BACKEND_URL), with the
/// device key held by `SwiftSigner`: bind → set password → merchant order → pay by password (and
/// a wrong one) → pay by SMS → history. The merchant side is the test-hooks `MockMerchant`.
final class RemotePaymentTests: XCTestCase {
    private var url = ""
    private var dir: URL!

    override func setUpWithError() throws {
        guard let backend = backendURL() else { throw XCTSkip("WALLET_BACKEND_URL not set") }
        url = backend
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("remote-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    private func config(_ sub: String) -> WalletConfig {
        WalletConfig(
            dataDir: dir.appendingPathComponent(sub).path, backendUrl: url, requestTimeoutMs: 10_000,
            maxRetries: 0, otaMaxDelayMs: 5)
    }

    func testPayOrdersByPasswordAndSmsWithASwiftSigner() async throws {
        let signer = SwiftSigner()
        let merchant = try MockMerchant(backendUrl: url)
        let wallet = try Wallet.openWithSigner(config: config("w"), signer: signer)

        // The device key registered at the bank comes from the Swift signer.
        let bindingId = try await bindDebitCard(wallet, url: url)
        XCTAssertEqual(signer.count("generate:"), 1, "\(signer.calls)")
        let signsAfterBinding = signer.count("sign:")

        let password = try await wallet.setPaymentPassword(bindingId: bindingId, password: "135790")
        XCTAssertEqual(password.bindingId, bindingId)
        XCTAssertEqual(password.attemptsLeft, 5)
        XCTAssertGreaterThan(signer.count("sign:"), signsAfterBinding, "registration not signed in Swift")

        // Pay by password: a wrong one first.
        let tea = try await merchant.createOrder(amountFen: 1234, description: "green tea")
        XCTAssertEqual(tea.status, .pending)
        let fetched = try await wallet.fetchOrder(orderId: tea.orderId)
        XCTAssertEqual(fetched, tea)
        do {
            _ = try await wallet.payWithPassword(bindingId: bindingId, orderId: tea.orderId, password: "000000")
            XCTFail("a wrong password paid")
        } catch let error as WalletFfiError {
            XCTAssertEqual(error.code, "password_wrong")
            XCTAssertEqual(error.attemptsLeft, 4)
        }
        let pending = try await merchant.order(orderId: tea.orderId)
        XCTAssertEqual(pending.status, .pending)

        let signsBeforePay = signer.count("sign:")
        let paid = try await wallet.payWithPassword(bindingId: bindingId, orderId: tea.orderId, password: "135790")
        XCTAssertEqual(signer.count("sign:"), signsBeforePay + 1, "the payment message is signed once in Swift")
        XCTAssertEqual(paid.orderId, tea.orderId)
        XCTAssertEqual(paid.amount, 1234)
        XCTAssertEqual(paid.currency, "CNY")
        XCTAssertEqual(paid.auth, .password)
        XCTAssertEqual(paid.bindingId, bindingId)
        XCTAssertEqual(paid.maskedPan, "622202******7894")
        let teaNow = try await merchant.order(orderId: tea.orderId)
        XCTAssertEqual(teaNow.status, .paid)
        XCTAssertEqual(teaNow.paymentId, paid.paymentId)

        // The same order cannot be paid twice.
        do {
            _ = try await wallet.payOrder(bindingId: bindingId, orderId: tea.orderId, auth: .password(password: "135790"))
            XCTFail("paid twice")
        } catch let error as WalletFfiError {
            XCTAssertTrue(error.isPaymentRefused, "\(error)")
            XCTAssertEqual(error.code, "order_already_paid")
        }

        // Pay by SMS: the code comes from the mock SMS outbox of the card's phone.
        let cake = try await merchant.createOrder(amountFen: 888, description: "cake")
        let url = self.url
        let bySms = try await wallet.payWithSms(bindingId: bindingId, orderId: cake.orderId) { challenge in
            XCTAssertEqual(challenge.sentTo, "138****8000")
            return try await lastSmsCode(url: url, phone: DebitCard.phone)
        }
        XCTAssertEqual(bySms.auth, .sms)
        XCTAssertEqual(bySms.amount, 888)
        let cakeNow = try await merchant.order(orderId: cake.orderId)
        XCTAssertEqual(cakeNow.status, .paid)

        // History lists both payments.
        let history = try wallet.paymentHistory()
        XCTAssertEqual(Set(history.map(\.orderId)), [tea.orderId, cake.orderId])
        XCTAssertEqual(Set(history.map(\.paymentId)), [paid.paymentId, bySms.paymentId])
        try await wallet.syncPaymentHistory(bindingId: bindingId)
        XCTAssertEqual(try wallet.paymentHistory().count, 2)
    }

    func testASignerThatThrowsFailsWithATypedError() async throws {
        struct KeystoreDied: Error {}
        /// Every key operation throws an error the bindings do not declare.
        final class BrokenSigner: Signer, @unchecked Sendable {
            func generateKey(alias: String) throws -> Data { throw KeystoreDied() }
            func publicKey(alias: String) throws -> Data? { nil }
            func sign(alias: String, message: Data) throws -> Data { throw KeystoreDied() }
            func deleteKey(alias: String) throws {}
        }
        let wallet = try Wallet.openWithSigner(config: config("b"), signer: BrokenSigner())
        do {
            _ = try await bindDebitCard(wallet, url: url)
            XCTFail("bound without a device key")
        } catch let error as WalletFfiError {
            // An undeclared Swift error arrives as code `signer_failure`, never as a crash.
            guard case let .Signer(code, message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(code, "signer_failure")
            XCTAssertTrue(message.hasPrefix("foreign_exception"), message)
        }
        XCTAssertEqual(try wallet.bindings(), [])
    }

    func testPayInSeModeTheCardSignsAfterThePin() async throws {
        let signer = SwiftSigner()
        let merchant = try MockMerchant(backendUrl: url)
        let wallet = try Wallet.openWithSigner(config: config("se"), signer: signer)
        let se = try SimulatedSecureElements.open(dir: dir.appendingPathComponent("se-sim").path)
        let bindingId = try await bindDebitCard(wallet, url: url)
        wallet.attachSecureElements(transport: se)
        let card = try await wallet.openCard(bindingId: bindingId, preferred: .ese, initialEcashLoadFen: 0) { _ in }
        let order = try await merchant.createOrder(amountFen: 4200, description: "book")
        let signs = signer.count("sign:")
        do {
            _ = try await wallet.payWithSecureElement(
                bindingId: bindingId, orderId: order.orderId, seId: card.seId, pin: "000000")
            XCTFail("a wrong PIN paid")
        } catch let error as WalletFfiError {
            XCTAssertEqual(error.code, "pin_wrong")
            XCTAssertGreaterThan(error.attemptsLeft ?? 0, 0)
        }
        // Cardholder PIN of every mock test card (mock-backend/src/bank/test_cards.rs).
        let paid = try await wallet.payWithSecureElement(
            bindingId: bindingId, orderId: order.orderId, seId: card.seId, pin: "123456")
        XCTAssertEqual(paid.auth, .se)
        XCTAssertEqual(paid.amount, 4200)
        let after = try await merchant.order(orderId: order.orderId)
        XCTAssertEqual(after.status, .paid)
        XCTAssertEqual(signer.count("sign:"), signs, "SE mode must not use the device key")
    }
}
