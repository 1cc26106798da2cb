// `WalletError`: the library's typed errors (`WalletFfiError`) in idiomatic Swift form, plus the
// conversion every `WalletClient` call goes through.

import Foundation
import WalletFFI

/// A wallet operation failed. One case per thing an app does differently; every case carries the
/// library's stable machine-readable `code` (e.g. `password_wrong`) and a human-readable
/// `message`. Mirrors `WalletFfiError` case for case (see its documentation for every code).
public enum WalletError: Error, Sendable, Equatable, Hashable {
    /// The wallet cannot be opened with this configuration (`invalid_url`, `data_dir`).
    case config(code: String, message: String)
    /// A field failed a local check; nothing was sent (`invalid_card_number`,
    /// `invalid_password`, `invalid_order_id`, …).
    case invalidInput(code: String, message: String)
    /// The bank refused the card or the holder's data (`unknown_card`, `name_mismatch`, …).
    case cardRejected(code: String, message: String)
    /// Wrong one-time code, payment password or PIN; ask again (`otp_wrong`, `password_wrong`,
    /// `sms_code_wrong`, `pin_wrong`). `attemptsLeft` tries remain before it locks.
    case wrongCode(code: String, message: String, attemptsLeft: UInt32)
    /// The code, password or PIN can no longer be used (`otp_locked`, `password_locked`, …).
    case codeUnusable(code: String, message: String)
    /// No such pending binding, binding, order, merchant or SMS challenge (`binding_not_found`,
    /// `order_not_found`, …).
    case notFound(code: String, message: String)
    /// The back end could not be reached; the same call may succeed later (`unreachable`,
    /// `timeout`).
    case network(code: String, message: String)
    /// The back end refused the request for another reason or broke the protocol.
    case backend(code: String, message: String)
    /// A card operation failed (`no_secure_element`, `card_not_found`, `invalid_state`, …).
    case card(code: String, message: String)
    /// The wallet's local store failed (`store_corrupt`, `store_tampered`, …).
    case storage(code: String, message: String)
    /// A remote payment was refused; nothing was debited (`order_already_paid`,
    /// `order_expired`, `insufficient_funds`, `password_not_set`, …).
    case payment(code: String, message: String)
    /// The platform signer failed to create or use the device key (`signer_key_not_found`,
    /// `signer_user_not_authenticated`, `signer_failure`).
    case signer(code: String, message: String)
    /// The platform key store failed to wrap or unwrap the store's data key
    /// (`key_store_failure`, `key_store_unwrap`).
    case keyStore(code: String, message: String)

    /// The Swift form of a library error.
    public init(_ error: WalletFfiError) {
        switch error {
        case let .Config(code, message): self = .config(code: code, message: message)
        case let .InvalidInput(code, message): self = .invalidInput(code: code, message: message)
        case let .CardRejected(code, message): self = .cardRejected(code: code, message: message)
        case let .WrongCode(code, message, attemptsLeft):
            self = .wrongCode(code: code, message: message, attemptsLeft: attemptsLeft)
        case let .CodeUnusable(code, message): self = .codeUnusable(code: code, message: message)
        case let .NotFound(code, message): self = .notFound(code: code, message: message)
        case let .Network(code, message): self = .network(code: code, message: message)
        case let .Backend(code, message): self = .backend(code: code, message: message)
        case let .Card(code, message): self = .card(code: code, message: message)
        case let .Storage(code, message): self = .storage(code: code, message: message)
        case let .Payment(code, message): self = .payment(code: code, message: message)
        case let .Signer(code, message): self = .signer(code: code, message: message)
        case let .KeyStore(code, message): self = .keyStore(code: code, message: message)
        }
    }

    /// Stable machine-readable code of any case (e.g. `order_already_paid`).
    public var code: String { parts.code }

    /// Human-readable text of any case, for logs and developers.
    public var message: String { parts.message }

    /// Tries left after a wrong code, payment password or PIN; `nil` for other errors.
    public var attemptsLeft: UInt32? {
        if case let .wrongCode(_, _, attemptsLeft) = self { return attemptsLeft }
        return nil
    }

    /// Whether repeating the same call later may succeed (the back end was unreachable).
    public var isTransient: Bool {
        if case .network = self { return true }
        return false
    }

    private var parts: (code: String, message: String) {
        switch self {
        case let .config(code, message), let .invalidInput(code, message),
            let .cardRejected(code, message), let .wrongCode(code, message, _),
            let .codeUnusable(code, message), let .notFound(code, message),
            let .network(code, message), let .backend(code, message), let .card(code, message),
            let .storage(code, message), let .payment(code, message), let .signer(code, message),
            let .keyStore(code, message):
            return (code, message)
        }
    }
}

extension WalletError: LocalizedError, CustomStringConvertible {
    public var errorDescription: String? { description }

    public var description: String { "\(code): \(message)" }
}

extension WalletError {
    /// Runs `body`, turning a thrown `WalletFfiError` into a `WalletError`; any other error
    /// (`CancellationError`, a Swift callback's own error) passes unchanged.
    @inlinable
    public static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as WalletFfiError {
            throw WalletError(error)
        }
    }

    /// Synchronous form of `mapping(_:)`.
    @inlinable
    public static func mappingSync<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as WalletFfiError {
            throw WalletError(error)
        }
    }
}
