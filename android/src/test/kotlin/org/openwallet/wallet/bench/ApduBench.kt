package org.openwallet.wallet.bench

import kotlinx.coroutines.runBlocking
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletConfig
import org.openwallet.wallet.SELECT_PPSE
import org.openwallet.wallet.backendUrl
import org.openwallet.wallet.bindDebitCard
import java.nio.file.Files

/**
 * Cost of one `Wallet.processApdu` call from Kotlin through JNA, as `HostApduService` makes it:
 * SELECT PPSE against an open HCE card (no cryptogram, no durable write). Needs the mock backend
 * (WALLET_BACKEND_URL) to bind the test card and open the HCE card; skipped without it.
 */
fun benchProcessApdu(calls: Int, warmup: Int) {
    val url = backendUrl()
    if (url == null) {
        println("BENCH kotlin-jna process_apdu(SELECT PPSE): skipped (no WALLET_BACKEND_URL; run under scripts/with-mock-backend.sh)")
        return
    }
    val dir = Files.createTempDirectory("wallet-apdu-bench").toFile()
    try {
        Wallet.open(WalletConfig(dir.resolve("wallet").path, url, requestTimeoutMs = 5_000u, maxRetries = 0u)).use { wallet ->
            runBlocking { wallet.openHceCard(bindDebitCard(wallet, url)) }
            val answer = wallet.processApdu(SELECT_PPSE)
            check(answer.size > 2 && answer[answer.size - 2] == 0x90.toByte() && answer.last() == 0.toByte()) {
                "SELECT PPSE was not answered 9000"
            }
            report("process_apdu(SELECT PPSE, HCE card)", calls, warmup) { wallet.processApdu(SELECT_PPSE) }
        }
    } finally {
        dir.deleteRecursively()
    }
}
