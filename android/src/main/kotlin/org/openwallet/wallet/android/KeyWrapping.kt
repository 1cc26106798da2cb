package org.openwallet.wallet.android

import org.openwallet.ffi.KeyStore
import org.openwallet.ffi.KeyStoreFfiException
import org.openwallet.ffi.Signer
import org.openwallet.ffi.SignerFfiException
import java.math.BigInteger
import java.security.KeyPair
import java.security.PrivateKey
import java.security.PublicKey
import java.security.Signature
import java.security.interfaces.ECPublicKey
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/** Holds AES wrapping keys, one per alias ([AndroidKeystoreWrappingKeys] on a device). */
interface WrappingKeys {
    /** The key named [alias], created on first use. */
    fun getOrCreate(alias: String): SecretKey

    /** Whether [e] means the key was invalidated for good (e.g. the lock screen was removed). */
    fun isInvalidated(e: Exception): Boolean = false

    /** Whether [e] means the user must authenticate first. */
    fun isUserNotAuthenticated(e: Exception): Boolean = false
}

/** Holds ECDSA P-256 key pairs, one per alias ([AndroidKeystoreEcKeys] on a device). */
interface EcKeys {
    /** Creates (or replaces) the pair named [alias]. */
    fun generate(alias: String): KeyPair

    /** The public key of [alias], `null` when there is none. */
    fun publicKey(alias: String): PublicKey?

    /** The private key (a handle, for the Keystore) of [alias], `null` when there is none. */
    fun privateKey(alias: String): PrivateKey?

    /** Deletes [alias] (nothing when absent). */
    fun delete(alias: String)

    /** Whether [e] means the key was invalidated for good. */
    fun isInvalidated(e: Exception): Boolean = false

    /** Whether [e] means the user must authenticate first. */
    fun isUserNotAuthenticated(e: Exception): Boolean = false
}

/**
 * The core's [KeyStore] over [WrappingKeys]: the data key is sealed with AES-256-GCM under the
 * alias's key; the blob is `iv (12 bytes) || ciphertext || tag (16 bytes)`. The IV comes from
 * the cipher (the Android Keystore demands randomized encryption). A blob that does not
 * authenticate is [KeyStoreFfiException.Unwrap] (`tampered`); a Keystore failure is
 * [KeyStoreFfiException.Failure] with code `key_invalidated`, `user_not_authenticated` or
 * `keystore_error`. Key material is never logged.
 */
class KeystoreKeyStore(private val keys: WrappingKeys) : KeyStore {
    override fun wrapKey(alias: String, key: ByteArray): ByteArray = failures {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, keys.getOrCreate(alias))
        val iv = cipher.iv
        if (iv == null || iv.size != IV_BYTES) {
            throw KeyStoreFfiException.Failure("keystore_error", "unexpected GCM IV of ${iv?.size ?: 0} bytes")
        }
        iv + cipher.doFinal(key)
    }

    override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray = failures {
        if (wrapped.size < IV_BYTES + TAG_BYTES) {
            throw KeyStoreFfiException.Unwrap("too_short", "blob of ${wrapped.size} bytes")
        }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, keys.getOrCreate(alias), GCMParameterSpec(TAG_BYTES * 8, wrapped, 0, IV_BYTES))
        try {
            cipher.doFinal(wrapped, IV_BYTES, wrapped.size - IV_BYTES)
        } catch (e: AEADBadTagException) {
            throw KeyStoreFfiException.Unwrap("tampered", "GCM tag mismatch")
        }
    }

    private inline fun <T> failures(block: () -> T): T =
        try {
            block()
        } catch (e: KeyStoreFfiException) {
            throw e
        } catch (e: Exception) {
            val code = when {
                keys.isInvalidated(e) -> "key_invalidated"
                keys.isUserNotAuthenticated(e) -> "user_not_authenticated"
                else -> "keystore_error"
            }
            throw KeyStoreFfiException.Failure(code, "${e.javaClass.simpleName}: ${e.message}")
        }

    private companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
        const val TAG_BYTES = 16
    }
}

/**
 * The core's [Signer] over [EcKeys]: ECDSA P-256 with SHA-256, DER signatures, SEC1
 * uncompressed public keys (65 bytes). A missing key is [SignerFfiException.KeyNotFound]; the
 * Keystore asking for authentication is [SignerFfiException.UserNotAuthenticated]; other
 * failures are [SignerFfiException.Platform].
 */
class KeystoreSigner(private val keys: EcKeys) : Signer {
    override fun generateKey(alias: String): ByteArray = failures { sec1(keys.generate(alias).public) }

    override fun publicKey(alias: String): ByteArray? = failures { keys.publicKey(alias)?.let(::sec1) }

    override fun sign(alias: String, message: ByteArray): ByteArray = failures {
        val key = keys.privateKey(alias) ?: throw SignerFfiException.KeyNotFound("no key $alias")
        Signature.getInstance("SHA256withECDSA").run {
            initSign(key)
            update(message)
            sign()
        }
    }

    override fun deleteKey(alias: String) = failures { keys.delete(alias) }

    private inline fun <T> failures(block: () -> T): T =
        try {
            block()
        } catch (e: SignerFfiException) {
            throw e
        } catch (e: Exception) {
            when {
                keys.isUserNotAuthenticated(e) -> throw SignerFfiException.UserNotAuthenticated("authenticate first")
                keys.isInvalidated(e) -> throw SignerFfiException.KeyNotFound("the key was invalidated")
                else -> throw SignerFfiException.Platform("keystore_error", "${e.javaClass.simpleName}: ${e.message}")
            }
        }

    /** Encodings. */
    companion object {
        /** SEC1 uncompressed encoding (`04 || X || Y`, 65 bytes) of a P-256 public key. */
        @JvmStatic
        fun sec1(key: PublicKey): ByteArray {
            val ec = key as? ECPublicKey ?: throw SignerFfiException.Platform("not_ec", "not an EC public key")
            return byteArrayOf(0x04) + ec.w.affineX.fixed32() + ec.w.affineY.fixed32()
        }

        private fun BigInteger.fixed32(): ByteArray {
            val bytes = toByteArray()
            return when {
                bytes.size == 32 -> bytes
                bytes.size > 32 -> bytes.copyOfRange(bytes.size - 32, bytes.size)
                else -> ByteArray(32 - bytes.size) + bytes
            }
        }
    }
}
