import Foundation
import WalletKit
import XCTest

/// A `Signer` implemented in Swift, standing in for the Secure Enclave: WalletKit's
/// `SoftwareSigner` (CryptoKit on Apple platforms, the system's libcrypto on Linux) plus a log of
/// every call (thread-safe: the library calls it on its own threads).
final class SwiftSigner: Signer, @unchecked Sendable {
    private let keys = SoftwareSigner()
    private let lock = NSLock()
    private var _calls: [String] = []

    /// Every call, as `generate:<alias>`, `public:<alias>`, `sign:<alias>`, `delete:<alias>`.
    var calls: [String] { lock.lock(); defer { lock.unlock() }; return _calls }

    /// How many calls start with `prefix`.
    func count(_ prefix: String) -> Int { calls.filter { $0.hasPrefix(prefix) }.count }

    private func record(_ call: String) { lock.lock(); _calls.append(call); lock.unlock() }

    func generateKey(alias: String) throws -> Data {
        record("generate:\(alias)")
        return try keys.generateKey(alias: alias)
    }

    func publicKey(alias: String) throws -> Data? {
        record("public:\(alias)")
        return try keys.publicKey(alias: alias)
    }

    func sign(alias: String, message: Data) throws -> Data {
        record("sign:\(alias)")
        return try keys.sign(alias: alias, message: message)
    }

    func deleteKey(alias: String) throws {
        record("delete:\(alias)")
        try keys.deleteKey(alias: alias)
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
        _ = try await wallet.syncPaymentHistory(bindingId: bindingId)
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
