//! SM2 digital signatures (GB/T 32918.2-2016) on the sm2p256v1 curve, with the user identity
//! hash `Z` of GB/T 32918.2 clause 5.5. Curve arithmetic and verification come from RustCrypto
//! `sm2`; signing evaluates the standard's equation with that crate's scalar and point types (the
//! crate only signs with RFC 6979 nonces, and its signing key does not zeroize on drop).
//!
//! Encodings: public keys `04 || X || Y` (65 bytes), signatures `r || s` (64 bytes), private keys
//! the 32-byte big-endian scalar `d`.

use super::random;
use super::sm3::{sm3_parts, DIGEST_LEN};
use super::CryptoError;
use primeorder::PrimeCurveParams;
use sm2::dsa::signature::hazmat::PrehashVerifier;
use sm2::dsa::{Signature, VerifyingKey};
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::elliptic_curve::{Group, PrimeField};
use sm2::{FieldBytes, NonZeroScalar, ProjectivePoint, PublicKey, Scalar, SecretKey, Sm2};
use zeroize::{ZeroizeOnDrop, Zeroizing};

/// Length of an SM2 public key `04 || X || Y`.
pub const PUBLIC_KEY_LEN: usize = 65;
/// Length of an SM2 private key (the scalar `d`, big-endian).
pub const PRIVATE_KEY_LEN: usize = 32;
/// Length of an SM2 signature `r || s`.
pub const SIGNATURE_LEN: usize = 64;
/// The default user identity of GM/T 0009 when the parties agree on none.
pub const DEFAULT_USER_ID: &[u8] = b"1234567812345678";

/// Fresh nonces drawn before giving up (each failure has probability about 2^-256).
const MAX_NONCE_ATTEMPTS: usize = 16;

/// An SM2 private key. The scalar is zeroized on drop; `Debug` shows only the public key.
#[derive(Clone)]
pub struct Sm2SigningKey {
    secret: SecretKey,
    public: PublicKey,
}

/// The private scalar is an `elliptic_curve::SecretKey`, which zeroizes itself on drop (checked
/// below); the other field is the public key.
impl ZeroizeOnDrop for Sm2SigningKey {}

// Compile-time proof that the secret behind `Sm2SigningKey` zeroizes on drop.
const _: () = {
    const fn zeroized_on_drop<T: ZeroizeOnDrop>() {}
    zeroized_on_drop::<SecretKey>();
};

impl std::fmt::Debug for Sm2SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sm2SigningKey")
            .field("public_key", &hex::encode(self.public_key()))
            .finish_non_exhaustive()
    }
}

impl Sm2SigningKey {
    /// Generates a key with `d` uniform in `[1, n-1]` from the system random number generator.
    pub fn generate() -> Result<Self, CryptoError> {
        let d = random_nonzero_scalar()?;
        Ok(Self::from_secret(SecretKey::from(&*d)))
    }

    /// Loads a key from its 32-byte big-endian scalar `d` (must be in `[1, n-1]`).
    pub fn from_bytes(d: &[u8]) -> Result<Self, CryptoError> {
        if d.len() != PRIVATE_KEY_LEN {
            return Err(CryptoError::InvalidKey("SM2 private key must be 32 bytes"));
        }
        SecretKey::from_slice(d)
            .map(Self::from_secret)
            .map_err(|_| CryptoError::InvalidKey("SM2 private key out of range"))
    }

    fn from_secret(secret: SecretKey) -> Self {
        let public = secret.public_key();
        Self { secret, public }
    }

    /// The private scalar `d` (32 bytes, big-endian), to be sealed by the store. Never log it.
    pub fn to_bytes(&self) -> Zeroizing<[u8; PRIVATE_KEY_LEN]> {
        let mut out = Zeroizing::new([0u8; PRIVATE_KEY_LEN]);
        let bytes = Zeroizing::new(self.secret.to_bytes());
        out.copy_from_slice(&bytes);
        out
    }

    /// The public key `04 || X || Y`.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        encode_public_key(&self.public)
    }

    /// Signs `message` for the signer identity `user_id` (see [`DEFAULT_USER_ID`]) with a random
    /// nonce; returns `r || s`.
    pub fn sign(&self, user_id: &[u8], message: &[u8]) -> Result<[u8; SIGNATURE_LEN], CryptoError> {
        let e = message_scalar(user_id, &self.public, message)?;
        for _ in 0..MAX_NONCE_ATTEMPTS {
            let k = random_nonzero_scalar()?;
            if let Ok(signature) = self.sign_prehashed_with_k(&e, &k) {
                return Ok(signature);
            }
        }
        Err(CryptoError::Rng)
    }

    /// Signs with a caller-chosen nonce `k` (32 bytes, big-endian, in `[1, n-1]`). **Only for
    /// known-answer tests**: a repeated or predictable `k` reveals the private key.
    #[doc(hidden)]
    pub fn sign_with_fixed_k(
        &self,
        user_id: &[u8],
        message: &[u8],
        k: &[u8],
    ) -> Result<[u8; SIGNATURE_LEN], CryptoError> {
        let k = Zeroizing::new(
            NonZeroScalar::try_from(k)
                .map_err(|_| CryptoError::InvalidInput("SM2 nonce out of range"))?,
        );
        let e = message_scalar(user_id, &self.public, message)?;
        self.sign_prehashed_with_k(&e, &k)
    }

    /// GB/T 32918.2 clause 6.1, steps A4 to A7, for `e` already computed (A1 to A3).
    fn sign_prehashed_with_k(
        &self,
        e: &Scalar,
        k: &NonZeroScalar,
    ) -> Result<[u8; SIGNATURE_LEN], CryptoError> {
        const RETRY: CryptoError = CryptoError::InvalidInput("SM2 nonce rejected, draw another");
        let d = Zeroizing::new(self.secret.to_nonzero_scalar());
        // A4: (x1, y1) = [k]G.
        let point = ProjectivePoint::mul_by_generator(&**k).to_affine();
        // A5: r = (e + x1) mod n; reject r = 0 and r + k = n.
        let r = *e + <Scalar as Reduce<FieldBytes>>::reduce(&point.x());
        if bool::from(r.is_zero() | (r + **k).is_zero()) {
            return Err(RETRY);
        }
        // A6: s = ((1 + d)^-1 * (k - r * d)) mod n; reject s = 0. Every intermediate reveals d
        // (given r and k), so each is zeroized on drop.
        let one_plus_d = Zeroizing::new(Scalar::ONE + **d);
        let one_plus_d_inv =
            Zeroizing::new(Option::<Scalar>::from(one_plus_d.invert()).ok_or(RETRY)?);
        let r_d = Zeroizing::new(r * **d);
        let k_minus_r_d = Zeroizing::new(**k - *r_d);
        let s = *one_plus_d_inv * *k_minus_r_d;
        if bool::from(s.is_zero()) {
            return Err(RETRY);
        }
        // A7: the signature is (r, s).
        let mut out = [0u8; SIGNATURE_LEN];
        let (r_out, s_out) = out.split_at_mut(SIGNATURE_LEN / 2);
        r_out.copy_from_slice(&r.to_repr());
        s_out.copy_from_slice(&s.to_repr());
        Ok(out)
    }
}

/// Draws a scalar uniformly from `[1, n-1]` by rejection sampling.
fn random_nonzero_scalar() -> Result<Zeroizing<NonZeroScalar>, CryptoError> {
    for _ in 0..MAX_NONCE_ATTEMPTS {
        let bytes = Zeroizing::new(random::bytes::<PRIVATE_KEY_LEN>()?);
        if let Ok(scalar) = NonZeroScalar::try_from(&bytes[..]) {
            return Ok(Zeroizing::new(scalar));
        }
    }
    Err(CryptoError::Rng)
}

fn encode_public_key(public: &PublicKey) -> [u8; PUBLIC_KEY_LEN] {
    let point = public.to_sec1_point(false);
    let mut out = [0u8; PUBLIC_KEY_LEN];
    // An uncompressed SEC1 point of a 256-bit curve is exactly 65 bytes.
    if let Some(dst) = out.get_mut(..point.as_bytes().len()) {
        dst.copy_from_slice(point.as_bytes());
    }
    out
}

fn decode_public_key(public_key: &[u8]) -> Result<PublicKey, CryptoError> {
    const BAD: CryptoError =
        CryptoError::InvalidKey("SM2 public key must be 04 || X || Y on the curve");
    if public_key.len() != PUBLIC_KEY_LEN || public_key.first() != Some(&0x04) {
        return Err(BAD);
    }
    PublicKey::from_sec1_bytes(public_key).map_err(|_| BAD)
}

fn z_value(user_id: &[u8], public: &PublicKey) -> Result<[u8; DIGEST_LEN], CryptoError> {
    let entl = user_id
        .len()
        .checked_mul(8)
        .and_then(|bits| u16::try_from(bits).ok())
        .ok_or(CryptoError::InvalidInput(
            "SM2 user ID longer than 8191 bytes",
        ))?;
    let a = Sm2::EQUATION_A.to_bytes();
    let b = Sm2::EQUATION_B.to_bytes();
    let x_g = Sm2::GENERATOR.0.to_bytes();
    let y_g = Sm2::GENERATOR.1.to_bytes();
    let point = public.to_sec1_point(false);
    // Skip the 04 tag of the uncompressed point: X || Y.
    let xy = point
        .as_bytes()
        .get(1..)
        .ok_or(CryptoError::InvalidKey("SM2 public key"))?;
    Ok(sm3_parts(&[
        &entl.to_be_bytes(),
        user_id,
        &a,
        &b,
        &x_g,
        &y_g,
        xy,
    ]))
}

/// The user identity hash `Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA)` of
/// GB/T 32918.2 clause 5.5 for `user_id` and the public key `04 || X || Y`.
pub fn sm2_z(user_id: &[u8], public_key: &[u8]) -> Result<[u8; DIGEST_LEN], CryptoError> {
    z_value(user_id, &decode_public_key(public_key)?)
}

/// `e = SM3(Z || M)` as a scalar (steps A1-A3 / B3-B4).
fn message_scalar(
    user_id: &[u8],
    public: &PublicKey,
    message: &[u8],
) -> Result<Scalar, CryptoError> {
    let e = sm3_parts(&[&z_value(user_id, public)?, message]);
    Ok(<Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(e)))
}

/// Verifies an SM2 signature `r || s` over `message` by the holder of `public_key`
/// (`04 || X || Y`) with identity `user_id`.
pub fn verify_sm2(
    public_key: &[u8],
    user_id: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let public = decode_public_key(public_key)?;
    let e = sm3_parts(&[&z_value(user_id, &public)?, message]);
    let signature =
        Signature::from_slice(signature).map_err(|_| CryptoError::VerificationFailed)?;
    // Only the pre-hashed check is used, so the crate's own identity (and its Z) plays no part.
    let verifier =
        VerifyingKey::new("", public).map_err(|_| CryptoError::InvalidKey("SM2 public key"))?;
    verifier
        .verify_prehash(&e, &signature)
        .map_err(|_| CryptoError::VerificationFailed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm2::dsa::signature::Verifier;

    /// GB/T 32918.5 / GM/T 0003.5 example key on sm2p256v1 (also in vectors/sm2.json).
    const D: &str = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
    const PUBLIC: &str = "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020\
                          ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";

    fn key() -> Sm2SigningKey {
        Sm2SigningKey::from_bytes(&hex::decode(D).unwrap()).unwrap()
    }

    #[test]
    fn public_key_from_published_private_key() {
        assert_eq!(hex::encode(key().public_key()), PUBLIC);
    }

    #[test]
    fn sign_verify_round_trip_and_rejections() {
        let key = Sm2SigningKey::generate().unwrap();
        let public = key.public_key();
        let signature = key.sign(DEFAULT_USER_ID, b"pay 12.00 CNY").unwrap();
        verify_sm2(&public, DEFAULT_USER_ID, b"pay 12.00 CNY", &signature).unwrap();
        let fail = Err(CryptoError::VerificationFailed);
        assert_eq!(
            verify_sm2(&public, DEFAULT_USER_ID, b"pay 13.00 CNY", &signature),
            fail
        );
        assert_eq!(
            verify_sm2(&public, b"another id", b"pay 12.00 CNY", &signature),
            fail
        );
        let mut bad = signature;
        bad[63] ^= 1;
        assert_eq!(
            verify_sm2(&public, DEFAULT_USER_ID, b"pay 12.00 CNY", &bad),
            fail
        );
        assert_eq!(
            verify_sm2(&public, DEFAULT_USER_ID, b"pay 12.00 CNY", &signature[..63]),
            fail
        );
    }

    /// Our signatures verify with the crate's complete verifier, which computes Z by itself.
    #[test]
    fn crate_verifier_accepts_our_signatures() {
        let key = key();
        let signature = key.sign(b"ALICE123@YAHOO.COM", b"message digest").unwrap();
        let verifying =
            VerifyingKey::from_sec1_bytes("ALICE123@YAHOO.COM", &key.public_key()).unwrap();
        verifying
            .verify(
                b"message digest",
                &Signature::from_slice(&signature).unwrap(),
            )
            .unwrap();
    }

    /// The crate's own signer (RFC 6979 nonces, its own Z) produces signatures we accept.
    #[test]
    fn we_accept_the_crate_signers_signatures() {
        use sm2::dsa::signature::Signer;
        let signer =
            sm2::dsa::SigningKey::from_slice("ALICE123@YAHOO.COM", &hex::decode(D).unwrap())
                .unwrap();
        let signature: Signature = signer.sign(b"message digest");
        let public = hex::decode(PUBLIC).unwrap();
        verify_sm2(
            &public,
            b"ALICE123@YAHOO.COM",
            b"message digest",
            &signature.to_bytes(),
        )
        .unwrap();
        assert!(verify_sm2(
            &public,
            DEFAULT_USER_ID,
            b"message digest",
            &signature.to_bytes()
        )
        .is_err());
    }

    #[test]
    fn rejects_bad_keys_and_nonces() {
        assert!(Sm2SigningKey::from_bytes(&[0; 32]).is_err());
        assert!(Sm2SigningKey::from_bytes(&[0xff; 32]).is_err());
        assert!(Sm2SigningKey::from_bytes(&[1; 31]).is_err());
        assert!(sm2_z(DEFAULT_USER_ID, &[0x04; 65]).is_err());
        assert!(key()
            .sign_with_fixed_k(DEFAULT_USER_ID, b"m", &[0; 32])
            .is_err());
    }

    #[test]
    fn debug_and_round_trip_of_private_key() {
        let key = key();
        let shown = format!("{key:?}");
        assert!(!shown.contains(D), "{shown}");
        assert_eq!(hex::encode(*key.to_bytes()), D);
    }
}
