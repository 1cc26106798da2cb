import Foundation
import WalletKit
import XCTest

/// Task cancellation of library calls: the cancelled Swift call throws `CancellationError` at
/// once, even though uniffi 0.32 cannot cancel the Rust future (it finishes in the background).
final class CancellationTests: XCTestCase {
    private var tmp = URL(fileURLWithPath: "/")

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("wallet-cancel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: tmp)
    }

    private func config(_ sub: String, backend: String, timeoutMs: UInt32) -> WalletConfig {
        WalletConfig(dataDir: tmp.appendingPathComponent(sub).path, backendUrl: backend, requestTimeoutMs: timeoutMs, maxRetries: 0)
    }

    /// Waits for `task`, expecting `CancellationError`; returns the seconds it took.
    private func expectCancellation<T>(_ task: Task<T, Error>, file: StaticString = #filePath, line: UInt = #line) async -> TimeInterval {
        let start = Date()
        do {
            _ = try await task.value
            XCTFail("not cancelled", file: file, line: line)
        } catch is CancellationError {
        } catch {
            XCTFail("expected CancellationError, got \(error)", file: file, line: line)
        }
        return Date().timeIntervalSince(start)
    }

    func testCancellingASlowAsyncLibraryCallThrowsAtOnce() async throws {
        let task = Task {
            try await WalletLibrary.cancellable { await delayedEcho(data: Data([1]), delayMs: 5_000) }
        }
        try await Task.sleep(nanoseconds: 100_000_000)
        task.cancel()
        let waited = await expectCancellation(task)
        XCTAssertLessThan(waited, 2.0, "the call waited for the Rust future")
        // Not cancelled: the result arrives.
        let echoed = try await WalletLibrary.cancellable { await delayedEcho(data: Data([2]), delayMs: 10) }
        XCTAssertEqual(echoed, Data([2]))
    }

    func testAnAlreadyCancelledTaskNeverStartsTheCall() async throws {
        let started = Flag()
        let task = Task { () -> Data in
            while !Task.isCancelled { await Task.yield() }
            return try await WalletLibrary.cancellable {
                started.set()
                return await delayedEcho(data: Data([3]), delayMs: 1)
            }
        }
        task.cancel()
        _ = await expectCancellation(task)
        XCTAssertFalse(started.isSet)
    }

    func testCancellingFetchOrderAgainstABackendThatNeverAnswers() async throws {
        let silent = try SilentServer()
        // Without cancellation the call waits for the request timeout…
        let short = try WalletClient(config: config("short", backend: silent.url, timeoutMs: 800))
        let start = Date()
        let timeout = await walletError { _ = try await short.fetchOrder("ord-1") }
        XCTAssertEqual(timeout?.code, "timeout")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.7)

        // …with it, the call ends as soon as the task is cancelled.
        let long = try WalletClient(config: config("long", backend: silent.url, timeoutMs: 30_000))
        let task = Task { try await long.fetchOrder("ord-2") }
        try await Task.sleep(nanoseconds: 200_000_000)
        task.cancel()
        let waited = await expectCancellation(task)
        XCTAssertLessThan(waited, 2.0, "the call waited for the request timeout")
    }

    func testACancelledPaymentIsPaidAtMostOnceAndCanBeRepeated() async throws {
        guard let url = backendURL() else { throw XCTSkip("WALLET_BACKEND_URL not set") }
        let signer = GatedSigner()
        let client = try WalletClient(config: config("pay", backend: url, timeoutMs: 10_000), signer: signer)
        let merchant = try MockMerchant(backendUrl: url)
        let pending = try await client.beginBinding(
            pan: DebitCard.pan, holderName: DebitCard.name, idNumber: DebitCard.idNumber, phone: DebitCard.phone)
        let otp = try await lastSmsCode(url: url, phone: DebitCard.phone)
        let bindingId = try await client.confirmBinding(sessionId: pending.sessionId, otp: otp).bindingId
        _ = try await client.setPaymentPassword(bindingId: bindingId, password: "135790")
        let order = try await merchant.createOrder(amountFen: 990, description: "noodles")

        // Cancel while the library is inside the payment (the signer holds it), then let it go on.
        signer.hold()
        let task = Task { try await client.pay(orderId: order.orderId, bindingId: bindingId, password: "135790") }
        let deadline = Date().addingTimeInterval(10)
        while !signer.isHeld, Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertTrue(signer.isHeld, "the payment never reached the signer")
        task.cancel()
        let waited = await expectCancellation(task)
        XCTAssertLessThan(waited, 2.0, "the call waited for the blocked library call")
        signer.release()

        // The library finished the payment in the background: paid once, and repeating says so.
        var state = try await merchant.order(orderId: order.orderId)
        for _ in 0..<100 where state.status == .pending {
            try await Task.sleep(nanoseconds: 50_000_000)
            state = try await merchant.order(orderId: order.orderId)
        }
        XCTAssertEqual(state.status, .paid)
        let again = await walletError { _ = try await client.pay(orderId: order.orderId, bindingId: bindingId, password: "135790") }
        XCTAssertEqual(again?.code, "order_already_paid")
        let payments = try await client.syncPaymentHistory(bindingId: bindingId)
        XCTAssertEqual(payments.filter { $0.orderId == order.orderId }.map(\.paymentId), [state.paymentId].compactMap { $0 })
    }
}

/// A `SwiftSigner` whose next signature, once `hold()` is called, blocks (on the library's
/// thread) until `release()`: a payment stuck inside the library, to cancel.
final class GatedSigner: Signer, @unchecked Sendable {
    private let inner = SwiftSigner()
    private let gate = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var armed = false
    private var held = false

    /// Whether a signature is waiting at the gate.
    var isHeld: Bool { lock.lock(); defer { lock.unlock() }; return held }

    func hold() { lock.lock(); armed = true; lock.unlock() }

    func release() { gate.signal() }

    func generateKey(alias: String) throws -> Data { try inner.generateKey(alias: alias) }
    func publicKey(alias: String) throws -> Data? { try inner.publicKey(alias: alias) }
    func deleteKey(alias: String) throws { try inner.deleteKey(alias: alias) }

    func sign(alias: String, message: Data) throws -> Data {
        lock.lock()
        let wait = armed
        armed = false
        if wait { held = true }
        lock.unlock()
        if wait { _ = gate.wait(timeout: .now() + 10) }
        return try inner.sign(alias: alias, message: message)
    }
}
