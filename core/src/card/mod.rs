//! The contactless payment application (qPBOC / EMV): its identifiers and its personalisation
//! data. One implementation serves HCE and the application installed in the SE simulator.
//!
//! So far: the AIDs ([`aids`]) and the personalisation format ([`perso`]) the TSM writes with
//! STORE DATA and the application reads. The contactless transaction itself (GPO, READ RECORD,
//! cryptograms) belongs to the near-field payment work.

pub mod aids;
pub mod keys;
pub mod perso;

pub use perso::{CardCrypto, CardKeys, CardPersonalization, ECashParams, PersoError};
