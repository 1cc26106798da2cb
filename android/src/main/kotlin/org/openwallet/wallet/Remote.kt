package org.openwallet.wallet

import org.openwallet.ffi.PayAuth
import org.openwallet.ffi.RemotePayment
import org.openwallet.ffi.SmsChallenge
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletFfiException

/**
 * Pays [orderId] from [bindingId] in non-SE mode with the payment password
 * ([Wallet.setPaymentPassword]): the device key signs, only a proof derived from [password] is
 * sent. A wrong password throws [WalletFfiException.WrongCode] (code `password_wrong`, with
 * `attemptsLeft`); safe to repeat after a lost answer (the order is paid at most once).
 */
suspend fun Wallet.payWithPassword(bindingId: String, orderId: String, password: String): RemotePayment =
    payOrder(bindingId, orderId, PayAuth.Password(password))

/**
 * Pays [orderId] from [bindingId] in non-SE mode with an SMS code: asks for a code for this order
 * ([Wallet.requestPaymentSms]), gets it from [readCode] (the UI asking the user), then pays.
 */
suspend fun Wallet.payWithSms(
    bindingId: String,
    orderId: String,
    readCode: suspend (SmsChallenge) -> String,
): RemotePayment {
    val challenge = requestPaymentSms(bindingId, orderId)
    return payOrder(bindingId, orderId, PayAuth.Sms(challenge.challengeId, readCode(challenge)))
}

/**
 * Pays [orderId] from [bindingId] in SE mode: the card in secure element [seId] signs after
 * verifying [pin]. A wrong PIN throws [WalletFfiException.WrongCode] (code `pin_wrong`).
 */
suspend fun Wallet.payWithSecureElement(bindingId: String, orderId: String, seId: String, pin: String): RemotePayment =
    payOrder(bindingId, orderId, PayAuth.Se(seId, pin))

/** Tries left after a wrong code, payment password or PIN; `null` for other errors. */
val WalletFfiException.attemptsLeftOrNull: UInt?
    get() = (this as? WalletFfiException.WrongCode)?.attemptsLeft

/** Whether a remote payment was refused with nothing debited (expired, already paid, funds…). */
val WalletFfiException.isPaymentRefused: Boolean
    get() = this is WalletFfiException.Payment
