package org.openwallet.wallet.android

import android.content.Context
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.withContext
import org.openwallet.ffi.HceCardInfo
import org.openwallet.ffi.KeyStore
import org.openwallet.ffi.LogSink
import org.openwallet.ffi.SeReaderKind
import org.openwallet.ffi.SecureElementTransport
import org.openwallet.ffi.Signer
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletConfig
import org.openwallet.wallet.CardOpeningUpdate
import org.openwallet.wallet.openCardFlow
import java.io.File
import java.util.concurrent.atomic.AtomicBoolean

/**
 * The wallet as an Android app uses it: one [Wallet] with its platform services (Keystore,
 * OMAPI, logcat), routed to [WalletHceService], closed with the lifecycle of [scope].
 *
 * Pass a lifecycle-bound scope (e.g. `lifecycleScope`, or a service's or the application's
 * scope): when its job completes the client closes (detaches HCE, closes the OMAPI bridge, then
 * the wallet). Everything not wrapped here is on [wallet] (generated API, plus the Kotlin
 * helpers of `org.openwallet.wallet`).
 */
class WalletClient private constructor(
    /** The wallet (generated API); do not use it after [close]. */
    val wallet: Wallet,
    private val services: List<AutoCloseable>,
    scope: CoroutineScope?,
) : AutoCloseable {
    private val closed = AtomicBoolean(false)

    init {
        WalletHceService.attach(wallet)
        scope?.coroutineContext?.get(Job)?.invokeOnCompletion { close() }
    }

    /** Whether [close] ran (directly or because the scope ended). */
    val isClosed: Boolean
        get() = closed.get()

    /**
     * Air card opening into the device's SE: every progress report, then the opened card
     * ([CardOpeningUpdate]); cancelling the collection cancels the opening.
     */
    fun openCard(
        bindingId: String,
        preferred: SeReaderKind? = null,
        initialEcashLoadFen: ULong = 0u,
    ): Flow<CardOpeningUpdate> = wallet.openCardFlow(bindingId, preferred, initialEcashLoadFen)

    /** Provisions the HCE card of [bindingId] (the first one answers [WalletHceService]). */
    suspend fun openHceCard(bindingId: String): HceCardInfo = wallet.openHceCard(bindingId)

    /** The wallet's HCE cards. */
    suspend fun hceCards(): List<HceCardInfo> = withContext(Dispatchers.IO) { wallet.hceCards() }

    /** Detaches HCE routing, closes the platform services, then the wallet. Idempotent. */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        WalletHceService.detach(wallet)
        services.forEach { runCatching { it.close() } }
        wallet.close()
    }

    /** Opening. */
    companion object {
        /**
         * Opens the wallet stored in [config]'s data directory with the given platform
         * services; blocking work runs on [Dispatchers.IO]. [signer] enables device-key
         * operations (non-SE payments); [secureElements] are attached for card opening and
         * closed with the client when they are [AutoCloseable].
         */
        suspend fun open(
            config: WalletConfig,
            scope: CoroutineScope?,
            keyStore: KeyStore? = null,
            signer: Signer? = null,
            secureElements: SecureElementTransport? = null,
            logSink: LogSink? = null,
        ): WalletClient = withContext(Dispatchers.IO) {
            val wallet = if (signer != null) {
                Wallet.openWithSigner(config, signer, keyStore, logSink)
            } else {
                Wallet.open(config, keyStore, logSink)
            }
            secureElements?.let(wallet::attachSecureElements)
            WalletClient(wallet, listOfNotNull(secureElements as? AutoCloseable), scope)
        }

        /**
         * Opens the app's wallet with the device's services: data in `noBackupFilesDir/wallet`,
         * data key and device keys in the Android Keystore (StrongBox when present), secure
         * elements through OMAPI, logs to logcat.
         */
        suspend fun open(context: Context, backendUrl: String, scope: CoroutineScope?): WalletClient {
            val app = context.applicationContext ?: context
            val omapi = OmapiSecureElements(AndroidOmapiConnector(app)).also { it.connect() }
            return try {
                open(
                    config = WalletConfig(File(app.noBackupFilesDir, "wallet").path, backendUrl),
                    scope = scope,
                    keyStore = androidKeystoreKeyStore(app),
                    signer = androidKeystoreSigner(app),
                    secureElements = omapi,
                    logSink = AndroidLogSink(),
                )
            } catch (e: Exception) {
                omapi.close()
                throw e
            }
        }
    }
}
