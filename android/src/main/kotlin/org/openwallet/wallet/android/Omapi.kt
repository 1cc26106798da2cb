package org.openwallet.wallet.android

import android.content.Context
import android.se.omapi.Channel
import android.se.omapi.Reader
import android.se.omapi.SEService
import android.se.omapi.Session
import java.util.concurrent.Executor

/*
 * A thin seam over android.se.omapi: Reader, Session and Channel are final classes with hidden
 * constructors, so the bridge (OmapiSecureElements) talks to these interfaces; the Android
 * implementations below only delegate. Exceptions are OMAPI's own (IOException,
 * SecurityException, NoSuchElementException, IllegalStateException...): the bridge maps them.
 */

/** Creates connections to the platform's SE service. */
fun interface OmapiConnector {
    /**
     * Starts connecting; [onConnected] runs (on any thread) once the service is usable.
     * The returned service may not be connected yet.
     */
    fun connect(onConnected: () -> Unit): OmapiService
}

/** One connection to the SE service (`SEService`). */
interface OmapiService {
    /** Whether the service is bound (false before connecting, after [shutdown] or its death). */
    val isConnected: Boolean

    /** The device's SE readers (`SEService.getReaders()`). */
    fun readers(): List<OmapiReader>

    /** Closes every session of every reader and releases the service. */
    fun shutdown()
}

/** An SE reader (`Reader`). */
interface OmapiReader {
    /** OMAPI name: `eSE1`, `SIM1`, `SD1`... */
    val name: String

    /** Whether a secure element is in the reader. */
    fun isSecureElementPresent(): Boolean

    /** Opens a session (`Reader.openSession()`). */
    fun openSession(): OmapiSession
}

/** A session with one SE (`Session`). */
interface OmapiSession {
    /** Whether the session is closed. */
    val isClosed: Boolean

    /** Opens a logical channel selecting [aid] (`null`: default applet); `null` when none is free. */
    fun openLogicalChannel(aid: ByteArray?, p2: Byte): OmapiChannel?

    /** Opens the basic channel selecting [aid]; `null` when it is in use. */
    fun openBasicChannel(aid: ByteArray?, p2: Byte): OmapiChannel?

    /** Closes the session and its channels. */
    fun close()
}

/** A channel to an applet (`Channel`). */
interface OmapiChannel {
    /** The answer to the SELECT that opened the channel, status word included, if any. */
    val selectResponse: ByteArray?

    /** Sends one command APDU; the service sets the channel number in CLA. */
    fun transmit(apdu: ByteArray): ByteArray

    /** Closes the channel. */
    fun close()
}

/**
 * The real OMAPI: `SEService(context, executor, listener)`. [executor] runs the connection
 * listener (default: the calling binder thread).
 */
class AndroidOmapiConnector(
    private val context: Context,
    private val executor: Executor = Executor(Runnable::run),
) : OmapiConnector {
    override fun connect(onConnected: () -> Unit): OmapiService =
        AndroidOmapiService(SEService(context, executor) { onConnected() })
}

/** [OmapiService] over an `SEService`. */
class AndroidOmapiService(private val service: SEService) : OmapiService {
    override val isConnected: Boolean
        get() = service.isConnected

    override fun readers(): List<OmapiReader> = service.readers.map(::AndroidOmapiReader)

    override fun shutdown() = service.shutdown()
}

private class AndroidOmapiReader(private val reader: Reader) : OmapiReader {
    override val name: String
        get() = reader.name

    override fun isSecureElementPresent(): Boolean = reader.isSecureElementPresent

    override fun openSession(): OmapiSession = AndroidOmapiSession(reader.openSession())
}

private class AndroidOmapiSession(private val session: Session) : OmapiSession {
    override val isClosed: Boolean
        get() = session.isClosed

    override fun openLogicalChannel(aid: ByteArray?, p2: Byte): OmapiChannel? =
        session.openLogicalChannel(aid, p2)?.let(::AndroidOmapiChannel)

    override fun openBasicChannel(aid: ByteArray?, p2: Byte): OmapiChannel? =
        session.openBasicChannel(aid, p2)?.let(::AndroidOmapiChannel)

    override fun close() = session.close()
}

private class AndroidOmapiChannel(private val channel: Channel) : OmapiChannel {
    override val selectResponse: ByteArray?
        get() = channel.selectResponse

    override fun transmit(apdu: ByteArray): ByteArray = channel.transmit(apdu)

    override fun close() = channel.close()
}
