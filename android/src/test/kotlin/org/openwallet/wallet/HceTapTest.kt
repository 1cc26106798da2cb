package org.openwallet.wallet

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import org.openwallet.ffi.AccountKind
import org.openwallet.ffi.MockTerminal
import org.openwallet.ffi.TapDecision
import org.openwallet.ffi.TappableCard
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletConfig
import java.io.File
import java.util.concurrent.atomic.AtomicInteger

/** SELECT of the PPSE (`2PAY.SYS.DDF01`, EMV Book B) with Le. */
val SELECT_PPSE: ByteArray = byteArrayOf(0x00, 0xA4.toByte(), 0x04, 0x00, 0x0E) + "2PAY.SYS.DDF01".toByteArray() + byteArrayOf(0x00)

/** The phone in the field: hands every command APDU to the wallet, as a HostApduService does. */
class HostApduPhone(private val wallet: Wallet) : TappableCard {
    val apdus = AtomicInteger()

    override fun transceive(apdu: ByteArray): ByteArray {
        apdus.incrementAndGet()
        return wallet.processApdu(apdu)
    }
}

/**
 * Host card emulation against the mock backend (WALLET_BACKEND_URL): the mock POS terminal
 * (`MockTerminal`, test hooks) runs in Rust and taps [HostApduPhone], so each APDU goes
 * Rust terminal → Kotlin → Rust wallet.
 */
class HceTapTest {
    @TempDir
    lateinit var tmp: File
    private lateinit var url: String

    @BeforeEach
    fun needsBackend() {
        val backend = backendUrl()
        assumeTrue(backend != null, "WALLET_BACKEND_URL not set")
        url = backend!!
    }

    private fun openWallet(): Wallet =
        Wallet.open(WalletConfig(File(tmp, "wallet").path, url, requestTimeoutMs = 5_000u, maxRetries = 0u))

    @Test
    fun `without an HCE card SELECT PPSE is file not found`() {
        openWallet().use { wallet ->
            assertArrayEquals(byteArrayOf(0x6A, 0x82.toByte()), wallet.processApdu(SELECT_PPSE))
            assertEquals(emptyList<Any>(), wallet.hceCards())
        }
    }

    @Test
    fun `an HCE card pays 23,45 yuan online through Kotlin, twice with a rising ATC`() = runBlocking {
        openWallet().use { wallet ->
            MockTerminal(url).use { terminal ->
                val bindingId = bindDebitCard(wallet, url)
                val card = wallet.openHceCard(bindingId)
                assertEquals(bindingId, card.bindingId)
                assertEquals(AccountKind.DEBIT, card.accountKind)
                assertTrue(card.isDefault && card.usableKeys > 0u, card.toString())
                assertFalse(DebitCard.PAN in card.maskedTokenPan)
                assertEquals(listOf(card), wallet.hceCards())

                val phone = HostApduPhone(wallet)
                val first = terminal.tap(phone, 2_345uL)
                wallet.onDeactivated(0)
                assertTrue(first.approved, first.toString())
                assertEquals(TapDecision.APPROVED_ONLINE, first.decision)
                assertEquals("arqc", first.cryptogramType)
                assertEquals(card.maskedTokenPan, first.maskedPan)
                assertEquals(first.apdus.toInt(), phone.apdus.get())

                val second = terminal.tap(phone, 2_345uL)
                wallet.onDeactivated(0)
                assertEquals(TapDecision.APPROVED_ONLINE, second.decision, second.toString())
                val atc1 = requireNotNull(first.atc) { first.toString() }.toInt()
                val atc2 = requireNotNull(second.atc) { second.toString() }.toInt()
                assertTrue(atc2 > atc1, "ATC $atc1 then $atc2")
                assertEquals(atc2, wallet.hceCards().single().atc.toInt())
            }
        }
    }
}
