package org.openwallet.wallet

import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import org.openwallet.ffi.LoadScriptOutcome
import org.openwallet.ffi.MockTerminal
import org.openwallet.ffi.SeReaderKind
import org.openwallet.ffi.SimulatedSecureElements
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletConfig
import java.io.File

/**
 * E-cash load (圈存) against the mock backend (WALLET_BACKEND_URL): a card opened over the air
 * in the simulated eSE, then the mock load terminal (`MockTerminal.loadSimulatedSe`, test hooks)
 * loads ¥20.00 from the account online: ARQC to the issuer, the issuer script applied by the card.
 */
class EcashLoadTest {
    @TempDir
    lateinit var tmp: File
    private lateinit var url: String

    @BeforeEach
    fun needsBackend() {
        val backend = backendUrl()
        assumeTrue(backend != null, "WALLET_BACKEND_URL not set")
        url = backend!!
    }

    @Test
    fun `load 20 yuan of e-cash onto the card in the simulated eSE`() = runBlocking {
        val config = WalletConfig(File(tmp, "wallet").path, url, requestTimeoutMs = 5_000u, maxRetries = 0u, otaMaxDelayMs = 5u)
        Wallet.open(config).use { wallet ->
            SimulatedSecureElements.open(File(tmp, "se").path).use { se ->
                MockTerminal(url).use { terminal ->
                    val bindingId = bindDebitCard(wallet, url)
                    wallet.attachSecureElements(se)
                    val updates = wallet.openCardFlow(bindingId, SeReaderKind.ESE, 1_000u).toList()
                    val card = (updates.last() as CardOpeningUpdate.Opened).card
                    val before = wallet.ecashBalance(bindingId, card.seId)
                    assertEquals(1_000uL, before)

                    val load = terminal.loadSimulatedSe(se, SeReaderKind.ESE, 2_000uL)
                    assertTrue(load.approved, load.toString())
                    assertNull(load.reason, load.toString())
                    assertEquals(LoadScriptOutcome.APPLIED, load.script)
                    assertNotNull(load.authorizationId)
                    assertEquals(before, load.oldBalance)
                    assertEquals(before + 2_000uL, load.newBalance)

                    // The wallet reads the card's own balance through the SE: old + 2000.
                    assertEquals(before + 2_000uL, wallet.ecashBalance(bindingId, card.seId))
                }
            }
        }
    }
}
