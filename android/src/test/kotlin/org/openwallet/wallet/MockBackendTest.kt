package org.openwallet.wallet

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import org.openwallet.ffi.pingBackend

/** Needs the mock backend (scripts/with-mock-backend.sh exports WALLET_BACKEND_URL). */
class MockBackendTest {
    @Test
    fun `mock backend answers health`() = runBlocking {
        val url = backendUrl()
        assumeTrue(url != null, "WALLET_BACKEND_URL not set")
        assertEquals("ok", pingBackend(url!!))
        assertTrue(WalletLibrary.isBackendHealthy(url))
    }
}
