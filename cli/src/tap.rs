//! `wallet tap`: the mock POS terminal taps the phone — the payment application in a simulated
//! SE (SE mode) or the wallet's HCE responder — or whatever card is in a PC/SC reader
//! (`--via pcsc`, cargo feature `pcsc`), then authorises online through the acquirer, or
//! approves offline with electronic cash. `wallet load-ecash`: a load terminal loads e-cash
//! onto the SE's card from the bound account (圈存; HCE tokens hold no e-cash).
//!
//! With vsmartcard's virtual reader, one process plays the card (`wallet hce serve` or
//! `wallet se serve`) and another the terminal (`wallet tap --via pcsc`); both use the same
//! back end (`--backend URL`: two processes cannot share one embedded mock world).
//!
//! The terminal keeps a reversal journal under `<data_dir>/pos` (beside the phone's SEs in
//! `<data_dir>/se`): an online authorisation is journaled before it is sent, and one left open by
//! a terminal that died (a load approved but never applied to the card, an answer never
//! received) is resolved — reversed unless the card holds the load — at the start of the next
//! `tap` or `load-ecash` with that card (see `mock_backend::pos::online`).

use crate::cards::{parse_yuan, yuan, SeChoice};
use crate::output::{anyhow_like::Error, Output};
use mock_backend::pos::{
    AcquirerLink, CardIoError, ContactlessCard, Decision, Resolution, ReversalJournal, TapOutcome,
    Terminal, TerminalConfig, TransactionType,
};
use mock_backend::se_sim::{SharedSe, SimulatedSeTransport};
use serde_json::json;
use std::path::{Path, PathBuf};
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
    /// Whatever card is in a PC/SC reader (vsmartcard's virtual reader in tests); needs a
    /// binary built with `--features pcsc`. The wallet's own data is not opened.
    Pcsc,
}

/// What a binary built without the `pcsc` feature answers to `--via pcsc`.
#[cfg(not(feature = "pcsc"))]
const NO_PCSC: &str = "this wallet binary was built without PC/SC support: rebuild it with \
    `cargo build -p wallet-cli --features pcsc` (needs libpcsclite-dev) to tap a card in a PC/SC reader";

/// `wallet tap`.
#[derive(Debug, clap::Args)]
pub struct TapArgs {
    /// Amount in yuan, e.g. 12.34.
    #[arg(long)]
    pub amount: String,
    /// Answer with the SE's card or with HCE (default: SE if a card is open in one), or tap
    /// the card in a PC/SC reader.
    #[arg(long, value_enum)]
    pub via: Option<Via>,
    /// With `--via pcsc`: part of the reader's name, case-insensitive (default: the first
    /// reader holding a card), e.g. "Virtual PCD".
    #[arg(long)]
    pub reader: Option<String>,
    /// With `--via pcsc`: how long to wait for a card to be presented, in seconds.
    #[arg(long, default_value_t = 5)]
    pub wait: u64,
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

/// A terminal of the mock convenience store connected to the acquirer at `url`, keeping its
/// reversal journal (and unsent offline advices) under `data_dir/pos` when given one.
pub fn terminal(url: &str, data_dir: Option<&Path>) -> Result<Terminal, Error> {
    let link = AcquirerLink::new(url).map_err(|e| Error::usage(e.to_string()))?;
    let mut terminal = Terminal::new(TerminalConfig::default(), Some(link));
    if let Some(data_dir) = data_dir {
        let dir = data_dir.join("pos");
        let journal = ReversalJournal::open(&dir).map_err(|e| {
            Error::usage(format!(
                "cannot open the terminal's journal in {}: {e}",
                dir.display()
            ))
        })?;
        terminal.set_journal(journal);
    }
    Ok(terminal)
}

/// Reports what the terminal resolved from its journal before the transaction.
fn report_resolved(terminal: &Terminal, out: &mut Output) {
    for resolved in terminal.resolved() {
        let entry = &resolved.entry;
        let (fate, status) = match &resolved.resolution {
            Resolution::Applied => ("the card holds the load: nothing to undo", None),
            Resolution::Reversed(answer) => ("reversed", Some(format!("{:?}", answer.status))),
            Resolution::Open(why) => ("still open", Some(why.clone())),
        };
        out.info(
            &format!("terminal resolved an unfinished authorisation: {fate}"),
            json!({
                "amount": yuan(entry.amount),
                "kind": format!("{:?}", entry.kind),
                "authorization_id": entry.authorization_id,
                "status": status,
            }),
        );
    }
}

/// Taps the phone once (or, with `--via pcsc`, the card in a PC/SC reader) and reports the
/// outcome.
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
    let (outcome, via_name) = match via {
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
            (outcome, "secure element".to_owned())
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
            (outcome, "HCE".to_owned())
        }
        Via::Pcsc => tap_pcsc(terminal, args, amount).await?,
    };
    report_resolved(terminal, out);
    report(outcome, &via_name, terminal, args, out).await
}

/// `wallet tap --via pcsc`: a terminal connected to the acquirer at `url` taps the card in a
/// PC/SC reader (the phone's own data is not opened: another process may be serving it; the
/// terminal's journal under `data_dir/pos` is the terminal's own).
pub async fn tap_reader(
    url: &str,
    data_dir: &Path,
    args: &TapArgs,
    out: &mut Output,
) -> Result<(), Error> {
    let amount = parse_yuan(&args.amount)?;
    let mut terminal = terminal(url, Some(data_dir))?;
    let (outcome, via_name) = tap_pcsc(&mut terminal, args, amount).await?;
    report(outcome, &via_name, &mut terminal, args, out).await?;
    Ok(())
}

/// Waits up to `--wait` seconds for a card in the reader, taps it, and disconnects.
#[cfg(feature = "pcsc")]
async fn tap_pcsc(
    terminal: &mut Terminal,
    args: &TapArgs,
    amount: u64,
) -> Result<(TapOutcome, String), Error> {
    use mock_backend::pos::pcsc::PcscCard;
    let reader = args.reader.clone();
    let wait = std::time::Duration::from_secs(args.wait);
    let mut card =
        tokio::task::spawn_blocking(move || PcscCard::connect_within(reader.as_deref(), wait))
            .await
            .map_err(|e| Error::usage(e.to_string()))?
            .map_err(|e| Error::usage(format!("the tap failed: {e}")))?;
    let via_name = format!("PC/SC reader {}", card.reader());
    let outcome = terminal
        .tap(&mut card, amount, TransactionType::Purchase)
        .await;
    drop(card); // disconnect (the card is reset): it leaves the field
    Ok((outcome, via_name))
}

/// Without the `pcsc` feature there is no PC/SC reader to tap.
#[cfg(not(feature = "pcsc"))]
async fn tap_pcsc(
    _terminal: &mut Terminal,
    _args: &TapArgs,
    _amount: u64,
) -> Result<(TapOutcome, String), Error> {
    Err(Error::usage(NO_PCSC))
}

/// Writes the trace if asked, reports the decision, and uploads queued offline advices.
async fn report(
    outcome: TapOutcome,
    via_name: &str,
    terminal: &mut Terminal,
    args: &TapArgs,
    out: &mut Output,
) -> Result<TapOutcome, Error> {
    if let Some(path) = &args.trace {
        std::fs::write(path, outcome.trace.to_text()).map_err(|e| {
            Error::usage(format!("cannot write the trace to {}: {e}", path.display()))
        })?;
    }
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
    match args.via {
        Via::Se => {}
        Via::Hce => {
            return Err(Error::usage(
                "HCE tokens hold no e-cash: load the card in a secure element (--via se)",
            ))
        }
        Via::Pcsc => {
            return Err(Error::usage(
                "the load terminal reaches only the phone's SE: use --via se",
            ))
        }
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
    report_resolved(terminal, out);
    let tx = outcome
        .result
        .map_err(|e| Error::usage(format!("the load failed: {e}")))?;
    let load = tx
        .ecash_load
        .as_ref()
        .ok_or_else(|| Error::usage("the terminal did not read the e-cash balance"))?;
    let reversal = load.reversal.as_ref().map(|r| match &r.result {
        Ok(answer) => format!(
            "{:?}: {} (¥{} credited back, {})",
            answer.status,
            answer.message,
            yuan(answer.amount_credited),
            answer.reversal_id.as_deref().unwrap_or("-")
        ),
        Err(e) => format!(
            "reversal not confirmed ({e}); resend it with idempotency key {}",
            r.key.as_str()
        ),
    });
    let details = json!({
        "amount": yuan(amount),
        "card": tx.masked_pan,
        "atc": tx.atc,
        "old_balance": yuan(load.balance_before),
        "new_balance": load.balance_after.map(yuan),
        "script": format!("{:?}", load.script),
        "reversal": reversal,
    });
    match (&tx.decision, load.balance_after) {
        // Applied, or its answer was lost but the card's balance shows it applied.
        (Decision::ApprovedOnline, Some(balance)) => {
            out.ok(
                &format!(
                    "load ¥{}: e-cash loaded (issuer script applied)",
                    args.amount
                ),
                details,
            );
            Ok(balance)
        }
        (decision, _) => Err(Error::usage(format!(
            "the load of ¥{} failed: {decision:?}, script {:?}{}",
            args.amount,
            load.script,
            reversal
                .map(|r| format!("; load reversed: {r}"))
                .unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcsc_args() -> TapArgs {
        TapArgs {
            amount: "12.34".into(),
            via: Some(Via::Pcsc),
            se: None,
            trace: None,
            reader: Some("no reader is named like this 7c1d".into()),
            wait: 0,
        }
    }

    /// The terminal never gets to the acquirer: the URL is not contacted.
    #[cfg(not(feature = "pcsc"))]
    #[tokio::test]
    async fn without_the_feature_pcsc_is_a_usage_error() {
        let mut out = Output::new(true);
        let dir = tempfile::tempdir().unwrap();
        let err = tap_reader("http://127.0.0.1:9", dir.path(), &pcsc_args(), &mut out)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "usage");
        assert!(err.to_string().contains("built without PC/SC"), "{err}");
    }

    /// No such reader (or no PC/SC service at all): a usage error, not a panic.
    #[cfg(feature = "pcsc")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unknown_reader_fails_the_tap_cleanly() {
        let mut out = Output::new(true);
        let dir = tempfile::tempdir().unwrap();
        let err = tap_reader("http://127.0.0.1:9", dir.path(), &pcsc_args(), &mut out)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "usage");
        assert!(err.to_string().starts_with("the tap failed: "), "{err}");
    }
}
