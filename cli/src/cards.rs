//! Card commands: air card opening with a progress bar, the card list, lock / unlock / delete /
//! status, the e-cash balance, and exposing a simulated SE to PC/SC tools.

use crate::output::{anyhow_like::Error, Output};
use mock_backend::se_sim::{serve_vpcd, SimulatedSeTransport};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use wallet_core::ota::{OtaListener, OtaProgress};
use wallet_core::se::ReaderKind;
use wallet_core::tsm::SeCard;
use wallet_core::Wallet;

/// Which SE: `ese`, `sim` or `sd`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SeChoice {
    /// Embedded SE in the handset.
    Ese,
    /// The SIM (NFC-SIM).
    Sim,
    /// A microSD card (NFC-SD).
    Sd,
}

impl From<SeChoice> for ReaderKind {
    fn from(c: SeChoice) -> Self {
        match c {
            SeChoice::Ese => ReaderKind::Ese,
            SeChoice::Sim => ReaderKind::Sim,
            SeChoice::Sd => ReaderKind::Sd,
        }
    }
}

/// `wallet open-card`.
#[derive(Debug, clap::Args)]
pub struct OpenCardArgs {
    /// The binding whose account the card draws on (default: the only binding).
    #[arg(long)]
    pub binding: Option<String>,
    /// Preferred secure element (else eSE → SIM → SD).
    #[arg(long, value_enum)]
    pub se: Option<SeChoice>,
    /// Electronic cash to load at opening, in yuan (e.g. 100.00).
    #[arg(long, default_value = "0")]
    pub ecash: String,
}

/// `wallet lock-card`, `unlock-card`, `delete-card`, `card-status`, `ecash-balance`.
#[derive(Debug, clap::Args)]
pub struct CardArgs {
    /// The binding (default: the only binding).
    #[arg(long)]
    pub binding: Option<String>,
    /// The SE holding the card (default: the only card of the binding).
    #[arg(long, value_enum)]
    pub se: Option<SeChoice>,
}

/// `wallet se serve`.
#[derive(Debug, clap::Args)]
pub struct SeServeArgs {
    /// Address of the vpcd daemon (vsmartcard) to connect to.
    #[arg(long, default_value = "127.0.0.1:35963")]
    pub vpcd: String,
    /// Which simulated SE to expose.
    #[arg(long, value_enum, default_value = "ese")]
    pub se: SeChoice,
}

/// The phone's simulated secure elements, kept under `<data_dir>/se`.
pub fn secure_elements(data_dir: &Path) -> Result<Arc<SimulatedSeTransport>, Error> {
    SimulatedSeTransport::open(data_dir.join("se"))
        .map(Arc::new)
        .map_err(|e| Error::usage(format!("cannot open the simulated secure elements: {e}")))
}

/// Parses yuan with up to two decimals into fen.
pub fn parse_yuan(text: &str) -> Result<u64, Error> {
    let bad = || Error::usage(format!("not an amount in yuan: {text}"));
    let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|f| f.checked_add(frac))
        .ok_or_else(bad)
}

/// Fen as `¥12.34`.
pub fn yuan(fen: u64) -> String {
    format!("¥{}.{:02}", fen / 100, fen % 100)
}

/// A card for display (with the e-cash credited back to the account, once deleted).
pub fn card_json(c: &SeCard) -> serde_json::Value {
    let mut card = json!({
        "binding": c.binding_id,
        "se": c.reader,
        "se_id": c.se_id,
        "state": c.state,
        "application": c.instance_aid,
        "card": c.masked_pan,
        "ecash": c.ecash_balance.map(yuan),
        "http_round_trips": c.last_round_trips,
    });
    if let (Some(refunded), Some(fields)) = (c.ecash_refunded, card.as_object_mut()) {
        fields.insert("ecash_refunded".into(), json!(yuan(refunded)));
        fields.insert("ecash_refunded_fen".into(), json!(refunded));
    }
    card
}

/// An HCE card for display.
pub fn hce_json(c: &wallet_core::hce::HceCardInfo) -> serde_json::Value {
    json!({
        "binding": c.binding_id,
        "token": c.masked_token_pan,
        "account": c.account_kind,
        "usable_keys": c.usable_keys,
        "transactions_left": c.transactions_left,
        "atc": c.atc,
    })
}

/// A text progress bar on stderr (only when not printing JSON).
pub struct ProgressBar {
    enabled: bool,
    shown: std::sync::atomic::AtomicU8,
}

impl ProgressBar {
    /// A bar, drawn only when `enabled`.
    pub fn new(enabled: bool) -> Arc<Self> {
        Arc::new(Self {
            enabled,
            shown: std::sync::atomic::AtomicU8::new(u8::MAX),
        })
    }
}

impl OtaListener for ProgressBar {
    fn on_progress(&self, p: OtaProgress) {
        // Redraw only when the percentage changes.
        if !self.enabled
            || self
                .shown
                .swap(p.percent, std::sync::atomic::Ordering::Relaxed)
                == p.percent
        {
            return;
        }
        let filled = usize::from(p.percent.min(100)) / 5;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r    [{}{}] {:>3}% {:<24}",
            "#".repeat(filled),
            " ".repeat(20 - filled),
            p.percent,
            format!("{:?}", p.stage)
        );
        if p.percent >= 100 {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }

    fn on_notification(&self, _: String) {}
}

/// The binding to act on: the given one, else the only one.
pub fn resolve_binding(wallet: &Wallet, given: Option<&str>) -> Result<String, Error> {
    if let Some(b) = given {
        return Ok(b.to_owned());
    }
    let bindings = wallet.bindings()?;
    match bindings.as_slice() {
        [only] => Ok(only.binding_id.clone()),
        [] => Err(Error::usage(
            "no card is bound yet: run `wallet bind` first",
        )),
        _ => Err(Error::usage(
            "several cards are bound: choose one with --binding",
        )),
    }
}

/// The card to act on: of `binding`, in the given SE kind, else the only one.
pub fn resolve_card(wallet: &Wallet, binding: &str, se: Option<SeChoice>) -> Result<SeCard, Error> {
    let kind = se.map(ReaderKind::from);
    let cards: Vec<SeCard> = wallet
        .cards_in_se()?
        .into_iter()
        .filter(|c| c.binding_id == binding && kind.is_none_or(|k| c.reader_kind == Some(k)))
        .collect();
    match cards.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(Error::usage(
            "no card of this binding in a secure element: run `wallet open-card`",
        )),
        _ => Err(Error::usage("several cards match: choose the SE with --se")),
    }
}

/// Runs a card command.
pub async fn run(
    command: &crate::Command,
    wallet: &Wallet,
    out: &mut Output,
    json: bool,
) -> Result<(), Error> {
    use crate::Command as C;
    match command {
        C::OpenCard(args) => {
            let binding = resolve_binding(wallet, args.binding.as_deref())?;
            let load = parse_yuan(&args.ecash)?;
            let card = wallet
                .open_card(
                    &binding,
                    args.se.map(Into::into),
                    load,
                    Some(ProgressBar::new(!json)),
                )
                .await?;
            out.ok("card opened over the air", card_json(&card));
        }
        C::Cards => {
            let cards = wallet.cards_in_se()?;
            out.info(
                "cards in secure elements",
                json!({ "cards": cards.iter().map(card_json).collect::<Vec<_>>() }),
            );
        }
        C::LockCard(args)
        | C::UnlockCard(args)
        | C::DeleteCard(args)
        | C::CardStatus(args)
        | C::EcashBalance(args) => {
            let binding = resolve_binding(wallet, args.binding.as_deref())?;
            let card = resolve_card(wallet, &binding, args.se)?;
            let (step, card) = match command {
                C::LockCard(_) => (
                    "card locked",
                    wallet.lock_card(&binding, &card.se_id).await?,
                ),
                C::UnlockCard(_) => (
                    "card unlocked",
                    wallet.unlock_card(&binding, &card.se_id).await?,
                ),
                C::DeleteCard(_) => (
                    "card deleted",
                    wallet.delete_card(&binding, &card.se_id).await?,
                ),
                C::CardStatus(_) => (
                    "card status (read by the TSM)",
                    wallet.card_status(&binding, &card.se_id).await?,
                ),
                _ => {
                    let balance = wallet.ecash_balance(&binding, &card.se_id).await?;
                    out.ok(
                        "e-cash balance read from the SE",
                        json!({ "balance": yuan(balance), "fen": balance }),
                    );
                    return Ok(());
                }
            };
            out.ok(step, card_json(&card));
        }
        _ => {}
    }
    Ok(())
}

/// `wallet se serve`: connects the simulated SE to vpcd until vpcd disconnects.
pub async fn serve(args: &SeServeArgs, data_dir: &Path, out: &mut Output) -> Result<(), Error> {
    let se = secure_elements(data_dir)?.se(args.se.into());
    let addr = args.vpcd.clone();
    out.info("serving the simulated SE to vpcd", json!({ "vpcd": addr }));
    tokio::task::spawn_blocking(move || serve_vpcd(se, addr))
        .await
        .map_err(|e| Error::usage(e.to_string()))?
        .map_err(|e| Error::usage(format!("vpcd: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_amounts() {
        assert_eq!(parse_yuan("100").unwrap(), 10_000);
        assert_eq!(parse_yuan("12.3").unwrap(), 1_230);
        assert_eq!(parse_yuan("0.05").unwrap(), 5);
        for bad in ["", "1.234", "-1", "1,00", "abc", ".5"] {
            assert!(parse_yuan(bad).is_err(), "{bad}");
        }
        assert_eq!(yuan(1_234), "¥12.34");
    }

    #[test]
    fn a_deleted_card_shows_its_refund() {
        let mut card = SeCard {
            binding_id: "b1".into(),
            reader: "eSE1".into(),
            reader_kind: None,
            se_id: "0102".into(),
            instance_aid: "A000000333010101".into(),
            masked_pan: "622202******7894".into(),
            state: wallet_core::tsm::CardState::Active,
            ecash_balance: Some(2_500),
            ecash_refunded: None,
            last_order_id: "o1".into(),
            last_round_trips: 3,
            updated_at: 0,
        };
        let active = card_json(&card);
        assert_eq!(active["ecash"], "¥25.00");
        assert!(active.get("ecash_refunded").is_none());
        card.state = wallet_core::tsm::CardState::Deleted;
        card.ecash_balance = None;
        card.ecash_refunded = Some(2_050);
        let deleted = card_json(&card);
        assert_eq!(deleted["state"], "deleted");
        assert_eq!(deleted["ecash_refunded"], "¥20.50");
        assert_eq!(deleted["ecash_refunded_fen"], 2_050);
    }
}
