package org.openwallet.wallet

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.openwallet.ffi.AccountKind
import org.openwallet.ffi.KeyStore
import org.openwallet.ffi.KeyStoreFfiException
import org.openwallet.ffi.LogLevel
import org.openwallet.ffi.LogRecord
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletConfig
import org.openwallet.ffi.WalletFfiException
import org.openwallet.ffi.setLogSink
import java.io.File
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Instant
import java.util.Collections

/**
 * The Wallet object's account-binding flow against the mock backend (WALLET_BACKEND_URL, see
 * scripts/with-mock-backend.sh). Test cards: mock-backend/src/bank/test_cards.rs.
 */
class WalletFlowTest {
    private companion object {
        const val PAN = "6222021234567894"
        const val NAME = "张三"
        const val ID = "110101199003071233"
        const val PHONE = "13800138000"
        const val DATA_KEY_ALIAS = "wallet-store-data-key-v1"
        val http: HttpClient = HttpClient.newHttpClient()
    }

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

    private fun config(sub: String = "w", backend: String = url) =
        WalletConfig(File(tmp, sub).path, backend, requestTimeoutMs = 5_000u, maxRetries = 0u)

    /** The last one-time code the mock SMS channel delivered to [phone]. */
    private fun lastCode(phone: String): String {
        val query = URLEncoder.encode(phone, Charsets.UTF_8)
        val request = HttpRequest.newBuilder(URI.create("$url/test/sms/outbox?phone=$query")).build()
        val body = http.send(request, HttpResponse.BodyHandlers.ofString()).body()
        return Regex("\"code\"\\s*:\\s*\"(\\d{6})\"").findAll(body).last().groupValues[1]
    }

    private fun wrongCode(code: String) = "${(code[0].digitToInt() + 1) % 10}${code.substring(1)}"

    private inline fun <reified E : WalletFfiException> failsWith(noinline block: suspend () -> Unit): E =
        assertThrows<E> { runBlocking { block() } }

    @Test
    fun `bind, list and unbind with a Kotlin key store, receiving log events`() = runBlocking {
        val store = AesGcmKeyStore()
        val logs = Collections.synchronizedList(mutableListOf<LogRecord>())
        val wallet = WalletLibrary.openWallet(File(tmp, "w"), url, store) { logs += it }
        wallet.use {
            assertEquals(32, wallet.deviceId().length)
            assertEquals(listOf("wrap:$DATA_KEY_ALIAS"), store.calls)

            val pending = wallet.beginBinding("6222 0212 3456 7894", NAME, "1233", PHONE)
            assertEquals("622202******7894", pending.maskedPan)
            assertEquals(AccountKind.DEBIT, pending.accountKind)
            assertEquals("138****8000", pending.otpSentTo)
            assertTrue(pending.otpExpiresAt.isAfter(Instant.now()))
            assertEquals(listOf(pending), wallet.pendingBindings())

            val code = lastCode(PHONE)
            val wrong = failsWith<WalletFfiException.WrongCode> { wallet.confirmBinding(pending.sessionId, wrongCode(code)) }
            assertEquals("otp_wrong", wrong.code)
            assertEquals(4u, wrong.attemptsLeft)

            val binding = wallet.confirmBinding(pending.sessionId, code)
            assertEquals("622202******7894", binding.maskedPan)
            assertEquals("中国工商银行", binding.issuerName)
            assertEquals("*三", binding.holderNameMasked)
            assertTrue(binding.createdAt.isAfter(Instant.now().minusSeconds(600)))
            assertEquals(listOf(binding), wallet.bindings())
            assertEquals(emptyList<Any>(), wallet.pendingBindings())

            wallet.unbind(binding.bindingId)
            assertEquals(emptyList<Any>(), wallet.bindings())
            val gone = failsWith<WalletFfiException.NotFound> { wallet.unbind(binding.bindingId) }
            assertEquals("binding_not_found", gone.code)
        }
        val messages = synchronized(logs) { logs.filter { it.target.startsWith("wallet_core::binding") }.map { it.message } }
        for (event in listOf("binding begun, code sent", "card bound", "card unbound")) {
            assertTrue(messages.any { it.startsWith(event) }, "no '$event' in $messages")
        }
        assertFalse(synchronized(logs) { logs.any { PAN in it.message } }, "full card number logged")

        Wallet.open(config(), store).use { reopened ->
            assertEquals("unwrap:$DATA_KEY_ALIAS", store.calls.last())
            assertEquals(emptyList<Any>(), reopened.bindings())
        }
    }

    @Test
    fun `local checks and bank rejections are typed`() {
        Wallet.open(config()).use { wallet ->
            fun beginError(pan: String = PAN, name: String = NAME, id: String = ID, phone: String = PHONE) =
                failsWith<WalletFfiException> { wallet.beginBinding(pan, name, id, phone) }
                    .let { it::class.simpleName to it.code }

            assertEquals("InvalidInput" to "invalid_card_number", beginError(pan = "6222021234567895"))
            assertEquals("InvalidInput" to "invalid_phone", beginError(phone = "12345"))
            assertEquals("InvalidInput" to "invalid_holder_name", beginError(name = "  "))
            assertEquals("CardRejected" to "unknown_card", beginError(pan = "6222029999999996"))
            assertEquals("CardRejected" to "name_mismatch", beginError(name = "李四"))
            assertEquals("CardRejected" to "id_mismatch", beginError(id = "9999"))
            assertEquals("CardRejected" to "phone_mismatch", beginError(phone = "13900139000"))
            assertEquals(
                "CardRejected" to "card_not_eligible",
                beginError(pan = "6217001234567893", name = "陈七", id = "5676", phone = "18812345678"),
            )
            val session = failsWith<WalletFfiException.NotFound> { wallet.confirmBinding("no-such-session", "123456") }
            assertEquals("session_not_found", session.code)
            val otp = failsWith<WalletFfiException.InvalidInput> { wallet.confirmBinding("no-such-session", "12ab") }
            assertEquals("invalid_otp", otp.code)
        }
    }

    @Test
    fun `code locks after five wrong tries`() = runBlocking {
        Wallet.open(config()).use { wallet ->
            val pending = wallet.beginBinding("6259651234567894", "李四", "31010419851215002x", "13912345678")
            val wrong = wrongCode(lastCode("13912345678"))
            for (left in listOf(4u, 3u, 2u, 1u)) {
                val e = failsWith<WalletFfiException.WrongCode> { wallet.confirmBinding(pending.sessionId, wrong) }
                assertEquals(left, e.attemptsLeft)
            }
            val locked = failsWith<WalletFfiException.CodeUnusable> { wallet.confirmBinding(pending.sessionId, wrong) }
            assertEquals("otp_locked", locked.code)
            assertEquals(emptyList<Any>(), wallet.pendingBindings())
        }
    }

    @Test
    fun `network, back-end and configuration errors`() {
        Wallet.open(config("a", "http://127.0.0.1:${closedPort()}")).use { wallet ->
            val e = failsWith<WalletFfiException.Network> { wallet.beginBinding(PAN, NAME, ID, PHONE) }
            assertEquals("unreachable", e.code)
            assertTrue(e.isTransient)
        }
        Wallet.open(config("b", "$url/no-such-prefix/")).use { wallet ->
            val e = failsWith<WalletFfiException.Backend> { wallet.beginBinding(PAN, NAME, ID, PHONE) }
            assertTrue(e.code.isNotEmpty())
        }
        val url = assertThrows<WalletFfiException.Config> { Wallet.open(config("c", "ftp://bank.example")) }
        assertEquals("invalid_url", url.code)
        val file = File(tmp, "file").apply { writeText("x") }
        val dir = assertThrows<WalletFfiException.Config> { Wallet.open(WalletConfig(file.path, this.url)) }
        assertEquals("data_dir", dir.code)
    }

    @Test
    fun `key store and storage errors`() {
        val refusing = object : KeyStore {
            override fun wrapKey(alias: String, key: ByteArray): ByteArray =
                throw KeyStoreFfiException.Failure("user_not_authenticated", "unlock the device first")
            override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray =
                throw KeyStoreFfiException.Unwrap("tampered", "wrapped key failed to authenticate")
        }
        val failure = assertThrows<WalletFfiException.KeyStore> { Wallet.open(config("k"), refusing) }
        assertEquals("key_store_failure", failure.code)
        assertTrue(failure.errorMessage.startsWith("user_not_authenticated"), failure.errorMessage)

        val crashing = object : KeyStore by AesGcmKeyStore() {
            override fun wrapKey(alias: String, key: ByteArray): ByteArray = throw IllegalStateException("keystore daemon died")
        }
        val crash = assertThrows<WalletFfiException.KeyStore> { Wallet.open(config("x"), crashing) }
        assertTrue("foreign_exception" in crash.errorMessage && "keystore daemon died" in crash.errorMessage, crash.errorMessage)

        Wallet.open(config("s"), AesGcmKeyStore()).close()
        val unwrap = assertThrows<WalletFfiException.KeyStore> { Wallet.open(config("s"), refusing) }
        assertEquals("key_store_unwrap", unwrap.code)
        // Another AES key: its GCM tag check refuses the blob.
        assertEquals("key_store_unwrap", assertThrows<WalletFfiException.KeyStore> { Wallet.open(config("s"), AesGcmKeyStore()) }.code)

        File(tmp, "s/store/store-meta.json").also { assertTrue(it.isFile) }.writeText("not json")
        val corrupt = assertThrows<WalletFfiException.Storage> { Wallet.open(config("s"), AesGcmKeyStore()) }
        assertEquals("store_corrupt", corrupt.code)
    }
}
