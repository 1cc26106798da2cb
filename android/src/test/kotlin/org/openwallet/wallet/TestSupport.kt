package org.openwallet.wallet

import org.openwallet.ffi.KeyStore
import org.openwallet.ffi.KeyStoreFfiException
import org.openwallet.ffi.LogRecord
import org.openwallet.ffi.LogSink
import org.openwallet.ffi.Wallet
import java.net.ServerSocket
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.security.SecureRandom
import java.util.Collections
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/** Base URL of the mock backend started by scripts/with-mock-backend.sh, or null. */
fun backendUrl(): String? =
    System.getProperty("wallet.backend.url")?.takeIf { it.isNotBlank() && !it.startsWith("\${") }
        ?: System.getenv("WALLET_BACKEND_URL")?.takeIf { it.isNotBlank() }

/** The last one-time code the mock SMS channel at [url] delivered to [phone]. */
fun lastSmsCode(url: String, phone: String): String {
    val query = URLEncoder.encode(phone, Charsets.UTF_8)
    val request = HttpRequest.newBuilder(URI.create("$url/test/sms/outbox?phone=$query")).build()
    val body = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString()).body()
    return Regex("\"code\"\\s*:\\s*\"(\\d{6})\"").findAll(body).last().groupValues[1]
}

/** Test card DEBIT of the mock bank (mock-backend/src/bank/test_cards.rs). */
object DebitCard {
    const val PAN = "6222021234567894"
    const val NAME = "张三"
    const val ID = "110101199003071233"
    const val PHONE = "13800138000"
}

/** Binds the [DebitCard] to [wallet] through the mock bank at [url]; returns the binding id. */
suspend fun bindDebitCard(wallet: Wallet, url: String): String {
    val pending = wallet.beginBinding(DebitCard.PAN, DebitCard.NAME, DebitCard.ID, DebitCard.PHONE)
    return wallet.confirmBinding(pending.sessionId, lastSmsCode(url, DebitCard.PHONE)).bindingId
}

/** A loopback port nobody listens on. */
fun closedPort(): Int = ServerSocket(0).use { it.localPort }

/**
 * A software stand-in for the Android Keystore: one AES-256 key per alias, blobs are
 * `iv (12 bytes) || ciphertext || tag (16 bytes)`; a bad tag is [KeyStoreFfiException.Unwrap].
 */
class AesGcmKeyStore : KeyStore {
    private val keys = Collections.synchronizedMap(mutableMapOf<String, SecretKey>())
    private val random = SecureRandom()
    val calls: MutableList<String> = Collections.synchronizedList(mutableListOf())

    private fun key(alias: String): SecretKey =
        keys.getOrPut(alias) { KeyGenerator.getInstance("AES").apply { init(256) }.generateKey() }

    override fun wrapKey(alias: String, key: ByteArray): ByteArray {
        calls += "wrap:$alias"
        val iv = ByteArray(12).also(random::nextBytes)
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, key(alias), GCMParameterSpec(128, iv))
        return iv + cipher.doFinal(key)
    }

    override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray {
        calls += "unwrap:$alias"
        if (wrapped.size < 12 + 16) throw KeyStoreFfiException.Unwrap("too_short", "blob of ${wrapped.size} bytes")
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key(alias), GCMParameterSpec(128, wrapped, 0, 12))
        try {
            return cipher.doFinal(wrapped, 12, wrapped.size - 12)
        } catch (e: AEADBadTagException) {
            throw KeyStoreFfiException.Unwrap("tampered", "GCM tag mismatch")
        }
    }
}

/** Collects records (called from library threads). */
class CollectingSink : LogSink {
    val records: MutableList<LogRecord> = Collections.synchronizedList(mutableListOf())
    override fun log(record: LogRecord) {
        records += record
    }
}
