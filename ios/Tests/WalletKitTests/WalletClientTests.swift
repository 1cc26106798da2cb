import Foundation
import WalletKit
import XCTest

/// `WalletClient` end to end against the mock backend (WALLET_BACKEND_URL): non-SE remote
/// payment with a Swift signer and a file-backed key store, history, card status, and every
/// kind of typed error arriving as a `WalletError`.
final class WalletClientTests: XCTestCase {
    private var url = ""
    private var tmp = URL(fileURLWithPath: "/")

    override func setUpWithError() throws {
        guard let backend = backendURL() else { throw XCTSkip("WALLET_BACKEND_URL not set") }
        url = backend
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("wallet-client-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: tmp)
    }

    private func config(_ sub: String, backend: String? = nil) -> WalletConfig {
        WalletConfig(
            dataDir: tmp.appendingPathComponent(sub).path, backendUrl: backend ?? url, requestTimeoutMs: 10_000,
            maxRetries: 0, otaMaxDelayMs: 5)
    }

    /// Binds the mock DebitCard through the client; returns the binding id.
    private func bind(_ client: WalletClient) async throws -> String {
        let pending = try await client.beginBinding(
            pan: DebitCard.pan, holderName: DebitCard.name, idNumber: DebitCard.idNumber, phone: DebitCard.phone)
        let code = try await lastSmsCode(url: url, phone: DebitCard.phone)
        return try await client.confirmBinding(sessionId: pending.sessionId, otp: code).bindingId
    }

    func testBindPayReadHistoryAndCardStatus() async throws {
        let signer = SwiftSigner()
        let keys = FileKeyStore(directory: tmp.appendingPathComponent("keys"))
        let merchant = try MockMerchant(backendUrl: url)
        let client = try WalletClient(config: config("w"), signer: signer, keyStore: keys)

        let bindingId = try await bind(client)
        XCTAssertEqual(try client.bindings().map(\.bindingId), [bindingId])
        XCTAssertEqual(signer.count("generate:"), 1, "the device key comes from the Swift signer")
        let status = try await client.setPaymentPassword(bindingId: bindingId, password: "246810")
        XCTAssertEqual(status.attemptsLeft, 5)

        // Pay a merchant order in non-SE mode: the Swift signer signs the payment message.
        let coffee = try await merchant.createOrder(amountFen: 2500, description: "coffee")
        let shown = try await client.fetchOrder(coffee.orderId)
        XCTAssertEqual(shown.amount, 2500)
        XCTAssertEqual(shown.status, .pending)
        let signs = signer.count("sign:")
        let paid = try await client.pay(orderId: coffee.orderId, bindingId: bindingId, password: "246810")
        XCTAssertEqual(signer.count("sign:"), signs + 1)
        XCTAssertEqual(paid.auth, .password)
        XCTAssertEqual(paid.amount, 2500)
        XCTAssertEqual(paid.maskedPan, "622202******7894")
        let settled = try await merchant.order(orderId: coffee.orderId)
        XCTAssertEqual(settled.status, .paid)
        XCTAssertEqual(settled.paymentId, paid.paymentId)

        // History: locally, then from the back end.
        XCTAssertEqual(try client.paymentHistory().map(\.paymentId), [paid.paymentId])
        let synced = try await client.syncPaymentHistory(bindingId: bindingId)
        XCTAssertEqual(synced.map(\.paymentId), [paid.paymentId])

        // Card status: open the card in the simulated eSE (progress as an async stream), then
        // read it back locally and from the SE / TSM.
        client.attachSecureElements(try SimulatedSecureElements.open(dir: tmp.appendingPathComponent("se").path))
        var percents: [UInt8] = []
        var opened: SeCard?
        for try await update in client.openCard(bindingId: bindingId, preferred: .ese) {
            switch update {
            case let .progress(progress): percents.append(progress.percent)
            case let .opened(card): opened = card
            }
        }
        let card = try XCTUnwrap(opened)
        XCTAssertFalse(percents.isEmpty)
        XCTAssertEqual(percents, percents.sorted(), "progress went backwards")
        XCTAssertEqual(try client.cards().map(\.seId), [card.seId])
        let read = try await client.cardStatus(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(read.state, .active)
        XCTAssertEqual(read.maskedPan, card.maskedPan)
        XCTAssertEqual(read.bindingId, bindingId)
        let locked = try await client.lockCard(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(locked.state, .locked)
        let lockedStatus = try await client.cardStatus(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(lockedStatus.state, .locked)
    }

    func testEveryKindOfTypedErrorIsAWalletError() async throws {
        let client = try WalletClient(config: config("e"), signer: SwiftSigner())
        let merchant = try MockMerchant(backendUrl: url)
        let bindingId = try await bind(client)
        _ = try await client.setPaymentPassword(bindingId: bindingId, password: "135790")
        let order = try await merchant.createOrder(amountFen: 300, description: "bun")

        // Wrong password, with the tries left.
        let wrong = await walletError { _ = try await client.pay(orderId: order.orderId, bindingId: bindingId, password: "000000") }
        guard case let .wrongCode(code, _, attemptsLeft) = wrong else { return XCTFail("\(String(describing: wrong))") }
        XCTAssertEqual(code, "password_wrong")
        XCTAssertEqual(attemptsLeft, 4)
        XCTAssertEqual(wrong?.attemptsLeft, 4)
        let again = await walletError { _ = try await client.pay(orderId: order.orderId, bindingId: bindingId, password: "000001") }
        XCTAssertEqual(again?.attemptsLeft, 3)

        // Already paid.
        _ = try await client.pay(orderId: order.orderId, bindingId: bindingId, password: "135790")
        let twice = await walletError { _ = try await client.pay(orderId: order.orderId, bindingId: bindingId, password: "135790") }
        guard case .payment(code: "order_already_paid", _) = twice else { return XCTFail("\(String(describing: twice))") }

        // Not found.
        let noOrder = await walletError { _ = try await client.fetchOrder("no-such-order-42") }
        guard case .notFound(code: "order_not_found", _) = noOrder else { return XCTFail("\(String(describing: noOrder))") }
        let noBinding = await walletError { try await client.unbind(bindingId: "no-such-binding") }
        guard case .notFound(code: "binding_not_found", _) = noBinding else { return XCTFail("\(String(describing: noBinding))") }

        // Invalid input (checked locally, nothing sent).
        let badPassword = await walletError { _ = try await client.setPaymentPassword(bindingId: bindingId, password: "12ab") }
        guard case .invalidInput(code: "invalid_password", _) = badPassword else { return XCTFail("\(String(describing: badPassword))") }
        let badOrder = await walletError { _ = try await client.fetchOrder("a/b") }
        guard case .invalidInput(code: "invalid_order_id", _) = badOrder else { return XCTFail("\(String(describing: badOrder))") }
        let badCard = await walletError {
            _ = try await client.beginBinding(pan: "6222021234567895", holderName: "张三", idNumber: "1233", phone: "13800138000")
        }
        XCTAssertEqual(badCard?.code, "invalid_card_number")

        // No secure element attached: a card error, not a crash.
        let noSe = await walletError { _ = try await client.cardStatus(bindingId: bindingId, seId: "no-such-se") }
        guard case .card = noSe else { return XCTFail("\(String(describing: noSe))") }

        // Network (transient) and configuration errors.
        let offline = try WalletClient(config: config("o", backend: "http://127.0.0.1:\(closedPort())"))
        let network = await walletError { _ = try await offline.fetchOrder(order.orderId) }
        guard case .network(code: "unreachable", _) = network else { return XCTFail("\(String(describing: network))") }
        XCTAssertEqual(network?.isTransient, true)
        XCTAssertThrowsError(try WalletClient(config: config("c", backend: "ftp://bank.example"))) { error in
            guard case .config(code: "invalid_url", _) = error as? WalletError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".hasPrefix("invalid_url: "), "\(error)")
        }

        // An error of the app's own callback passes through unchanged.
        struct UserClosedTheSheet: Error {}
        let next = try await merchant.createOrder(amountFen: 100, description: "tea")
        do {
            _ = try await client.pay(orderId: next.orderId, bindingId: bindingId) { _ in throw UserClosedTheSheet() }
            XCTFail("paid without a code")
        } catch is UserClosedTheSheet {}
        let unpaid = try await merchant.order(orderId: next.orderId)
        XCTAssertEqual(unpaid.status, .pending)
    }

    func testAKeyStoreThatLostTheKeyIsAWalletError() async throws {
        let keys = FileKeyStore(directory: tmp.appendingPathComponent("keys"))
        let deviceId: String
        do {
            let first = try WalletClient(config: config("k"), keyStore: keys)
            deviceId = first.deviceId
        }
        do {
            let reopened = try WalletClient(config: config("k"), keyStore: keys)
            XCTAssertEqual(reopened.deviceId, deviceId, "the same store, unwrapped by the file key store")
        }
        try keys.deleteKey(alias: "wallet-store-data-key-v1")
        XCTAssertThrowsError(try WalletClient(config: config("k"), keyStore: keys)) { error in
            guard case .keyStore(code: "key_store_unwrap", _) = error as? WalletError else { return XCTFail("\(error)") }
        }
    }
}
