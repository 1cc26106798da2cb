import Foundation
import WalletKit
import XCTest

final class BasicsTests: XCTestCase {
    func testVersionIsSemver() {
        let parts = coreVersion().split(separator: ".")
        XCTAssertEqual(parts.count, 3)
        XCTAssertTrue(parts.allSatisfy { Int($0) != nil })
        XCTAssertEqual(WalletLibrary.version, coreVersion())
    }

    func testEchoRoundTrip() {
        let data = Data((0..<64).map { UInt8($0) })
        XCTAssertEqual(echoBytes(data: data), data)
        XCTAssertEqual(echoBytes(data: Data()), Data())
        let big = Data((0..<(1 << 20)).map { UInt8($0 % 251) })
        XCTAssertEqual(echoBytes(data: big), big)
    }

    func testAsyncCall() async {
        let result = await delayedEcho(data: Data([1, 2, 3]), delayMs: 10)
        XCTAssertEqual(result, Data([1, 2, 3]))
    }

    func testAsyncCallsRunConcurrently() async {
        let start = Date()
        let results = await withTaskGroup(of: (Int, Data).self) { group in
            for i in 0..<5 {
                group.addTask { (i, await delayedEcho(data: Data([UInt8(i)]), delayMs: 200)) }
            }
            var all: [Int: Data] = [:]
            for await (i, data) in group { all[i] = data }
            return all
        }
        XCTAssertEqual(results.count, 5)
        for i in 0..<5 { XCTAssertEqual(results[i], Data([UInt8(i)])) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.9, "five 200 ms sleeps were not concurrent")
    }
}

final class ErrorTests: XCTestCase {
    func testSyncTypedError() {
        XCTAssertThrowsError(try normalizeBackendUrl(url: "ftp://bank.example")) { error in
            guard case let FfiError.InvalidArgument(code, message) = error else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(code, "invalid_url")
            XCTAssertTrue(message.contains("scheme must be http or https"), message)
            XCTAssertEqual((error as? FfiError)?.code, "invalid_url")
        }
        XCTAssertEqual(try normalizeBackendUrl(url: "http://127.0.0.1:8080/"), "http://127.0.0.1:8080")
        XCTAssertNil(WalletLibrary.backendURL("not a url"))
    }

    func testAsyncTypedErrors() async throws {
        do {
            _ = try await pingBackend(url: "http://127.0.0.1:\(closedPort())")
            XCTFail("nobody listens")
        } catch let FfiError.Network(code, message) {
            XCTAssertEqual(code, "unreachable")
            XCTAssertFalse(message.isEmpty)
        }
        do {
            _ = try await pingBackend(url: "not a url")
            XCTFail("not a url")
        } catch let error as FfiError {
            XCTAssertEqual(error.code, "invalid_url")
        }
        let healthy = try await WalletLibrary.isBackendHealthy("http://127.0.0.1:\(closedPort())")
        XCTAssertFalse(healthy)
    }

    func testRustPanicIsThrown() {
        XCTAssertThrowsError(try debugPanic(message: "boom from swift")) { error in
            XCTAssertFalse(error is FfiError)
            XCTAssertTrue("\(error)".contains("boom from swift"), "\(error)")
        }
        XCTAssertEqual(echoBytes(data: Data([7])), Data([7]))
    }
}

final class ForeignTraitTests: XCTestCase {
    override func tearDown() {
        setLogSink(sink: nil, minLevel: .error)
    }

    func testSwiftKeyStoreIsCalledFromRust() throws {
        let store = XorKeyStore()
        let wrapped = try keyStoreRoundTrip(keyStore: store, alias: "wallet-data-key", key: Data([0x00, 0x01, 0xFF]))
        XCTAssertEqual(wrapped, Data([0x5A, 0x5B, 0xA5]))
        XCTAssertEqual(store.calls, ["wrap:wallet-data-key", "unwrap:wallet-data-key"])
    }

    func testDeclaredSwiftErrorPassesThrough() {
        final class Locked: KeyStore, @unchecked Sendable {
            func wrapKey(alias: String, key: Data) throws -> Data {
                throw KeyStoreFfiError.Failure(code: "user_not_authenticated", errorMessage: "unlock the device first")
            }
            func unwrapKey(alias: String, wrapped: Data) throws -> Data { fatalError("not reached") }
        }
        XCTAssertThrowsError(try keyStoreRoundTrip(keyStore: Locked(), alias: "k", key: Data([1]))) { error in
            guard case let KeyStoreFfiError.Failure(code, message) = error else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(code, "user_not_authenticated")
            XCTAssertEqual(message, "unlock the device first")
        }
    }

    func testUndeclaredSwiftErrorBecomesTypedError() {
        struct KeychainCrashed: Error {}
        final class Broken: KeyStore, @unchecked Sendable {
            func wrapKey(alias: String, key: Data) throws -> Data { throw KeychainCrashed() }
            func unwrapKey(alias: String, wrapped: Data) throws -> Data { fatalError("not reached") }
        }
        XCTAssertThrowsError(try keyStoreRoundTrip(keyStore: Broken(), alias: "k", key: Data([1]))) { error in
            guard case let KeyStoreFfiError.Unexpected(code, message) = error else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(code, "foreign_exception")
            XCTAssertTrue(message.contains("KeychainCrashed"), message)
        }
    }

    func testLogSinkReceivesLibraryEvents() async {
        let sink = CollectingSink()
        setLogSink(sink: sink, minLevel: .debug)
        _ = await delayedEcho(data: Data([1, 2, 3]), delayMs: 1)
        let mine = sink.records.filter { $0.target == "wallet_ffi::diagnostics" }
        XCTAssertEqual(mine, [LogRecord(level: .debug, target: "wallet_ffi::diagnostics", message: "delayed_echo len=3 delay_ms=1")])
    }

    func testClosureLoggerHonoursLevelAndThrowingSinkIsHarmless() async {
        let sink = CollectingSink()
        WalletLibrary.setLogger(minLevel: .info) { try? sink.log(record: $0) }
        _ = await delayedEcho(data: Data(), delayMs: 1) // logs at debug: filtered out
        XCTAssertTrue(sink.records.filter { $0.target == "wallet_ffi::diagnostics" }.isEmpty)

        final class Throwing: LogSink, @unchecked Sendable {
            struct Full: Error {}
            func log(record: LogRecord) throws { throw Full() }
        }
        setLogSink(sink: Throwing(), minLevel: .trace)
        let echoed = await delayedEcho(data: Data([9]), delayMs: 1)
        XCTAssertEqual(echoed, Data([9]))
    }
}

final class MockBackendTests: XCTestCase {
    func testMockBackendAnswersHealth() async throws {
        guard let url = backendURL() else { throw XCTSkip("WALLET_BACKEND_URL not set") }
        let body = try await pingBackend(url: url)
        XCTAssertEqual(body, "ok")
        let healthy = try await WalletLibrary.isBackendHealthy(url)
        XCTAssertTrue(healthy)
    }
}
