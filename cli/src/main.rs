//! `wallet`: the headless driver of the wallet core against the mock world.
//!
//! Without `--backend`, every command starts the embedded mock world in-process on a loopback
//! port, with its state under the data directory, so consecutive commands see the same bank,
//! codes and cards. With `--backend URL`, commands talk to a running mock backend instead.

mod cards;
mod commands;
mod demo;
mod hce_serve;
mod output;
mod remote;
mod tap;
mod world;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Headless driver of the open mobile payment wallet.
#[derive(Debug, Parser)]
#[command(name = "wallet", version, about)]
pub struct Cli {
    /// Directory of the wallet's store (and of the embedded mock world's state).
    /// Default: $WALLET_DATA_DIR, else ~/.openwallet; `demo` uses a fresh temporary one.
    #[arg(long, global = true, env = "WALLET_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Use a running mock backend at this URL instead of the embedded mock world.
    #[arg(long, global = true)]
    backend: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Log verbosity for the core's events (error, warn, info, debug, trace).
    #[arg(long, global = true, default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every flow the project has against the mock world, step by step.
    Demo,
    /// Bind a bank card: real-name check, SMS code, device key registration.
    Bind(commands::BindArgs),
    /// Confirm a pending binding with its SMS code.
    Confirm(commands::ConfirmArgs),
    /// List the bound cards (and pending bindings).
    Bindings,
    /// Unbind a card: the bank revokes the device key; local data is erased.
    Unbind(commands::UnbindArgs),
    /// TEST ONLY: show the one-time codes the mock SMS channel delivered to a phone.
    SmsOutbox(commands::OutboxArgs),
    /// Air card opening: the TSM installs and personalises the payment card in a secure element.
    OpenCard(cards::OpenCardArgs),
    /// List the cards in the phone's secure elements.
    Cards,
    /// Lock a card (the TSM sets its application life cycle to locked).
    LockCard(cards::CardArgs),
    /// Unlock a locked card.
    UnlockCard(cards::CardArgs),
    /// Delete a card from its secure element.
    DeleteCard(cards::CardArgs),
    /// Ask the TSM to read a card's state and e-cash balance from the SE.
    CardStatus(cards::CardArgs),
    /// Read a card's electronic cash balance from the SE (no network).
    EcashBalance(cards::CardArgs),
    /// Host card emulation: provision a token and limited-use keys for a binding.
    OpenHceCard(cards::CardArgs),
    /// The mock POS terminal taps the phone (SE or HCE) or a PC/SC card; authorises the payment.
    Tap(tap::TapArgs),
    /// A load terminal loads e-cash onto the SE's card from the bound account (圈存).
    LoadEcash(tap::LoadArgs),
    /// The phone's simulated secure elements.
    #[command(subcommand)]
    Se(SeCommand),
    /// The wallet's host card emulation.
    #[command(subcommand)]
    Hce(HceCommand),
    /// The merchant side (payment content platform): create orders to pay remotely.
    #[command(subcommand)]
    Merchant(remote::MerchantCommand),
    /// Register (or replace) the payment password of a binding (non-SE remote payment).
    SetPassword(remote::SetPasswordArgs),
    /// Pay a merchant order remotely: SE applet + PIN, or device key + password / SMS code.
    PayRemote(remote::PayArgs),
    /// The remote payments of this wallet, newest first.
    History(remote::HistoryArgs),
    /// TEST ONLY: tap repeatedly, printing `atc <n> <decision>` as each tap finishes.
    #[command(hide = true)]
    TapLoop(commands::TapLoopArgs),
    /// List the mock bank's documented test cards.
    TestCards,
}

/// `wallet se …`.
#[derive(Debug, Subcommand)]
pub enum SeCommand {
    /// Expose a simulated SE as a card in a virtual PC/SC reader (vsmartcard vpcd).
    Serve(cards::SeServeArgs),
}

/// `wallet hce …`.
#[derive(Debug, Subcommand)]
pub enum HceCommand {
    /// Expose the wallet's HCE card as a card in a virtual PC/SC reader (vsmartcard vpcd).
    Serve(hce_serve::HceServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = output::Output::new(cli.json);
    let result = runtime.block_on(commands::run(&cli, &mut out));
    match result {
        Ok(()) => {
            out.finish(None);
            ExitCode::SUCCESS
        }
        Err(e) => {
            out.finish(Some(&e));
            ExitCode::FAILURE
        }
    }
}
