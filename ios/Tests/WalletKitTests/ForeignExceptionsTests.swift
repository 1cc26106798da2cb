import Foundation
import WalletKit
import XCTest

/// The 16 methods of the foreign protocols.
private enum Method: String {
    case log, readers, openSession, openLogicalChannel, openBasicChannel, transmit, closeChannel, closeSession
    case onProgress, wrapKey, unwrapKey, generateKey, publicKey, sign, deleteKey, transceive
}

/// How the armed method throws.
private enum Fault {
    /// The error type its protocol declares (`SeFfiError`, `SignerFfiError`, …).
    case declared
    /// An error of another type.
    case undeclared
}

/// A Swift error the bindings do not declare.
private struct PlatformCrashed: Error, CustomStringConvertible {
    let method: Method
    var description: String { "\(method) crashed" }
}

/// One row: `method` throws as `fault`; the app sees `seen` (`ok` or `Variant/code`).
private struct Row: CustomStringConvertible {
    let method: Method, fault: Fault, seen: String
    var description: String { "\(method) \(fault)" }
}

private func both(_ method: Method, _ seen: String) -> [Row] {
    [Row(method: method, fault: .declared, seen: seen), Row(method: method, fault: .undeclared, seen: seen)]
}

/// Which method throws and how; counts calls per method and the errors thrown.
private final class Injector: @unchecked Sendable {
    private let lock = NSLock()
    private var armed: (Method, Fault)?
    private var thrown = 0
    private var calls: [Method: Int] = [:]

    func arm(_ row: Row) { lock.lock(); armed = (row.method, row.fault); thrown = 0; lock.unlock() }
    func disarm() { lock.lock(); armed = nil; lock.unlock() }
    var hits: Int { lock.lock(); defer { lock.unlock() }; return thrown }
    func calls(_ method: Method) -> Int { lock.lock(); defer { lock.unlock() }; return calls[method] ?? 0 }

    /// Records a call of `method`; throws if it is armed.
    func check(_ method: Method, _ declared: () -> Error) throws {
        lock.lock()
        calls[method, default: 0] += 1
        guard let (m, fault) = armed, m == method else { lock.unlock(); return }
        thrown += 1
        lock.unlock()
        switch fault {
        case .declared: throw declared()
        case .undeclared: throw PlatformCrashed(method: method)
        }
    }
}

/// An OMAPI-style transport over the simulator; a throwing method throws before touching it.
private final class ThrowingSe: SecureElementTransport, @unchecked Sendable {
    let inner: SecureElementTransport, inj: Injector
    init(_ inner: SecureElementTransport, _ inj: Injector) { self.inner = inner; self.inj = inj }

    func readers() throws -> [SeReaderInfo] {
        try inj.check(.readers) { SeFfiError.AccessDenied(errorMessage: "no SE permission") }
        return try inner.readers()
    }
    func openSession(reader: String) throws -> UInt64 {
        try inj.check(.openSession) { SeFfiError.Io(errorMessage: "SE not responding") }
        return try inner.openSession(reader: reader)
    }
    func openLogicalChannel(session: UInt64, aid: Data?, p2: UInt8) throws -> SeChannelOpened {
        try inj.check(.openLogicalChannel) { SeFfiError.NoFreeChannel(errorMessage: "openLogicalChannel returned nil") }
        return try inner.openLogicalChannel(session: session, aid: aid, p2: p2)
    }
    func openBasicChannel(session: UInt64, aid: Data?, p2: UInt8) throws -> SeChannelOpened {
        try inj.check(.openBasicChannel) { SeFfiError.NoFreeChannel(errorMessage: "openBasicChannel returned nil") }
        return try inner.openBasicChannel(session: session, aid: aid, p2: p2)
    }
    func transmit(channel: UInt64, apdu: Data) throws -> Data {
        try inj.check(.transmit) { SeFfiError.Io(errorMessage: "SE removed") }
        return try inner.transmit(channel: channel, apdu: apdu)
    }
    func closeChannel(channel: UInt64) throws {
        try inj.check(.closeChannel) { SeFfiError.Closed(errorMessage: "already closed") }
        try inner.closeChannel(channel: channel)
    }
    func closeSession(session: UInt64) throws {
        try inj.check(.closeSession) { SeFfiError.Io(errorMessage: "SE service died") }
        try inner.closeSession(session: session)
    }
}

private final class ThrowingSigner: Signer, @unchecked Sendable {
    let inner = SoftwareSigner(), inj: Injector
    init(_ inj: Injector) { self.inj = inj }

    func generateKey(alias: String) throws -> Data {
        try inj.check(.generateKey) { SignerFfiError.Platform(code: "strongbox_unavailable", errorMessage: "no Secure Enclave") }
        return try inner.generateKey(alias: alias)
    }
    func publicKey(alias: String) throws -> Data? {
        try inj.check(.publicKey) { SignerFfiError.KeyNotFound(errorMessage: "key invalidated by new biometrics") }
        return try inner.publicKey(alias: alias)
    }
    func sign(alias: String, message: Data) throws -> Data {
        try inj.check(.sign) { SignerFfiError.UserNotAuthenticated(errorMessage: "Face ID needed") }
        return try inner.sign(alias: alias, message: message)
    }
    func deleteKey(alias: String) throws {
        try inj.check(.deleteKey) { SignerFfiError.KeyNotFound(errorMessage: "already gone") }
        try inner.deleteKey(alias: alias)
    }
}

private final class ThrowingKeyStore: KeyStore, @unchecked Sendable {
    let inner = XorKeyStore(), inj: Injector
    init(_ inj: Injector) { self.inj = inj }

    func wrapKey(alias: String, key: Data) throws -> Data {
        try inj.check(.wrapKey) { KeyStoreFfiError.Failure(code: "user_not_authenticated", errorMessage: "unlock the device first") }
        return try inner.wrapKey(alias: alias, key: key)
    }
    func unwrapKey(alias: String, wrapped: Data) throws -> Data {
        try inj.check(.unwrapKey) { KeyStoreFfiError.Unwrap(code: "tampered", errorMessage: "item changed") }
        return try inner.unwrapKey(alias: alias, wrapped: wrapped)
    }
}

private final class ThrowingSink: LogSink, @unchecked Sendable {
    let inj: Injector, accepted = Counter()
    init(_ inj: Injector) { self.inj = inj }

    func log(record: LogRecord) throws {
        try inj.check(.log) { LogSinkError.Failed(code: "disk_full", errorMessage: "log file is full") }
        accepted.add()
    }
}

private final class ThrowingListener: CardOpeningListener, @unchecked Sendable {
    let inj: Injector, accepted = Counter()
    init(_ inj: Injector) { self.inj = inj }

    func onProgress(progress: CardOpeningProgress) throws {
        try inj.check(.onProgress) { CardListenerError.Failed(code: "ui_gone", errorMessage: "view dismissed") }
        accepted.add()
    }
}

/// The phone in the field; throws from the `failFrom`-th APDU on (0-based) while armed.
private final class ThrowingPhone: TappableCard, @unchecked Sendable {
    let wallet: Wallet, inj: Injector, failFrom: Int, apdus = Counter()
    init(_ wallet: Wallet, _ inj: Injector, failFrom: Int) { self.wallet = wallet; self.inj = inj; self.failFrom = failFrom }

    func transceive(apdu: Data) throws -> Data {
        if apdus.add() > failFrom { try inj.check(.transceive) { TappableCardError.Lost } }
        return wallet.processApdu(apdu: apdu)
    }
}

/// A thread-safe counter.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    /// Adds one; returns the new value.
    @discardableResult func add() -> Int { lock.lock(); defer { lock.unlock() }; count += 1; return count }
    func reset() { lock.lock(); count = 0; lock.unlock() }
}

/// Every method of every foreign protocol throwing — the declared error type and another one —
/// through the library call that invokes it, against the mock backend (WALLET_BACKEND_URL). The
/// app sees a typed `WalletFfiError` (`Variant/code`), or, where the failure is ignored by
/// design, a successful call; the process and the same wallet keep working, nothing is lost.
final class ForeignExceptionsTests: XCTestCase {
    var url = ""
    var tmp = URL(fileURLWithPath: "/")

    override func setUpWithError() throws {
        guard let backend = backendURL() else { throw XCTSkip("WALLET_BACKEND_URL not set") }
        url = backend
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("wallet-swift-foreign-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        setLogSink(sink: nil, minLevel: .error)
        try? FileManager.default.removeItem(at: tmp)
    }

    private func config(_ sub: String, backend: String? = nil) -> WalletConfig {
        WalletConfig(dataDir: tmp.appendingPathComponent(sub).path, backendUrl: backend ?? url,
                     requestTimeoutMs: 5000, maxRetries: 0, otaMaxDelayMs: 5)
    }

    /// What the app sees from `body` (`ok` or `Variant/code`), checked against the row; returns
    /// the error.
    @discardableResult
    private func seen(_ row: Row, file: StaticString = #filePath, line: UInt = #line,
                      _ body: () async throws -> Void) async -> WalletFfiError? {
        var error: WalletFfiError?
        var seen = "ok"
        do {
            try await body()
        } catch let e as WalletFfiError {
            error = e
            seen = "\(String(describing: e).prefix { $0 != "(" })/\(e.code)"
        } catch {
            seen = "not a WalletFfiError: \(error)"
        }
        XCTAssertEqual(seen, row.seen, "\(row): \(String(describing: error))", file: file, line: line)
        if let error, row.fault == .undeclared {
            let text = String(describing: error)
            XCTAssertTrue(text.contains("foreign_exception") && text.contains("crashed"), "\(row): \(text)",
                          file: file, line: line)
        }
        return error
    }

    func testSecureElementMethodsThrowingDuringAnEcashBalanceRead() async throws {
        let table: [(Method, String)] = [
            (.readers, "Card/secure_element"), (.openSession, "Card/secure_element"),
            (.openLogicalChannel, "Card/secure_element"), (.openBasicChannel, "ok"),
            (.transmit, "Card/secure_element"), (.closeChannel, "ok"), (.closeSession, "ok"),
        ]
        let rows = table.flatMap { both($0.0, $0.1) }
        let wallet = try Wallet.open(config: config("w"))
        let sim = try SimulatedSecureElements.open(dir: tmp.appendingPathComponent("se").path)
        let bindingId = try await bindDebitCard(wallet, url: url)
        let inj = Injector()
        wallet.attachSecureElements(transport: ThrowingSe(sim, inj))
        let card = try await wallet.openCard(bindingId: bindingId, preferred: .ese, initialEcashLoadFen: 10_000, listener: nil)
        for row in rows {
            inj.arm(row)
            var balance: UInt64?
            let error = await seen(row) { balance = try await wallet.ecashBalance(bindingId: bindingId, seId: card.seId) }
            inj.disarm()
            if error == nil { XCTAssertEqual(balance, 10_000, "\(row)") }
            XCTAssertEqual(inj.hits > 0, row.method != .openBasicChannel, "\(row): thrown \(inj.hits) times")
            // The same wallet and transport work again; the card and its balance are intact.
            let again = try await wallet.ecashBalance(bindingId: bindingId, seId: card.seId)
            XCTAssertEqual(again, 10_000, "\(row): next call")
            XCTAssertEqual(try wallet.cardsInSe().map(\.state), [card.state], "\(row)")
        }
        XCTAssertEqual(inj.calls(.openBasicChannel), 0, "the library never opens the basic channel")
    }

    func testKeyStoreMethodsThrowingWhileOpeningAWallet() async throws {
        let rows = [
            Row(method: .wrapKey, fault: .declared, seen: "KeyStore/key_store_failure"),
            Row(method: .wrapKey, fault: .undeclared, seen: "KeyStore/key_store_failure"),
            Row(method: .unwrapKey, fault: .declared, seen: "KeyStore/key_store_unwrap"),
            Row(method: .unwrapKey, fault: .undeclared, seen: "KeyStore/key_store_failure"),
        ]
        let inj = Injector()
        let store = ThrowingKeyStore(inj)
        for (i, row) in rows.enumerated() {
            let config = config("w\(i)", backend: "http://127.0.0.1:\(closedPort())")
            // unwrap_key runs when the wallet exists: create it first.
            let deviceId = row.method == .unwrapKey ? try Wallet.open(config: config, keyStore: store).deviceId() : nil
            inj.arm(row)
            let error = await seen(row) { _ = try Wallet.open(config: config, keyStore: store) }
            inj.disarm()
            XCTAssertEqual(inj.hits, 1, "\(row)")
            if row.method == .wrapKey, row.fault == .declared {
                XCTAssertTrue(String(describing: error).contains("user_not_authenticated"), "\(row): platform code kept")
            }
            // Nothing on disk changed: the next open with a working key store is the same wallet.
            let reopened = try Wallet.open(config: config, keyStore: store).deviceId()
            if let deviceId { XCTAssertEqual(reopened, deviceId, "\(row)") }
        }
    }

    func testSignerMethodsThrowingWhileBindingAndUnbinding() async throws {
        let rows = [
            Row(method: .generateKey, fault: .declared, seen: "Signer/signer_failure"),
            Row(method: .generateKey, fault: .undeclared, seen: "Signer/signer_failure"),
            Row(method: .publicKey, fault: .declared, seen: "Signer/signer_key_not_found"),
            Row(method: .publicKey, fault: .undeclared, seen: "Signer/signer_failure"),
            Row(method: .sign, fault: .declared, seen: "Signer/signer_user_not_authenticated"),
            Row(method: .sign, fault: .undeclared, seen: "Signer/signer_failure"),
            Row(method: .deleteKey, fault: .declared, seen: "ok"),
            Row(method: .deleteKey, fault: .undeclared, seen: "ok"),
        ]
        for (i, row) in rows.enumerated() {
            let inj = Injector()
            let wallet = try Wallet.openWithSigner(config: config("w\(i)"), signer: ThrowingSigner(inj))
            switch row.method {
            case .generateKey, .publicKey:
                // confirm_binding creates the device key, or reads it back after a wrong code.
                let pending = try await wallet.beginBinding(
                    pan: DebitCard.pan, holderName: DebitCard.name, idNumber: DebitCard.idNumber, phone: DebitCard.phone)
                let code = try await lastSmsCode(url: url, phone: DebitCard.phone)
                if row.method == .publicKey {
                    let wrong = String((Int(String(code.first!))! + 1) % 10) + code.dropFirst()
                    do {
                        _ = try await wallet.confirmBinding(sessionId: pending.sessionId, otp: wrong)
                        XCTFail("\(row): a wrong code bound the card")
                    } catch let error as WalletFfiError {
                        XCTAssertEqual(error.code, "otp_wrong", "\(row)")
                    }
                }
                inj.arm(row)
                await seen(row) { _ = try await wallet.confirmBinding(sessionId: pending.sessionId, otp: code) }
                inj.disarm()
                XCTAssertEqual(try wallet.pendingBindings().count, 1, "\(row): the session is kept")
                _ = try await wallet.confirmBinding(sessionId: pending.sessionId, otp: code)
                XCTAssertEqual(try wallet.bindings().count, 1, "\(row): next call")
            default:
                // unbind signs its request, then deletes the key the bank revoked.
                let bindingId = try await bindDebitCard(wallet, url: url)
                inj.arm(row)
                let error = await seen(row) { try await wallet.unbind(bindingId: bindingId) }
                inj.disarm()
                if error != nil {
                    XCTAssertEqual(try wallet.bindings().count, 1, "\(row): the binding is kept")
                    try await wallet.unbind(bindingId: bindingId)
                }
                XCTAssertEqual(try wallet.bindings(), [], "\(row)")
            }
            XCTAssertGreaterThan(inj.hits, 0, "\(row): never thrown")
        }
    }

    func testAThrowingLogSinkLosesItsRecordsNeverTheOperation() async throws {
        for (i, row) in both(.log, "ok").enumerated() {
            let inj = Injector()
            let sink = ThrowingSink(inj)
            inj.arm(row)
            let wallet = try Wallet.open(config: config("w\(i)"), logSink: sink)
            await seen(row) { _ = try await bindDebitCard(wallet, url: self.url) }
            XCTAssertGreaterThan(inj.hits, 0, "\(row): the sink was not called")
            XCTAssertEqual(sink.accepted.value, 0, "\(row)")
            inj.disarm()
            _ = try await wallet.beginBinding(
                pan: DebitCard.pan, holderName: DebitCard.name, idNumber: DebitCard.idNumber, phone: DebitCard.phone)
            XCTAssertGreaterThan(sink.accepted.value, 0, "\(row): the sink works again")
            XCTAssertEqual(try wallet.bindings().count, 1, "\(row)")
        }
    }

    func testAThrowingProgressListenerDoesNotStopACardOpening() async throws {
        for (i, row) in both(.onProgress, "ok").enumerated() {
            let wallet = try Wallet.open(config: config("w\(i)"))
            let sim = try SimulatedSecureElements.open(dir: tmp.appendingPathComponent("se\(i)").path)
            let bindingId = try await bindDebitCard(wallet, url: url)
            wallet.attachSecureElements(transport: sim)
            let inj = Injector()
            let listener = ThrowingListener(inj)
            inj.arm(row)
            var seId = ""
            await seen(row) {
                seId = try await wallet.openCard(bindingId: bindingId, preferred: nil, initialEcashLoadFen: 2500, listener: listener).seId
            }
            inj.disarm()
            XCTAssertGreaterThan(inj.hits, 1, "\(row): every report threw")
            XCTAssertEqual(listener.accepted.value, 0, "\(row)")
            let balance = try await wallet.ecashBalance(bindingId: bindingId, seId: seId)
            XCTAssertEqual(balance, 2500, "\(row): next call")
        }
    }

    func testAPhoneThrowingMidTapFailsThatTapOnly() async throws {
        let rows = [
            Row(method: .transceive, fault: .declared, seen: "the card left the field"),
            Row(method: .transceive, fault: .undeclared, seen: "foreign_exception"),
        ]
        let wallet = try Wallet.open(config: config("w"))
        let terminal = try MockTerminal(backendUrl: url)
        let bindingId = try await bindDebitCard(wallet, url: url)
        var lastAtc = try await wallet.openHceCard(bindingId: bindingId).atc
        let inj = Injector()
        // SELECT PPSE and SELECT AID answered, then GET PROCESSING OPTIONS throws.
        let phone = ThrowingPhone(wallet, inj, failFrom: 2)
        for row in rows {
            inj.arm(row)
            phone.apdus.reset()
            let failed = await terminal.tap(card: phone, amountFen: 2345)
            inj.disarm()
            XCTAssertEqual(failed.decision, .failed, "\(row): \(failed)")
            XCTAssertFalse(failed.approved, "\(row)")
            XCTAssertTrue(failed.reason?.contains(row.seen) ?? false, "\(row): \(String(describing: failed.reason))")
            XCTAssertEqual(inj.hits, 1, "\(row): the terminal stops at the first error")

            phone.apdus.reset()
            let paid = await terminal.tap(card: phone, amountFen: 2345)
            XCTAssertEqual(paid.decision, .approvedOnline, "\(row): \(paid)")
            let atc = try XCTUnwrap(paid.atc, "\(paid)")
            XCTAssertGreaterThan(atc, lastAtc, "\(row)")
            XCTAssertEqual(try wallet.hceCards().first?.atc, atc, "\(row)")
            lastAtc = atc
        }
    }
}
