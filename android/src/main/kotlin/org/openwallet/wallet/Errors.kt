package org.openwallet.wallet

import org.openwallet.ffi.CardListenerException
import org.openwallet.ffi.FfiException
import org.openwallet.ffi.KeyStoreFfiException
import org.openwallet.ffi.LogSinkException
import org.openwallet.ffi.SeFfiException
import org.openwallet.ffi.WalletFfiException

/** Stable machine-readable code of any [FfiException] variant (e.g. `invalid_url`). */
val FfiException.code: String
    get() = when (this) {
        is FfiException.InvalidArgument -> code
        is FfiException.Network -> code
        is FfiException.Backend -> code
    }

/** Human-readable text of any [FfiException] variant. */
val FfiException.errorMessage: String
    get() = when (this) {
        is FfiException.InvalidArgument -> errorMessage
        is FfiException.Network -> errorMessage
        is FfiException.Backend -> errorMessage
    }

/** Stable machine-readable code of any [KeyStoreFfiException] variant. */
val KeyStoreFfiException.code: String
    get() = when (this) {
        is KeyStoreFfiException.Failure -> code
        is KeyStoreFfiException.Unwrap -> code
        is KeyStoreFfiException.Unexpected -> code
    }

/** Stable machine-readable code of any [LogSinkException] variant. */
val LogSinkException.code: String
    get() = when (this) {
        is LogSinkException.Failed -> code
    }

/** Stable machine-readable code of any [WalletFfiException] variant (e.g. `otp_wrong`). */
val WalletFfiException.code: String
    get() = when (this) {
        is WalletFfiException.Config -> code
        is WalletFfiException.InvalidInput -> code
        is WalletFfiException.CardRejected -> code
        is WalletFfiException.WrongCode -> code
        is WalletFfiException.CodeUnusable -> code
        is WalletFfiException.NotFound -> code
        is WalletFfiException.Network -> code
        is WalletFfiException.Backend -> code
        is WalletFfiException.Card -> code
        is WalletFfiException.Storage -> code
        is WalletFfiException.KeyStore -> code
        is WalletFfiException.Payment -> code
        is WalletFfiException.Signer -> code
    }

/** Whether repeating the same call later may succeed (the back end was unreachable). */
val WalletFfiException.isTransient: Boolean
    get() = this is WalletFfiException.Network

/**
 * Whether a card operation failed because the phone has no usable secure element: host card
 * emulation is then the route (code `no_secure_element`).
 */
val WalletFfiException.isNoSecureElement: Boolean
    get() = this is WalletFfiException.Card && code == "no_secure_element"

/** Human-readable text of any [SeFfiException] variant. */
val SeFfiException.errorMessage: String
    get() = when (this) {
        is SeFfiException.ReaderAbsent -> errorMessage
        is SeFfiException.Io -> errorMessage
        is SeFfiException.NoFreeChannel -> errorMessage
        is SeFfiException.AccessDenied -> errorMessage
        is SeFfiException.ApplicationNotFound -> errorMessage
        is SeFfiException.UnexpectedStatus -> errorMessage
        is SeFfiException.Closed -> errorMessage
        is SeFfiException.Platform -> errorMessage
    }

/** Stable machine-readable code of any [CardListenerException] variant. */
val CardListenerException.code: String
    get() = when (this) {
        is CardListenerException.Failed -> code
    }
