package org.openwallet.wallet

import org.openwallet.ffi.FfiException
import org.openwallet.ffi.KeyStoreFfiException
import org.openwallet.ffi.LogSinkException
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
    }

/** Whether repeating the same call later may succeed (the back end was unreachable). */
val WalletFfiException.isTransient: Boolean
    get() = this is WalletFfiException.Network
