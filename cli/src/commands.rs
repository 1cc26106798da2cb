//! The commands other than `demo`.

use crate::output::{anyhow_like::Error, Output};
use crate::world::World;
use crate::{Cli, Command};
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use wallet_core::binding::{Binding, BindingRequest, PendingBinding};
use wallet_core::{Wallet, WalletConfig};

/// `wallet bind`.
#[derive(Debug, clap::Args)]
pub struct BindArgs {
    /// Card number.
    #[arg(long)]
    pub pan: String,
    /// Card holder's name as on file at the bank.
    #[arg(long)]
    pub name: String,
    /// ID number, or at least its last 4 characters.
    #[arg(long)]
    pub id: String,
    /// Mobile number on file at the bank.
    #[arg(long)]
    pub phone: String,
    /// TEST ONLY: read the code from the mock SMS outbox and confirm at once.
    #[arg(long)]
    pub code_from_outbox: bool,
}

/// `wallet confirm`.
#[derive(Debug, clap::Args)]
pub struct ConfirmArgs {
    /// The pending binding's session id (from `wallet bind`).
    #[arg(long)]
    pub session: String,
    /// The 6-digit SMS code.
    #[arg(long)]
    pub code: String,
}

/// `wallet unbind`.
#[derive(Debug, clap::Args)]
pub struct UnbindArgs {
    /// The binding to remove (from `wallet bindings`).
    pub binding_id: String,
}

/// `wallet sms-outbox`.
#[derive(Debug, clap::Args)]
pub struct OutboxArgs {
    /// Phone number.
    #[arg(long)]
    pub phone: String,
}

/// `wallet tap-loop` (TEST ONLY, hidden).
#[derive(Debug, clap::Args)]
pub struct TapLoopArgs {
    /// How many taps (0: until killed or a tap fails).
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// The tap each time.
    #[command(flatten)]
    pub tap: crate::tap::TapArgs,
}

/// Runs the chosen command.
pub async fn run(cli: &Cli, out: &mut Output) -> Result<(), Error> {
    if let Command::TestCards = cli.command {
        return test_cards(out);
    }
    if let Command::Demo = cli.command {
        return crate::demo::run(cli, out).await;
    }
    let data_dir = default_data_dir(cli)?;
    if let Command::Se(crate::SeCommand::Serve(args)) = &cli.command {
        return crate::cards::serve(args, &data_dir, out).await;
    }
    let world = World::connect(cli.backend.as_deref(), &data_dir).await?;
    let result = run_with(cli, out, &world, &data_dir).await;
    world.shutdown().await;
    result
}

async fn run_with(
    cli: &Cli,
    out: &mut Output,
    world: &World,
    data_dir: &std::path::Path,
) -> Result<(), Error> {
    if let Command::SmsOutbox(args) = &cli.command {
        let outbox = world.sms_outbox(&args.phone).await?;
        out.info(
            "SMS outbox (test only)",
            serde_json::to_value(&outbox).unwrap_or_default(),
        );
        return Ok(());
    }
    if let Command::Tap(args) = &cli.command {
        if args.via == Some(crate::tap::Via::Pcsc) {
            // The terminal alone: another process may be serving the phone's data.
            return crate::tap::tap_reader(world.url(), data_dir, args, out).await;
        }
    }
    if let Command::Merchant(crate::remote::MerchantCommand::Order(args)) = &cli.command {
        return crate::remote::create_order(world.url(), args, out).await;
    }
    let (wallet, se) = open_phone(data_dir, world.url())?;
    match &cli.command {
        Command::Tap(args) => {
            let mut terminal = crate::tap::terminal(world.url(), Some(data_dir))?;
            crate::tap::tap(&wallet, &se, &mut terminal, args, out).await?;
        }
        Command::LoadEcash(args) => {
            let mut terminal = crate::tap::terminal(world.url(), Some(data_dir))?;
            crate::tap::load_ecash(&wallet, &se, &mut terminal, args, out).await?;
        }
        Command::Hce(crate::HceCommand::Serve(args)) => {
            crate::hce_serve::serve(&wallet, args, out).await?;
        }
        Command::TapLoop(args) => tap_loop(&wallet, &se, world.url(), data_dir, args).await?,
        Command::OpenHceCard(args) => {
            let binding = crate::cards::resolve_binding(&wallet, args.binding.as_deref())?;
            let card = wallet.open_hce_card(&binding).await?;
            out.ok(
                "HCE card provisioned (token + limited-use keys)",
                crate::cards::hce_json(&card),
            );
        }
        Command::Bind(args) => {
            let request = BindingRequest {
                pan: args.pan.clone(),
                holder_name: args.name.clone(),
                id_number: args.id.clone(),
                phone: args.phone.clone(),
            };
            let pending = wallet.begin_binding(&request).await?;
            out.ok(
                "bank checked the card and sent a code",
                pending_json(&pending),
            );
            let code = if args.code_from_outbox {
                Some(world.latest_sms_code(&args.phone).await?)
            } else if std::io::stdin().is_terminal() {
                Some(prompt("SMS code: ")?)
            } else {
                None
            };
            match code {
                Some(code) => {
                    let binding = wallet.confirm_binding(&pending.session_id, &code).await?;
                    out.ok("card bound", binding_json(&binding));
                }
                None => out.info(
                    "confirm with the SMS code",
                    json!({ "command": format!("wallet confirm --session {} --code <code>", pending.session_id) }),
                ),
            }
        }
        Command::Confirm(args) => {
            let binding = wallet.confirm_binding(&args.session, &args.code).await?;
            out.ok("card bound", binding_json(&binding));
        }
        Command::Bindings => {
            let bindings = wallet.bindings()?;
            let pending = wallet.pending_bindings()?;
            out.info(
                "bindings",
                json!({
                    "bound": bindings.iter().map(binding_json).collect::<Vec<_>>(),
                    "pending": pending.iter().map(pending_json).collect::<Vec<_>>(),
                }),
            );
        }
        Command::Unbind(args) => {
            wallet.unbind(&args.binding_id).await?;
            out.ok("card unbound", json!({ "binding_id": args.binding_id }));
        }
        command @ (Command::SetPassword(_) | Command::PayRemote(_) | Command::History(_)) => {
            crate::remote::run(command, &wallet, world, out).await?;
        }
        Command::Demo
        | Command::TestCards
        | Command::SmsOutbox(_)
        | Command::Se(_)
        | Command::Merchant(_) => {}
        card_command => crate::cards::run(card_command, &wallet, out, cli.json).await?,
    }
    Ok(())
}

/// Opens the wallet in `<data_dir>/wallet` against `url`, with the phone's simulated secure
/// elements under `<data_dir>/se` (returned too, for the terminal to tap).
pub fn open_phone(
    data_dir: &std::path::Path,
    url: &str,
) -> Result<
    (
        Wallet,
        std::sync::Arc<mock_backend::se_sim::SimulatedSeTransport>,
    ),
    Error,
> {
    let se = crate::cards::secure_elements(data_dir)?;
    let wallet = Wallet::open(WalletConfig::new(data_dir.join("wallet"), url), None)?
        .with_secure_elements(se.clone());
    Ok((wallet, se))
}

/// Taps `args.count` times (0: forever), printing `atc <n> <decision>` on stdout and flushing
/// as each tap finishes — declines too, since the card answered with that ATC.
///
/// Like a phone app coming online, it first replenishes the HCE cards' limited-use keys (a
/// killed run may have left them spent with a request unanswered); a failed tap (no usable key)
/// is followed by a replenishment and one retry.
async fn tap_loop(
    wallet: &Wallet,
    se: &mock_backend::se_sim::SimulatedSeTransport,
    url: &str,
    data_dir: &std::path::Path,
    args: &TapLoopArgs,
) -> Result<(), Error> {
    let replenish = || async {
        for card in wallet.hce_cards()? {
            wallet.replenish_keys(&card.binding_id).await?;
        }
        Ok::<(), Error>(())
    };
    replenish().await?;
    let mut terminal = crate::tap::terminal(url, Some(data_dir))?;
    let mut done = 0u64;
    let mut retried = false;
    while args.count == 0 || done < args.count {
        // JSON mode collects the tap's steps; dropped unprinted, so only the ATC lines show.
        let quiet = &mut Output::new(true);
        let outcome = match crate::tap::tap(wallet, se, &mut terminal, &args.tap, quiet).await {
            Ok(outcome) => outcome,
            Err(e) if !retried => {
                tracing::warn!(%e, "tap failed: replenishing and retrying");
                retried = true;
                replenish().await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        retried = false;
        if let Ok(tx) = &outcome.result {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "atc {} {:?}", tx.atc, tx.decision)
                .and_then(|()| stdout.flush())
                .map_err(|e| Error::usage(format!("cannot write to stdout: {e}")))?;
        }
        done += 1;
    }
    Ok(())
}

fn default_data_dir(cli: &Cli) -> Result<PathBuf, Error> {
    if let Some(dir) = &cli.data_dir {
        return Ok(dir.clone());
    }
    let home = std::env::var_os("HOME").ok_or_else(|| Error::usage("set --data-dir (no HOME)"))?;
    Ok(PathBuf::from(home).join(".openwallet"))
}

/// Asks on stderr and reads one line from stdin.
pub fn prompt(label: &str) -> Result<String, Error> {
    eprint!("{label}");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::usage(format!("cannot read the code: {e}")))?;
    Ok(line.trim().to_owned())
}

fn test_cards(out: &mut Output) -> Result<(), Error> {
    for card in mock_backend::bank::test_cards::ALL {
        out.info(
            &format!("{} ({:?}, {:?})", card.holder_name, card.kind, card.status),
            json!({ "pan": card.pan, "id_number": card.id_number, "phone": card.phone }),
        );
    }
    Ok(())
}

/// A pending binding for display.
pub fn pending_json(p: &PendingBinding) -> serde_json::Value {
    json!({
        "session": p.session_id,
        "card": p.masked_pan,
        "account": p.account_kind,
        "code_sent_to": p.otp_sent_to,
    })
}

/// A binding for display.
pub fn binding_json(b: &Binding) -> serde_json::Value {
    json!({
        "binding": b.binding_id,
        "card": b.masked_pan,
        "account": b.account_kind,
        "holder": b.holder_name_masked,
        "issuer": b.issuer_name,
    })
}
