package org.openwallet.wallet

import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import org.openwallet.ffi.CardListenerException
import org.openwallet.ffi.CardOpeningListener
import org.openwallet.ffi.CardOpeningProgress
import org.openwallet.ffi.KeyStore
import org.openwallet.ffi.KeyStoreFfiException
import org.openwallet.ffi.LogLevel
import org.openwallet.ffi.LogRecord
import org.openwallet.ffi.LogSink
import org.openwallet.ffi.LogSinkException
import org.openwallet.ffi.MockTerminal
import org.openwallet.ffi.SeChannelOpened
import org.openwallet.ffi.SeFfiException
import org.openwallet.ffi.SeReaderInfo
import org.openwallet.ffi.SeReaderKind
import org.openwallet.ffi.SecureElementTransport
import org.openwallet.ffi.Signer
import org.openwallet.ffi.SignerFfiException
import org.openwallet.ffi.SimulatedSecureElements
import org.openwallet.ffi.TapDecision
import org.openwallet.ffi.TappableCard
import org.openwallet.ffi.TappableCardException
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletConfig
import org.openwallet.ffi.WalletFfiException
import org.openwallet.ffi.setLogSink
import java.io.File
import java.util.Collections
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger

/** The 16 methods of the foreign traits. */
private enum class Method {
    LOG, READERS, OPEN_SESSION, OPEN_LOGICAL_CHANNEL, OPEN_BASIC_CHANNEL, TRANSMIT, CLOSE_CHANNEL, CLOSE_SESSION,
    ON_PROGRESS, WRAP_KEY, UNWRAP_KEY, GENERATE_KEY, PUBLIC_KEY, SIGN, DELETE_KEY, TRANSCEIVE,
}

/** How the armed method throws. */
private enum class Fault {
    /** The exception its interface declares (`SeFfiException`, `SignerFfiException`, …). */
    DECLARED,

    /** Any other exception: an `IllegalStateException`. */
    UNDECLARED,

    /**
     * A Kotlin [Error] ([NotImplementedError]), not an [Exception]: uniffi 0.32's generated
     * callback code catches only exceptions unless gen-bindings patches it (it does), in which
     * case the app sees the typed error; unpatched, JNA swallows it and the library sees a
     * successful call returning nothing.
     */
    KOTLIN_ERROR,
}

/** One row: [method] throws as [fault]; the app sees [seen] (`ok` or `Variant/code`). */
private data class Row(val method: Method, val fault: Fault, val seen: String) {
    override fun toString() = "$method $fault"
}

/** Which method throws and how; counts calls per method and the exceptions thrown. */
private class Injector {
    @Volatile
    private var armed: Pair<Method, Fault>? = null
    private val thrown = AtomicInteger()
    private val calls = ConcurrentHashMap<Method, AtomicInteger>()

    fun arm(method: Method, fault: Fault) {
        thrown.set(0)
        armed = method to fault
    }

    fun disarm() {
        armed = null
    }

    val hits: Int get() = thrown.get()

    fun calls(method: Method): Int = calls[method]?.get() ?: 0

    /** Records a call of [method]; throws if it is armed. */
    fun check(method: Method, declared: () -> Throwable) {
        calls.getOrPut(method) { AtomicInteger() }.incrementAndGet()
        val (m, fault) = armed ?: return
        if (m != method) return
        thrown.incrementAndGet()
        throw when (fault) {
            Fault.DECLARED -> declared()
            Fault.UNDECLARED -> IllegalStateException("$method crashed")
            Fault.KOTLIN_ERROR -> NotImplementedError("$method crashed")
        }
    }
}

/** An OMAPI-style transport over the simulator; a throwing method throws before touching it. */
private class ThrowingSe(private val inner: SecureElementTransport, private val inj: Injector) : SecureElementTransport {
    override fun readers(): List<SeReaderInfo> {
        inj.check(Method.READERS) { SeFfiException.AccessDenied("no SE permission") }
        return inner.readers()
    }

    override fun openSession(reader: String): ULong {
        inj.check(Method.OPEN_SESSION) { SeFfiException.Io("SE not responding") }
        return inner.openSession(reader)
    }

    override fun openLogicalChannel(session: ULong, aid: ByteArray?, p2: UByte): SeChannelOpened {
        inj.check(Method.OPEN_LOGICAL_CHANNEL) { SeFfiException.NoFreeChannel("openLogicalChannel returned null") }
        return inner.openLogicalChannel(session, aid, p2)
    }

    override fun openBasicChannel(session: ULong, aid: ByteArray?, p2: UByte): SeChannelOpened {
        inj.check(Method.OPEN_BASIC_CHANNEL) { SeFfiException.NoFreeChannel("openBasicChannel returned null") }
        return inner.openBasicChannel(session, aid, p2)
    }

    override fun transmit(channel: ULong, apdu: ByteArray): ByteArray {
        inj.check(Method.TRANSMIT) { SeFfiException.Io("SE removed") }
        return inner.transmit(channel, apdu)
    }

    override fun closeChannel(channel: ULong) {
        inj.check(Method.CLOSE_CHANNEL) { SeFfiException.Closed("already closed") }
        inner.closeChannel(channel)
    }

    override fun closeSession(session: ULong) {
        inj.check(Method.CLOSE_SESSION) { SeFfiException.Io("SE service died") }
        inner.closeSession(session)
    }
}

private class ThrowingSigner(private val inner: JcaSigner, private val inj: Injector) : Signer {
    override fun generateKey(alias: String): ByteArray {
        inj.check(Method.GENERATE_KEY) { SignerFfiException.Platform("strongbox_unavailable", "StrongBox unavailable") }
        return inner.generateKey(alias)
    }

    override fun publicKey(alias: String): ByteArray? {
        inj.check(Method.PUBLIC_KEY) { SignerFfiException.KeyNotFound("key invalidated by new biometrics") }
        return inner.publicKey(alias)
    }

    override fun sign(alias: String, message: ByteArray): ByteArray {
        inj.check(Method.SIGN) { SignerFfiException.UserNotAuthenticated("biometric prompt needed") }
        return inner.sign(alias, message)
    }

    override fun deleteKey(alias: String) {
        inj.check(Method.DELETE_KEY) { SignerFfiException.KeyNotFound("already gone") }
        inner.deleteKey(alias)
    }
}

private class ThrowingKeyStore(private val inner: KeyStore, private val inj: Injector) : KeyStore {
    override fun wrapKey(alias: String, key: ByteArray): ByteArray {
        inj.check(Method.WRAP_KEY) { KeyStoreFfiException.Failure("user_not_authenticated", "unlock the device first") }
        return inner.wrapKey(alias, key)
    }

    override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray {
        inj.check(Method.UNWRAP_KEY) { KeyStoreFfiException.Unwrap("tampered", "GCM tag mismatch") }
        return inner.unwrapKey(alias, wrapped)
    }
}

private class ThrowingSink(private val inj: Injector) : LogSink {
    val accepted = AtomicInteger()

    override fun log(record: LogRecord) {
        inj.check(Method.LOG) { LogSinkException.Failed("disk_full", "log file is full") }
        accepted.incrementAndGet()
    }
}

private class ThrowingListener(private val inj: Injector) : CardOpeningListener {
    val accepted: MutableList<CardOpeningProgress> = Collections.synchronizedList(mutableListOf())

    override fun onProgress(progress: CardOpeningProgress) {
        inj.check(Method.ON_PROGRESS) { CardListenerException.Failed("ui_gone", "activity destroyed") }
        accepted += progress
    }
}

/** The phone in the field (a HostApduService); throws from the [failFrom]-th APDU on while armed. */
private class ThrowingPhone(private val wallet: Wallet, private val inj: Injector, private val failFrom: Int) : TappableCard {
    val apdus = AtomicInteger()

    override fun transceive(apdu: ByteArray): ByteArray {
        if (apdus.getAndIncrement() >= failFrom) inj.check(Method.TRANSCEIVE) { TappableCardException.Lost() }
        return wallet.processApdu(apdu)
    }
}

/**
 * Every method of every foreign interface throwing — the declared exception, an undeclared one,
 * and a Kotlin [Error] — through the library call that invokes it, against the mock backend
 * (WALLET_BACKEND_URL). The app sees a typed [WalletFfiException] (`Variant/code`), or, where the
 * failure is ignored by design, a successful call; the JVM and the same wallet keep working,
 * nothing is lost. A Kotlin [Error] would escape uniffi 0.32's generated callback code
 * (mozilla/uniffi-rs#2903; scripts/gen-bindings.sh patches it to catch Throwable): the rows accept
 * either outcome — the typed error with the Error's text, or, unpatched, the library's defence
 * against a call that returned nothing (text `not enough bytes remaining in buffer`, or
 * `open_session returned handle 0`; for methods returning nothing, a success).
 */
class ForeignExceptionsTest {
    @TempDir
    lateinit var tmp: File
    private lateinit var url: String

    @BeforeEach
    fun needsBackend() {
        val backend = backendUrl()
        assumeTrue(backend != null, "WALLET_BACKEND_URL not set")
        url = backend!!
    }

    @AfterEach
    fun removeSink() = setLogSink(null, LogLevel.ERROR)

    private fun config(sub: String, backend: String = url) =
        WalletConfig(File(tmp, sub).path, backend, requestTimeoutMs = 5_000u, maxRetries = 0u, otaMaxDelayMs = 5u)

    /** What the app sees from [block]: `ok` or `Variant/code`; never hangs beyond a minute. */
    private fun seen(row: Row, block: suspend () -> Unit): Pair<String, Exception?> =
        try {
            runBlocking { withTimeout(60_000) { block() } }
            "ok" to null
        } catch (e: WalletFfiException) {
            "${e::class.simpleName}/${e.code}" to e
        }.also { (seen, e) -> assertEquals(row.seen, seen, "$row: $e") }

    /**
     * An undeclared exception's text reaches the app. For a Kotlin [Error] the text says what the
     * library received instead (or, once uniffi catches every Throwable, the error itself).
     */
    private fun assertTextKept(row: Row, e: Exception?) {
        val text = e?.message ?: return
        when (row.fault) {
            Fault.DECLARED -> {}
            Fault.UNDECLARED -> assertTrue("foreign_exception" in text && "${row.method} crashed" in text, "$row: $text")
            Fault.KOTLIN_ERROR -> assertTrue(
                listOf("not enough bytes remaining in buffer", "returned handle 0", "NotImplementedError").any { it in text },
                "$row: $text",
            )
        }
    }

    /**
     * The rows of [method]: the app sees [declared] when it throws its declared exception, [other]
     * when it throws anything else (an undeclared exception, a Kotlin [Error]).
     */
    private fun rows(method: Method, declared: String, other: String = declared) =
        listOf(Row(method, Fault.DECLARED, declared), Row(method, Fault.UNDECLARED, other), Row(method, Fault.KOTLIN_ERROR, other))

    @Test
    fun `secure element methods throwing, driven by an e-cash balance read`() = runBlocking {
        val rows = rows(Method.READERS, "Card/secure_element") + rows(Method.OPEN_SESSION, "Card/secure_element") +
            rows(Method.OPEN_LOGICAL_CHANNEL, "Card/secure_element") + rows(Method.OPEN_BASIC_CHANNEL, "ok") +
            rows(Method.TRANSMIT, "Card/secure_element") + rows(Method.CLOSE_CHANNEL, "ok") + rows(Method.CLOSE_SESSION, "ok")
        Wallet.open(config("w")).use { wallet ->
            SimulatedSecureElements.open(File(tmp, "se").path).use { sim ->
                val bindingId = bindDebitCard(wallet, url)
                val inj = Injector()
                wallet.attachSecureElements(ThrowingSe(sim, inj))
                val card = wallet.openCard(bindingId, SeReaderKind.ESE, 10_000u, null)
                for (row in rows) {
                    inj.arm(row.method, row.fault)
                    var balance: ULong? = null
                    val (_, e) = seen(row) { balance = wallet.ecashBalance(bindingId, card.seId) }
                    inj.disarm()
                    if (e == null) assertEquals(10_000uL, balance, "$row")
                    assertTextKept(row, e)
                    if (row.method == Method.OPEN_SESSION && row.fault == Fault.KOTLIN_ERROR) {
                        // The library got session handle 0: it names the failed call, not "closed".
                        assertFalse("closed" in e?.message.orEmpty(), "$row: $e")
                    }
                    assertEquals(row.method != Method.OPEN_BASIC_CHANNEL, inj.hits > 0, "$row: thrown ${inj.hits} times")
                    // The same wallet and transport work again; the card and its balance are intact.
                    assertEquals(10_000uL, wallet.ecashBalance(bindingId, card.seId), "$row: next call")
                    assertEquals(listOf(card.state), wallet.cardsInSe().map { it.state }, "$row")
                }
                assertEquals(0, inj.calls(Method.OPEN_BASIC_CHANNEL), "the library never opens the basic channel")
            }
        }
    }

    @Test
    fun `key store methods throwing, driven by opening a wallet`() {
        val rows = rows(Method.WRAP_KEY, "KeyStore/key_store_failure") +
            rows(Method.UNWRAP_KEY, "KeyStore/key_store_unwrap", "KeyStore/key_store_failure")
        val inj = Injector()
        val store = ThrowingKeyStore(AesGcmKeyStore(), inj)
        for ((i, row) in rows.withIndex()) {
            val config = config("w$i", "http://127.0.0.1:${closedPort()}")
            // unwrap_key runs when the wallet exists: create it first.
            val deviceId = if (row.method == Method.UNWRAP_KEY) Wallet.open(config, store).use { it.deviceId() } else null
            inj.arm(row.method, row.fault)
            val (_, e) = seen(row) { Wallet.open(config, store).close() }
            inj.disarm()
            assertTextKept(row, e)
            assertEquals(1, inj.hits, "$row")
            if (row.method == Method.WRAP_KEY && row.fault == Fault.DECLARED) {
                assertTrue("user_not_authenticated" in e?.message.orEmpty(), "$row: the platform's code reaches the app")
            }
            // Nothing on disk changed: the next open with a working key store is the same wallet.
            val reopened = Wallet.open(config, store).use { it.deviceId() }
            if (deviceId != null) assertEquals(deviceId, reopened, "$row")
        }
    }

    @Test
    fun `signer methods throwing, driven by binding and unbinding`() = runBlocking {
        val rows = rows(Method.GENERATE_KEY, "Signer/signer_failure") +
            rows(Method.PUBLIC_KEY, "Signer/signer_key_not_found", "Signer/signer_failure") +
            rows(Method.SIGN, "Signer/signer_user_not_authenticated", "Signer/signer_failure") +
            rows(Method.DELETE_KEY, "ok")
        for ((i, row) in rows.withIndex()) {
            val inj = Injector()
            val keys = JcaSigner()
            Wallet.openWithSigner(config("w$i"), ThrowingSigner(keys, inj)).use { wallet ->
                val e = when (row.method) {
                    // confirm_binding creates the device key, or reads it back after a wrong code.
                    Method.GENERATE_KEY, Method.PUBLIC_KEY -> {
                        val pending = wallet.beginBinding(DebitCard.PAN, DebitCard.NAME, DebitCard.ID, DebitCard.PHONE)
                        val code = lastSmsCode(url, DebitCard.PHONE)
                        if (row.method == Method.PUBLIC_KEY) {
                            val wrong = "${(code[0].digitToInt() + 1) % 10}${code.substring(1)}"
                            val refused = runCatching { wallet.confirmBinding(pending.sessionId, wrong) }.exceptionOrNull()
                            assertTrue(refused is WalletFfiException.WrongCode, "$row: $refused")
                        }
                        inj.arm(row.method, row.fault)
                        val (_, e) = seen(row) { wallet.confirmBinding(pending.sessionId, code) }
                        inj.disarm()
                        assertEquals(1, wallet.pendingBindings().size, "$row: the session is kept")
                        wallet.confirmBinding(pending.sessionId, code)
                        assertEquals(1, wallet.bindings().size, "$row: next call")
                        e
                    }
                    // unbind signs its request, then deletes the key the bank revoked.
                    else -> {
                        val bindingId = bindDebitCard(wallet, url)
                        inj.arm(row.method, row.fault)
                        val (_, e) = seen(row) { wallet.unbind(bindingId) }
                        inj.disarm()
                        if (e != null) {
                            assertEquals(1, wallet.bindings().size, "$row: the binding is kept")
                            wallet.unbind(bindingId)
                        }
                        assertEquals(emptyList<Any>(), wallet.bindings(), "$row")
                        e
                    }
                }
                assertTextKept(row, e)
                assertTrue(inj.hits > 0, "$row: never thrown")
            }
        }
    }

    @Test
    fun `a throwing log sink loses its records, never the operation`() = runBlocking {
        for ((i, row) in rows(Method.LOG, "ok").withIndex()) {
            val inj = Injector()
            val sink = ThrowingSink(inj)
            inj.arm(row.method, row.fault)
            Wallet.open(config("w$i"), logSink = sink).use { wallet ->
                seen(row) { bindDebitCard(wallet, url) }
                assertTrue(inj.hits > 0, "$row: the sink was not called")
                assertEquals(0, sink.accepted.get(), "$row")
                inj.disarm()
                wallet.beginBinding(DebitCard.PAN, DebitCard.NAME, DebitCard.ID, DebitCard.PHONE)
                assertTrue(sink.accepted.get() > 0, "$row: the sink works again")
                assertEquals(1, wallet.bindings().size, "$row")
            }
        }
    }

    @Test
    fun `a throwing progress listener does not stop a card opening`() = runBlocking {
        for ((i, row) in rows(Method.ON_PROGRESS, "ok").withIndex()) {
            Wallet.open(config("w$i")).use { wallet ->
                SimulatedSecureElements.open(File(tmp, "se$i").path).use { sim ->
                    val bindingId = bindDebitCard(wallet, url)
                    wallet.attachSecureElements(sim)
                    val inj = Injector()
                    val listener = ThrowingListener(inj)
                    inj.arm(row.method, row.fault)
                    var seId = ""
                    seen(row) { seId = wallet.openCard(bindingId, null, 2_500u, listener).seId }
                    inj.disarm()
                    assertTrue(inj.hits > 1, "$row: every report threw")
                    assertEquals(emptyList<Any>(), listener.accepted.toList(), "$row")
                    assertEquals(2_500uL, wallet.ecashBalance(bindingId, seId), "$row: next call")
                }
            }
        }
    }

    @Test
    fun `a phone throwing mid-tap fails that tap only`() = runBlocking {
        val rows = rows(Method.TRANSCEIVE, "the card left the field", "foreign_exception")
        Wallet.open(config("w")).use { wallet ->
            MockTerminal(url).use { terminal ->
                val bindingId = bindDebitCard(wallet, url)
                var lastAtc = wallet.openHceCard(bindingId).atc.toInt()
                val inj = Injector()
                // SELECT PPSE and SELECT AID answered, then GET PROCESSING OPTIONS throws.
                val phone = ThrowingPhone(wallet, inj, failFrom = 2)
                for (row in rows) {
                    inj.arm(row.method, row.fault)
                    phone.apdus.set(0)
                    val failed = withTimeout(60_000) { terminal.tap(phone, 2_345uL) }
                    inj.disarm()
                    assertEquals(TapDecision.FAILED, failed.decision, "$row: $failed")
                    assertFalse(failed.approved)
                    assertTrue(row.seen in failed.reason.orEmpty(), "$row: ${failed.reason}")
                    assertEquals(1, inj.hits, "$row: the terminal stops at the first exception")

                    phone.apdus.set(0)
                    val paid = withTimeout(60_000) { terminal.tap(phone, 2_345uL) }
                    assertEquals(TapDecision.APPROVED_ONLINE, paid.decision, "$row: $paid")
                    val atc = requireNotNull(paid.atc) { paid.toString() }.toInt()
                    assertTrue(atc > lastAtc, "$row: ATC $lastAtc then $atc")
                    assertEquals(atc, wallet.hceCards().single().atc.toInt(), "$row")
                    lastAtc = atc
                }
            }
        }
    }
}
