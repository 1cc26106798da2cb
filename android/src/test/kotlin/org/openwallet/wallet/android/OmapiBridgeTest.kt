package org.openwallet.wallet.android

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.openwallet.ffi.SeFfiException
import org.openwallet.ffi.SeReaderInfo
import java.io.IOException
import java.util.Collections

/**
 * The OMAPI bridge on the plain JVM, over fakes of the [OmapiService] seam: what Robolectric's
 * shadow cannot show (absent SEs, OMAPI exceptions, the service never connecting).
 */
class OmapiBridgeTest {
    private val log: MutableList<String> = Collections.synchronizedList(mutableListOf())

    private inner class FakeChannel(private val name: String, private val failWith: Exception?) : OmapiChannel {
        override val selectResponse: ByteArray = byteArrayOf(0x90.toByte(), 0x00)
        override fun transmit(apdu: ByteArray): ByteArray {
            failWith?.let { throw it }
            return byteArrayOf(apdu[1], 0x90.toByte(), 0x00)
        }
        override fun close() {
            log += "close channel $name"
        }
    }

    private inner class FakeSession(private val reader: String, private val open: (ByteArray?) -> OmapiChannel?) : OmapiSession {
        override var isClosed = false
        override fun openLogicalChannel(aid: ByteArray?, p2: Byte): OmapiChannel? = open(aid)
        override fun openBasicChannel(aid: ByteArray?, p2: Byte): OmapiChannel? = null
        override fun close() {
            isClosed = true
            log += "close session $reader"
        }
    }

    private inner class FakeReader(override val name: String, private val present: Boolean, private val open: (ByteArray?) -> OmapiChannel?) : OmapiReader {
        override fun isSecureElementPresent() = present
        override fun openSession(): OmapiSession = FakeSession(name, open)
    }

    private inner class FakeService(private val readers: List<OmapiReader>) : OmapiService {
        override var isConnected = true
        override fun readers() = readers
        override fun shutdown() {
            isConnected = false
            log += "shutdown"
        }
    }

    private fun bridge(vararg readers: OmapiReader) =
        OmapiSecureElements({ onConnected -> FakeService(readers.toList()).also { onConnected() } })

    private val aid = byteArrayOf(0xA0.toByte(), 0, 0, 3, 0x33, 1, 1, 1)

    @Test
    fun `absent SEs are listed and cannot be opened`() {
        bridge(FakeReader("eSE1", true) { null }, FakeReader("SIM1", false) { null }).use { bridge ->
            assertEquals(listOf(SeReaderInfo("eSE1", null, true), SeReaderInfo("SIM1", null, false)), bridge.readers())
            val e = assertThrows<SeFfiException.ReaderAbsent> { bridge.openSession("SIM1") }
            assertEquals("SIM1", e.reader)
            assertThrows<SeFfiException.ReaderAbsent> { bridge.openSession("SD1") }
        }
    }

    @Test
    fun `OMAPI exceptions map to typed SE errors`() {
        val outcomes = mapOf<String, (ByteArray?) -> OmapiChannel?>(
            "denied" to { throw SecurityException("no access rule for this app") },
            "missing" to { throw NoSuchElementException("applet not found") },
            "busy" to { null },
            "io" to { FakeChannel("io", IOException("SE removed")) },
            "unsupported" to { throw UnsupportedOperationException("P2 not supported") },
        )
        val readers = outcomes.map { (name, open) -> FakeReader(name, true, open) }
        bridge(*readers.toTypedArray()).use { bridge ->
            fun session(name: String) = bridge.openSession(name)
            assertThrows<SeFfiException.AccessDenied> { bridge.openLogicalChannel(session("denied"), aid, 0u) }
            val missing = assertThrows<SeFfiException.ApplicationNotFound> { bridge.openLogicalChannel(session("missing"), aid, 0u) }
            assertEquals("A000000333010101", missing.aid)
            assertThrows<SeFfiException.NoFreeChannel> { bridge.openLogicalChannel(session("busy"), aid, 0u) }
            assertThrows<SeFfiException.NoFreeChannel> { bridge.openBasicChannel(session("busy"), aid, 0u) }
            assertThrows<SeFfiException.Platform> { bridge.openLogicalChannel(session("unsupported"), aid, 0u) }
            val io = bridge.openLogicalChannel(session("io"), aid, 0u)
            assertThrows<SeFfiException.Io> { bridge.transmit(io.handle, byteArrayOf(0, 0xCA.toByte(), 0, 0)) }
            assertThrows<SeFfiException.Closed> { bridge.transmit(999u, byteArrayOf(0, 0xCA.toByte(), 0, 0)) }
            assertThrows<SeFfiException.Closed> { bridge.closeSession(999u) }
        }
    }

    @Test
    fun `close closes every channel and session it opened, then the service`() {
        val bridge = bridge(FakeReader("eSE1", true) { FakeChannel("isd", null) })
        val s1 = bridge.openSession("eSE1")
        val c1 = bridge.openLogicalChannel(s1, aid, 0u)
        assertArrayEquals(byteArrayOf(0xCA.toByte(), 0x90.toByte(), 0), bridge.transmit(c1.handle, byteArrayOf(0, 0xCA.toByte(), 0, 0)))
        bridge.openLogicalChannel(bridge.openSession("eSE1"), null, 0u)
        bridge.closeChannel(c1.handle)
        assertThrows<SeFfiException.Closed> { bridge.closeChannel(c1.handle) }
        log.clear()
        bridge.close()
        assertEquals(listOf("close channel isd", "close session eSE1", "close session eSE1", "shutdown"), log)
        assertFalse(bridge.isConnected)
        assertThrows<SeFfiException.Closed> { bridge.readers() }
    }

    @Test
    fun `a service that never connects is a Platform error, and the next call tries again`() {
        var attempts = 0
        val bridge = OmapiSecureElements({ _ -> attempts++; FakeService(emptyList()).also { it.isConnected = false } }, connectTimeoutMs = 50)
        assertThrows<SeFfiException.Platform> { bridge.readers() }
        assertThrows<SeFfiException.Platform> { bridge.readers() }
        assertEquals(2, attempts)
        assertTrue(log.count { it == "shutdown" } == 2)
    }
}
