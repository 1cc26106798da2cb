package org.openwallet.wallet

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.openwallet.ffi.AuthMode
import org.openwallet.ffi.MockMerchant
import org.openwallet.ffi.OrderStatus
import org.openwallet.ffi.PayAuth
import org.openwallet.ffi.SeReaderKind
import org.openwallet.ffi.Signer
import org.openwallet.ffi.SimulatedSecureElements
import org.openwallet.ffi.SignerFfiException
import org.openwallet.ffi.Wallet
import org.openwallet.ffi.WalletConfig
import org.openwallet.ffi.WalletFfiException
import java.io.File
import java.math.BigInteger
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.util.Collections
import java.util.concurrent.ConcurrentHashMap

/**
 * A Kotlin [Signer] standing in for the Android Keystore: P-256 keys from the JCA
 * (`KeyPairGenerator("EC")` on `secp256r1`), public keys as SEC1 uncompressed points, signatures
 * from `Signature("SHA256withECDSA")`, which are ASN.1 DER as the library expects. Records every
 * call.
 */
class JcaSigner : Signer {
    private val keys = ConcurrentHashMap<String, KeyPair>()
    val calls: MutableList<String> = Collections.synchronizedList(mutableListOf())

    override fun generateKey(alias: String): ByteArray {
        calls += "generate:$alias"
        val pair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
        keys[alias] = pair
        return sec1(pair.public as ECPublicKey)
    }

    override fun publicKey(alias: String): ByteArray? {
        calls += "public:$alias"
        return keys[alias]?.let { sec1(it.public as ECPublicKey) }
    }

    override fun sign(alias: String, message: ByteArray): ByteArray {
        calls += "sign:$alias"
        val pair = keys[alias] ?: throw SignerFfiException.KeyNotFound("no key $alias")
        return Signature.getInstance("SHA256withECDSA").run {
            initSign(pair.private)
            update(message)
            sign()
        }
    }

    override fun deleteKey(alias: String) {
        calls += "delete:$alias"
        keys.remove(alias)
    }

    fun count(prefix: String): Int = synchronized(calls) { calls.count { it.startsWith(prefix) } }

    private companion object {
        /** `04 || X || Y`, each coordinate unsigned big-endian on 32 bytes. */
        fun sec1(key: ECPublicKey): ByteArray = byteArrayOf(4) + fixed32(key.w.affineX) + fixed32(key.w.affineY)

        fun fixed32(n: BigInteger): ByteArray {
            val raw = n.toByteArray().dropWhile { it == 0.toByte() }.toByteArray()
            return ByteArray(32 - raw.size) + raw
        }
    }
}

/**
 * Remote (in-app) payment end to end against the mock backend (WALLET_BACKEND_URL), with the
 * device key held by a Kotlin [Signer]: bind → set password → merchant order → pay by password
 * (and a wrong one) → pay by SMS → history. The merchant side is the test-hooks `MockMerchant`.
 */
class RemotePaymentTest {
    @TempDir
    lateinit var tmp: File
    private lateinit var url: String

    @BeforeEach
    fun needsBackend() {
        val backend = backendUrl()
        assumeTrue(backend != null, "WALLET_BACKEND_URL not set")
        url = backend!!
    }

    private fun config(sub: String) =
        WalletConfig(File(tmp, sub).path, url, requestTimeoutMs = 10_000u, maxRetries = 0u, otaMaxDelayMs = 5u)

    private inline fun <reified E : WalletFfiException> failsWith(noinline block: suspend () -> Unit): E =
        assertThrows<E> { runBlocking { block() } }

    @Test
    fun `pay orders by password and by SMS with a Kotlin signer`() = runBlocking {
        val signer = JcaSigner()
        val merchant = MockMerchant(url)
        Wallet.openWithSigner(config("w"), signer).use { wallet ->
            // The device key registered at the bank comes from the Kotlin signer.
            val bindingId = bindDebitCard(wallet, url)
            assertEquals(1, signer.count("generate:"), signer.calls.toString())
            val signsAfterBinding = signer.count("sign:")

            val password = wallet.setPaymentPassword(bindingId, "135790")
            assertEquals(bindingId, password.bindingId)
            assertEquals(5u, password.attemptsLeft)
            assertTrue(signer.count("sign:") > signsAfterBinding, "password registration not signed by the Kotlin signer")

            // Pay by password: a wrong one first.
            val tea = merchant.createOrder(1234uL, "green tea")
            assertEquals(OrderStatus.PENDING, tea.status)
            assertEquals(tea, wallet.fetchOrder(tea.orderId))
            val wrong = failsWith<WalletFfiException.WrongCode> { wallet.payWithPassword(bindingId, tea.orderId, "000000") }
            assertEquals("password_wrong", wrong.code)
            assertEquals(4u, wrong.attemptsLeft)
            assertEquals(4u, wrong.attemptsLeftOrNull)
            assertEquals(OrderStatus.PENDING, merchant.order(tea.orderId).status)

            val signsBeforePay = signer.count("sign:")
            val paid = wallet.payWithPassword(bindingId, tea.orderId, "135790")
            assertEquals(signsBeforePay + 1, signer.count("sign:"), "the payment message is signed once by the Kotlin signer")
            assertEquals(tea.orderId, paid.orderId)
            assertEquals(1234uL, paid.amount)
            assertEquals("CNY", paid.currency)
            assertEquals(AuthMode.PASSWORD, paid.auth)
            assertEquals(bindingId, paid.bindingId)
            assertEquals("622202******7894", paid.maskedPan)
            val teaNow = merchant.order(tea.orderId)
            assertEquals(OrderStatus.PAID, teaNow.status)
            assertEquals(paid.paymentId, teaNow.paymentId)

            // The same order cannot be paid twice.
            val again = failsWith<WalletFfiException> { wallet.payOrder(bindingId, tea.orderId, PayAuth.Password("135790")) }
            assertTrue(again.isPaymentRefused && again.code == "order_already_paid", "$again")

            // Pay by SMS: the code comes from the mock SMS outbox of the card's phone.
            val cake = merchant.createOrder(888uL, "cake")
            val bySms = wallet.payWithSms(bindingId, cake.orderId) { challenge ->
                assertEquals("138****8000", challenge.sentTo)
                lastSmsCode(url, DebitCard.PHONE)
            }
            assertEquals(AuthMode.SMS, bySms.auth)
            assertEquals(888uL, bySms.amount)
            assertEquals(OrderStatus.PAID, merchant.order(cake.orderId).status)

            // History lists both payments.
            val history = wallet.paymentHistory()
            assertEquals(setOf(tea.orderId, cake.orderId), history.map { it.orderId }.toSet())
            assertEquals(setOf(paid.paymentId, bySms.paymentId), history.map { it.paymentId }.toSet())
            wallet.syncPaymentHistory(bindingId)
            assertEquals(2, wallet.paymentHistory().size)
        }
    }

    @Test
    fun `a signer that throws fails the call with a typed error`() = runBlocking {
        val broken = object : Signer by JcaSigner() {
            override fun generateKey(alias: String): ByteArray = throw IllegalStateException("keystore daemon died")
        }
        Wallet.openWithSigner(config("b"), broken).use { wallet ->
            // An undeclared Kotlin exception arrives as code `signer_failure`, never as a crash.
            val e = failsWith<WalletFfiException.Signer> { bindDebitCard(wallet, url) }
            assertEquals("signer_failure", e.code)
            assertTrue(e.errorMessage.startsWith("foreign_exception") && "keystore daemon died" in e.errorMessage, e.errorMessage)
            assertEquals(emptyList<Any>(), wallet.bindings())
        }
    }

    @Test
    fun `pay an order in SE mode - the card in the simulated eSE signs after the PIN`() = runBlocking {
        val signer = JcaSigner()
        val merchant = MockMerchant(url)
        Wallet.openWithSigner(config("se"), signer).use { wallet ->
            SimulatedSecureElements.open(File(tmp, "se-sim").path).use { se ->
                val bindingId = bindDebitCard(wallet, url)
                wallet.attachSecureElements(se)
                val card = wallet.openCard(bindingId, SeReaderKind.ESE) {}
                val order = merchant.createOrder(4200uL, "book")
                val signs = signer.count("sign:")

                val wrong = failsWith<WalletFfiException.WrongCode> {
                    wallet.payWithSecureElement(bindingId, order.orderId, card.seId, "000000")
                }
                assertEquals("pin_wrong", wrong.code)
                assertTrue(wrong.attemptsLeft > 0u, "$wrong")

                val paid = wallet.payWithSecureElement(bindingId, order.orderId, card.seId, TEST_PIN)
                assertEquals(AuthMode.SE, paid.auth)
                assertEquals(4200uL, paid.amount)
                assertEquals(OrderStatus.PAID, merchant.order(order.orderId).status)
                assertEquals(signs, signer.count("sign:"), "SE mode must not use the device key")
            }
        }
    }

    private companion object {
        /** Cardholder PIN of every mock test card (mock-backend/src/bank/test_cards.rs). */
        const val TEST_PIN = "123456"
    }
}
