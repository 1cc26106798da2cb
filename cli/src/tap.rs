//! `wallet tap`: the mock POS terminal taps the phone — the payment application in a simulated
//! SE (SE mode) or the wallet's HCE responder — then authorises online through the acquirer, or
//! approves offline with electronic cash. `wallet load-ecash`: a load terminal loads e-cash
//! onto the SE's card from the bound account (圈存; HCE tokens hold no e-cash).

use crate::cards::{parse_yuan, yuan, SeChoice};
use crate::output::{anyhow_like::Error, Output};
use mock_backend::pos::{
    AcquirerLink, CardIoError, ContactlessCard, Decision, ScriptResult, TapOutcome, Terminal,
    TerminalConfig, TransactionType,
};
use mock_backend::se_sim::{SharedSe, SimulatedSeTransport};
use serde_json::json;
use std::path::PathBuf;
use wallet_core::hce::DeactivationReason;
use wallet_core::tsm::CardState;
use wallet_core::Wallet;

/// How the phone answers the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    /// The payment application in a secure element.
    Se,
    /// Host card emulation by the wallet.
    Hce,
}

/// `wallet tap`.
#[derive(Debug, clap::Args)]
pub struct TapArgs {
    /// Amount in yuan, e.g. 12.34.
    #[arg(long)]
    pub amount: String,
    /// Answer with the SE's card or with HCE (default: SE if a card is open in one).
    #[arg(long, value_enum)]
    pub via: Option<Via>,
    /// With `--via se`: which SE (default: the first with an active card).
    #[arg(long, value_enum)]
    pub se: Option<SeChoice>,
    /// Write every C-APDU / R-APDU in hex to this file (cardholder data masked).
    #[arg(long)]
    pub trace: Option<PathBuf>,
}

/// `wallet load-ecash`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Amount in yuan, e.g. 50.00.
    #[arg(long)]
    pub amount: String,
    /// Only `se`: HCE tokens hold no e-cash.
    #[arg(long, value_enum, default_value = "se")]
    pub via: Via,
    /// Which SE (default: the first with an active card).
    #[arg(long, value_enum)]
    pub se: Option<SeChoice>,
}

/// The SE's contactless interface (the NFC controller routes the field to the SE directly).
struct SeContactless(SharedSe);

impl ContactlessCard for SeContactless {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        let mut se = self
            .0
            .lock()
            .map_err(|_| CardIoError::Transport("SE state poisoned".into()))?;
        Ok(se.transmit(c_apdu))
    }
}

/// The wallet's HCE responder, as Android's HostApduService would call it.
struct HceContactless<'a>(&'a Wallet);

impl ContactlessCard for HceContactless<'_> {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        Ok(self.0.process_apdu(c_apdu))
    }
}

/// A terminal of the mock convenience store connected to the acquirer at `url`.
pub fn terminal(url: &str) -> Result<Terminal, Error> {
    let link = AcquirerLink::new(url).map_err(|e| Error::usage(e.to_string()))?;
    Ok(Terminal::new(TerminalConfig::default(), Some(link)))
}

/// Taps the phone once and reports the outcome.
pub async fn tap(
    wallet: &Wallet,
    se: &SimulatedSeTransport,
    terminal: &mut Terminal,
    args: &TapArgs,
    out: &mut Output,
) -> Result<TapOutcome, Error> {
    let amount = parse_yuan(&args.amount)?;
    let se_card = wallet.cards_in_se()?.into_iter().find(|c| {
        c.state == CardState::Active && args.se.is_none_or(|k| c.reader_kind == Some(k.into()))
    });
    let via = args
        .via
        .unwrap_or(if se_card.is_some() { Via::Se } else { Via::Hce });
    let outcome = match via {
        Via::Se => {
            let card = se_card.ok_or_else(|| {
                Error::usage("no active card in a secure element: run `wallet open-card`")
            })?;
            let kind = card
                .reader_kind
                .ok_or_else(|| Error::usage("the card's SE kind is unknown"))?;
            let shared = se.se(kind);
            let outcome = terminal
                .tap(
                    &mut SeContactless(shared.clone()),
                    amount,
                    TransactionType::Purchase,
                )
                .await;
            if let Ok(mut card) = shared.lock() {
                card.reset(); // the phone leaves the field
            }
            outcome
        }
        Via::Hce => {
            let cards = wallet.hce_cards()?;
            if cards.is_empty() {
                return Err(Error::usage("no HCE card: run `wallet open-hce-card`"));
            }
            // Like the app coming online: top up limited-use keys that ran low (a replenishment
            // cut short by a crash is finished here). Offline, the tap goes on with what is left.
            for card in cards
                .iter()
                .filter(|c| c.is_default && (c.replenishment_pending || c.transactions_left < 5))
            {
                if let Err(e) = wallet.replenish_keys(&card.binding_id).await {
                    tracing::warn!(error = %e, "could not replenish limited-use keys");
                }
            }
            let outcome = terminal
                .tap(
                    &mut HceContactless(wallet),
                    amount,
                    TransactionType::Purchase,
                )
                .await;
            wallet.on_deactivated(DeactivationReason::LinkLoss);
            outcome
        }
    };
    if let Some(path) = &args.trace {
        std::fs::write(path, outcome.trace.to_text()).map_err(|e| {
            Error::usage(format!("cannot write the trace to {}: {e}", path.display()))
        })?;
    }
    let via_name = if via == Via::Se {
        "secure element"
    } else {
        "HCE"
    };
    match &outcome.result {
        Ok(tx) => {
            let (step, decision) = match &tx.decision {
                Decision::ApprovedOffline => (
                    "approved offline (e-cash TC, fDDA verified)",
                    "approved_offline".to_owned(),
                ),
                Decision::ApprovedOnline => (
                    "approved online by the issuer (ARQC verified)",
                    "approved_online".to_owned(),
                ),
                Decision::Declined(reason) => ("declined", format!("declined: {reason:?}")),
            };
            let details = json!({
                "via": via_name,
                "amount": yuan(tx.amount),
                "decision": decision,
                "card": tx.masked_pan,
                "application": hex::encode_upper(&tx.aid),
                "atc": tx.atc,
                "cryptogram": format!("{:?}", tx.cryptogram_type),
                "fdda_verified": tx.fdda_verified,
                "ecash_left": tx.available_offline.map(yuan),
            });
            if tx.is_approved() {
                out.ok(&format!("tap ¥{}: {step}", args.amount), details);
            } else {
                out.info(&format!("tap ¥{}: {step}", args.amount), details);
            }
        }
        Err(e) => return Err(Error::usage(format!("the tap failed: {e}"))),
    }
    if !terminal.pending_advices().is_empty() {
        let uploaded = terminal
            .upload_advices()
            .await
            .map_err(|e| Error::usage(format!("offline advice upload failed: {e}")))?;
        out.ok(
            "terminal uploaded its offline advices to the acquirer",
            json!({ "count": uploaded.len() }),
        );
    }
    Ok(outcome)
}

/// Loads e-cash onto the SE's active card at a load terminal; returns the new balance (fen).
pub async fn load_ecash(
    wallet: &Wallet,
    se: &SimulatedSeTransport,
    terminal: &mut Terminal,
    args: &LoadArgs,
    out: &mut Output,
) -> Result<u64, Error> {
    if args.via == Via::Hce {
        return Err(Error::usage(
            "HCE tokens hold no e-cash: load the card in a secure element (--via se)",
        ));
    }
    let amount = parse_yuan(&args.amount)?;
    let card = wallet
        .cards_in_se()?
        .into_iter()
        .find(|c| {
            c.state == CardState::Active && args.se.is_none_or(|k| c.reader_kind == Some(k.into()))
        })
        .ok_or_else(|| {
            Error::usage("no active card in a secure element: run `wallet open-card`")
        })?;
    let kind = card
        .reader_kind
        .ok_or_else(|| Error::usage("the card's SE kind is unknown"))?;
    let shared = se.se(kind);
    let outcome = terminal
        .load(&mut SeContactless(shared.clone()), amount)
        .await;
    if let Ok(mut card) = shared.lock() {
        card.reset(); // the phone leaves the field
    }
    let tx = outcome
        .result
        .map_err(|e| Error::usage(format!("the load failed: {e}")))?;
    let load = tx
        .ecash_load
        .as_ref()
        .ok_or_else(|| Error::usage("the terminal did not read the e-cash balance"))?;
    let details = json!({
        "amount": yuan(amount),
        "card": tx.masked_pan,
        "atc": tx.atc,
        "old_balance": yuan(load.balance_before),
        "new_balance": load.balance_after.map(yuan),
        "script": format!("{:?}", load.script),
    });
    match (&tx.decision, &load.script, load.balance_after) {
        (Decision::ApprovedOnline, ScriptResult::Applied, Some(balance)) => {
            out.ok(
                &format!(
                    "load ¥{}: e-cash loaded (issuer script applied)",
                    args.amount
                ),
                details,
            );
            Ok(balance)
        }
        (decision, _, _) => Err(Error::usage(format!(
            "the load of ¥{} failed: {decision:?}, script {:?}",
            args.amount, load.script
        ))),
    }
}
