//! A bounds-checked cursor over bytes from outside (command data, response data): every read
//! returns a typed error instead of panicking.

use super::GpError;

/// Which side's data is read, so errors say "malformed command" or "malformed response".
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source {
    Command,
    Response,
}

/// A cursor over `&[u8]`.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    source: Source,
}

impl<'a> Reader<'a> {
    /// Reads command data (errors are [`GpError::MalformedCommand`]).
    pub(crate) fn command(bytes: &'a [u8]) -> Self {
        Reader {
            rest: bytes,
            source: Source::Command,
        }
    }

    /// Reads response data (errors are [`GpError::MalformedResponse`]).
    pub(crate) fn response(bytes: &'a [u8]) -> Self {
        Reader {
            rest: bytes,
            source: Source::Response,
        }
    }

    /// The error for malformed input of this reader's source.
    pub(crate) fn error(&self, what: &'static str) -> GpError {
        match self.source {
            Source::Command => GpError::MalformedCommand(what),
            Source::Response => GpError::MalformedResponse(what),
        }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], GpError> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or(self.error(what))?;
        self.rest = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], GpError> {
        let bytes = self.take(N, what)?;
        <[u8; N]>::try_from(bytes).map_err(|_| self.error(what))
    }

    /// The next byte.
    pub(crate) fn byte(&mut self, what: &'static str) -> Result<u8, GpError> {
        let [b] = self.array::<1>(what)?;
        Ok(b)
    }

    /// A one-byte length followed by that many bytes.
    pub(crate) fn lv(&mut self, what: &'static str) -> Result<&'a [u8], GpError> {
        let len = self.byte(what)?;
        self.take(usize::from(len), what)
    }

    /// Whether everything has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Fails if bytes are left over.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), GpError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }
}

/// Appends a one-byte length and `value` (at most 255 bytes).
pub(crate) fn push_lv(out: &mut Vec<u8>, value: &[u8], what: &'static str) -> Result<(), GpError> {
    let len = u8::try_from(value.len()).map_err(|_| GpError::InvalidParameter(what))?;
    out.push(len);
    out.extend_from_slice(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_rejects_overruns() {
        let mut r = Reader::command(&[1, 2, 3, 0x02, 0xAA, 0xBB, 9]);
        assert_eq!(r.byte("a").unwrap(), 1);
        assert_eq!(r.array::<2>("b").unwrap(), [2, 3]);
        assert_eq!(r.lv("c").unwrap(), [0xAA, 0xBB]);
        assert!(r.finish("d").is_err());
        assert_eq!(r.byte("z").unwrap(), 9);
        assert!(r.is_empty());
        assert_eq!(r.byte("e"), Err(GpError::MalformedCommand("e")));
        let mut r = Reader::response(&[0x05, 1]);
        assert_eq!(r.lv("short"), Err(GpError::MalformedResponse("short")));
    }

    #[test]
    fn lv_is_bounded() {
        let mut out = Vec::new();
        push_lv(&mut out, &[7; 3], "x").unwrap();
        assert_eq!(out, [3, 7, 7, 7]);
        assert!(push_lv(&mut out, &[0; 256], "x").is_err());
    }
}
