// `WalletClient`: the idiomatic Swift facade an app uses. Every call is `async throws` (or plain
// `throws` where the library answers from local data), throws `WalletError` for the library's
// typed errors, and honours task cancellation (`CancellationError`; see Cancellation.swift).

import Foundation
import WalletFFI

/// The wallet for Swift apps: account binding, remote payment, cards and history.
///
/// Thread-safe (`Sendable`): share one client per data directory. The generated `Wallet` stays
/// reachable as `wallet` for what is not wrapped here (host card emulation, …).
public final class WalletClient: Sendable {
    /// The generated library object this client drives.
    public let wallet: Wallet

    /// Wraps an already opened wallet.
    public init(wallet: Wallet) {
        self.wallet = wallet
    }

    /// Opens (or creates) the wallet described by `config`; see
    /// `WalletLibrary.openWallet(config:signer:keyStore:secureElements:logger:)`. Throws
    /// `WalletError` (`.config`, `.storage`, `.keyStore`).
    public convenience init(
        config: WalletConfig, signer: Signer? = nil, keyStore: KeyStore? = nil,
        secureElements: SecureElementTransport? = nil,
        logger: (@Sendable (LogRecord) -> Void)? = nil
    ) throws {
        self.init(wallet: try WalletError.mappingSync {
            try WalletLibrary.openWallet(
                config: config, signer: signer, keyStore: keyStore, secureElements: secureElements,
                logger: logger)
        })
    }

    /// Runs a library call: `WalletError` for typed errors, `CancellationError` on cancellation.
    private func call<T: Sendable>(_ body: @escaping @Sendable (Wallet) async throws -> T) async throws -> T {
        let wallet = self.wallet
        return try await WalletError.mapping {
            try await WalletLibrary.cancellable { try await body(wallet) }
        }
    }

    private func local<T>(_ body: (Wallet) throws -> T) throws -> T {
        try WalletError.mappingSync { try body(wallet) }
    }

    // MARK: Device and account binding

    /// This installation's device identifier (32 hex digits).
    public var deviceId: String { wallet.deviceId() }

    /// Starts binding a bank card: the bank checks the card and the holder's data and sends a
    /// one-time code to `phone`.
    public func beginBinding(pan: String, holderName: String, idNumber: String, phone: String)
        async throws -> PendingBinding
    {
        try await call { try await $0.beginBinding(pan: pan, holderName: holderName, idNumber: idNumber, phone: phone) }
    }

    /// Completes a binding with the one-time code; registers the device key (the `Signer`).
    public func confirmBinding(sessionId: String, otp: String) async throws -> Binding {
        try await call { try await $0.confirmBinding(sessionId: sessionId, otp: otp) }
    }

    /// The bound cards (local data).
    public func bindings() throws -> [Binding] { try local { try $0.bindings() } }

    /// Bindings begun and not yet confirmed (local data).
    public func pendingBindings() throws -> [PendingBinding] { try local { try $0.pendingBindings() } }

    /// Unbinds a card at the bank and here.
    public func unbind(bindingId: String) async throws {
        try await call { try await $0.unbind(bindingId: bindingId) }
    }

    // MARK: Remote payment

    /// The merchant order `orderId`, to show before paying.
    public func fetchOrder(_ orderId: String) async throws -> Order {
        try await call { try await $0.fetchOrder(orderId: orderId) }
    }

    /// Registers (or replaces, which also unlocks) the payment password of `bindingId`.
    public func setPaymentPassword(bindingId: String, password: String) async throws -> PasswordStatus {
        try await call { try await $0.setPaymentPassword(bindingId: bindingId, password: password) }
    }

    /// Sends an SMS code to the phone of `bindingId` for paying `orderId`.
    public func requestPaymentSms(bindingId: String, orderId: String) async throws -> SmsChallenge {
        try await call { try await $0.requestPaymentSms(bindingId: bindingId, orderId: orderId) }
    }

    /// Pays `orderId` from `bindingId`, proving the payer with `auth` (password, SMS code, or
    /// SE mode). Safe to repeat after a lost answer or a cancellation: an order is paid at most
    /// once. A wrong password throws `.wrongCode` with `attemptsLeft`; a paid order
    /// `.payment(code: "order_already_paid")`.
    public func pay(orderId: String, bindingId: String, auth: PayAuth) async throws -> RemotePayment {
        try await call { try await $0.payOrder(bindingId: bindingId, orderId: orderId, auth: auth) }
    }

    /// Pays with the payment password (non-SE mode; the device key signs).
    public func pay(orderId: String, bindingId: String, password: String) async throws -> RemotePayment {
        try await pay(orderId: orderId, bindingId: bindingId, auth: .password(password: password))
    }

    /// Pays with an SMS code: requests one for this order, asks `readCode` (the UI), then pays.
    public func pay(
        orderId: String, bindingId: String, readCode: (SmsChallenge) async throws -> String
    ) async throws -> RemotePayment {
        let challenge = try await requestPaymentSms(bindingId: bindingId, orderId: orderId)
        let code = try await readCode(challenge)
        return try await pay(orderId: orderId, bindingId: bindingId, auth: .sms(challengeId: challenge.challengeId, code: code))
    }

    /// The remote payments known locally, newest first.
    public func paymentHistory() throws -> [RemotePayment] { try local { try $0.paymentHistory() } }

    /// Fetches the payments of `bindingId` from the back end into the local history; returns
    /// them.
    @discardableResult
    public func syncPaymentHistory(bindingId: String) async throws -> [RemotePayment] {
        try await call { try await $0.syncPaymentHistory(bindingId: bindingId) }
    }

    // MARK: Cards in a secure element

    /// Gives the wallet the device's secure elements (card opening, SE-mode payment).
    public func attachSecureElements(_ transport: SecureElementTransport) {
        wallet.attachSecureElements(transport: transport)
    }

    /// The cards opened in secure elements (local data).
    public func cards() throws -> [SeCard] { try local { try $0.cardsInSe() } }

    /// Current status of the card of `bindingId` in `seId`, read from the secure element and the
    /// TSM.
    public func cardStatus(bindingId: String, seId: String) async throws -> SeCard {
        try await call { try await $0.cardStatus(bindingId: bindingId, seId: seId) }
    }

    /// Air card opening: progress reports, then `.opened(card)`; ends with the `WalletError` on
    /// failure. Ending the iteration early cancels the opening.
    public func openCard(
        bindingId: String, preferred: SeReaderKind? = nil, initialEcashLoadFen: UInt64 = 0
    ) -> AsyncThrowingStream<CardOpeningUpdate, Error> {
        let updates = wallet.openCardUpdates(
            bindingId: bindingId, preferred: preferred, initialEcashLoadFen: initialEcashLoadFen)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await update in updates { continuation.yield(update) }
                    continuation.finish()
                } catch let error as WalletFfiError {
                    continuation.finish(throwing: WalletError(error))
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Locks the card (no payments until unlocked).
    public func lockCard(bindingId: String, seId: String) async throws -> SeCard {
        try await call { try await $0.lockCard(bindingId: bindingId, seId: seId) }
    }

    /// Unlocks a locked card.
    public func unlockCard(bindingId: String, seId: String) async throws -> SeCard {
        try await call { try await $0.unlockCard(bindingId: bindingId, seId: seId) }
    }

    /// Deletes the card from the secure element.
    public func deleteCard(bindingId: String, seId: String) async throws -> SeCard {
        try await call { try await $0.deleteCard(bindingId: bindingId, seId: seId) }
    }

    /// The card's electronic-cash balance in fen.
    public func ecashBalance(bindingId: String, seId: String) async throws -> UInt64 {
        try await call { try await $0.ecashBalance(bindingId: bindingId, seId: seId) }
    }
}
