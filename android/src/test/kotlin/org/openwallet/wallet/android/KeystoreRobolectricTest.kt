package org.openwallet.wallet.android

import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.openwallet.ffi.KeyStoreFfiException
import org.openwallet.ffi.LogLevel
import org.openwallet.ffi.MockMerchant
import org.openwallet.ffi.OrderStatus
import org.openwallet.ffi.SignerFfiException
import org.openwallet.ffi.WalletConfig
import org.openwallet.ffi.WalletFfiException
import org.openwallet.ffi.delayedEcho
import org.openwallet.ffi.keyStoreRoundTrip
import org.openwallet.ffi.setLogSink
import org.openwallet.wallet.bindDebitCard
import org.openwallet.wallet.payWithPassword
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowLog
import java.security.Signature
import java.security.KeyFactory
import java.security.spec.ECPoint
import java.security.spec.ECPublicKeySpec
import java.security.interfaces.ECPublicKey
import java.math.BigInteger

/**
 * The Keystore seam: the core uses the Kotlin [KeystoreKeyStore] / [KeystoreSigner] (the same
 * classes the app uses over the Android Keystore) with software keys behind [WrappingKeys] /
 * [EcKeys], since Robolectric has no AndroidKeyStore provider; the Android implementations are
 * compiled and fail with typed errors here. Also the logcat sink.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], manifest = Config.NONE)
class KeystoreRobolectricTest {
    @get:Rule
    val tmp = TemporaryFolder()

    @After
    fun noSink() = setLogSink(null, LogLevel.ERROR)

    @Test
    fun `the wallet's data key is wrapped by the Kotlin key store and a wrong key cannot open it`() = runBlocking {
        val url = requireBackend()
        val dir = tmp.newFolder().path
        val keys = SoftwareWrappingKeys()
        val config = WalletConfig(dir, url, requestTimeoutMs = 10_000u, maxRetries = 0u)
        val bindingId = WalletClient.open(config, scope = null, keyStore = KeystoreKeyStore(keys)).use { client ->
            bindDebitCard(client.wallet, url)
        }
        assertEquals(1, keys.created.size)
        // Reopened with the same Keystore key: the binding is still there.
        WalletClient.open(config, scope = null, keyStore = KeystoreKeyStore(keys)).use { client ->
            assertEquals(listOf(bindingId), client.wallet.bindings().map { it.bindingId })
        }
        // Another key (e.g. the Keystore entry was lost): the store refuses to open, typed.
        try {
            WalletClient.open(config, scope = null, keyStore = KeystoreKeyStore(SoftwareWrappingKeys())).close()
            fail("opened with the wrong key")
        } catch (e: WalletFfiException.KeyStore) {
            // expected
        }
    }

    @Test
    fun `the core signs with the Kotlin signer - binding and a password payment`() = runBlocking {
        val url = requireBackend()
        val ec = SoftwareEcKeys()
        val config = WalletConfig(tmp.newFolder().path, url, requestTimeoutMs = 10_000u, maxRetries = 0u)
        WalletClient.open(config, scope = null, keyStore = KeystoreKeyStore(SoftwareWrappingKeys()), signer = KeystoreSigner(ec))
            .use { client ->
                val wallet = client.wallet
                val bindingId = bindDebitCard(wallet, url)
                assertEquals(1, ec.count("generate:"))
                wallet.setPaymentPassword(bindingId, "135790")
                val order = MockMerchant(url).use { it.createOrder(1_234uL, "tea") }
                val before = ec.count("private:")
                val paid = wallet.payWithPassword(bindingId, order.orderId, "135790")
                assertEquals(order.orderId, paid.orderId)
                assertTrue("the payment was signed by the Kotlin signer", ec.count("private:") > before)
                MockMerchant(url).use { assertEquals(OrderStatus.PAID, it.order(order.orderId).status) }
            }
    }

    @Test
    fun `KeystoreSigner - SEC1 keys, verifiable DER signatures, typed errors`() {
        val signer = KeystoreSigner(SoftwareEcKeys())
        assertNull(signer.publicKey("device"))
        try {
            signer.sign("device", byteArrayOf(1))
            fail("no key yet")
        } catch (e: SignerFfiException.KeyNotFound) {
            // expected
        }
        val public = signer.generateKey("device")
        assertEquals(65, public.size)
        assertEquals(0x04.toByte(), public[0])
        assertArrayEquals(public, signer.publicKey("device"))
        val message = "pay 12.34".toByteArray()
        val der = signer.sign("device", message)
        val verifier = Signature.getInstance("SHA256withECDSA")
        verifier.initVerify(decodeSec1(public))
        verifier.update(message)
        assertTrue(verifier.verify(der))
        signer.deleteKey("device")
        signer.deleteKey("device")
        assertNull(signer.publicKey("device"))
    }

    @Test
    fun `KeystoreKeyStore - blob layout, tampering and the core's round trip`() {
        val store = KeystoreKeyStore(SoftwareWrappingKeys())
        val key = ByteArray(32) { it.toByte() }
        val wrapped = keyStoreRoundTrip(store, "wallet-data-key", key)
        assertEquals(12 + 32 + 16, wrapped.size)
        assertArrayEquals(key, store.unwrapKey("wallet-data-key", wrapped))
        val tampered = wrapped.copyOf().also { it[20] = (it[20] + 1).toByte() }
        try {
            store.unwrapKey("wallet-data-key", tampered)
            fail("tampered blob accepted")
        } catch (e: KeyStoreFfiException.Unwrap) {
            assertEquals("tampered", e.code)
        }
        try {
            store.unwrapKey("wallet-data-key", ByteArray(10))
            fail("short blob accepted")
        } catch (e: KeyStoreFfiException.Unwrap) {
            assertEquals("too_short", e.code)
        }
    }

    @Test
    fun `the Android Keystore implementations compile and fail typed where there is no AndroidKeyStore`() {
        try {
            keyStoreRoundTrip(KeystoreKeyStore(AndroidKeystoreWrappingKeys(strongBox = true)), "k", ByteArray(32))
            fail("Robolectric has no AndroidKeyStore provider")
        } catch (e: KeyStoreFfiException.Failure) {
            assertEquals("keystore_error", e.code)
        }
        try {
            KeystoreSigner(AndroidKeystoreEcKeys(strongBox = false)).generateKey("device")
            fail("Robolectric has no AndroidKeyStore provider")
        } catch (e: SignerFfiException.Platform) {
            assertEquals("keystore_error", e.code)
        }
    }

    @Test
    fun `library logs reach android util Log`() = runBlocking {
        setLogSink(AndroidLogSink(), LogLevel.DEBUG)
        delayedEcho(byteArrayOf(1, 2, 3), 1u)
        val logs = ShadowLog.getLogsForTag(AndroidLogSink.DEFAULT_TAG)
        val mine = logs.single { it.msg == "wallet_ffi::diagnostics: delayed_echo len=3 delay_ms=1" }
        assertEquals(android.util.Log.DEBUG, mine.type)
        assertEquals(android.util.Log.ERROR, AndroidLogSink.priorityOf(LogLevel.ERROR))
        assertEquals(android.util.Log.VERBOSE, AndroidLogSink.priorityOf(LogLevel.TRACE))
    }

    private fun decodeSec1(sec1: ByteArray): ECPublicKey {
        val params = (java.security.KeyPairGenerator.getInstance("EC")
            .apply { initialize(java.security.spec.ECGenParameterSpec("secp256r1")) }
            .generateKeyPair().public as ECPublicKey).params
        val point = ECPoint(BigInteger(1, sec1.copyOfRange(1, 33)), BigInteger(1, sec1.copyOfRange(33, 65)))
        return KeyFactory.getInstance("EC").generatePublic(ECPublicKeySpec(point, params)) as ECPublicKey
    }
}
