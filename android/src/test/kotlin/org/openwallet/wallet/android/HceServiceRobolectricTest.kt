package org.openwallet.wallet.android

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.openwallet.ffi.MockTerminal
import org.openwallet.ffi.TapDecision
import org.openwallet.ffi.TappableCard
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletConfig
import org.openwallet.wallet.SELECT_PPSE
import org.openwallet.wallet.bindDebitCard
import org.robolectric.Robolectric
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowLog
import java.util.concurrent.atomic.AtomicInteger

/** The phone in the terminal's field: each APDU goes through the HostApduService. */
private class ServicePhone(private val service: WalletHceService) : TappableCard {
    val apdus = AtomicInteger()

    override fun transceive(apdu: ByteArray): ByteArray {
        apdus.incrementAndGet()
        return service.processCommandApdu(apdu, null)
    }
}

/**
 * [WalletHceService] under Robolectric, against the real library and the mock backend: the mock
 * POS terminal (Rust) taps a card whose every APDU goes into the service's processCommandApdu.
 */
@RunWith(org.robolectric.RobolectricTestRunner::class)
@Config(sdk = [34], manifest = Config.NONE)
class HceServiceRobolectricTest {
    @get:Rule
    val tmp = TemporaryFolder()

    @After
    fun detach() = WalletHceService.attach(null)

    private fun config(url: String) =
        WalletConfig(tmp.newFolder().path, url, requestTimeoutMs = 10_000u, maxRetries = 0u)

    private fun service(): WalletHceService = Robolectric.buildService(WalletHceService::class.java).create().get()

    @Test
    fun `a tap through the HostApduService is approved online by the mock issuer`() = runBlocking {
        val url = requireBackend()
        val scope = CoroutineScope(Job())
        val client = WalletClient.open(config(url), scope, logSink = AndroidLogSink())
        MockTerminal(url).use { terminal ->
            val bindingId = bindDebitCard(client.wallet, url)
            val card = client.openHceCard(bindingId)
            assertEquals(listOf(card), client.hceCards())

            val service = service()
            val phone = ServicePhone(service)
            val tap = terminal.tap(phone, 2_345uL)
            service.onDeactivated(0)
            assertTrue(tap.toString(), tap.approved)
            assertEquals(TapDecision.APPROVED_ONLINE, tap.decision)
            assertEquals("arqc", tap.cryptogramType)
            assertEquals(card.maskedTokenPan, tap.maskedPan)
            assertEquals(tap.apdus.toInt(), phone.apdus.get())
            assertTrue(tap.toString(), tap.apdus > 3u)

            val second = terminal.tap(phone, 100uL)
            service.onDeactivated(1)
            assertEquals(TapDecision.APPROVED_ONLINE, second.decision)
            assertTrue("ATC must rise", second.atc!!.toInt() > tap.atc!!.toInt())
        }
        // The library logged through android.util.Log.
        assertTrue(ShadowLog.getLogsForTag(AndroidLogSink.DEFAULT_TAG).isNotEmpty())

        // The client closes with its scope, and the service stops answering with its wallet.
        scope.coroutineContext[Job]!!.cancel()
        assertTrue(client.isClosed)
        assertArrayEquals(WalletHceService.SW_NOT_FOUND, service().processCommandApdu(SELECT_PPSE, null))
    }

    @Test
    fun `the service never throws - no wallet, closed wallet, missing APDU`() {
        val service = service()
        assertArrayEquals(WalletHceService.SW_NOT_FOUND, service.processCommandApdu(SELECT_PPSE, null))
        assertArrayEquals(WalletHceService.SW_UNKNOWN, service.processCommandApdu(null, null))

        val wallet = Wallet.open(WalletConfig(tmp.newFolder().path, "http://127.0.0.1:9"))
        WalletHceService.attach(wallet)
        // An open wallet without HCE card: the core's own answer.
        assertArrayEquals(byteArrayOf(0x6A, 0x82.toByte()), service.processCommandApdu(SELECT_PPSE, null))
        service.onDeactivated(0)
        // A closed wallet: the binding throws, the service answers 6F00.
        wallet.close()
        assertArrayEquals(WalletHceService.SW_UNKNOWN, service.processCommandApdu(SELECT_PPSE, null))
        service.onDeactivated(1)
    }
}
