package org.openwallet.wallet

import org.openwallet.ffi.FfiException
import org.openwallet.ffi.KeyStore
import org.openwallet.ffi.LogLevel
import org.openwallet.ffi.LogRecord
import org.openwallet.ffi.LogSink
import org.openwallet.ffi.SecureElementTransport
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletConfig
import org.openwallet.ffi.WalletFfiException
import org.openwallet.ffi.coreVersion
import org.openwallet.ffi.normalizeBackendUrl
import org.openwallet.ffi.pingBackend
import org.openwallet.ffi.setLogSink
import java.io.File

/**
 * Kotlin entry points of the wallet library, over the generated bindings in `org.openwallet.ffi`.
 *
 * The generated API stays available for everything not wrapped here; this object adds what a
 * Kotlin caller expects: properties, lambdas, and `null`/`false` where an exception would be noise.
 */
object WalletLibrary {
    /** Version of the Rust library (core and facade share it). */
    val version: String
        get() = coreVersion()

    /**
     * The canonical form of a backend base URL, or `null` when it is not one
     * (the typed reason is available from [org.openwallet.ffi.normalizeBackendUrl]).
     */
    fun backendUrlOrNull(url: String): String? =
        try {
            normalizeBackendUrl(url)
        } catch (e: FfiException.InvalidArgument) {
            null
        }

    /**
     * Whether the backend at [url] answers `GET /health` with `ok`. Unreachable or failing
     * backends give `false`; a malformed URL throws [FfiException.InvalidArgument].
     */
    suspend fun isBackendHealthy(url: String): Boolean =
        try {
            pingBackend(url) == "ok"
        } catch (e: FfiException.Network) {
            false
        } catch (e: FfiException.Backend) {
            false
        }

    /**
     * Sends the library's log records at [minLevel] or more severe to [logger], called from
     * library threads; `null` stops logging. An exception thrown by [logger] drops that record only.
     */
    fun setLogger(minLevel: LogLevel = LogLevel.INFO, logger: ((LogRecord) -> Unit)?) {
        setLogSink(logger?.let(::LambdaLogSink), minLevel)
    }

    /**
     * Opens (or creates) the wallet stored in [dataDir], talking to [backendUrl]. [keyStore] wraps
     * the store's data key (the Android Keystore in the app; `null` keeps a software key file);
     * [logger], when given, receives the library's log records at [LogLevel.INFO] and above;
     * [secureElements], when given, are the device's secure elements for card opening (OMAPI in
     * the app; they can also be attached later with [Wallet.attachSecureElements]).
     * Close the wallet (`use {}`) before opening the same directory again.
     */
    @Throws(WalletFfiException::class)
    fun openWallet(
        dataDir: File,
        backendUrl: String,
        keyStore: KeyStore? = null,
        secureElements: SecureElementTransport? = null,
        logger: ((LogRecord) -> Unit)? = null,
    ): Wallet = Wallet.open(WalletConfig(dataDir.path, backendUrl), keyStore, logger?.let(::LambdaLogSink))
        .also { wallet -> secureElements?.let(wallet::attachSecureElements) }

    private class LambdaLogSink(private val block: (LogRecord) -> Unit) : LogSink {
        override fun log(record: LogRecord) = block(record)
    }
}
