package org.openwallet.wallet.android

import android.nfc.cardemulation.HostApduService
import android.os.Bundle
import android.util.Log
import org.openwallet.ffi.Wallet

/**
 * The wallet's host card emulation service: every command APDU from the POS terminal goes to
 * the core ([Wallet.processApdu], default HCE card) and its answer goes back; the end of the
 * tap goes to [Wallet.onDeactivated].
 *
 * Registered in the library's `AndroidManifest.xml` for the payment category with the PPSE and
 * the UnionPay AIDs (`res/xml/apduservice.xml`, device unlock required). It answers with the
 * wallet attached by [attach] (done by [WalletClient]); apps with their own wallet routing
 * subclass it and override [wallet].
 *
 * [processCommandApdu] never throws: a failure of the core (or a closed wallet) is the status
 * word `6F00`, no attached wallet is `6A82` (as the core answers when it has no HCE card).
 */
open class WalletHceService : HostApduService() {
    /** Which wallet answers the terminal; `null` when none is open. */
    protected open fun wallet(): Wallet? = attached

    override fun processCommandApdu(commandApdu: ByteArray?, extras: Bundle?): ByteArray {
        val apdu = commandApdu ?: return SW_UNKNOWN.copyOf()
        val wallet = wallet() ?: return SW_NOT_FOUND.copyOf()
        return try {
            wallet.processApdu(apdu)
        } catch (e: Exception) {
            Log.w(TAG, "processCommandApdu failed: ${e.javaClass.simpleName}")
            SW_UNKNOWN.copyOf()
        } catch (e: LinkageError) {
            // The native library could not be loaded or called.
            Log.e(TAG, "processCommandApdu: native library unavailable: ${e.javaClass.simpleName}")
            SW_UNKNOWN.copyOf()
        }
    }

    override fun onDeactivated(reason: Int) {
        try {
            wallet()?.onDeactivated(reason)
        } catch (e: Exception) {
            Log.w(TAG, "onDeactivated($reason) failed: ${e.javaClass.simpleName}")
        } catch (e: LinkageError) {
            Log.e(TAG, "onDeactivated: native library unavailable: ${e.javaClass.simpleName}")
        }
    }

    /** Routing of the service to a wallet, process-wide. */
    companion object {
        private const val TAG = "WalletHceService"

        /** `6F00`: no precise diagnosis (the core failed). */
        val SW_UNKNOWN: ByteArray = byteArrayOf(0x6F, 0x00)

        /** `6A82`: file or application not found (no wallet to answer). */
        val SW_NOT_FOUND: ByteArray = byteArrayOf(0x6A, 0x82.toByte())

        @Volatile
        private var attached: Wallet? = null

        /**
         * Makes [wallet] answer the terminal (`null` detaches). [WalletClient] attaches its
         * wallet when opened with `routeHce = true` and detaches it when closed.
         */
        @JvmStatic
        fun attach(wallet: Wallet?) {
            attached = wallet
        }

        /** Detaches [wallet] if it is the attached one (a newer wallet stays attached). */
        @JvmStatic
        fun detach(wallet: Wallet) {
            synchronized(this) {
                if (attached === wallet) attached = null
            }
        }
    }
}
