//! The device's secure elements as a foreign trait: [`SecureElementTransport`], the FFI mirror of
//! the core's OMAPI-shaped `wallet_core::se::SeTransport` (Android implements it with
//! `android.se.omapi`; tests use the simulator, `SimulatedSecureElements`).
//!
//! Handles are opaque `u64`s chosen by the implementation; APDUs are plain byte arrays. Every
//! method returns [`SeFfiError`], whose variants are the core's `SeError` one to one, so a platform
//! implementation maps its exceptions (IOException → `Io`, SecurityException → `AccessDenied`,
//! NoSuchElementException → `ApplicationNotFound`, …). Any other exception it throws arrives as
//! [`SeFfiError::Platform`] (message prefixed `foreign_exception:`), never as a panic.

use std::sync::Arc;

use wallet_core::se::{ChannelOpened, ReaderInfo, ReaderKind, SeError, SeTransport};

/// Where a secure element sits (from the OMAPI reader name `eSE1`, `SIM1`, `SD1`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum SeReaderKind {
    /// Embedded SE in the handset (readers `eSE1`, `eSE2`…).
    Ese,
    /// The UICC / SIM card (readers `SIM1`…, also `UICC1`).
    Sim,
    /// A secure microSD card (readers `SD1`…).
    Sd,
}

impl From<ReaderKind> for SeReaderKind {
    fn from(kind: ReaderKind) -> Self {
        match kind {
            ReaderKind::Ese => Self::Ese,
            ReaderKind::Sim => Self::Sim,
            ReaderKind::Sd => Self::Sd,
        }
    }
}

impl From<SeReaderKind> for ReaderKind {
    fn from(kind: SeReaderKind) -> Self {
        match kind {
            SeReaderKind::Ese => Self::Ese,
            SeReaderKind::Sim => Self::Sim,
            SeReaderKind::Sd => Self::Sd,
        }
    }
}

/// A reader as the platform lists it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SeReaderInfo {
    /// The OMAPI reader name, e.g. `eSE1`.
    pub name: String,
    /// The kind of SE; `None` lets the library derive it from the name (OMAPI convention).
    #[uniffi(default = None)]
    pub kind: Option<SeReaderKind>,
    /// Whether a secure element is present in the reader.
    pub present: bool,
}

impl From<SeReaderInfo> for ReaderInfo {
    fn from(info: SeReaderInfo) -> Self {
        let kind = info
            .kind
            .map(ReaderKind::from)
            .or_else(|| ReaderKind::from_reader_name(&info.name));
        Self {
            name: info.name,
            kind,
            present: info.present,
        }
    }
}

impl From<ReaderInfo> for SeReaderInfo {
    fn from(info: ReaderInfo) -> Self {
        Self {
            name: info.name,
            kind: info.kind.map(SeReaderKind::from),
            present: info.present,
        }
    }
}

/// A logical or basic channel the platform opened.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SeChannelOpened {
    /// Opaque handle for `transmit` and `close_channel`.
    pub handle: u64,
    /// The SE's answer to the SELECT that opened the channel, status word included (OMAPI
    /// `Channel.getSelectResponse()`), when available.
    #[uniffi(default = None)]
    pub select_response: Option<Vec<u8>>,
}

impl From<SeChannelOpened> for ChannelOpened {
    fn from(opened: SeChannelOpened) -> Self {
        Self {
            handle: opened.handle,
            select_response: opened.select_response,
        }
    }
}

impl From<ChannelOpened> for SeChannelOpened {
    fn from(opened: ChannelOpened) -> Self {
        Self {
            handle: opened.handle,
            select_response: opened.select_response,
        }
    }
}

/// A secure-element call failed. The variants mirror what `android.se.omapi` reports; every one
/// carries a human-readable `error_message` (never APDU payloads).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SeFfiError {
    /// No reader of that name, or no SE in it (`Reader.isSecureElementPresent() == false`).
    #[error("reader {reader} is absent: {error_message}")]
    ReaderAbsent {
        /// The reader name, e.g. `eSE1`.
        reader: String,
        /// What the platform said.
        error_message: String,
    },
    /// The SE was removed or stopped answering (OMAPI `IOException`).
    #[error("secure element I/O failure: {error_message}")]
    Io {
        /// What the platform said.
        error_message: String,
    },
    /// The SE cannot open another channel (OMAPI returned a `null` channel).
    #[error("no free channel: {error_message}")]
    NoFreeChannel {
        /// What the platform said.
        error_message: String,
    },
    /// The access rules refuse this application (OMAPI `SecurityException`).
    #[error("access denied: {error_message}")]
    AccessDenied {
        /// What the platform said.
        error_message: String,
    },
    /// SELECT found no application with this AID (OMAPI `NoSuchElementException`, SW `6A82`).
    #[error("application {aid} not found: {error_message}")]
    ApplicationNotFound {
        /// The AID, uppercase hex.
        aid: String,
        /// What the platform said.
        error_message: String,
    },
    /// The SE answered a status word the operation cannot continue with.
    #[error("unexpected status word {sw:04X}: {error_message}")]
    UnexpectedStatus {
        /// The status word SW1 SW2.
        sw: u16,
        /// What the platform said.
        error_message: String,
    },
    /// The session or channel handle is closed or unknown (OMAPI `IllegalStateException`).
    #[error("the SE session or channel is closed: {error_message}")]
    Closed {
        /// What the platform said.
        error_message: String,
    },
    /// Any other failure of the platform SE service, including an exception the implementation
    /// does not declare (message `foreign_exception: …`).
    #[error("SE platform failure: {error_message}")]
    Platform {
        /// What the platform said.
        error_message: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SeFfiError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Platform {
            error_message: format!("foreign_exception: {}", err.reason),
        }
    }
}

impl From<SeFfiError> for SeError {
    fn from(err: SeFfiError) -> Self {
        match err {
            SeFfiError::ReaderAbsent { reader, .. } => Self::ReaderAbsent { reader },
            SeFfiError::Io { error_message } => Self::Io {
                message: error_message,
            },
            SeFfiError::NoFreeChannel { .. } => Self::NoFreeChannel,
            SeFfiError::AccessDenied { error_message } => Self::AccessDenied {
                message: error_message,
            },
            SeFfiError::ApplicationNotFound { aid, .. } => Self::ApplicationNotFound { aid },
            SeFfiError::UnexpectedStatus { sw, .. } => Self::UnexpectedStatus { sw },
            SeFfiError::Closed { .. } => Self::Closed,
            SeFfiError::Platform { error_message } => Self::Platform {
                message: error_message,
            },
        }
    }
}

impl From<SeError> for SeFfiError {
    fn from(err: SeError) -> Self {
        let error_message = match &err {
            SeError::ReaderAbsent { .. } => "no secure element in the reader",
            SeError::NoFreeChannel => "the secure element has no free channel",
            SeError::ApplicationNotFound { .. } => "SELECT answered 6A82",
            SeError::UnexpectedStatus { .. } => "the operation cannot continue",
            SeError::Closed => "closed or unknown handle",
            SeError::Io { .. } | SeError::AccessDenied { .. } | SeError::Platform { .. } => "",
        }
        .to_owned();
        match err {
            SeError::ReaderAbsent { reader } => Self::ReaderAbsent {
                reader,
                error_message,
            },
            SeError::Io { message } => Self::Io {
                error_message: message,
            },
            SeError::NoFreeChannel => Self::NoFreeChannel { error_message },
            SeError::AccessDenied { message } => Self::AccessDenied {
                error_message: message,
            },
            SeError::ApplicationNotFound { aid } => {
                Self::ApplicationNotFound { aid, error_message }
            }
            SeError::UnexpectedStatus { sw } => Self::UnexpectedStatus { sw, error_message },
            SeError::Closed => Self::Closed { error_message },
            SeError::Platform { message } => Self::Platform {
                error_message: message,
            },
        }
    }
}

/// Access to the device's secure elements, shaped like `android.se.omapi`
/// (SEService → Reader → Session → Channel); implemented by the platform.
///
/// Calls come from library worker threads (never the caller's thread) and may block until the SE
/// answers. Contract, as in OMAPI: `transmit` sets the logical channel number in the CLA byte and
/// may refuse MANAGE CHANNEL and SELECT by name; closing a session closes its channels; a closed
/// or unknown handle is [`SeFfiError::Closed`]. Session and channel handles are never 0: the
/// library takes a 0 handle for a failed call ([`SeFfiError::Platform`]), because 0 is what it
/// receives when a Kotlin `Error` (e.g. `NotImplementedError`, `AssertionError`) escapes
/// `open_session` through uniffi 0.32's generated Kotlin callback code, which catches only
/// `Exception` (scripts/gen-bindings.sh patches it to catch `Throwable`; this guard stays for
/// bindings generated without the patch).
#[uniffi::export(with_foreign)]
pub trait SecureElementTransport: Send + Sync {
    /// The readers of the device, present or not.
    fn readers(&self) -> Result<Vec<SeReaderInfo>, SeFfiError>;
    /// Opens a session on the SE in the reader named `reader`; returns its handle.
    fn open_session(&self, reader: String) -> Result<u64, SeFfiError>;
    /// Opens a logical channel and selects `aid` on it with SELECT P2 `p2` (`None`: the SE's
    /// default applet).
    fn open_logical_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<SeChannelOpened, SeFfiError>;
    /// Opens the basic channel and selects `aid` on it (`None`: keep the default applet).
    fn open_basic_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<SeChannelOpened, SeFfiError>;
    /// Sends one command APDU on `channel`; returns the response APDU (data and SW1 SW2).
    fn transmit(&self, channel: u64, apdu: Vec<u8>) -> Result<Vec<u8>, SeFfiError>;
    /// Closes `channel`.
    fn close_channel(&self, channel: u64) -> Result<(), SeFfiError>;
    /// Closes `session` and every channel it still has open.
    fn close_session(&self, session: u64) -> Result<(), SeFfiError>;
}

/// A platform [`SecureElementTransport`] seen by the core as its `SeTransport`.
pub(crate) struct ForeignSeTransport(pub(crate) Arc<dyn SecureElementTransport>);

/// `handle`, unless it is 0 (see [`SecureElementTransport`]): then the `what` call failed.
fn nonzero_handle(handle: u64, what: &str) -> Result<u64, SeError> {
    if handle == 0 {
        return Err(SeError::Platform {
            message: format!(
                "foreign_exception: {what} returned handle 0 (an error the platform code did not \
                 pass on as an exception)"
            ),
        });
    }
    Ok(handle)
}

/// `opened`, unless its handle is 0 (see [`nonzero_handle`]).
fn checked_channel(opened: SeChannelOpened, what: &str) -> Result<ChannelOpened, SeError> {
    nonzero_handle(opened.handle, what)?;
    Ok(opened.into())
}

impl SeTransport for ForeignSeTransport {
    fn readers(&self) -> Result<Vec<ReaderInfo>, SeError> {
        Ok(self
            .0
            .readers()?
            .into_iter()
            .map(ReaderInfo::from)
            .collect())
    }

    fn open_session(&self, reader: String) -> Result<u64, SeError> {
        nonzero_handle(self.0.open_session(reader)?, "open_session")
    }

    fn open_logical_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<ChannelOpened, SeError> {
        checked_channel(
            self.0.open_logical_channel(session, aid, p2)?,
            "open_logical_channel",
        )
    }

    fn open_basic_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<ChannelOpened, SeError> {
        checked_channel(
            self.0.open_basic_channel(session, aid, p2)?,
            "open_basic_channel",
        )
    }

    fn transmit(&self, channel: u64, apdu: Vec<u8>) -> Result<Vec<u8>, SeError> {
        Ok(self.0.transmit(channel, apdu)?)
    }

    fn close_channel(&self, channel: u64) -> Result<(), SeError> {
        Ok(self.0.close_channel(channel)?)
    }

    fn close_session(&self, session: u64) -> Result<(), SeError> {
        Ok(self.0.close_session(session)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_kind_comes_from_the_record_or_the_name() {
        let named = ReaderInfo::from(SeReaderInfo {
            name: "SIM2".into(),
            kind: None,
            present: true,
        });
        assert_eq!(named.kind, Some(ReaderKind::Sim));
        let vendor = ReaderInfo::from(SeReaderInfo {
            name: "Vendor".into(),
            kind: Some(SeReaderKind::Ese),
            present: false,
        });
        assert_eq!(
            (vendor.kind, vendor.present),
            (Some(ReaderKind::Ese), false)
        );
        let unknown = ReaderInfo::from(SeReaderInfo {
            name: "NFC1".into(),
            kind: None,
            present: true,
        });
        assert_eq!(unknown.kind, None);
    }

    #[test]
    fn errors_map_one_to_one_both_ways() {
        let core = [
            SeError::ReaderAbsent {
                reader: "eSE1".into(),
            },
            SeError::Io {
                message: "removed".into(),
            },
            SeError::NoFreeChannel,
            SeError::AccessDenied {
                message: "ARA".into(),
            },
            SeError::ApplicationNotFound {
                aid: "A000000333010101".into(),
            },
            SeError::UnexpectedStatus { sw: 0x6985 },
            SeError::Closed,
            SeError::Platform {
                message: "service".into(),
            },
        ];
        for err in core {
            assert_eq!(SeError::from(SeFfiError::from(err.clone())), err);
        }
        let status = SeFfiError::from(SeError::UnexpectedStatus { sw: 0x6A80 });
        assert_eq!(
            status.to_string(),
            "unexpected status word 6A80: the operation cannot continue"
        );
    }

    #[test]
    fn an_undeclared_foreign_exception_is_a_platform_error() {
        let err = SeFfiError::from(uniffi::UnexpectedUniFFICallbackError::new(
            "java.lang.IllegalStateException: boom",
        ));
        assert_eq!(
            SeError::from(err),
            SeError::Platform {
                message: "foreign_exception: java.lang.IllegalStateException: boom".into()
            }
        );
    }

    /// Fails every call with the error of its kind; records nothing.
    struct Refusing;

    impl SecureElementTransport for Refusing {
        fn readers(&self) -> Result<Vec<SeReaderInfo>, SeFfiError> {
            Ok(vec![SeReaderInfo {
                name: "eSE1".into(),
                kind: None,
                present: true,
            }])
        }
        fn open_session(&self, reader: String) -> Result<u64, SeFfiError> {
            Err(SeFfiError::ReaderAbsent {
                reader,
                error_message: "gone".into(),
            })
        }
        fn open_logical_channel(
            &self,
            _: u64,
            aid: Option<Vec<u8>>,
            _: u8,
        ) -> Result<SeChannelOpened, SeFfiError> {
            Ok(SeChannelOpened {
                handle: 7,
                select_response: aid,
            })
        }
        fn open_basic_channel(
            &self,
            _: u64,
            _: Option<Vec<u8>>,
            _: u8,
        ) -> Result<SeChannelOpened, SeFfiError> {
            Err(SeFfiError::NoFreeChannel {
                error_message: "busy".into(),
            })
        }
        fn transmit(&self, _: u64, _: Vec<u8>) -> Result<Vec<u8>, SeFfiError> {
            Err(uniffi::UnexpectedUniFFICallbackError::new("NullPointerException").into())
        }
        fn close_channel(&self, _: u64) -> Result<(), SeFfiError> {
            Ok(())
        }
        fn close_session(&self, _: u64) -> Result<(), SeFfiError> {
            Err(SeFfiError::Closed {
                error_message: "twice".into(),
            })
        }
    }

    #[test]
    fn the_adapter_converts_values_and_errors() {
        let t = ForeignSeTransport(Arc::new(Refusing));
        assert_eq!(t.readers(), Ok(vec![ReaderInfo::new("eSE1", true)]));
        assert_eq!(
            t.open_session("eSE1".into()),
            Err(SeError::ReaderAbsent {
                reader: "eSE1".into()
            })
        );
        assert_eq!(
            t.open_logical_channel(1, Some(vec![0xA0, 0x00]), 0),
            Ok(ChannelOpened {
                handle: 7,
                select_response: Some(vec![0xA0, 0x00])
            })
        );
        assert_eq!(
            t.open_basic_channel(1, None, 0),
            Err(SeError::NoFreeChannel)
        );
        assert_eq!(
            t.transmit(7, vec![0x00, 0xCA, 0x00, 0xCF, 0x00]),
            Err(SeError::Platform {
                message: "foreign_exception: NullPointerException".into()
            })
        );
        assert_eq!(t.close_channel(7), Ok(()));
        assert_eq!(t.close_session(1), Err(SeError::Closed));
    }

    /// What Rust receives when a Kotlin `Error` escapes each method: success with the FFI
    /// default (`()`, 0, a record with handle 0 where the buffer happened to lift).
    struct Escaping;

    impl SecureElementTransport for Escaping {
        fn readers(&self) -> Result<Vec<SeReaderInfo>, SeFfiError> {
            Ok(Vec::new())
        }
        fn open_session(&self, _: String) -> Result<u64, SeFfiError> {
            Ok(0)
        }
        fn open_logical_channel(
            &self,
            _: u64,
            _: Option<Vec<u8>>,
            _: u8,
        ) -> Result<SeChannelOpened, SeFfiError> {
            Ok(SeChannelOpened {
                handle: 0,
                select_response: None,
            })
        }
        fn open_basic_channel(
            &self,
            session: u64,
            aid: Option<Vec<u8>>,
            p2: u8,
        ) -> Result<SeChannelOpened, SeFfiError> {
            self.open_logical_channel(session, aid, p2)
        }
        fn transmit(&self, _: u64, _: Vec<u8>) -> Result<Vec<u8>, SeFfiError> {
            Ok(Vec::new())
        }
        fn close_channel(&self, _: u64) -> Result<(), SeFfiError> {
            Ok(())
        }
        fn close_session(&self, _: u64) -> Result<(), SeFfiError> {
            Ok(())
        }
    }

    #[test]
    fn a_zero_handle_is_a_failed_call_not_a_session() {
        let t = ForeignSeTransport(Arc::new(Escaping));
        let platform = |what: &str| SeError::Platform {
            message: format!(
                "foreign_exception: {what} returned handle 0 (an error the platform code \
                     did not pass on as an exception)"
            ),
        };
        assert_eq!(t.open_session("eSE1".into()), Err(platform("open_session")));
        assert_eq!(
            t.open_logical_channel(1, None, 0),
            Err(platform("open_logical_channel"))
        );
        assert_eq!(
            t.open_basic_channel(1, None, 0),
            Err(platform("open_basic_channel"))
        );
        // Handles other than 0 pass unchanged.
        let ok = ForeignSeTransport(Arc::new(Refusing));
        assert_eq!(ok.open_logical_channel(1, None, 0).map(|c| c.handle), Ok(7));
    }
}
