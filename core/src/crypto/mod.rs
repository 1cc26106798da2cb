//! Cryptographic primitives: one implementation of each, used by the core, the SE simulator, the
//! TSM and the issuer alike.
//!
//! Platform crypto (ECDSA P-256, AES-256-GCM, HKDF-SHA256, secure random) comes from `ring`;
//! card-level symmetric crypto (3DES, ISO 9797-1 MACs, AES-CMAC, SM3, SM4, SM2) from RustCrypto.
//! Block ciphers share one seam ([`block::BlockCipher`]) so ECB, CBC and the ISO/IEC 9797-1 MACs
//! are written once for DES, 3DES, AES and SM4.

pub mod aead;
pub mod aes;
pub mod block;
pub mod cmac;
pub mod des;
pub mod ecdsa;
pub mod error;
pub mod kdf;
pub mod mac;
pub mod random;
pub mod secret;
pub mod sm2;
pub mod sm3;
pub mod sm4;

pub use error::CryptoError;
