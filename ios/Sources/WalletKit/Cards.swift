// Air card opening for Swift callers: closures and an async stream over the generated
// `Wallet.openCard(bindingId:preferred:initialEcashLoadFen:listener:)`.

import Foundation
import WalletFFI

/// What `Wallet.openCardUpdates(bindingId:preferred:initialEcashLoadFen:)` yields.
public enum CardOpeningUpdate: Sendable, Equatable {
    /// The opening progressed (the percentage never decreases).
    case progress(CardOpeningProgress)
    /// The card is open; always the last element.
    case opened(SeCard)
}

extension Wallet {
    /// Air card opening with a closure for progress, called on library threads (keep it quick).
    public func openCard(
        bindingId: String, preferred: SeReaderKind? = nil, initialEcashLoadFen: UInt64 = 0,
        onProgress: @escaping @Sendable (CardOpeningProgress) -> Void
    ) async throws -> SeCard {
        try await openCard(
            bindingId: bindingId, preferred: preferred, initialEcashLoadFen: initialEcashLoadFen,
            listener: ClosureOpeningListener(onProgress))
    }

    /// Air card opening as an async stream: every progress report, then `.opened(card)`. A
    /// failure ends the stream with the `WalletFfiError`; ending the iteration early cancels the
    /// opening (running it again later converges on one card).
    public func openCardUpdates(
        bindingId: String, preferred: SeReaderKind? = nil, initialEcashLoadFen: UInt64 = 0
    ) -> AsyncThrowingStream<CardOpeningUpdate, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let card = try await self.openCard(
                        bindingId: bindingId, preferred: preferred,
                        initialEcashLoadFen: initialEcashLoadFen
                    ) { continuation.yield(.progress($0)) }
                    continuation.yield(.opened(card))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Adapts a closure to the `CardOpeningListener` protocol.
private final class ClosureOpeningListener: CardOpeningListener {
    private let block: @Sendable (CardOpeningProgress) -> Void

    init(_ block: @escaping @Sendable (CardOpeningProgress) -> Void) {
        self.block = block
    }

    func onProgress(progress: CardOpeningProgress) {
        block(progress)
    }
}

extension SeFfiError {
    /// Human-readable text of any case.
    public var errorMessage: String {
        switch self {
        case let .ReaderAbsent(_, message), let .Io(message), let .NoFreeChannel(message),
            let .AccessDenied(message), let .ApplicationNotFound(_, message),
            let .UnexpectedStatus(_, message), let .Closed(message), let .Platform(message):
            return message
        }
    }
}

extension WalletFfiError {
    /// Whether a card operation failed because the phone has no usable secure element: host
    /// card emulation is then the route (code `no_secure_element`).
    public var isNoSecureElement: Bool {
        if case .Card(code: "no_secure_element", _) = self { return true }
        return false
    }
}
