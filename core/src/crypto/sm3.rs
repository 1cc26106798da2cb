//! SM3 hash (GB/T 32905-2016, RustCrypto `sm3`).

use sm3::{Digest, Sm3};

/// Length of an SM3 digest in bytes.
pub const DIGEST_LEN: usize = 32;

/// SM3 of the concatenation of `parts`.
pub fn sm3_parts(parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    let mut hasher = Sm3::new();
    parts.iter().for_each(|part| hasher.update(part));
    hasher.finalize().into()
}

/// SM3 of `data`.
pub fn sm3(data: &[u8]) -> [u8; DIGEST_LEN] {
    sm3_parts(&[data])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GB/T 32905-2016 appendix A, examples 1 and 2.
    #[test]
    fn gbt32905_appendix_a() {
        assert_eq!(
            hex::encode(sm3(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            hex::encode(sm3(&b"abcd".repeat(16))),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
    }

    #[test]
    fn parts_equal_concatenation() {
        assert_eq!(sm3_parts(&[b"a", b"", b"bc"]), sm3(b"abc"));
    }
}
