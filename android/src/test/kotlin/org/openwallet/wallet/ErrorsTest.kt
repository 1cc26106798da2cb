package org.openwallet.wallet

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.openwallet.ffi.FfiException
import org.openwallet.ffi.InternalException
import org.openwallet.ffi.debugPanic
import org.openwallet.ffi.echoBytes
import org.openwallet.ffi.normalizeBackendUrl
import org.openwallet.ffi.pingBackend

class ErrorsTest {
    @Test
    fun `sync typed error carries code and message`() {
        val e = assertThrows<FfiException.InvalidArgument> { normalizeBackendUrl("ftp://bank.example") }
        assertEquals("invalid_url", e.code)
        assertTrue("scheme must be http or https" in e.errorMessage, e.errorMessage)
        // Through the sealed base type, with the Kotlin API's extensions.
        val base: FfiException = e
        assertEquals("invalid_url", base.code)
        assertEquals("http://127.0.0.1:8080", normalizeBackendUrl("http://127.0.0.1:8080/"))
        assertNull(WalletLibrary.backendUrlOrNull("not a url"))
    }

    @Test
    fun `async typed errors`() = runBlocking {
        val e = assertThrows<FfiException.Network> { runBlocking { pingBackend("http://127.0.0.1:${closedPort()}") } }
        assertEquals("unreachable", e.code)
        assertTrue(e.errorMessage.isNotEmpty())
        assertThrows<FfiException.InvalidArgument> { runBlocking { pingBackend("not a url") } }
        assertFalse(WalletLibrary.isBackendHealthy("http://127.0.0.1:${closedPort()}"))
    }

    @Test
    fun `rust panic becomes InternalException and the library keeps working`() {
        val e = assertThrows<InternalException> { debugPanic("boom from kotlin") }
        assertTrue("boom from kotlin" in (e.message ?: ""), e.message)
        assertArrayEquals(byteArrayOf(7), echoBytes(byteArrayOf(7)))
    }
}
