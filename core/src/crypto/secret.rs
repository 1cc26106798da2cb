//! Copies of secrets that do not outlive their use: hex text and growable buffers whose memory
//! is zeroized on drop, and zeroized before it is freed when it grows.
//!
//! A plain `Vec` or `String` that grows reallocates and frees its old allocation with the bytes
//! still in it; [`Zeroizing`] only clears the *last* allocation. [`hex_encode`] allocates once at
//! the final size and [`SecretBuffer`] clears every allocation it gives up, so no partial copy of
//! a key or a sealed plaintext is left behind in freed heap memory.

use std::fmt;
use std::io;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes` (what `hex::encode` gives), in a string allocated once at its final
/// length and zeroized on drop.
pub fn hex_encode(bytes: &[u8]) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::with_capacity(bytes.len().saturating_mul(2)));
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0x0F] {
            let digit = HEX_DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
            text.push(char::from(digit));
        }
    }
    text
}

/// Smallest allocation of a [`SecretBuffer`] that has to grow.
const MIN_GROWTH: usize = 64;

/// A growable byte buffer for secret data (e.g. the JSON of a value before it is sealed).
/// Written through [`io::Write`] or [`SecretBuffer::extend_from_slice`]; every allocation it
/// drops, on growth or on drop, is zeroized first. `Debug` shows the length only.
pub struct SecretBuffer {
    buf: Zeroizing<Vec<u8>>,
}

impl SecretBuffer {
    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> SecretBuffer {
        SecretBuffer {
            buf: Zeroizing::new(Vec::with_capacity(capacity)),
        }
    }

    /// Appends `bytes`. When the buffer has to grow, the contents move to a new allocation
    /// (at least twice as large) and the old one is zeroized before it is freed.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        let needed = self.buf.len().saturating_add(bytes.len());
        if needed > self.buf.capacity() {
            let capacity = needed
                .max(self.buf.capacity().saturating_mul(2))
                .max(MIN_GROWTH);
            let mut grown = Zeroizing::new(Vec::with_capacity(capacity));
            grown.extend_from_slice(&self.buf);
            // The previous allocation is zeroized (contents and spare capacity) as it drops.
            self.buf = grown;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// Number of bytes written.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes, still zeroized on drop (no copy is made).
    pub fn into_inner(mut self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(std::mem::take(&mut *self.buf))
    }
}

impl Default for SecretBuffer {
    fn default() -> SecretBuffer {
        SecretBuffer::with_capacity(0)
    }
}

impl Zeroize for SecretBuffer {
    fn zeroize(&mut self) {
        self.buf.zeroize();
    }
}

/// The only field is [`Zeroizing`], which zeroizes on drop.
impl ZeroizeOnDrop for SecretBuffer {}

impl io::Write for SecretBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for SecretBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBuffer({} bytes, ..)", self.buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn hex_matches_the_hex_crate_and_allocates_once() {
        for len in [0usize, 1, 16, 121, 138] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = hex_encode(&bytes);
            assert_eq!(text.as_str(), hex::encode(&bytes));
            assert_eq!(text.capacity(), 2 * len, "exactly sized: no reallocation");
        }
    }

    #[test]
    fn buffer_keeps_what_was_written_across_growth() {
        let mut buf = SecretBuffer::with_capacity(4);
        let mut expected = Vec::new();
        for i in 0..200u8 {
            buf.write_all(&[i, i ^ 0x5A]).unwrap();
            expected.extend_from_slice(&[i, i ^ 0x5A]);
        }
        assert_eq!(buf.as_slice(), expected.as_slice());
        assert_eq!((buf.len(), buf.is_empty()), (400, false));
        let inner = buf.into_inner();
        assert_eq!(inner.as_slice(), expected.as_slice());
    }

    #[test]
    fn zeroize_clears_the_buffer_and_debug_shows_no_bytes() {
        let mut buf = SecretBuffer::default();
        buf.extend_from_slice(b"secret json");
        assert_eq!(format!("{buf:?}"), "SecretBuffer(11 bytes, ..)");
        buf.zeroize();
        assert!(buf.is_empty());
        // The allocation is kept (and was cleared, spare capacity included, by `Vec::zeroize`).
        assert!(buf.buf.capacity() >= 11);
    }
}
