//! The issuer (the bank's authorisation host): checks the card's cryptograms and authorises.
//!
//! Online authorisation ([`Issuer::authorize`]), in order — the first failing check answers:
//! 1. the PAN: an account of the bank, or a PAN a registered [`PanResolver`] maps to one
//!    (device PAN, token) → else `14`; account blocked, or card locked / deleted → `62`;
//! 2. the cryptogram is an ARQC (`9F27` = `80`) → else `12`;
//! 3. the algorithm from the IAD ([`verify::crypto_of_iad`]) → `30` if not understood; the ICC
//!    master key derived from the test issuer master keys for PAN / PSN (or given by the
//!    resolver), the session key of the ATC, the ARQC recomputed over
//!    [`IccTransaction::cryptogram_data`] → `63` if different (no ARPC then);
//! 4. the ATC ([`cards`]): already used, or not above the last online ATC → `94`; otherwise it is
//!    remembered as used from here on, whatever the rest decides;
//! 5. a purchase (`9C` = `00`) in CNY (156) → else `12`; amount above zero → else `13`; or an
//!    e-cash load (`9C` = `60`, [`load`]): the card's balance and limit in the request → else
//!    `12`, new balance within the limit → else `13`, the issuer script computed;
//! 6. the bank debits the account ([`crate::bank::Bank::debit`], reference = the authorisation
//!    id, so a retried request never debits twice) → `51` if the balance does not cover it;
//! 7. approved `00` with a six-digit approval code (and, for a load, the issuer script).
//!
//! From step 4 on, every answer carries the ARPC (method 1) over the ARQC and the answer's ARC.
//!
//! Offline advice ([`Issuer::offline_advice`]): PAN (`14`), a TC (`40`, else `12`), currency
//! (`12`), the TC recomputed (`63`), ATC never used (`94`); then the ATC is remembered and the
//! card's offline e-cash spending grows by the amount (the money left the account when the
//! e-cash was loaded; clearing pays the acquirer from it). Every decision is logged in
//! `issuer.decisions`.
//!
//! Reversal ([`Issuer::reverse`], [`reversal`]): the debit of an approved authorisation is
//! credited back once, keyed by the authorisation id.

pub mod cards;
pub mod hce_tokens;
pub mod load;
pub mod resolver;
pub mod reversal;
pub mod verify;

pub use hce_tokens::HceTokenPans;
pub use resolver::{
    CryptogramCheck, KeySource, PanMap, PanResolver, PanSource, ResolveError, ResolvedPan,
    TsmDevicePans,
};
pub use reversal::IssuerReversal;

use crate::bank::validate::mask_pan;
use crate::bank::{Account, DebitError};
use crate::clearing::Institution;
use crate::error::ApiError;
use crate::persist::{Store, StoreError, Table};
use crate::state::AppState;
use cards::{AtcCheck, CardState};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use wallet_core::backend::api::acquiring::{
    EcashLoadRequest, IccTransaction, ResponseCode, CID_ARQC, CID_TC,
};
use wallet_core::crypto::{random, CryptoError};

/// The currency of the bank's accounts (CNY).
pub const ACCOUNT_CURRENCY: u16 = 156;
/// Transaction type of a purchase (`9C`).
pub const PURCHASE: u8 = 0x00;

/// The issuer could not decide (its state, a resolver or the cryptography failed).
#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    /// The issuer's or the bank's state could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A PAN resolver failed.
    #[error("PAN resolver failed: {0}")]
    Resolver(#[from] ResolveError),
    /// Key derivation or MAC computation failed.
    #[error("issuer cryptography failed: {0}")]
    Crypto(#[from] CryptoError),
}

impl From<IssuerError> for ApiError {
    fn from(err: IssuerError) -> Self {
        ApiError::Internal(format!("issuer: {err}"))
    }
}

/// The issuer's answer to an authorisation or an advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerDecision {
    /// The response code (`00` approves).
    pub response_code: ResponseCode,
    /// Why, in English.
    pub message: String,
    /// ARPC method 1 over the ARQC and the ARC, once the ARQC verified (online only).
    pub arpc: Option<[u8; 8]>,
    /// Six-digit approval code, when an online authorisation is approved.
    pub approval_code: Option<String>,
    /// The issuing institution, once the PAN resolved to an account.
    pub issuer: Option<Institution>,
    /// The presented PAN, masked.
    pub masked_pan: String,
    /// An approved e-cash load's issuer script (PUT DATA `9F79` with its MAC).
    pub issuer_script: Option<Vec<u8>>,
}

impl IssuerDecision {
    fn refuse(txn: &IccTransaction, (code, message): verify::Refusal) -> IssuerDecision {
        IssuerDecision {
            response_code: code,
            message: message.to_owned(),
            arpc: None,
            approval_code: None,
            issuer: None,
            masked_pan: mask_pan(&txn.pan),
            issuer_script: None,
        }
    }
}

/// One logged decision (`issuer.decisions`, keyed by the authorisation or advice id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// `online` or `offline`.
    pub kind: String,
    /// Masked presented PAN.
    pub masked_pan: String,
    /// ATC of the card.
    pub atc: u16,
    /// Amount, fen.
    pub amount: u64,
    /// The response code.
    pub response_code: String,
    /// Unix time of the decision.
    pub at: u64,
}

/// A PAN resolved to a bank account.
struct Card {
    account: Account,
    crypto: Option<wallet_core::card::CardCrypto>,
    keys: KeySource,
    online_allowed: bool,
}

/// The issuer's state: per-card ATC memory and e-cash spending, decisions, PAN resolvers.
#[derive(Debug)]
pub struct Issuer {
    cards: Table<CardState>,
    decisions: Table<DecisionRecord>,
    resolvers: RwLock<Vec<Arc<dyn PanResolver>>>,
    /// Serialises check-and-remember of ATCs.
    lock: Mutex<()>,
}

impl Issuer {
    /// Opens the issuer's state in `store`, with no PAN resolver registered yet.
    pub fn open(store: &Store) -> Result<Issuer, StoreError> {
        Ok(Issuer {
            cards: store.table("issuer.cards")?,
            decisions: store.table("issuer.decisions")?,
            resolvers: RwLock::new(Vec::new()),
            lock: Mutex::new(()),
        })
    }

    /// Registers a resolver of PANs that stand for an account (tried after the bank's own
    /// accounts, in registration order).
    pub fn register(&self, resolver: Arc<dyn PanResolver>) {
        self.resolvers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(resolver);
    }

    /// What the issuer remembers of card `pan` / `psn`.
    pub fn card_state(&self, pan: &str, psn: u8) -> Result<CardState, StoreError> {
        Ok(self
            .cards
            .get(CardState::key(pan, psn))?
            .unwrap_or_default())
    }

    /// The decision logged under `id`.
    pub fn decision(&self, id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        self.decisions.get(id)
    }

    fn resolve(&self, world: &AppState, pan: &str) -> Result<Option<Card>, IssuerError> {
        if let Some(account) = world.bank().account(pan)? {
            return Ok(Some(Card {
                account,
                crypto: None,
                keys: KeySource::TestIssuer,
                online_allowed: true,
            }));
        }
        let resolvers = self
            .resolvers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for resolver in resolvers {
            if let Some(resolved) = resolver.resolve(world, pan)? {
                return Ok(world
                    .bank()
                    .account(&resolved.account_pan)?
                    .map(|account| Card {
                        account,
                        crypto: resolved.crypto,
                        keys: resolved.keys,
                        online_allowed: resolved.online_allowed,
                    }));
            }
        }
        Ok(None)
    }

    /// Decides an online authorisation without e-cash load data (see the [module](self)).
    pub fn authorize(
        &self,
        world: &AppState,
        txn: &IccTransaction,
        authorization_id: &str,
        now: u64,
    ) -> Result<IssuerDecision, IssuerError> {
        self.authorize_with_load(world, txn, None, authorization_id, now)
    }

    /// Decides an online authorisation, with the card's e-cash state for a load (see the
    /// [module](self) for the order of the checks).
    pub fn authorize_with_load(
        &self,
        world: &AppState,
        txn: &IccTransaction,
        load: Option<&EcashLoadRequest>,
        authorization_id: &str,
        now: u64,
    ) -> Result<IssuerDecision, IssuerError> {
        let decision = self.decide_online(world, txn, load, authorization_id, now)?;
        self.log(authorization_id, "online", txn, &decision, now)?;
        Ok(decision)
    }

    fn decide_online(
        &self,
        world: &AppState,
        txn: &IccTransaction,
        load: Option<&EcashLoadRequest>,
        authorization_id: &str,
        now: u64,
    ) -> Result<IssuerDecision, IssuerError> {
        let Some(card) = self.resolve(world, &txn.pan)? else {
            return Ok(IssuerDecision::refuse(
                txn,
                (ResponseCode::InvalidCardNumber, "no such card"),
            ));
        };
        let issuer = institution_of(&card.account);
        let refuse = |refusal| IssuerDecision {
            issuer: Some(issuer.clone()),
            ..IssuerDecision::refuse(txn, refusal)
        };
        if card.account.status != crate::bank::test_cards::AccountStatus::Active {
            return Ok(refuse((
                ResponseCode::RestrictedCard,
                "the account is blocked",
            )));
        }
        if !card.online_allowed {
            return Ok(refuse((
                ResponseCode::RestrictedCard,
                "the card is locked or deleted",
            )));
        }
        if txn.cid_byte().ok().map(|cid| cid & 0xC0) != Some(CID_ARQC) {
            return Ok(refuse((
                ResponseCode::InvalidTransaction,
                "online authorisation needs an ARQC",
            )));
        }
        let verified = match verify::verify_cryptogram(world, txn, &card.keys, card.crypto, now)? {
            Ok(verified) => verified,
            Err(refusal) => return Ok(refuse(refusal)),
        };
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let key = CardState::key(&txn.pan, txn.pan_sequence);
        let mut state = self.cards.get(&key)?.unwrap_or_default();
        let mut issuer_script = None;
        let (code, message) = match state.check_online(txn.atc) {
            AtcCheck::Replayed => (
                ResponseCode::Duplicate,
                "ATC already used: replayed cryptogram".to_owned(),
            ),
            AtcCheck::Stale { last_online } => (
                ResponseCode::Duplicate,
                format!("ATC not above the last online ATC {last_online}: stale cryptogram"),
            ),
            AtcCheck::Fresh => {
                state.accept_online(txn.atc);
                self.cards.put(&key, &state)?;
                if load::is_load(txn) {
                    match self.settle_load(world, txn, load, &card, authorization_id)? {
                        Ok(script) => {
                            issuer_script = Some(script);
                            (ResponseCode::Approved, "approved".to_owned())
                        }
                        Err(refusal) => refusal,
                    }
                } else {
                    self.settle_online(world, txn, &card.account, authorization_id)?
                }
            }
        };
        let approval_code = match code.is_approved() {
            true => Some(approval_code()?),
            false => None,
        };
        Ok(IssuerDecision {
            arpc: verified.arpc(&code)?,
            response_code: code,
            message,
            approval_code,
            issuer: Some(issuer),
            masked_pan: mask_pan(&txn.pan),
            issuer_script,
        })
    }

    /// Step 5–6 of an e-cash load: the new balance within the limit, the script, the debit.
    fn settle_load(
        &self,
        world: &AppState,
        txn: &IccTransaction,
        request: Option<&EcashLoadRequest>,
        card: &Card,
        authorization_id: &str,
    ) -> Result<Result<Vec<u8>, load::LoadRefusal>, IssuerError> {
        let balance = match load::new_balance(txn, request) {
            Ok(balance) => balance,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let script = match load::script(&card.keys, txn, balance)? {
            Ok(script) => script,
            Err(refusal) => return Ok(Err(refusal)),
        };
        Ok(
            match debit_answer(world, &card.account, txn, authorization_id)? {
                (ResponseCode::Approved, _) => Ok(script),
                refusal => Err(refusal),
            },
        )
    }

    /// Steps 5–6 once the cryptogram and the ATC passed.
    fn settle_online(
        &self,
        world: &AppState,
        txn: &IccTransaction,
        account: &Account,
        authorization_id: &str,
    ) -> Result<(ResponseCode, String), IssuerError> {
        if txn.transaction_type_byte().ok() != Some(PURCHASE) || txn.currency != ACCOUNT_CURRENCY {
            return Ok((
                ResponseCode::InvalidTransaction,
                "only CNY purchases are authorised".into(),
            ));
        }
        if txn.amount_authorised == 0 {
            return Ok((ResponseCode::InvalidAmount, "the amount is zero".into()));
        }
        debit_answer(world, account, txn, authorization_id)
    }

    /// Checks an offline TC uploaded in an advice and accounts for the e-cash spent.
    pub fn offline_advice(
        &self,
        world: &AppState,
        txn: &IccTransaction,
        advice_id: &str,
        now: u64,
    ) -> Result<IssuerDecision, IssuerError> {
        let decision = self.decide_offline(world, txn, now)?;
        self.log(advice_id, "offline", txn, &decision, now)?;
        Ok(decision)
    }

    fn decide_offline(
        &self,
        world: &AppState,
        txn: &IccTransaction,
        now: u64,
    ) -> Result<IssuerDecision, IssuerError> {
        let Some(card) = self.resolve(world, &txn.pan)? else {
            return Ok(IssuerDecision::refuse(
                txn,
                (ResponseCode::InvalidCardNumber, "no such card"),
            ));
        };
        let issuer = institution_of(&card.account);
        let answer = |(code, message): verify::Refusal| IssuerDecision {
            issuer: Some(issuer.clone()),
            ..IssuerDecision::refuse(txn, (code, message))
        };
        if txn.cid_byte().ok().map(|cid| cid & 0xC0) != Some(CID_TC) {
            return Ok(answer((
                ResponseCode::InvalidTransaction,
                "an offline advice carries a TC",
            )));
        }
        if txn.currency != ACCOUNT_CURRENCY {
            return Ok(answer((
                ResponseCode::InvalidTransaction,
                "e-cash is held in CNY",
            )));
        }
        if let Err(refusal) = verify::verify_cryptogram(world, txn, &card.keys, card.crypto, now)? {
            return Ok(answer(refusal));
        }
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let key = CardState::key(&txn.pan, txn.pan_sequence);
        let mut state = self.cards.get(&key)?.unwrap_or_default();
        if state.check_offline(txn.atc) != AtcCheck::Fresh {
            return Ok(answer((
                ResponseCode::Duplicate,
                "ATC already used: duplicate TC",
            )));
        }
        state.accept_offline(txn.atc, txn.amount_authorised);
        self.cards.put(&key, &state)?;
        Ok(answer((ResponseCode::Approved, "accepted")))
    }

    fn log(
        &self,
        id: &str,
        kind: &str,
        txn: &IccTransaction,
        decision: &IssuerDecision,
        now: u64,
    ) -> Result<(), StoreError> {
        tracing::info!(%id, kind, masked_pan = %decision.masked_pan, atc = txn.atc,
            code = %decision.response_code, "issuer decision");
        self.decisions.put(
            id,
            &DecisionRecord {
                kind: kind.to_owned(),
                masked_pan: decision.masked_pan.clone(),
                atc: txn.atc,
                amount: txn.amount_authorised,
                response_code: decision.response_code.to_string(),
                at: now,
            },
        )
    }
}

/// Debits `txn`'s amount from `account` once per authorisation id: approved, or why not.
fn debit_answer(
    world: &AppState,
    account: &Account,
    txn: &IccTransaction,
    authorization_id: &str,
) -> Result<(ResponseCode, String), IssuerError> {
    Ok(
        match world
            .bank()
            .debit(&account.pan, txn.amount_authorised, authorization_id)
        {
            Ok(_) => (ResponseCode::Approved, "approved".into()),
            Err(DebitError::InsufficientFunds) => {
                (ResponseCode::InsufficientFunds, "insufficient funds".into())
            }
            Err(DebitError::AccountBlocked) => (
                ResponseCode::RestrictedCard,
                "the account is blocked".into(),
            ),
            Err(DebitError::UnknownAccount | DebitError::ReferenceConflict(_)) => (
                ResponseCode::DoNotHonour,
                "the account cannot be debited".into(),
            ),
            Err(DebitError::Store(err)) => return Err(err.into()),
        },
    )
}

/// The issuing institution of `account`: its BIN and its bank's name.
pub fn institution_of(account: &Account) -> Institution {
    Institution {
        id: account.pan.get(..6).unwrap_or(&account.pan).to_owned(),
        name: account.issuer_name.clone(),
    }
}

/// A random six-digit approval code.
fn approval_code() -> Result<String, CryptoError> {
    let n = u32::from_be_bytes(random::bytes::<4>()?) % 1_000_000;
    Ok(format!("{n:06}"))
}

#[cfg(test)]
mod tests;
