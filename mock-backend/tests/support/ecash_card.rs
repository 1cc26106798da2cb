//! A test card application at a load terminal, shared by the e-cash load tests: a debit card of
//! the test issuer with e-cash, and two faults of the field — `tamper` flips the last bit of
//! any PUT DATA command on its way to the card (the last MAC byte), `lose_at_script` makes the
//! card leave the field when the script comes (the PUT DATA and everything after fail).
#![allow(dead_code)] // each test binary uses a different subset

use mock_backend::bank::test_cards;
use mock_backend::pos::{CardIoError, ContactlessCard};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::test_issuer::{issue_test_card, test_issuer_master_keys};
use wallet_core::card::{
    CardApplication, CardContext, CardCounters, CardCrypto, CardPersonalization, ECashParams,
    MemoryCounterStore,
};

/// The card's e-cash balance limit, fen.
pub const LIMIT: u64 = 100_000;

/// A card in the field.
pub struct Card {
    pub app: CardApplication,
    pub store: MemoryCounterStore,
    pub tamper: bool,
    pub lose_at_script: bool,
    gone: bool,
}

impl ContactlessCard for Card {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        let script = c_apdu.get(1) == Some(&0xDA);
        if self.gone || (self.lose_at_script && script) {
            self.gone = true;
            return Err(CardIoError::Lost);
        }
        let mut command = c_apdu.to_vec();
        if self.tamper && script {
            if let Some(last) = command.last_mut() {
                *last ^= 0x01;
            }
        }
        Ok(self
            .app
            .process(&command, &mut CardContext::new(&mut self.store)))
    }
}

impl Card {
    /// The card's own e-cash balance counter.
    pub fn balance(&self) -> Option<u64> {
        self.app.counters().ecash_balance
    }

    /// Back in the field (after `lose_at_script`).
    pub fn return_to_field(&mut self) {
        self.gone = false;
        self.lose_at_script = false;
    }
}

/// The bank's test debit card with `balance` fen of e-cash, keys of `crypto`.
pub fn card(crypto: CardCrypto, balance: u64) -> Card {
    let pan = test_cards::DEBIT.pan;
    let perso = CardPersonalization {
        account_kind: AccountKind::Debit,
        pan: pan.into(),
        pan_sequence: 1,
        expiry: "301231".into(),
        crypto,
        currency: 156,
        country: 156,
        keys: test_issuer_master_keys()
            .derive_card_keys(crypto, pan, 1)
            .expect("keys"),
        ecash: Some(ECashParams {
            balance,
            balance_limit: LIMIT,
            single_transaction_limit: 50_000,
        }),
    };
    let profile = issue_test_card(perso).expect("test card");
    let counters = CardCounters::initial(&profile.perso);
    Card {
        app: CardApplication::new(profile, counters).expect("card application"),
        store: MemoryCounterStore::default(),
        tamper: false,
        lose_at_script: false,
        gone: false,
    }
}
