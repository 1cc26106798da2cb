package org.openwallet.wallet

import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.openwallet.ffi.CardOpeningProgress
import org.openwallet.ffi.CardOpeningStage
import org.openwallet.ffi.CardState
import org.openwallet.ffi.SeChannelOpened
import org.openwallet.ffi.SeFfiException
import org.openwallet.ffi.SeReaderInfo
import org.openwallet.ffi.SeReaderKind
import org.openwallet.ffi.SecureElementTransport
import org.openwallet.ffi.SimulatedSecureElements
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletConfig
import org.openwallet.ffi.WalletFfiException
import java.io.File
import java.util.Collections
import java.util.concurrent.atomic.AtomicInteger

/**
 * Air card opening against the mock backend's TSM (WALLET_BACKEND_URL, see
 * scripts/with-mock-backend.sh), in the SE simulator (`SimulatedSecureElements`, test hooks).
 * Each test binds its own card in its own data directory.
 */
class CardOpeningTest {
    private companion object {
        /** Instance AID of the payment application the mock TSM installs for a debit card. */
        const val DEBIT_INSTANCE_AID = "A000000333010101"
    }

    @TempDir
    lateinit var tmp: File
    private lateinit var url: String

    @BeforeEach
    fun needsBackend() {
        val backend = backendUrl()
        assumeTrue(backend != null, "WALLET_BACKEND_URL not set")
        url = backend!!
    }

    /** A wallet with fast TSM polling in a fresh directory. */
    private fun openWallet(): Wallet =
        Wallet.open(
            WalletConfig(File(tmp, "wallet").path, url, requestTimeoutMs = 5_000u, maxRetries = 0u, otaMaxDelayMs = 5u),
        )

    private fun simulator(): SimulatedSecureElements = SimulatedSecureElements.open(File(tmp, "se").path)

    private inline fun <reified E : Throwable> failsWith(noinline block: suspend () -> Unit): E =
        assertThrows<E> { runBlocking { block() } }

    @Test
    fun `open a card in the simulated eSE with progress, then lock, unlock and delete it`() = runBlocking {
        openWallet().use { wallet ->
            simulator().use { se ->
                val bindingId = bindDebitCard(wallet, url)
                wallet.attachSecureElements(se)

                val updates = wallet.openCardFlow(bindingId, SeReaderKind.ESE, 10_000u).toList()
                val card = (updates.last() as CardOpeningUpdate.Opened).card
                assertEquals(CardState.ACTIVE, card.state)
                assertEquals("eSE1", card.reader)
                assertEquals(SeReaderKind.ESE, card.readerKind)
                assertEquals(DEBIT_INSTANCE_AID, card.instanceAid)
                assertEquals(se.seId(SeReaderKind.ESE), card.seId)
                assertTrue('*' in card.maskedPan, card.maskedPan)

                val progress = updates.filterIsInstance<CardOpeningUpdate.Progress>().map { it.progress }
                val percents = progress.map { it.percent.toInt() }
                assertTrue(percents.zipWithNext().all { (a, b) -> a <= b }, "progress went back: $percents")
                assertEquals(CardOpeningStage.HANDSHAKE, progress.first().stage)
                assertEquals(CardOpeningStage.COMPLETED to 100, progress.last().stage to percents.last())
                assertTrue(progress.last().apdusExchanged > 0u)

                assertEquals(10_000uL, wallet.ecashBalance(bindingId, card.seId))
                assertEquals(listOf(CardState.ACTIVE), wallet.cardsInSe().map { it.state })
                val again = failsWith<WalletFfiException.Card> { wallet.openCard(bindingId, SeReaderKind.ESE, 0u, null) }
                assertEquals("card_exists", again.code)

                assertEquals(CardState.LOCKED, wallet.lockCard(bindingId, card.seId).state)
                val refused = failsWith<WalletFfiException.Card> { wallet.ecashBalance(bindingId, card.seId) }
                assertEquals("invalid_state", refused.code)
                assertEquals(CardState.ACTIVE, wallet.unlockCard(bindingId, card.seId).state)
                val status = wallet.cardStatus(bindingId, card.seId)
                assertEquals(CardState.ACTIVE to 10_000uL, status.state to status.ecashBalance)
                assertEquals(10_000uL, wallet.ecashBalance(bindingId, card.seId))
                val deleted = wallet.deleteCard(bindingId, card.seId)
                assertEquals(CardState.DELETED to 10_000uL, deleted.state to deleted.ecashRefunded)
                assertEquals(listOf(CardState.DELETED), wallet.cardsInSe().map { it.state })
            }
        }
    }

    @Test
    fun `no secure element is a typed error`() = runBlocking {
        openWallet().use { wallet ->
            simulator().use { se ->
                val bindingId = bindDebitCard(wallet, url)
                val unattached = failsWith<WalletFfiException.Card> { wallet.openCard(bindingId, null, 0u, null) }
                assertTrue(unattached.isNoSecureElement, unattached.code)
                assertEquals(emptyList<Any>(), wallet.cardsInSe())

                for (kind in SeReaderKind.entries) se.setPresent(kind, false)
                wallet.attachSecureElements(se)
                val absent = failsWith<WalletFfiException.Card> { wallet.openCard(bindingId, SeReaderKind.SIM, 100u, null) }
                assertEquals("no_secure_element", absent.code)

                // The SIM comes back: the same wallet opens the card there.
                se.setPresent(SeReaderKind.SIM, true)
                val reports = Collections.synchronizedList(mutableListOf<CardOpeningProgress>())
                val card = wallet.openCard(bindingId, SeReaderKind.ESE, 100u) { reports += it }
                assertEquals("SIM1" to CardState.ACTIVE, card.reader to card.state)
                assertEquals(100, reports.last().percent.toInt())
            }
        }
    }

    /** A Kotlin transport over another one: counts APDUs and can throw instead of sending them. */
    private class KotlinTransport(private val inner: SecureElementTransport) : SecureElementTransport by inner {
        val apdus = AtomicInteger()
        val readerCalls = AtomicInteger()

        /** Returns the exception to throw for [apdu], or null to send it. */
        @Volatile
        var failure: (ByteArray) -> Exception? = { null }

        override fun readers(): List<SeReaderInfo> {
            readerCalls.incrementAndGet()
            // Names only: the library derives the kind from the OMAPI reader name.
            return inner.readers().map { it.copy(kind = null) }
        }

        override fun transmit(channel: ULong, apdu: ByteArray): ByteArray {
            apdus.incrementAndGet()
            failure(apdu)?.let { throw it }
            return inner.transmit(channel, apdu)
        }
    }

    @Test
    fun `a Kotlin-implemented transport opens a card`() = runBlocking {
        openWallet().use { wallet ->
            simulator().use { se ->
                val bindingId = bindDebitCard(wallet, url)
                val transport = KotlinTransport(se)
                wallet.attachSecureElements(transport)
                val card = wallet.openCard(bindingId, SeReaderKind.SD, 2_500u, null)
                assertEquals(CardState.ACTIVE, card.state)
                assertEquals("SD1" to SeReaderKind.SD, card.reader to card.readerKind)
                assertEquals(se.seId(SeReaderKind.SD), card.seId)
                assertTrue(transport.apdus.get() > 5, "APDUs through Kotlin: ${transport.apdus.get()}")
                assertTrue(transport.readerCalls.get() > 0)
                val sent = transport.apdus.get()
                assertEquals(2_500uL, wallet.ecashBalance(bindingId, card.seId))
                assertTrue(transport.apdus.get() > sent, "the e-cash read went through Kotlin")
            }
        }
    }

    @Test
    fun `exceptions thrown by a Kotlin transport are typed errors, not crashes`() = runBlocking {
        openWallet().use { wallet ->
            simulator().use { se ->
                val bindingId = bindDebitCard(wallet, url)
                val transport = KotlinTransport(se)
                wallet.attachSecureElements(transport)

                // An undeclared exception on every APDU: the SE cannot even name itself.
                transport.failure = { IllegalStateException("SE service died") }
                val unidentified = failsWith<WalletFfiException.Card> { wallet.openCard(bindingId, SeReaderKind.ESE, 1_000u, null) }
                assertEquals("unknown_se", unidentified.code)

                // The SE names itself (GET DATA, INS CA), then every command of the TSM's script
                // fails with a declared SE error: the TSM fails the order.
                transport.failure = { apdu -> if (apdu[1] == 0xCA.toByte()) null else SeFfiException.Io("SE removed") }
                val failed = failsWith<WalletFfiException.Card> { wallet.openCard(bindingId, SeReaderKind.ESE, 1_000u, null) }
                assertEquals("local_agent_failure", failed.code)
                assertTrue(wallet.cardsInSe().none { it.state == CardState.ACTIVE })

                // The same wallet and transport recover.
                transport.failure = { null }
                val card = wallet.openCard(bindingId, SeReaderKind.ESE, 1_000u, null)
                assertEquals(CardState.ACTIVE, card.state)
                assertEquals(1_000uL, wallet.ecashBalance(bindingId, card.seId))
            }
        }
    }

    @Test
    fun `reader lookups that throw are typed errors`() = runBlocking {
        openWallet().use { wallet ->
            val bindingId = bindDebitCard(wallet, url)
            val broken = object : SecureElementTransport {
                override fun readers(): List<SeReaderInfo> = throw SecurityException("no SE permission")
                override fun openSession(reader: String): ULong = error("not reached")
                override fun openLogicalChannel(session: ULong, aid: ByteArray?, p2: UByte): SeChannelOpened = error("not reached")
                override fun openBasicChannel(session: ULong, aid: ByteArray?, p2: UByte): SeChannelOpened = error("not reached")
                override fun transmit(channel: ULong, apdu: ByteArray): ByteArray = error("not reached")
                override fun closeChannel(channel: ULong) = Unit
                override fun closeSession(session: ULong) = Unit
            }
            wallet.attachSecureElements(broken)
            val e = failsWith<WalletFfiException.Card> { wallet.openCard(bindingId, null, 0u, null) }
            assertEquals("secure_element", e.code)
            assertTrue("no SE permission" in e.errorMessage, e.errorMessage)
        }
    }
}
