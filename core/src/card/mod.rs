//! The contactless payment application (qPBOC / EMV contactless): one implementation serves HCE
//! and the application installed in the SE simulator.
//!
//! - [`aids`]: the UnionPay AIDs, the PPSE name, the application labels.
//! - [`perso`] and [`profile`]: the personalisation the TSM writes with STORE DATA (DGIs) and the
//!   application reads; [`profile::CardProfile`] adds fDDA material and risk parameters.
//! - [`keys`]: the EMV / PBOC card cryptography (ICC master and session keys, ARQC / TC / AAC,
//!   ARPC, issuer script MAC), shared with the issuer that checks the cryptograms.
//! - [`certs`]: offline data authentication with SM2 (certificates CA → issuer → ICC, fDDA).
//! - [`counters`]: the durable ATC / e-cash balance and the store seam the application writes
//!   them through before any cryptogram leaves.
//! - [`app`]: [`CardApplication`], the APDU state machine (PPSE, SELECT, GPO, READ RECORD,
//!   GET DATA, EXTERNAL AUTHENTICATE, PUT DATA, VERIFY, PSO COMPUTE DIGITAL SIGNATURE).
//! - [`signing`]: the remote-payment PIN (DGI `8002`) and the signing key the card generates
//!   (DGI `8003`), used by VERIFY and PERFORM SECURITY OPERATION.
//! - [`test_issuer`]: the public test issuer master keys and test CA.

pub mod aids;
pub mod app;
pub mod certs;
pub mod counters;
pub mod keys;
pub mod perso;
pub mod profile;
pub mod signing;
pub mod test_issuer;

pub use app::{ApplicationKind, CardApplication, CardError, DirectoryEntry};
pub use counters::{
    CardContext, CardCounterStore, CardCounters, CounterStoreError, MemoryCounterStore,
};
pub use perso::{CardCrypto, CardKeys, CardPersonalization, ECashParams, PersoError};
pub use profile::{CardProfile, FddaPerso, RiskParams};
