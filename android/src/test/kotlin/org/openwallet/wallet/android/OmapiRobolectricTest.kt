package org.openwallet.wallet.android

import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.openwallet.ffi.CardState
import org.openwallet.ffi.SeFfiException
import org.openwallet.ffi.SeReaderInfo
import org.openwallet.ffi.SeReaderKind
import org.openwallet.ffi.SimulatedSecureElements
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletConfig
import org.openwallet.ffi.WalletFfiException
import org.openwallet.wallet.CardOpeningUpdate
import org.openwallet.wallet.bindDebitCard
import org.openwallet.wallet.openCardFlow
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowSecureElementService
import java.util.Collections
import java.util.concurrent.atomic.AtomicInteger

/**
 * The OMAPI bridge over the real `android.se.omapi` classes with Robolectric's secure-element
 * shadow, whose mock applets forward to the mock world's SE simulator ([SimulatorApplet]).
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], manifest = Config.NONE)
class OmapiRobolectricTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private lateinit var se: SimulatedSecureElements
    private lateinit var applets: List<SimulatorApplet>

    /** Every SEService the bridge created, in order. */
    private val services: MutableList<OmapiService> = Collections.synchronizedList(mutableListOf())

    private fun bridge() = OmapiSecureElements(
        connector = { onConnected ->
            AndroidOmapiConnector(RuntimeEnvironment.getApplication()).connect(onConnected).also { services += it }
        },
        connectTimeoutMs = 10_000,
    )

    @Before
    fun simulator() {
        ShadowSecureElementService.reset()
        se = SimulatedSecureElements.open(tmp.newFolder("se").path)
        applets = registerSimulatorApplets(se, SeReaderKind.ESE, SeReaderKind.SIM)
    }

    @After
    fun reset() {
        ShadowSecureElementService.reset()
        se.close()
    }

    private fun isd(reader: String) = applets.single { it.reader == reader && it.aidHex == ISD }

    @Test
    fun `readers are discovered by name with their presence, sessions and channels reach the SE`() {
        bridge().use { bridge ->
            val readers = whileIdling { bridge.readers() }
            assertEquals(
                setOf(SeReaderInfo("eSE1", null, true), SeReaderInfo("SIM1", null, true)),
                readers.toSet(),
            )
            assertTrue(bridge.isConnected)
            try {
                bridge.openSession("SD1")
                fail("SD1 has no reader")
            } catch (e: SeFfiException.ReaderAbsent) {
                assertEquals("SD1", e.reader)
            }

            val session = bridge.openSession("eSE1")
            val channel = bridge.openLogicalChannel(session, hex(ISD), 0u)
            val select = channel.selectResponse!!
            assertEquals("9000", select.copyOfRange(select.size - 2, select.size).toHex())
            // GET DATA key diversification data: answered by the simulated ISD.
            val kdd = bridge.transmit(channel.handle, hex("80CA00CF00"))
            assertEquals("9000", kdd.copyOfRange(kdd.size - 2, kdd.size).toHex())
            assertTrue(kdd.size > 2)
            assertEquals(1, isd("eSE1").transmitted.size)

            // A second channel to an AID with no applet behind it: OMAPI gives no channel.
            try {
                bridge.openLogicalChannel(session, hex("A0000003330101FF"), 0u)
                fail("no such applet")
            } catch (e: SeFfiException.NoFreeChannel) {
                // expected
            }
            bridge.closeSession(session)
            try {
                bridge.transmit(channel.handle, hex("80CA00CF00"))
                fail("the channel closed with its session")
            } catch (e: SeFfiException.Closed) {
                // expected
            }
        }
        // Closing the bridge released the service.
        assertFalse(services.single().isConnected)
    }

    @Test
    fun `a card opening through OMAPI reaches the SE simulator, with progress from WalletClient`() {
        val url = requireBackend()
        val bridge = bridge()
        // The client owns the bridge: closing it closes the bridge too.
        val client = runBlocking { WalletClient.open(config(url), scope = null, secureElements = bridge) }
        client.use {
            val updates = whileIdling {
                val bindingId = bindDebitCard(client.wallet, url)
                client.openCard(bindingId, SeReaderKind.ESE).toList()
            }
            val card = (updates.last() as CardOpeningUpdate.Opened).card
            val percents = updates.dropLast(1).map { (it as CardOpeningUpdate.Progress).progress.percent.toInt() }
            assertTrue("$percents", percents.isNotEmpty() && percents.zipWithNext().all { (a, b) -> a <= b })
            assertEquals(CardState.ACTIVE, card.state)
            assertEquals("eSE1", card.reader)
            assertEquals(se.seId(SeReaderKind.ESE), card.seId)
            assertEquals(listOf(card.instanceAid), client.wallet.cardsInSe().map { it.instanceAid })
            // The TSM's script went over OMAPI channels into the simulated eSE, not the SIM.
            assertTrue(applets.filter { it.reader == "eSE1" }.sumOf { it.transmitted.size } > 5)
            assertEquals(0, applets.filter { it.reader == "SIM1" }.sumOf { it.transmitted.size })
            assertEquals(1, services.size)
        }
        assertTrue(client.isClosed)
        assertFalse(bridge.isConnected)
    }

    @Test
    fun `after the SE service dies, its handles fail with Io then Closed, and the bridge reconnects`() {
        bridge().use { bridge ->
            val session = whileIdling { bridge.openSession("eSE1") }
            val channel = bridge.openLogicalChannel(session, hex(ISD), 0u)
            assertEquals("9000", bridge.transmit(channel.handle, hex("80CA00CF00")).takeLast(2).toByteArray().toHex())

            services.single().shutdown() // the system SE service goes away
            try {
                bridge.transmit(channel.handle, hex("80CA00CF00"))
                fail("the service is gone")
            } catch (e: SeFfiException.Io) {
                // expected: the core drops the session and opens a new one
            }
            try {
                bridge.transmit(channel.handle, hex("80CA00CF00"))
                fail("the handle is forgotten")
            } catch (e: SeFfiException.Closed) {
                // expected
            }
            // The next call binds the service again.
            val again = whileIdling { bridge.openSession("eSE1") }
            val channel2 = bridge.openLogicalChannel(again, hex(ISD), 0u)
            assertArrayEquals(hex("9000"), bridge.transmit(channel2.handle, hex("80CA00CF00")).takeLast(2).toByteArray())
            assertEquals(2, services.size)
            assertTrue(bridge.isConnected)
        }
    }

    @Test
    fun `the SE service dying during a card opening fails it cleanly, and opening again recovers`() {
        val url = requireBackend()
        bridge().use { bridge ->
            Wallet.open(config(url)).use { wallet ->
                wallet.attachSecureElements(bridge)
                val bindingId = whileIdling { bindDebitCard(wallet, url) }
                val apdus = AtomicInteger()
                isd("eSE1").beforeTransmit = {
                    if (apdus.incrementAndGet() == 3) services.last().shutdown()
                }
                val failure = whileIdling {
                    runCatching { wallet.openCardFlow(bindingId, SeReaderKind.ESE).toList() }.exceptionOrNull()
                }
                // The TSM order fails as a card error that names the dead service, nothing crashes.
                val card = failure as? WalletFfiException.Card ?: throw AssertionError("expected a card error", failure)
                assertEquals("local_agent_failure", card.code)
                assertTrue(card.errorMessage, "secure element service died" in card.errorMessage)
                assertTrue(apdus.get() >= 3)

                isd("eSE1").beforeTransmit = {}
                val opened = whileIdling {
                    (wallet.openCardFlow(bindingId, SeReaderKind.ESE).toList().last() as CardOpeningUpdate.Opened).card
                }
                assertEquals(CardState.ACTIVE, opened.state)
                assertEquals("eSE1", opened.reader)
                assertEquals(1, wallet.cardsInSe().size)
                assertTrue("the bridge reconnected", services.size >= 2)
            }
        }
    }

    private fun config(url: String) =
        WalletConfig(tmp.newFolder().path, url, requestTimeoutMs = 10_000u, maxRetries = 0u, otaMaxDelayMs = 5u)

    private companion object {
        const val ISD = "A000000151000000"
    }
}
