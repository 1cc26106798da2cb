//! ISO/IEC 7816-4 APDUs, status words, BER-TLV and data object lists, as EMV and PBOC use them.
//!
//! - [`command`]: [`CommandApdu`], cases 1-4 in short and extended length; [`instructions`]
//!   adds the commands the wallet sends (SELECT, GET PROCESSING OPTIONS, READ RECORD, GET DATA,
//!   GET RESPONSE).
//! - [`class`]: the class byte: logical channels 0-19, secure messaging, chaining.
//! - [`response`] and [`status`]: [`ResponseApdu`], [`StatusWord`] and its typed meaning
//!   [`Status`]. Status words are data, not errors.
//! - [`tag`], [`tlv`], [`tlv_build`]: BER-TLV — [`Tag`], the borrowing parser [`Tlv`] (the hot
//!   path) and the owned builder [`TlvNode`].
//! - [`dol`] and [`format`]: data object lists ([`Dol`]) and the data formats their rules need.
//!
//! Every parser takes `&[u8]` from outside and returns a typed error on malformed input; none
//! panics or reads out of bounds. `Debug` of APDUs and TLV values hides the payload bytes.
//!
//! ```
//! use wallet_core::apdu::{tlv, CommandApdu, Occurrence, ResponseApdu, Status, Tag};
//!
//! let select = CommandApdu::select_by_name(b"2PAY.SYS.DDF01", Occurrence::First)?;
//! assert_eq!(select.case(), 4);
//! let response = ResponseApdu::parse(&[0x6F, 0x03, 0x84, 0x01, 0xA0, 0x90, 0x00])?;
//! assert_eq!(response.status(), Status::Success);
//! let df_name = tlv::find(&response.data, Tag::DF_NAME)?.map(|t| t.value());
//! assert_eq!(df_name, Some(&[0xA0][..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod class;
pub mod command;
pub mod dol;
pub mod error;
pub mod format;
pub mod instructions;
pub mod response;
pub mod status;
pub mod tag;
pub mod tlv;
pub mod tlv_build;

#[cfg(test)]
mod proptests;

pub use class::{Class, ClassInfo, LogicalChannel, SecureMessaging};
pub use command::CommandApdu;
pub use dol::{Dol, DolEntry, DolValues};
pub use error::{ClassError, CommandError, DolError, ResponseError, TlvError};
pub use format::DataFormat;
pub use instructions::Occurrence;
pub use response::ResponseApdu;
pub use status::{Status, StatusWord};
pub use tag::{Tag, TagClass};
pub use tlv::{Tlv, TlvIter};
pub use tlv_build::TlvNode;
