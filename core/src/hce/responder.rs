//! The APDU responder behind the Android `HostApduService`: the card application
//! ([`CardApplication`]) personalised as the token, its AC key the current limited-use key.
//!
//! - The application is built at the first APDU of a tap with the current key (the usable key of
//!   lowest index; without one, a keyless application that can answer SELECT and READ RECORD but
//!   never a cryptogram) and dropped on deactivation ([`HceResponder::on_deactivated`]).
//! - GET PROCESSING OPTIONS (`80 A8`), the only command that computes a cryptogram, first looks
//!   at the stored key state: no usable key → `6985` and nothing else happens; the current key
//!   differs from the application's (spent or expired since the tap began) → the application is
//!   rebuilt with it and the tap's last successful SELECT is replayed into it.
//! - The application hands its next counters to [`KeyGate`], which, in one
//!   [`Store::update_durable`] (compare-and-swap + fsync), checks that the key is still usable and
//!   the ATC increases, counts the use and stores the counters — before the application computes
//!   the cryptogram. If that fails the application answers `6581` and no cryptogram leaves. A key
//!   that has served its transactions is removed in the same write, so it never serves again,
//!   restart or not.
//!
//! Status words of the responder itself: `6985` (no usable key, at GPO), `6F00` (the stored card
//! cannot be read or built). Everything else is the card application's.

use crate::apdu::Status;
use crate::backend::api::hce::HceProfile;
use crate::card::{
    CardApplication, CardContext, CardCounterStore, CardCounters, CardKeys, CardPersonalization,
    CardProfile, CounterStoreError, RiskParams,
};
use crate::crypto::random;
use crate::crypto::CryptoError;
use crate::hce::luk::LukIndex;
use crate::hce::model::{ConsumeError, HceCardRecord, HceConfig, KeyState, StoredKey, NS_KEYS};
use crate::store::Store;
use zeroize::Zeroizing;

/// The card application's profile for `profile` with `ac` as its AC key and `index` as its
/// derivation key index. The secure messaging keys are random and thrown away: an HCE card has
/// no e-cash, so no issuer script ever needs them.
pub fn card_profile(
    profile: &HceProfile,
    ac: Zeroizing<[u8; 16]>,
    index: LukIndex,
) -> Result<CardProfile, CryptoError> {
    let perso = CardPersonalization {
        account_kind: profile.account_kind,
        pan: profile.token_pan.clone(),
        pan_sequence: profile.pan_sequence,
        expiry: profile.expiry.clone(),
        crypto: profile.crypto,
        currency: profile.currency,
        country: profile.country,
        keys: CardKeys {
            ac,
            smi: Zeroizing::new(random::bytes::<16>()?),
            smc: Zeroizing::new(random::bytes::<16>()?),
        },
        ecash: None,
    };
    Ok(CardProfile {
        perso,
        fdda: None,
        risk: RiskParams {
            cvm_limit: profile.cvm_limit,
            derivation_key_index: index,
        },
    })
}

/// The application of the current tap and the key it holds (`None`: keyless).
struct Active {
    app: CardApplication,
    key: Option<LukIndex>,
}

/// What one APDU did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The response APDU (data ‖ SW1 SW2).
    pub response: Vec<u8>,
    /// Whether a key was used (a cryptogram was computed after its use was persisted).
    pub key_used: bool,
}

/// Answers the reader for one HCE card. Not `Sync`: the wallet keeps it behind a mutex (the
/// platform delivers APDUs one at a time).
pub struct HceResponder {
    store: Store,
    card: HceCardRecord,
    config: HceConfig,
    active: Option<Active>,
    last_select: Option<Vec<u8>>,
}

impl std::fmt::Debug for HceResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HceResponder")
            .field("token_id", &self.card.token_id)
            .field("key", &self.active.as_ref().map(|a| a.key))
            .finish_non_exhaustive()
    }
}

impl HceResponder {
    /// A responder for `card`, whose key state is in `store`.
    pub fn new(store: Store, card: HceCardRecord, config: HceConfig) -> HceResponder {
        HceResponder {
            store,
            card,
            config,
            active: None,
            last_select: None,
        }
    }

    /// The binding of the card this responder answers for.
    pub fn binding_id(&self) -> &str {
        &self.card.binding_id
    }

    /// Processes one command APDU and returns the response APDU. Never panics, never fails:
    /// problems are status words.
    pub fn process_apdu(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.process(apdu).response
    }

    /// [`Self::process_apdu`], telling whether a key was used.
    pub fn process(&mut self, apdu: &[u8]) -> Processed {
        let now = (self.config.clock)();
        if is_gpo(apdu) {
            let state = match self.load() {
                Ok(state) => state,
                Err(status) => return sw(status),
            };
            let Some(key) = state.current(now) else {
                tracing::info!("HCE: no usable limited-use key, declining");
                return sw(Status::ConditionsNotSatisfied);
            };
            if self.active.as_ref().and_then(|a| a.key) != Some(key.index) {
                if let Err(status) = self.activate(&state, Some(key)) {
                    return sw(status);
                }
                self.replay_select();
            }
        } else if self.active.is_none() {
            let state = match self.load() {
                Ok(state) => state,
                Err(status) => return sw(status),
            };
            if let Err(status) = self.activate(&state, state.current(now)) {
                return sw(status);
            }
        }
        let Some(active) = self.active.as_mut() else {
            return sw(Status::NoPreciseDiagnosis);
        };
        let mut gate = KeyGate {
            store: &self.store,
            binding_id: &self.card.binding_id,
            key: active.key,
            now,
            config: &self.config,
            used: false,
        };
        let response = active.app.process(apdu, &mut CardContext::new(&mut gate));
        let key_used = gate.used;
        if is_select(apdu) {
            self.last_select = is_success(&response).then(|| apdu.to_vec());
        }
        Processed { response, key_used }
    }

    /// The field is gone or the reader deselected the card: the application is reset (dropped
    /// with its key; the next tap starts over with the current key).
    pub fn on_deactivated(&mut self) {
        if let Some(active) = self.active.as_mut() {
            active.app.reset();
        }
        self.active = None;
        self.last_select = None;
    }

    fn load(&self) -> Result<KeyState, Status> {
        match self.store.get::<KeyState>(NS_KEYS, &self.card.binding_id) {
            Ok(Some(state)) => Ok(state),
            Ok(None) => {
                tracing::error!("HCE: no key state for the card");
                Err(Status::NoPreciseDiagnosis)
            }
            Err(err) => {
                tracing::error!(%err, "HCE: key state unreadable");
                Err(Status::NoPreciseDiagnosis)
            }
        }
    }

    /// Builds the application with `key` (or keyless) and the stored counters.
    fn activate(&mut self, state: &KeyState, key: Option<&StoredKey>) -> Result<(), Status> {
        let built = match key {
            Some(k) => card_profile(&self.card.profile, k.key.clone(), k.index),
            None => random::bytes::<16>()
                .and_then(|k| card_profile(&self.card.profile, Zeroizing::new(k), 0)),
        };
        let app = built
            .map_err(|err| err.to_string())
            .and_then(|profile| {
                CardApplication::new(profile, state.counters).map_err(|err| err.to_string())
            })
            .map_err(|err| {
                tracing::error!(%err, "HCE: the card application cannot be built");
                Status::NoPreciseDiagnosis
            })?;
        self.active = Some(Active {
            app,
            key: key.map(|k| k.index),
        });
        Ok(())
    }

    /// Replays the tap's last successful SELECT into a rebuilt application.
    fn replay_select(&mut self) {
        let (Some(active), Some(select)) = (self.active.as_mut(), self.last_select.as_ref()) else {
            return;
        };
        let mut refuse =
            |_: &CardCounters| Err::<(), _>(CounterStoreError("SELECT writes no counters".into()));
        let response = active
            .app
            .process(select, &mut CardContext::new(&mut refuse));
        if !is_success(&response) {
            self.last_select = None;
        }
    }
}

/// The counter store of one command: counts a use of `key` and stores the counters in one
/// durable write (see the [module documentation](self)).
struct KeyGate<'a> {
    store: &'a Store,
    binding_id: &'a str,
    key: Option<LukIndex>,
    now: u64,
    config: &'a HceConfig,
    used: bool,
}

impl CardCounterStore for KeyGate<'_> {
    fn persist(&mut self, counters: &CardCounters) -> Result<(), CounterStoreError> {
        let index = self
            .key
            .ok_or_else(|| CounterStoreError("no limited-use key".into()))?;
        if let Some(hook) = &self.config.before_counter_write {
            hook(counters)?;
        }
        let (next, now) = (*counters, self.now);
        self.store
            .update_durable(NS_KEYS, self.binding_id, |state: Option<KeyState>| {
                let mut state = state.ok_or(ConsumeError::NoState)?;
                state.consume(index, next, now)?;
                Ok::<_, ConsumeError>(state)
            })
            .map_err(|err| {
                tracing::warn!(%err, "HCE: counters not persisted, no cryptogram");
                CounterStoreError(err.to_string())
            })?;
        self.used = true;
        Ok(())
    }
}

fn is_gpo(apdu: &[u8]) -> bool {
    matches!(apdu, [0x80, 0xA8, ..])
}

fn is_select(apdu: &[u8]) -> bool {
    matches!(apdu, [0x00, 0xA4, ..])
}

fn is_success(response: &[u8]) -> bool {
    response.ends_with(&[0x90, 0x00])
}

/// A response that is only `status`, with no key used.
fn sw(status: Status) -> Processed {
    Processed {
        response: status.word().to_bytes().to_vec(),
        key_used: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::{tlv, CommandApdu, Occurrence, Tag};
    use crate::backend::api::hce::LimitedUseKey;
    use crate::backend::api::AccountKind;
    use crate::card::keys::CryptogramData;
    use crate::card::test_issuer::test_issuer_master_keys;
    use crate::card::{aids, CardCrypto};
    use crate::hce::luk::{derive_luk, IssuerView};
    use crate::store::SoftwareKeyStore;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    const PAN: &str = "6288890000000016";
    /// The PDOL data: TTQ 26000080, ¥1.00, CNY / China, 2025-03-14, purchase, UN 01020304,
    /// e-cash terminal.
    const PDOL_DATA: &str = "26000080000000000100000000000000015600000000000156250314000102030401";

    struct Fixture {
        responder: HceResponder,
        store: Store,
        time: Arc<AtomicU64>,
        _dir: tempfile::TempDir,
    }

    fn fixture(keys: &[(u8, u32, u64)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let key_store = Arc::new(SoftwareKeyStore::open(&dir.path().join("kek")).unwrap());
        let store = Store::open(&dir.path().join("store"), key_store).unwrap();
        let profile = HceProfile {
            account_kind: AccountKind::Debit,
            token_pan: PAN.into(),
            pan_sequence: 1,
            expiry: "301231".into(),
            crypto: CardCrypto::Sm4,
            currency: 156,
            country: 156,
            cvm_limit: 100_000,
        };
        let grants: Vec<LimitedUseKey> = keys
            .iter()
            .map(|&(index, max_uses, expires_at)| LimitedUseKey {
                index,
                key: derive_luk(&test_issuer_master_keys(), CardCrypto::Sm4, PAN, 1, index)
                    .unwrap(),
                max_uses,
                issued_at: 0,
                expires_at,
            })
            .collect();
        let mut state = KeyState::new("t1", CardCounters::initial(&card_perso(&profile)));
        state.merge(&grants, 0);
        store.put_durable(NS_KEYS, "b1", &state).unwrap();
        let time = Arc::new(AtomicU64::new(10));
        let clock = time.clone();
        let config = HceConfig {
            clock: Arc::new(move || clock.load(Ordering::SeqCst)),
            ..HceConfig::default()
        };
        let card = HceCardRecord {
            token_id: "t1".into(),
            binding_id: "b1".into(),
            profile,
            created_at: 0,
        };
        Fixture {
            responder: HceResponder::new(store.clone(), card, config),
            store,
            time,
            _dir: dir,
        }
    }

    fn card_perso(profile: &HceProfile) -> CardPersonalization {
        card_profile(profile, Zeroizing::new([0; 16]), 1)
            .unwrap()
            .perso
    }

    fn run(f: &mut Fixture, apdu: &[u8]) -> Vec<u8> {
        f.responder.process_apdu(apdu)
    }

    fn select_app(f: &mut Fixture) -> Vec<u8> {
        let cmd =
            CommandApdu::select_by_name(&aids::for_account(AccountKind::Debit), Occurrence::First);
        run(f, &cmd.unwrap().to_bytes())
    }

    fn gpo(f: &mut Fixture) -> Vec<u8> {
        // 80 A8 00 00 Lc=36 { 83 34 PDOL data } Le
        let apdu = hex::decode(format!("80A80000248322{PDOL_DATA}00")).unwrap();
        run(f, &apdu)
    }

    fn field(response: &[u8], tag: u32) -> Vec<u8> {
        let data = &response[..response.len() - 2];
        tlv::find(data, Tag::new(tag).unwrap())
            .unwrap()
            .unwrap()
            .value()
            .to_vec()
    }

    /// Checks the ARQC the issuer's way; returns (key index, ATC).
    fn verified(response: &[u8]) -> (u8, u16) {
        assert!(
            response.ends_with(&[0x90, 0x00]),
            "{}",
            hex::encode_upper(response)
        );
        let iad = field(response, 0x9F10);
        let atc = u16::from_be_bytes(field(response, 0x9F36).try_into().unwrap());
        let pdol = hex::decode(PDOL_DATA).unwrap();
        let data = CryptogramData {
            amount_authorised: pdol[4..10].try_into().unwrap(),
            amount_other: [0; 6],
            terminal_country: [0x01, 0x56],
            tvr: [0; 5],
            currency: [0x01, 0x56],
            date: [0x25, 0x03, 0x14],
            transaction_type: 0,
            unpredictable_number: [1, 2, 3, 4],
            aip: [0x04, 0x00],
            atc,
            cvr: iad[3..7].try_into().unwrap(),
        };
        let index = IssuerView::verify_arqc(
            &test_issuer_master_keys(),
            CardCrypto::Sm4,
            PAN,
            1,
            &iad,
            &data,
            &field(response, 0x9F26),
        )
        .unwrap();
        (index, atc)
    }

    #[test]
    fn a_key_spent_within_the_field_hands_over_to_the_next_one() {
        let mut f = fixture(&[(1, 1, 100), (2, 2, 100)]);
        assert!(select_app(&mut f).ends_with(&[0x90, 0x00]));
        assert_eq!(verified(&gpo(&mut f)), (1, 1));
        // Same field, a second transaction: key 1 is spent, key 2 takes over.
        select_app(&mut f);
        assert_eq!(verified(&gpo(&mut f)), (2, 2));
        // A GPO without a new SELECT is refused by the application, nothing counted.
        assert_eq!(gpo(&mut f), [0x69, 0x85]);
        let state: KeyState = f.store.get(NS_KEYS, "b1").unwrap().unwrap();
        assert_eq!((state.counters.atc, state.transactions_left(10)), (2, 1));
    }

    #[test]
    fn a_key_that_expires_between_select_and_gpo_is_replaced_by_replaying_the_select() {
        let mut f = fixture(&[(1, 5, 50), (2, 5, 100)]);
        let ppse = CommandApdu::select_by_name(aids::PPSE, Occurrence::First).unwrap();
        assert!(run(&mut f, &ppse.to_bytes()).ends_with(&[0x90, 0x00]));
        select_app(&mut f);
        f.time.store(50, Ordering::SeqCst);
        assert_eq!(verified(&gpo(&mut f)), (2, 1));
        // After the last key expires: 6985, and the stored state is unchanged.
        f.responder.on_deactivated();
        f.time.store(100, Ordering::SeqCst);
        select_app(&mut f);
        assert_eq!(gpo(&mut f), [0x69, 0x85]);
        let state: KeyState = f.store.get(NS_KEYS, "b1").unwrap().unwrap();
        assert_eq!(state.counters.atc, 1);
    }

    #[test]
    fn without_keys_the_card_is_selectable_but_never_computes() {
        let mut f = fixture(&[]);
        assert!(select_app(&mut f).ends_with(&[0x90, 0x00]));
        assert_eq!(gpo(&mut f), [0x69, 0x85]);
        assert_eq!(run(&mut f, &[0x00]), [0x67, 0x00]);
        assert!(format!("{:?}", f.responder).contains("t1"));
        // A missing key state is a clean error, not a panic.
        f.store.remove(NS_KEYS, "b1").unwrap();
        f.responder.on_deactivated();
        assert_eq!(select_app(&mut f), [0x6F, 0x00]);
    }
}
