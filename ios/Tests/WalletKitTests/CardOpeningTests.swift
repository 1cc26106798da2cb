import Foundation
import WalletKit
import XCTest

/// Air card opening against the mock backend's TSM (WALLET_BACKEND_URL, see
/// scripts/with-mock-backend.sh), in the SE simulator (`SimulatedSecureElements`, test hooks).
/// Each test binds its own card in its own data directory.
final class CardOpeningTests: XCTestCase {
    /// Instance AID of the payment application the mock TSM installs for a debit card.
    let debitInstanceAid = "A000000333010101"
    var url = ""
    var tmp = URL(fileURLWithPath: "/")

    override func setUpWithError() throws {
        guard let backend = backendURL() else { throw XCTSkip("WALLET_BACKEND_URL not set") }
        url = backend
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("wallet-swift-cards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: tmp)
    }

    /// A wallet with fast TSM polling in a fresh directory.
    func openWallet() throws -> Wallet {
        try Wallet.open(config: WalletConfig(
            dataDir: tmp.appendingPathComponent("wallet").path, backendUrl: url,
            requestTimeoutMs: 5000, maxRetries: 0, otaMaxDelayMs: 5))
    }

    func simulator() throws -> SimulatedSecureElements {
        try SimulatedSecureElements.open(dir: tmp.appendingPathComponent("se").path)
    }

    /// The `WalletFfiError.Card` code and message thrown by `body` (nil, and a failure, otherwise).
    func cardError(_ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line) async -> (code: String, message: String)? {
        do {
            try await body()
            XCTFail("no error", file: file, line: line)
        } catch let WalletFfiError.Card(code, message) {
            return (code, message)
        } catch {
            XCTFail("not a card error: \(error)", file: file, line: line)
        }
        return nil
    }

    func testOpenInTheSimulatedEseWithProgressThenLockUnlockDelete() async throws {
        let wallet = try openWallet()
        let se = try simulator()
        let bindingId = try await bindDebitCard(wallet, url: url)
        wallet.attachSecureElements(transport: se)

        var updates: [CardOpeningUpdate] = []
        for try await update in wallet.openCardUpdates(bindingId: bindingId, preferred: .ese, initialEcashLoadFen: 10_000) {
            updates.append(update)
        }
        guard case let .opened(card) = updates.last else { return XCTFail("\(updates)") }
        XCTAssertEqual(card.state, .active)
        XCTAssertEqual(card.reader, "eSE1")
        XCTAssertEqual(card.readerKind, .ese)
        XCTAssertEqual(card.instanceAid, debitInstanceAid)
        XCTAssertEqual(card.seId, se.seId(kind: .ese))
        XCTAssertTrue(card.maskedPan.contains("*"), card.maskedPan)

        let progress = updates.compactMap { update -> CardOpeningProgress? in
            if case let .progress(p) = update { return p }
            return nil
        }
        let percents = progress.map(\.percent)
        XCTAssertTrue(zip(percents, percents.dropFirst()).allSatisfy { $0 <= $1 }, "progress went back: \(percents)")
        XCTAssertEqual(progress.first?.stage, .handshake)
        XCTAssertEqual(progress.last?.stage, .completed)
        XCTAssertEqual(percents.last, 100)

        let balance = try await wallet.ecashBalance(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(balance, 10_000)
        XCTAssertEqual(try wallet.cardsInSe().map(\.state), [.active])
        let again = await cardError { _ = try await wallet.openCard(bindingId: bindingId, preferred: .ese, initialEcashLoadFen: 0, listener: nil) }
        XCTAssertEqual(again?.code, "card_exists")

        let locked = try await wallet.lockCard(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(locked.state, .locked)
        let refused = await cardError { _ = try await wallet.ecashBalance(bindingId: bindingId, seId: card.seId) }
        XCTAssertEqual(refused?.code, "invalid_state")
        let unlocked = try await wallet.unlockCard(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(unlocked.state, .active)
        let status = try await wallet.cardStatus(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(status.state, .active)
        XCTAssertEqual(status.ecashBalance, 10_000)
        let deleted = try await wallet.deleteCard(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(deleted.state, .deleted)
        XCTAssertEqual(deleted.ecashRefunded, 10_000, "the card's e-cash goes back to the account")
    }

    func testNoSecureElementIsATypedError() async throws {
        let wallet = try openWallet()
        let se = try simulator()
        let bindingId = try await bindDebitCard(wallet, url: url)
        do {
            _ = try await wallet.openCard(bindingId: bindingId, preferred: nil, initialEcashLoadFen: 0, listener: nil)
            XCTFail("opened without secure elements")
        } catch let error as WalletFfiError {
            XCTAssertTrue(error.isNoSecureElement, "\(error)")
        }

        for kind in [SeReaderKind.ese, .sim, .sd] { se.setPresent(kind: kind, present: false) }
        wallet.attachSecureElements(transport: se)
        let absent = await cardError { _ = try await wallet.openCard(bindingId: bindingId, preferred: .sim, initialEcashLoadFen: 100, listener: nil) }
        XCTAssertEqual(absent?.code, "no_secure_element")

        // The microSD comes back: the same wallet opens the card there.
        se.setPresent(kind: .sd, present: true)
        let card = try await wallet.openCard(bindingId: bindingId, preferred: .ese, initialEcashLoadFen: 100) { _ in }
        XCTAssertEqual(card.reader, "SD1")
        XCTAssertEqual(card.state, .active)
    }

    func testASwiftImplementedTransportOpensACard() async throws {
        let wallet = try openWallet()
        let se = try simulator()
        let bindingId = try await bindDebitCard(wallet, url: url)
        let transport = SwiftTransport(se)
        wallet.attachSecureElements(transport: transport)
        let card = try await wallet.openCard(bindingId: bindingId, preferred: .sim, initialEcashLoadFen: 2_500, listener: nil)
        XCTAssertEqual(card.state, .active)
        XCTAssertEqual(card.reader, "SIM1")
        XCTAssertEqual(card.readerKind, .sim)
        XCTAssertEqual(card.seId, se.seId(kind: .sim))
        XCTAssertGreaterThan(transport.apdus, 5)
        XCTAssertGreaterThan(transport.readerCalls, 0)
        let sent = transport.apdus
        let balance = try await wallet.ecashBalance(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(balance, 2_500)
        XCTAssertGreaterThan(transport.apdus, sent, "the e-cash read went through Swift")
    }

    func testErrorsThrownByASwiftTransportAreTypedNotCrashes() async throws {
        struct ServiceDied: Error {}
        let wallet = try openWallet()
        let se = try simulator()
        let bindingId = try await bindDebitCard(wallet, url: url)
        let transport = SwiftTransport(se)
        wallet.attachSecureElements(transport: transport)

        // An undeclared error on every APDU: the SE cannot even name itself.
        transport.failure = { _ in ServiceDied() }
        let unidentified = await cardError { _ = try await wallet.openCard(bindingId: bindingId, preferred: .ese, initialEcashLoadFen: 1_000, listener: nil) }
        XCTAssertEqual(unidentified?.code, "unknown_se")

        // The SE names itself (GET DATA, INS CA), then every command of the TSM's script fails
        // with a declared SE error: the TSM fails the order.
        transport.failure = { apdu in apdu.dropFirst().first == 0xCA ? nil : SeFfiError.Io(errorMessage: "SE removed") }
        let failed = await cardError { _ = try await wallet.openCard(bindingId: bindingId, preferred: .ese, initialEcashLoadFen: 1_000, listener: nil) }
        XCTAssertEqual(failed?.code, "local_agent_failure")
        XCTAssertFalse(try wallet.cardsInSe().contains { $0.state == .active })

        // The same wallet and transport recover.
        transport.failure = { _ in nil }
        let card = try await wallet.openCard(bindingId: bindingId, preferred: .ese, initialEcashLoadFen: 1_000, listener: nil)
        XCTAssertEqual(card.state, .active)
        let balance = try await wallet.ecashBalance(bindingId: bindingId, seId: card.seId)
        XCTAssertEqual(balance, 1_000)
    }

    func testReaderLookupsThatThrowAreTypedErrors() async throws {
        final class Broken: SecureElementTransport, @unchecked Sendable {
            struct NoPermission: Error, CustomStringConvertible { var description: String { "no SE permission" } }
            func readers() throws -> [SeReaderInfo] { throw NoPermission() }
            func openSession(reader: String) throws -> UInt64 { throw NoPermission() }
            func openLogicalChannel(session: UInt64, aid: Data?, p2: UInt8) throws -> SeChannelOpened { throw NoPermission() }
            func openBasicChannel(session: UInt64, aid: Data?, p2: UInt8) throws -> SeChannelOpened { throw NoPermission() }
            func transmit(channel: UInt64, apdu: Data) throws -> Data { throw NoPermission() }
            func closeChannel(channel: UInt64) throws {}
            func closeSession(session: UInt64) throws {}
        }
        let wallet = try openWallet()
        let bindingId = try await bindDebitCard(wallet, url: url)
        wallet.attachSecureElements(transport: Broken())
        let error = await cardError { _ = try await wallet.openCard(bindingId: bindingId, preferred: nil, initialEcashLoadFen: 0, listener: nil) }
        XCTAssertEqual(error?.code, "secure_element")
        XCTAssertTrue(error?.message.contains("no SE permission") == true, error?.message ?? "")
    }
}

/// A Swift transport over another one: counts APDUs and can throw instead of sending them.
final class SwiftTransport: SecureElementTransport, @unchecked Sendable {
    private let inner: SecureElementTransport
    private let lock = NSLock()
    private var _apdus = 0, _readerCalls = 0
    private var _failure: (Data) -> Error? = { _ in nil }

    init(_ inner: SecureElementTransport) { self.inner = inner }

    var apdus: Int { lock.lock(); defer { lock.unlock() }; return _apdus }
    var readerCalls: Int { lock.lock(); defer { lock.unlock() }; return _readerCalls }
    /// The error to throw for an APDU, or nil to send it.
    var failure: (Data) -> Error? {
        get { lock.lock(); defer { lock.unlock() }; return _failure }
        set { lock.lock(); _failure = newValue; lock.unlock() }
    }

    func readers() throws -> [SeReaderInfo] {
        lock.lock(); _readerCalls += 1; lock.unlock()
        // Names only: the library derives the kind from the OMAPI reader name.
        return try inner.readers().map { SeReaderInfo(name: $0.name, kind: nil, present: $0.present) }
    }

    func openSession(reader: String) throws -> UInt64 { try inner.openSession(reader: reader) }

    func openLogicalChannel(session: UInt64, aid: Data?, p2: UInt8) throws -> SeChannelOpened {
        try inner.openLogicalChannel(session: session, aid: aid, p2: p2)
    }

    func openBasicChannel(session: UInt64, aid: Data?, p2: UInt8) throws -> SeChannelOpened {
        try inner.openBasicChannel(session: session, aid: aid, p2: p2)
    }

    func transmit(channel: UInt64, apdu: Data) throws -> Data {
        lock.lock(); _apdus += 1; lock.unlock()
        if let error = failure(apdu) { throw error }
        return try inner.transmit(channel: channel, apdu: apdu)
    }

    func closeChannel(channel: UInt64) throws { try inner.closeChannel(channel: channel) }

    func closeSession(session: UInt64) throws { try inner.closeSession(session: session) }
}
