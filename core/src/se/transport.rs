//! The platform seam: what Android implements with `android.se.omapi` and the SE simulator
//! implements headless.

use super::error::SeError;

/// Where a secure element sits, from the OMAPI reader name (`eSE1`, `SIM1`, `SD1`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReaderKind {
    /// Embedded SE in the handset ("NFC full terminal"); readers `eSE1`, `eSE2`…
    Ese,
    /// The UICC ("NFC-SIM"); readers `SIM1`, `SIM2`… (`UICC1` is accepted too).
    Sim,
    /// A secure microSD card ("NFC-SD"); readers `SD1`, `SD2`…
    Sd,
}

impl ReaderKind {
    /// The OMAPI reader name prefix of this kind.
    pub const fn prefix(self) -> &'static str {
        match self {
            ReaderKind::Ese => "eSE",
            ReaderKind::Sim => "SIM",
            ReaderKind::Sd => "SD",
        }
    }

    /// The kind named by an OMAPI reader name: a known prefix (compared case-insensitively)
    /// followed by an optional decimal index. `None` for any other name.
    ///
    /// ```
    /// use wallet_core::se::ReaderKind;
    /// assert_eq!(ReaderKind::from_reader_name("eSE1"), Some(ReaderKind::Ese));
    /// assert_eq!(ReaderKind::from_reader_name("SIM2"), Some(ReaderKind::Sim));
    /// assert_eq!(ReaderKind::from_reader_name("NFC1"), None);
    /// ```
    pub fn from_reader_name(name: &str) -> Option<ReaderKind> {
        split_reader_name(name).map(|(kind, _)| kind)
    }
}

/// Splits `eSE12` into (`Ese`, 12); a missing index counts as 1.
pub(crate) fn split_reader_name(name: &str) -> Option<(ReaderKind, u32)> {
    const PREFIXES: [(&str, ReaderKind); 4] = [
        ("ESE", ReaderKind::Ese),
        ("SIM", ReaderKind::Sim),
        ("UICC", ReaderKind::Sim),
        ("SD", ReaderKind::Sd),
    ];
    PREFIXES.iter().find_map(|&(prefix, kind)| {
        let head = name.get(..prefix.len())?;
        if !head.eq_ignore_ascii_case(prefix) {
            return None;
        }
        let digits = name.get(prefix.len()..)?;
        if digits.is_empty() {
            return Some((kind, 1));
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(|index| (kind, index))
    })
}

/// A reader as the platform lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    /// The OMAPI reader name, e.g. `eSE1`.
    pub name: String,
    /// The kind of SE, when the name follows the OMAPI convention.
    pub kind: Option<ReaderKind>,
    /// Whether a secure element is present in the reader.
    pub present: bool,
}

impl ReaderInfo {
    /// A reader named `name`, its kind derived from the name.
    pub fn new(name: impl Into<String>, present: bool) -> ReaderInfo {
        let name = name.into();
        ReaderInfo {
            kind: ReaderKind::from_reader_name(&name),
            name,
            present,
        }
    }
}

/// A channel the platform opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelOpened {
    /// Opaque handle for [`SeTransport::transmit`] and [`SeTransport::close_channel`].
    pub handle: u64,
    /// The SE's answer to the SELECT that opened the channel, status word included (OMAPI
    /// `Channel.getSelectResponse()`), when the platform makes it available.
    pub select_response: Option<Vec<u8>>,
}

/// Access to the device's secure elements, shaped like `android.se.omapi`
/// (SEService → Reader → Session → Channel) with opaque `u64` handles.
///
/// FFI-friendly by design: owned simple arguments, `Result<_, SeError>` on every method, so the
/// bindings can wrap it as a foreign trait. Implementations must be thread-safe; calls block
/// until the SE answers (the core calls them off the async runtime).
///
/// Contract, as in OMAPI:
/// - `transmit` sends the APDU on the given channel: the implementation sets the logical channel
///   number in the CLA byte, and may refuse MANAGE CHANNEL and SELECT by DF name
///   ([`SeError::AccessDenied`]) — channels are opened with the `open_*_channel` methods.
/// - Closing a session closes its channels; a closed or unknown handle gives [`SeError::Closed`].
pub trait SeTransport: Send + Sync {
    /// The readers of the device, present or not.
    fn readers(&self) -> Result<Vec<ReaderInfo>, SeError>;

    /// Opens a session on the SE in the reader named `reader`; returns the session handle.
    fn open_session(&self, reader: String) -> Result<u64, SeError>;

    /// Opens a logical channel and selects `aid` on it with SELECT P2 `p2` (`None`: the SE's
    /// default applet, on a GlobalPlatform card usually the issuer security domain).
    fn open_logical_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<ChannelOpened, SeError>;

    /// Opens the basic channel (channel 0) and selects `aid` on it (`None`: keep the default
    /// applet). [`SeError::NoFreeChannel`] when the basic channel is in use or not available.
    fn open_basic_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<ChannelOpened, SeError>;

    /// Sends one command APDU on `channel` and returns the response APDU (data and SW1 SW2).
    fn transmit(&self, channel: u64, apdu: Vec<u8>) -> Result<Vec<u8>, SeError>;

    /// Closes `channel`.
    fn close_channel(&self, channel: u64) -> Result<(), SeError>;

    /// Closes `session` and every channel it still has open.
    fn close_session(&self, session: u64) -> Result<(), SeError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_names_follow_the_omapi_convention() {
        assert_eq!(split_reader_name("eSE1"), Some((ReaderKind::Ese, 1)));
        assert_eq!(split_reader_name("eSE2"), Some((ReaderKind::Ese, 2)));
        assert_eq!(split_reader_name("SIM1"), Some((ReaderKind::Sim, 1)));
        assert_eq!(split_reader_name("SIM12"), Some((ReaderKind::Sim, 12)));
        assert_eq!(split_reader_name("UICC1"), Some((ReaderKind::Sim, 1)));
        assert_eq!(split_reader_name("SD1"), Some((ReaderKind::Sd, 1)));
        assert_eq!(split_reader_name("ese"), Some((ReaderKind::Ese, 1)));
        for other in ["", "NFC1", "eSEx", "SD-1", "SIM1a", "S", "é"] {
            assert_eq!(split_reader_name(other), None, "{other}");
        }
    }

    #[test]
    fn reader_info_derives_its_kind() {
        assert_eq!(ReaderInfo::new("SD1", true).kind, Some(ReaderKind::Sd));
        assert_eq!(ReaderInfo::new("Vendor", true).kind, None);
        assert_eq!(ReaderKind::Ese.prefix(), "eSE");
    }
}
