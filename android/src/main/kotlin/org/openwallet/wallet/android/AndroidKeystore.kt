package org.openwallet.wallet.android

import android.content.Context
import android.content.pm.PackageManager
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.PrivateKey
import java.security.PublicKey
import java.security.spec.ECGenParameterSpec
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import java.security.KeyStore as JcaKeyStore

/*
 * Where the keys live: the Android Keystore (hardware-backed, StrongBox when the device has
 * one). The cryptography over them (AES-GCM key wrapping, ECDSA signing, SEC1 encoding) is in
 * KeyWrapping.kt and is the same whatever holds the keys, so tests run it with software keys
 * (Robolectric has no AndroidKeyStore provider); these classes compile against the real API.
 */

/** Name of the Android Keystore JCA provider. */
const val ANDROID_KEYSTORE: String = "AndroidKeyStore"

/** Whether the device has a StrongBox Keymaster (`FEATURE_STRONGBOX_KEYSTORE`). */
fun Context.hasStrongBox(): Boolean =
    packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)

/**
 * AES-256 wrapping keys in the Android Keystore, one per alias, created on first use
 * (StrongBox-backed when [strongBox] and available, else TEE).
 */
class AndroidKeystoreWrappingKeys(private val strongBox: Boolean) : WrappingKeys {
    /** Uses StrongBox when [context]'s device has it. */
    constructor(context: Context) : this(context.hasStrongBox())

    override fun getOrCreate(alias: String): SecretKey {
        val store = JcaKeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }
        (store.getKey(alias, null) as? SecretKey)?.let { return it }
        return generate(alias, strongBox)
    }

    private fun generate(alias: String, inStrongBox: Boolean): SecretKey {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .setRandomizedEncryptionRequired(true)
            .setIsStrongBoxBacked(inStrongBox)
            .build()
        return try {
            KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE).apply { init(spec) }.generateKey()
        } catch (e: StrongBoxUnavailableException) {
            if (!inStrongBox) throw e
            generate(alias, inStrongBox = false)
        }
    }

    override fun isInvalidated(e: Exception): Boolean = e is KeyPermanentlyInvalidatedException

    override fun isUserNotAuthenticated(e: Exception): Boolean = e is UserNotAuthenticatedException
}

/**
 * ECDSA P-256 key pairs in the Android Keystore, one per alias (StrongBox-backed when
 * [strongBox] and available). The private key never leaves the Keystore.
 */
class AndroidKeystoreEcKeys(private val strongBox: Boolean) : EcKeys {
    /** Uses StrongBox when [context]'s device has it. */
    constructor(context: Context) : this(context.hasStrongBox())

    private fun store(): JcaKeyStore = JcaKeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }

    override fun generate(alias: String): KeyPair = generate(alias, strongBox)

    private fun generate(alias: String, inStrongBox: Boolean): KeyPair {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN or KeyProperties.PURPOSE_VERIFY)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setDigests(KeyProperties.DIGEST_SHA256)
            .setIsStrongBoxBacked(inStrongBox)
            .build()
        return try {
            KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, ANDROID_KEYSTORE)
                .apply { initialize(spec) }
                .generateKeyPair()
        } catch (e: StrongBoxUnavailableException) {
            if (!inStrongBox) throw e
            generate(alias, inStrongBox = false)
        }
    }

    override fun publicKey(alias: String): PublicKey? = store().getCertificate(alias)?.publicKey

    override fun privateKey(alias: String): PrivateKey? = store().getKey(alias, null) as? PrivateKey

    override fun delete(alias: String) {
        val store = store()
        if (store.containsAlias(alias)) store.deleteEntry(alias)
    }

    override fun isInvalidated(e: Exception): Boolean = e is KeyPermanentlyInvalidatedException

    override fun isUserNotAuthenticated(e: Exception): Boolean = e is UserNotAuthenticatedException
}

/** The core's [org.openwallet.ffi.KeyStore] in the Android Keystore. */
fun androidKeystoreKeyStore(context: Context): KeystoreKeyStore = KeystoreKeyStore(AndroidKeystoreWrappingKeys(context))

/** The core's [org.openwallet.ffi.Signer] in the Android Keystore. */
fun androidKeystoreSigner(context: Context): KeystoreSigner = KeystoreSigner(AndroidKeystoreEcKeys(context))
