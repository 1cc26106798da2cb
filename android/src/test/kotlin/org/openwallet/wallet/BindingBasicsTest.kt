package org.openwallet.wallet

import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.openwallet.ffi.coreVersion
import org.openwallet.ffi.delayedEcho
import org.openwallet.ffi.echoBytes

class BindingBasicsTest {
    @Test
    fun `version is semver and the Kotlin API reports the same`() {
        val version = coreVersion()
        assertTrue(Regex("""\d+\.\d+\.\d+""").matches(version), version)
        assertEquals(version, WalletLibrary.version)
    }

    @Test
    fun `bytes round trip unchanged`() {
        val data = ByteArray(64) { it.toByte() }
        assertArrayEquals(data, echoBytes(data))
        assertArrayEquals(ByteArray(0), echoBytes(ByteArray(0)))
        val big = ByteArray(1 shl 20) { (it % 251).toByte() }
        assertArrayEquals(big, echoBytes(big))
    }

    @Test
    fun `async call suspends and returns`() = runBlocking {
        assertArrayEquals(byteArrayOf(1, 2, 3), delayedEcho(byteArrayOf(1, 2, 3), 10u))
    }

    @Test
    fun `async calls run concurrently on the library runtime`() = runBlocking {
        val start = System.nanoTime()
        val results = (0 until 5).map { i -> async { delayedEcho(byteArrayOf(i.toByte()), 200u) } }.awaitAll()
        val elapsedMs = (System.nanoTime() - start) / 1_000_000
        assertEquals((0 until 5).map { listOf(it.toByte()) }, results.map { it.toList() })
        assertTrue(elapsedMs < 900, "five 200 ms sleeps took $elapsedMs ms: not concurrent")
    }
}
