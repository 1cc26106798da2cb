// Remote (in-app) payment for Swift callers: one call per way of proving the payer, over the
// generated `Wallet.payOrder(bindingId:orderId:auth:)`.

import Foundation
import WalletFFI

extension Wallet {
    /// Pays `orderId` from `bindingId` in non-SE mode with the payment password
    /// (`setPaymentPassword(bindingId:password:)`): the device key signs, only a proof derived
    /// from the password is sent. A wrong password throws `WalletFfiError.WrongCode` (code
    /// `password_wrong`, with the attempts left). Safe to repeat after a lost answer.
    public func payWithPassword(bindingId: String, orderId: String, password: String) async throws
        -> RemotePayment
    {
        try await payOrder(bindingId: bindingId, orderId: orderId, auth: .password(password: password))
    }

    /// Pays `orderId` from `bindingId` in non-SE mode with an SMS code: asks for a code for this
    /// order, gets it from `readCode` (the UI asking the user), then pays.
    public func payWithSms(
        bindingId: String, orderId: String,
        readCode: (SmsChallenge) async throws -> String
    ) async throws -> RemotePayment {
        let challenge = try await requestPaymentSms(bindingId: bindingId, orderId: orderId)
        let code = try await readCode(challenge)
        return try await payOrder(
            bindingId: bindingId, orderId: orderId,
            auth: .sms(challengeId: challenge.challengeId, code: code))
    }

    /// Pays `orderId` from `bindingId` in SE mode: the card in secure element `seId` signs after
    /// verifying `pin`. A wrong PIN throws `WalletFfiError.WrongCode` (code `pin_wrong`).
    public func payWithSecureElement(bindingId: String, orderId: String, seId: String, pin: String)
        async throws -> RemotePayment
    {
        try await payOrder(bindingId: bindingId, orderId: orderId, auth: .se(seId: seId, pin: pin))
    }
}

extension WalletFfiError {
    /// Tries left after a wrong code, payment password or PIN; `nil` for other errors.
    public var attemptsLeft: UInt32? { WalletError(self).attemptsLeft }

    /// Whether a remote payment was refused with nothing debited (expired, already paid, funds…).
    public var isPaymentRefused: Bool {
        if case .Payment = self { return true }
        return false
    }
}
