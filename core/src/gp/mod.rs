//! GlobalPlatform: secure channels (SCP03, SCP02) and card-management commands.
//!
//! One implementation of each side of the protocol, used by the TSM (host side) and by the SE
//! simulator (card side), so both always agree on every byte.
//!
//! - [`scp03`]: the AES secure channel (Card Specification Amendment D), host and card, with the
//!   pseudo-random card challenge that lets a TSM precompute a whole script.
//! - [`scp02`]: the legacy 3DES secure channel (Card Specification Appendix E), `i = 15`.
//! - [`commands`]: builders (host) and parsers (card) of the card content management commands
//!   (Card Specification chapter 11): INSTALL, LOAD, STORE DATA, DELETE, GET STATUS, SET STATUS,
//!   PUT KEY, GET DATA.
//! - [`keys`]: static key sets, key check values and test-SE key diversification.
//! - [`lifecycle`], [`privileges`], [`level`], [`aid`]: the shared vocabulary.
//!
//! Every parser takes bytes from outside and returns a [`GpError`] on malformed input; none
//! panics. Keys are zeroized on drop and never printed.
//!
//! ```
//! use wallet_core::apdu::ResponseApdu;
//! use wallet_core::gp::commands::{GetStatus, StatusScope};
//! use wallet_core::gp::keys::GP_TEST_KEY;
//! use wallet_core::gp::scp03::{Scp03Options, SequenceCounter};
//! use wallet_core::gp::{Aid, Scp03Card, Scp03CardConfig, Scp03Host, SecurityLevel, StaticKeys};
//!
//! // The SE simulator's issuer security domain and the TSM share a key set.
//! let keys = StaticKeys::single(&GP_TEST_KEY, 0x30);
//! let config = Scp03CardConfig {
//!     options: Scp03Options::RANDOM_R_MAC_R_ENC,
//!     key_diversification_data: *b"SE-0000001",
//!     aid: Aid::new(Aid::GP_ISD)?,
//! };
//! let mut se = Scp03Card::new(keys.clone(), config, SequenceCounter::default());
//! let mut tsm = Scp03Host::new(keys, SecurityLevel::FULL)?;
//!
//! // Mutual authentication.
//! let iu = se.initialize_update(&tsm.initialize_update()?)?;
//! let ea = tsm.on_initialize_update_response(&iu)?;
//! tsm.on_external_authenticate_response(&se.external_authenticate(&ea)?)?;
//!
//! // A protected card-management command and its protected response.
//! let cmd = GetStatus::all(StatusScope::Applications).to_apdu()?;
//! let on_card = se.unwrap_command(&tsm.wrap(&cmd)?)?;
//! assert_eq!(GetStatus::parse(&on_card)?.scope, StatusScope::Applications);
//! let reply = se.wrap_response(&ResponseApdu::success(vec![0xE3, 0x00]))?;
//! assert_eq!(tsm.unwrap(&reply)?.data, [0xE3, 0x00]);
//! # Ok::<(), wallet_core::gp::GpError>(())
//! ```

pub mod aid;
pub mod commands;
pub mod error;
pub mod keys;
pub mod level;
pub mod lifecycle;
pub mod privileges;
#[cfg(test)]
mod proptests;
mod reader;
pub mod scp02;
pub mod scp03;

pub use aid::Aid;
pub use error::GpError;
pub use keys::{KeyEncryptionKey, StaticKeys};
pub use level::SecurityLevel;
pub use lifecycle::{AppLifeCycle, CardLifeCycle};
pub use privileges::Privileges;
pub use scp02::{Scp02Card, Scp02Host};
pub use scp03::{Scp03Card, Scp03CardConfig, Scp03Host};
