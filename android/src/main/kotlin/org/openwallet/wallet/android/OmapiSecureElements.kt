package org.openwallet.wallet.android

import org.openwallet.ffi.SeChannelOpened
import org.openwallet.ffi.SeFfiException
import org.openwallet.ffi.SeReaderInfo
import org.openwallet.ffi.SecureElementTransport
import java.io.IOException
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong

/**
 * The device's secure elements for the core, over `android.se.omapi` ([OmapiConnector]):
 * readers by name (`eSE…` embedded SE, `SIM…` NFC-SIM, `SD…` NFC-microSD; the library derives
 * the kind from the name), sessions and logical channels behind opaque handles.
 *
 * - Connection: the SE service is bound on first use (or [connect]) and calls wait up to
 *   [connectTimeoutMs] for it (they come from library worker threads, never the main thread).
 * - Death: when the service dies or disconnects, the handles opened on it fail once with `Io`
 *   (the core then drops its session), then are unknown (`Closed`); the next call binds a new
 *   service.
 * - [close] closes every channel and session this bridge opened and releases the service.
 *
 * OMAPI exceptions map to [SeFfiException]: `IOException` → `Io`, `SecurityException` (access
 * rules) → `AccessDenied`, `NoSuchElementException` → `ApplicationNotFound`, a `null` channel →
 * `NoFreeChannel`, `IllegalStateException` on a closed object → `Closed`, others → `Platform`.
 */
class OmapiSecureElements(
    private val connector: OmapiConnector,
    private val connectTimeoutMs: Long = DEFAULT_CONNECT_TIMEOUT_MS,
) : SecureElementTransport, AutoCloseable {
    private class Connection(val service: OmapiService, val ready: CountDownLatch)

    private class SessionEntry(val session: OmapiSession, val connection: Connection)

    private class ChannelEntry(val channel: OmapiChannel, val session: Long, val connection: Connection)

    private val lock = Any()
    private var connection: Connection? = null
    private var closed = false
    private val nextHandle = AtomicLong(1)
    private val sessions = ConcurrentHashMap<Long, SessionEntry>()
    private val channels = ConcurrentHashMap<Long, ChannelEntry>()

    /** Starts binding the SE service if it is not bound (does not wait). */
    fun connect() {
        synchronized(lock) { currentOrNew() }
    }

    /** Whether the current service connection is up. */
    val isConnected: Boolean
        get() = synchronized(lock) { connection?.service?.isConnected == true }

    private fun currentOrNew(): Connection {
        if (closed) throw SeFfiException.Closed("the secure element bridge is closed")
        connection?.let { if (it.ready.count > 0 || it.service.isConnected) return it }
        // None yet, or the previous one died: forget its handles and bind again.
        connection?.let(::dropConnection)
        val ready = CountDownLatch(1)
        val service = connector.connect { ready.countDown() }
        return Connection(service, ready).also { connection = it }
    }

    /** The connected service, binding (again) if needed. */
    private fun connected(): Connection {
        val current = synchronized(lock) { currentOrNew() }
        if (!current.ready.await(connectTimeoutMs, TimeUnit.MILLISECONDS) || !current.service.isConnected) {
            synchronized(lock) { if (connection === current) dropConnection(current) }
            throw SeFfiException.Platform("the secure element service did not connect within $connectTimeoutMs ms")
        }
        return current
    }

    /** Forgets [dead] and releases it; its handles fail once with `Io`, then are unknown. */
    private fun dropConnection(dead: Connection) {
        if (connection === dead) connection = null
        runCatching { dead.service.shutdown() }
    }

    override fun readers(): List<SeReaderInfo> = mapped(aid = null) {
        connected().service.readers().map { SeReaderInfo(it.name, null, it.isSecureElementPresent()) }
    }

    override fun openSession(reader: String): ULong = mapped(aid = null) {
        val current = connected()
        val found = current.service.readers().firstOrNull { it.name == reader }
            ?: throw SeFfiException.ReaderAbsent(reader, "no reader of that name")
        if (!found.isSecureElementPresent()) throw SeFfiException.ReaderAbsent(reader, "no secure element in the reader")
        val handle = nextHandle.getAndIncrement()
        sessions[handle] = SessionEntry(found.openSession(), current)
        handle.toULong()
    }

    override fun openLogicalChannel(session: ULong, aid: ByteArray?, p2: UByte): SeChannelOpened =
        openChannel(session, aid, p2, logical = true)

    override fun openBasicChannel(session: ULong, aid: ByteArray?, p2: UByte): SeChannelOpened =
        openChannel(session, aid, p2, logical = false)

    private fun openChannel(session: ULong, aid: ByteArray?, p2: UByte, logical: Boolean): SeChannelOpened =
        mapped(aid) {
            val key = session.toLong()
            val entry = live(sessions, key, entryConnection = { it.connection }) ?: throw unknown("session", session)
            val channel = if (logical) {
                entry.session.openLogicalChannel(aid, p2.toByte())
            } else {
                entry.session.openBasicChannel(aid, p2.toByte())
            } ?: throw SeFfiException.NoFreeChannel(if (logical) "no logical channel available" else "the basic channel is in use")
            val handle = nextHandle.getAndIncrement()
            channels[handle] = ChannelEntry(channel, key, entry.connection)
            SeChannelOpened(handle.toULong(), channel.selectResponse)
        }

    override fun transmit(channel: ULong, apdu: ByteArray): ByteArray = mapped(aid = null) {
        val entry = live(channels, channel.toLong(), entryConnection = { it.connection }) ?: throw unknown("channel", channel)
        entry.channel.transmit(apdu)
    }

    override fun closeChannel(channel: ULong) {
        mapped(aid = null) {
            val entry = channels.remove(channel.toLong()) ?: throw unknown("channel", channel)
            if (entry.connection.service.isConnected) entry.channel.close()
        }
    }

    override fun closeSession(session: ULong) {
        mapped(aid = null) {
            val key = session.toLong()
            val entry = sessions.remove(key) ?: throw unknown("session", session)
            channels.entries.removeIf { it.value.session == key }
            if (entry.connection.service.isConnected) entry.session.close()
        }
    }

    /** Closes every channel and session this bridge opened and releases the SE service. */
    override fun close() {
        synchronized(lock) {
            closed = true
            channels.values.forEach { runCatching { it.channel.close() } }
            channels.clear()
            sessions.values.forEach { runCatching { it.session.close() } }
            sessions.clear()
            connection?.let(::dropConnection)
        }
    }

    /**
     * The entry of [key], or `null` if unknown. An entry whose service died is removed and fails
     * with `Io` (once: the core drops the session and opens a new one, on a new service).
     */
    private fun <E> live(map: MutableMap<Long, E>, key: Long, entryConnection: (E) -> Connection): E? {
        val entry = map[key] ?: return null
        val conn = entryConnection(entry)
        if (!conn.service.isConnected) {
            map.remove(key)
            synchronized(lock) { if (connection === conn) dropConnection(conn) }
            throw SeFfiException.Io("the secure element service died; open a new session")
        }
        return entry
    }

    private fun unknown(what: String, handle: ULong) = SeFfiException.Closed("unknown or closed $what $handle")

    /** Runs [block], mapping OMAPI's exceptions to [SeFfiException]. */
    private inline fun <T> mapped(aid: ByteArray?, block: () -> T): T =
        try {
            block()
        } catch (e: SeFfiException) {
            throw e
        } catch (e: IOException) {
            throw SeFfiException.Io(e.message ?: "secure element I/O failure")
        } catch (e: SecurityException) {
            throw SeFfiException.AccessDenied(e.message ?: "refused by the access rules")
        } catch (e: NoSuchElementException) {
            throw SeFfiException.ApplicationNotFound(aid?.toHex() ?: "", e.message ?: "no such applet")
        } catch (e: IllegalStateException) {
            val dead = synchronized(lock) { connection?.takeIf { !it.service.isConnected }?.also(::dropConnection) }
            if (dead != null) {
                throw SeFfiException.Io("the secure element service disconnected: ${e.message}")
            }
            throw SeFfiException.Closed(e.message ?: "closed")
        } catch (e: UnsupportedOperationException) {
            throw SeFfiException.Platform("unsupported by the SE: ${e.message}")
        } catch (e: RuntimeException) {
            throw SeFfiException.Platform("${e.javaClass.simpleName}: ${e.message}")
        }

    /** Defaults. */
    companion object {
        /** How long a call waits for the SE service to connect. */
        const val DEFAULT_CONNECT_TIMEOUT_MS: Long = 5_000
    }
}

private fun ByteArray.toHex(): String = joinToString("") { "%02X".format(it) }
