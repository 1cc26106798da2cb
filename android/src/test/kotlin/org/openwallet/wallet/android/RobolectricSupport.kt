package org.openwallet.wallet.android

import android.os.Looper
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import org.openwallet.ffi.SeReaderKind
import org.openwallet.ffi.SimulatedSecureElements
import org.openwallet.wallet.backendUrl
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowSecureElementService
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.PrivateKey
import java.security.PublicKey
import java.security.spec.ECGenParameterSpec
import java.util.Collections
import java.util.concurrent.TimeoutException
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/** The mock backend's URL; the test is skipped (JUnit 4 assumption) without one. */
fun requireBackend(): String {
    val url = backendUrl()
    org.junit.Assume.assumeTrue("WALLET_BACKEND_URL not set", url != null)
    return url!!
}

/**
 * Runs [block] on a background thread while the test (main) thread keeps idling the main
 * looper, where Robolectric delivers service connections (OMAPI's SEService binds there).
 */
fun <T> whileIdling(timeoutMs: Long = 60_000, block: suspend CoroutineScope.() -> T): T = runBlocking {
    val job = CoroutineScope(Dispatchers.IO).async { block() }
    val deadline = System.currentTimeMillis() + timeoutMs
    while (!job.isCompleted) {
        shadowOf(Looper.getMainLooper()).idle()
        if (System.currentTimeMillis() > deadline) {
            job.cancel()
            throw TimeoutException("not done within $timeoutMs ms")
        }
        Thread.sleep(5)
    }
    job.await()
}

/** Software AES keys behind the [WrappingKeys] seam (Robolectric has no AndroidKeyStore). */
class SoftwareWrappingKeys : WrappingKeys {
    private val keys = Collections.synchronizedMap(mutableMapOf<String, SecretKey>())
    val created: MutableList<String> = Collections.synchronizedList(mutableListOf())

    override fun getOrCreate(alias: String): SecretKey = keys.getOrPut(alias) {
        created += alias
        KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
    }
}

/** Software P-256 keys behind the [EcKeys] seam. */
class SoftwareEcKeys : EcKeys {
    private val pairs = Collections.synchronizedMap(mutableMapOf<String, KeyPair>())
    val calls: MutableList<String> = Collections.synchronizedList(mutableListOf())

    override fun generate(alias: String): KeyPair {
        calls += "generate:$alias"
        return KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }
            .generateKeyPair().also { pairs[alias] = it }
    }

    override fun publicKey(alias: String): PublicKey? = pairs[alias]?.public

    override fun privateKey(alias: String): PrivateKey? {
        calls += "private:$alias"
        return pairs[alias]?.private
    }

    override fun delete(alias: String) {
        pairs.remove(alias)
    }

    fun count(prefix: String): Int = synchronized(calls) { calls.count { it.startsWith(prefix) } }
}

/** GlobalPlatform ISD, the mock world's SSD, and the payment instance the mock TSM installs. */
val SIMULATED_AIDS: List<ByteArray?> = listOf(
    null,
    hex("A000000151000000"),
    hex("A000000333535344"),
    hex("A000000333010101"),
)

fun hex(s: String): ByteArray = ByteArray(s.length / 2) { s.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

fun ByteArray.toHex(): String = joinToString("") { "%02X".format(it) }

/**
 * A Robolectric OMAPI mock applet that forwards to the SE simulator, playing the part of the
 * platform SE service: the shadow's channel has no card behind it, so this applet opens its own
 * logical channel on the simulated card (MANAGE CHANNEL), SELECTs its AID there each time OMAPI
 * asks for the select response (i.e. each time a channel is opened to it), and sends every APDU
 * on that channel (`SimulatedSecureElements.cardTransmit` puts the channel number in CLA).
 */
class SimulatorApplet(
    val reader: String,
    private val aid: ByteArray?,
    private val se: SimulatedSecureElements,
    private val kind: SeReaderKind,
) : ShadowSecureElementService.MockApplet(reader, aid) {
    private var channel: UByte? = null

    /** The applet's AID in hex, `null` for the default applet. */
    val aidHex: String? = aid?.toHex()

    /** Runs before each APDU is forwarded (a test can kill the SE service there). */
    @Volatile
    var beforeTransmit: () -> Unit = {}
    val transmitted: MutableList<ByteArray> = Collections.synchronizedList(mutableListOf())

    @Synchronized
    private fun channel(): UByte = channel ?: run {
        val answer = se.cardTransmit(kind, 0u, byteArrayOf(0x00, 0x70, 0x00, 0x00, 0x01))
        check(answer.size == 3 && answer[1] == 0x90.toByte()) { "MANAGE CHANNEL answered ${answer.toHex()}" }
        answer[0].toUByte().also { channel = it }
    }

    @Synchronized
    override fun getSelectResponse(): ByteArray {
        val aid = aid ?: return byteArrayOf(0x90.toByte(), 0x00)
        val select = byteArrayOf(0x00, 0xA4.toByte(), 0x04, 0x00, aid.size.toByte()) + aid + byteArrayOf(0x00)
        return se.cardTransmit(kind, channel(), select)
    }

    @Synchronized
    override fun processRequestApdu(apdu: ByteArray): ByteArray {
        transmitted += apdu
        beforeTransmit()
        return se.cardTransmit(kind, channel(), apdu)
    }
}

/** Registers [SimulatorApplet]s for [SIMULATED_AIDS] on the readers of [kinds]. */
fun registerSimulatorApplets(se: SimulatedSecureElements, vararg kinds: SeReaderKind): List<SimulatorApplet> =
    kinds.flatMap { kind ->
        val reader = when (kind) {
            SeReaderKind.ESE -> "eSE1"
            SeReaderKind.SIM -> "SIM1"
            SeReaderKind.SD -> "SD1"
        }
        SIMULATED_AIDS.map { aid -> SimulatorApplet(reader, aid, se, kind).also(ShadowSecureElementService::addMockApplet) }
    }
