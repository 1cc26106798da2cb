// Task cancellation for library calls.
//
// uniffi 0.32's generated Swift awaits a Rust future without a cancellation handler: cancelling
// the Swift task does not cancel the Rust future, and the `await` only returns when the Rust
// side is done (up to the request timeout against a backend that does not answer). `cancellable`
// gives callers Swift's usual contract instead: a cancelled task's call throws
// `CancellationError` at once, and the library call finishes in the background with its result
// discarded.

import Foundation

extension WalletLibrary {
    /// Runs `operation` (a library call) so that cancelling the calling task makes this call
    /// throw `CancellationError` immediately. A task that is already cancelled never starts
    /// `operation`.
    ///
    /// The library call itself is not interrupted: it completes in the background and its result
    /// is dropped. For calls that change state at the back end (e.g. paying an order) the change
    /// may therefore still happen; those calls are idempotent, so repeating the same call (or
    /// `fetchOrder`) tells the outcome.
    public static func cancellable<T: Sendable>(
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try Task.checkCancellation()
        let outcome = OneShot<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.attach(continuation)
                Task {
                    do {
                        outcome.resolve(.success(try await operation()))
                    } catch {
                        outcome.resolve(.failure(error))
                    }
                }
            }
        } onCancel: {
            outcome.resolve(.failure(CancellationError()))
        }
    }
}

/// A continuation resumed exactly once, by whichever of "the call finished" and "the task was
/// cancelled" comes first (possibly before the continuation exists).
private final class OneShot<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?
    private var result: Result<T, Error>?
    private var resumed = false

    func attach(_ continuation: CheckedContinuation<T, Error>) {
        lock.lock()
        if let result {
            resumed = true
            lock.unlock()
            continuation.resume(with: result)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    func resolve(_ outcome: Result<T, Error>) {
        lock.lock()
        guard result == nil, !resumed else {
            lock.unlock()
            return
        }
        result = outcome
        let waiting = continuation
        continuation = nil
        if waiting != nil { resumed = true }
        lock.unlock()
        waiting?.resume(with: outcome)
    }
}
