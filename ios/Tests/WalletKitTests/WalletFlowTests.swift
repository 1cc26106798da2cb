import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import WalletKit
import XCTest

/// The Wallet object's account-binding flow against the mock backend (WALLET_BACKEND_URL, see
/// scripts/with-mock-backend.sh). Test cards: mock-backend/src/bank/test_cards.rs.
final class WalletFlowTests: XCTestCase {
    let pan = "6222021234567894", holder = "张三", idNumber = "110101199003071233", phone = "13800138000"
    let dataKeyAlias = "wallet-store-data-key-v1"
    var url = ""
    var tmp = URL(fileURLWithPath: "/")

    override func setUpWithError() throws {
        guard let backend = backendURL() else { throw XCTSkip("WALLET_BACKEND_URL not set") }
        url = backend
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("wallet-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        setLogSink(sink: nil, minLevel: .error)
        try? FileManager.default.removeItem(at: tmp)
    }

    func config(_ sub: String = "w", backend: String? = nil) -> WalletConfig {
        WalletConfig(dataDir: tmp.appendingPathComponent(sub).path, backendUrl: backend ?? url,
                     requestTimeoutMs: 5000, maxRetries: 0)
    }

    /// The last one-time code the mock SMS channel delivered to `phone`.
    func lastCode(_ phone: String) async throws -> String {
        struct Outbox: Decodable { struct Message: Decodable { let code: String }; let messages: [Message] }
        let (data, _) = try await URLSession.shared.data(from: URL(string: "\(url)/test/sms/outbox?phone=\(phone)")!)
        let outbox = try JSONDecoder().decode(Outbox.self, from: data)
        return try XCTUnwrap(outbox.messages.last).code
    }

    func wrongCode(_ code: String) -> String {
        let first = (Int(String(code.first!))! + 1) % 10
        return "\(first)\(code.dropFirst())"
    }

    /// The WalletFfiError thrown by `body` (fails the test when it does not throw one).
    func walletError(_ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line) async -> WalletFfiError? {
        do {
            try await body()
            XCTFail("no error", file: file, line: line)
        } catch let error as WalletFfiError {
            return error
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return nil
    }

    func testBindListUnbindWithSwiftKeyStoreAndLogs() async throws {
        let store = XorKeyStore()
        let logs = CollectingSink()
        do { // the wallet is released (its store closed) at the end of this scope
            let w = try WalletLibrary.openWallet(
                dataDirectory: tmp.appendingPathComponent("w"), backendURL: url, keyStore: store
            ) { try? logs.log(record: $0) }
            XCTAssertEqual(w.deviceId().count, 32)
            XCTAssertEqual(store.calls, ["wrap:\(dataKeyAlias)"])

            let pending = try await w.beginBinding(pan: "6222 0212 3456 7894", holderName: holder, idNumber: "1233", phone: phone)
            XCTAssertEqual(pending.maskedPan, "622202******7894")
            XCTAssertEqual(pending.accountKind, .debit)
            XCTAssertEqual(pending.otpSentTo, "138****8000")
            XCTAssertGreaterThan(pending.otpExpiresAt, Date())
            XCTAssertEqual(try w.pendingBindings(), [pending])

            let code = try await lastCode(phone)
            let wrong = await walletError { _ = try await w.confirmBinding(sessionId: pending.sessionId, otp: self.wrongCode(code)) }
            guard case let .WrongCode(wrongCodeCode, _, attemptsLeft) = wrong else { return XCTFail("\(String(describing: wrong))") }
            XCTAssertEqual(wrongCodeCode, "otp_wrong")
            XCTAssertEqual(attemptsLeft, 4)

            let binding = try await w.confirmBinding(sessionId: pending.sessionId, otp: code)
            XCTAssertEqual(binding.maskedPan, "622202******7894")
            XCTAssertEqual(binding.issuerName, "中国工商银行")
            XCTAssertEqual(binding.holderNameMasked, "*三")
            XCTAssertEqual(try w.bindings(), [binding])
            XCTAssertEqual(try w.pendingBindings(), [])

            try await w.unbind(bindingId: binding.bindingId)
            XCTAssertEqual(try w.bindings(), [])
            let gone = await walletError { try await w.unbind(bindingId: binding.bindingId) }
            XCTAssertEqual(gone?.code, "binding_not_found")

            let messages = logs.records.filter { $0.target.hasPrefix("wallet_core::binding") }.map(\.message)
            for event in ["binding begun, code sent", "card bound", "card unbound"] {
                XCTAssertTrue(messages.contains { $0.hasPrefix(event) }, "no '\(event)' in \(messages)")
            }
            XCTAssertFalse(logs.records.contains { $0.message.contains(pan) }, "full card number logged")
        }
        let reopened = try Wallet.open(config: config(), keyStore: store)
        XCTAssertEqual(store.calls.last, "unwrap:\(dataKeyAlias)")
        XCTAssertEqual(try reopened.bindings(), [])
    }

    func testLocalChecksAndBankRejections() async throws {
        let wallet = try Wallet.open(config: config())
        func beginError(pan: String? = nil, name: String? = nil, id: String? = nil, phone: String? = nil) async -> String {
            let error = await walletError {
                _ = try await wallet.beginBinding(pan: pan ?? self.pan, holderName: name ?? self.holder,
                                                  idNumber: id ?? self.idNumber, phone: phone ?? self.phone)
            }
            guard let error else { return "none" }
            let kind = "\(error)".prefix { $0 != "(" }
            return "\(kind)/\(error.code)"
        }
        let a = await beginError(pan: "6222021234567895")
        XCTAssertEqual(a, "InvalidInput/invalid_card_number")
        let b = await beginError(phone: "12345")
        XCTAssertEqual(b, "InvalidInput/invalid_phone")
        let c = await beginError(name: "  ")
        XCTAssertEqual(c, "InvalidInput/invalid_holder_name")
        let d = await beginError(pan: "6222029999999996")
        XCTAssertEqual(d, "CardRejected/unknown_card")
        let e = await beginError(name: "李四")
        XCTAssertEqual(e, "CardRejected/name_mismatch")
        let f = await beginError(id: "9999")
        XCTAssertEqual(f, "CardRejected/id_mismatch")
        let g = await beginError(phone: "13900139000")
        XCTAssertEqual(g, "CardRejected/phone_mismatch")
        let h = await beginError(pan: "6217001234567893", name: "陈七", id: "5676", phone: "18812345678")
        XCTAssertEqual(h, "CardRejected/card_not_eligible")
        let session = await walletError { _ = try await wallet.confirmBinding(sessionId: "no-such-session", otp: "123456") }
        guard case .NotFound(code: "session_not_found", _) = session else { return XCTFail("\(String(describing: session))") }
        let otp = await walletError { _ = try await wallet.confirmBinding(sessionId: "no-such-session", otp: "12ab") }
        guard case .InvalidInput(code: "invalid_otp", _) = otp else { return XCTFail("\(String(describing: otp))") }
    }

    func testCodeLocksAfterFiveWrongTries() async throws {
        let wallet = try Wallet.open(config: config())
        let pending = try await wallet.beginBinding(pan: "6259651234567894", holderName: "李四",
                                                    idNumber: "31010419851215002x", phone: "13912345678")
        let wrong = wrongCode(try await lastCode("13912345678"))
        for left in [UInt32(4), 3, 2, 1] {
            let error = await walletError { _ = try await wallet.confirmBinding(sessionId: pending.sessionId, otp: wrong) }
            guard case let .WrongCode(_, _, attemptsLeft) = error else { return XCTFail("\(String(describing: error))") }
            XCTAssertEqual(attemptsLeft, left)
        }
        let locked = await walletError { _ = try await wallet.confirmBinding(sessionId: pending.sessionId, otp: wrong) }
        guard case .CodeUnusable(code: "otp_locked", _) = locked else { return XCTFail("\(String(describing: locked))") }
        XCTAssertEqual(try wallet.pendingBindings(), [])
    }

    func testNetworkBackendAndConfigurationErrors() async throws {
        let offline = try Wallet.open(config: config("a", backend: "http://127.0.0.1:\(closedPort())"))
        let network = await walletError {
            _ = try await offline.beginBinding(pan: self.pan, holderName: self.holder, idNumber: self.idNumber, phone: self.phone)
        }
        guard case .Network(code: "unreachable", _) = network else { return XCTFail("\(String(describing: network))") }
        XCTAssertEqual(network?.isTransient, true)

        let misrouted = try Wallet.open(config: config("b", backend: "\(url)/no-such-prefix/"))
        let backend = await walletError {
            _ = try await misrouted.beginBinding(pan: self.pan, holderName: self.holder, idNumber: self.idNumber, phone: self.phone)
        }
        guard case .Backend = backend else { return XCTFail("\(String(describing: backend))") }

        XCTAssertThrowsError(try Wallet.open(config: config("c", backend: "ftp://bank.example"))) { error in
            XCTAssertEqual(error as? WalletFfiError, .Config(code: "invalid_url", errorMessage: (error as? WalletFfiError).map(\.message) ?? ""))
        }
        let file = tmp.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try Wallet.open(config: WalletConfig(dataDir: file.path, backendUrl: url))) { error in
            XCTAssertEqual((error as? WalletFfiError)?.code, "data_dir")
        }
    }

    func testKeyStoreAndStorageErrors() throws {
        final class Refusing: KeyStore, @unchecked Sendable {
            func wrapKey(alias: String, key: Data) throws -> Data {
                throw KeyStoreFfiError.Failure(code: "user_not_authenticated", errorMessage: "unlock the device first")
            }
            func unwrapKey(alias: String, wrapped: Data) throws -> Data {
                throw KeyStoreFfiError.Unwrap(code: "tampered", errorMessage: "wrapped key failed to authenticate")
            }
        }
        XCTAssertThrowsError(try Wallet.open(config: config("k"), keyStore: Refusing())) { error in
            guard case let .KeyStore(code, message) = error as? WalletFfiError else { return XCTFail("\(error)") }
            XCTAssertEqual(code, "key_store_failure")
            XCTAssertTrue(message.hasPrefix("user_not_authenticated"), message)
        }
        do { _ = try Wallet.open(config: config("s"), keyStore: XorKeyStore()) }
        XCTAssertThrowsError(try Wallet.open(config: config("s"), keyStore: Refusing())) { error in
            XCTAssertEqual((error as? WalletFfiError)?.code, "key_store_unwrap")
        }
        let meta = tmp.appendingPathComponent("s/store/store-meta.json")
        XCTAssertTrue(FileManager.default.fileExists(atPath: meta.path))
        try Data("not json".utf8).write(to: meta)
        XCTAssertThrowsError(try Wallet.open(config: config("s"), keyStore: XorKeyStore())) { error in
            guard case .Storage(code: "store_corrupt", _) = error as? WalletFfiError else { return XCTFail("\(error)") }
        }
    }
}

private extension WalletFfiError {
    /// The human-readable text of any case.
    var message: String {
        switch self {
        case let .Config(_, m), let .InvalidInput(_, m), let .CardRejected(_, m), let .WrongCode(_, m, _),
            let .CodeUnusable(_, m), let .NotFound(_, m), let .Network(_, m), let .Backend(_, m),
            let .Card(_, m), let .Storage(_, m), let .KeyStore(_, m), let .Payment(_, m), let .Signer(_, m):
            return m
        }
    }
}
