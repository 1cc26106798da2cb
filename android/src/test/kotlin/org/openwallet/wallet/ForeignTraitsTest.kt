package org.openwallet.wallet

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.openwallet.ffi.KeyStore
import org.openwallet.ffi.KeyStoreFfiException
import org.openwallet.ffi.LogLevel
import org.openwallet.ffi.LogRecord
import org.openwallet.ffi.delayedEcho
import org.openwallet.ffi.keyStoreRoundTrip
import org.openwallet.ffi.setLogSink

class ForeignTraitsTest {
    @AfterEach
    fun removeSink() = setLogSink(null, LogLevel.ERROR)

    @Test
    fun `Kotlin key store is called from Rust`() {
        val store = AesGcmKeyStore()
        val key = ByteArray(32) { (it * 7).toByte() }
        val wrapped = keyStoreRoundTrip(store, "wallet-data-key", key)
        assertEquals(12 + 32 + 16, wrapped.size)
        assertEquals(listOf("wrap:wallet-data-key", "unwrap:wallet-data-key"), store.calls)
        assertArrayEquals(key, store.unwrapKey("wallet-data-key", wrapped))
    }

    @Test
    fun `declared Kotlin exception passes through typed`() {
        val locked = object : KeyStore {
            override fun wrapKey(alias: String, key: ByteArray): ByteArray =
                throw KeyStoreFfiException.Failure("user_not_authenticated", "unlock the device first")
            override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray = error("not reached")
        }
        val e = assertThrows<KeyStoreFfiException.Failure> { keyStoreRoundTrip(locked, "k", byteArrayOf(1)) }
        assertEquals("user_not_authenticated", e.code)
        assertEquals("unlock the device first", e.errorMessage)
    }

    @Test
    fun `tampered blob surfaces as Unwrap`() {
        val real = AesGcmKeyStore()
        val tampering = object : KeyStore by real {
            override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray =
                real.unwrapKey(alias, wrapped.copyOf().also { it[it.size - 1] = (it[it.size - 1] + 1).toByte() })
        }
        val e = assertThrows<KeyStoreFfiException.Unwrap> { keyStoreRoundTrip(tampering, "k", ByteArray(16)) }
        assertEquals("tampered", e.code)
    }

    @Test
    fun `undeclared Kotlin exception becomes a typed error, not a panic`() {
        val broken = object : KeyStore {
            override fun wrapKey(alias: String, key: ByteArray): ByteArray =
                throw IllegalStateException("keystore service crashed")
            override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray = error("not reached")
        }
        val e = assertThrows<KeyStoreFfiException.Unexpected> { keyStoreRoundTrip(broken, "k", byteArrayOf(1)) }
        assertEquals("foreign_exception", e.code)
        assertTrue("keystore service crashed" in e.errorMessage, e.errorMessage)
    }

    @Test
    fun `log sink receives library events from library threads`() = runBlocking {
        val sink = CollectingSink()
        setLogSink(sink, LogLevel.DEBUG)
        delayedEcho(byteArrayOf(1, 2, 3), 1u)
        val mine = sink.records.filter { it.target == "wallet_ffi::diagnostics" }
        assertEquals(listOf(LogRecord(LogLevel.DEBUG, "wallet_ffi::diagnostics", "delayed_echo len=3 delay_ms=1")), mine)
    }

    @Test
    fun `lambda logger honours the level and a throwing logger is harmless`() = runBlocking {
        val seen = mutableListOf<LogRecord>()
        WalletLibrary.setLogger(LogLevel.INFO) { synchronized(seen) { seen += it } }
        delayedEcho(ByteArray(0), 1u) // logs at debug: filtered out
        assertTrue(synchronized(seen) { seen.none { it.target == "wallet_ffi::diagnostics" } }, "$seen")

        WalletLibrary.setLogger(LogLevel.TRACE) { throw IllegalStateException("log file is full") }
        assertArrayEquals(byteArrayOf(9), delayedEcho(byteArrayOf(9), 1u))
        WalletLibrary.setLogger(logger = null)
    }
}
