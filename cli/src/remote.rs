//! Remote (in-app) payment commands: the merchant side creates orders; the wallet sets its
//! payment password, pays orders (SE applet + PIN, or device key + password / SMS code) and
//! shows its payment history.

use crate::cards::{parse_yuan, resolve_binding, resolve_card, yuan, SeChoice};
use crate::output::{anyhow_like::Error, Output};
use crate::world::World;
use crate::Command;
use mock_backend::acquirer::merchants::CONVENIENCE_STORE;
use serde_json::json;
use std::io::IsTerminal;
use wallet_core::backend::api::remote::{CreateOrderRequest, PATH_MERCHANT_ORDERS};
use wallet_core::backend::client::IdempotencyKey;
use wallet_core::backend::{BackendClient, ClientConfig};
use wallet_core::remote::{Order, PayAuth, RemotePayError, RemotePayment, SmsChallenge};
use wallet_core::Wallet;

/// `wallet merchant …`: the payment content platform's side.
#[derive(Debug, clap::Subcommand)]
pub enum MerchantCommand {
    /// Create an order for the wallet to pay.
    Order(OrderArgs),
}

/// `wallet merchant order`.
#[derive(Debug, clap::Args)]
pub struct OrderArgs {
    /// Amount in yuan (e.g. 12.34).
    #[arg(long)]
    pub amount: String,
    /// The merchant (the mock platform knows 898310058120001 and 898310058120002).
    #[arg(long, default_value = CONVENIENCE_STORE.id)]
    pub merchant: String,
    /// What is bought.
    #[arg(long, default_value = "in-app purchase")]
    pub description: String,
    /// Seconds until the order expires (default: the platform's, 900).
    #[arg(long)]
    pub expires_in: Option<u64>,
}

/// `wallet set-password`.
#[derive(Debug, clap::Args)]
pub struct SetPasswordArgs {
    /// The binding (default: the only binding).
    #[arg(long)]
    pub binding: Option<String>,
    /// The 6-digit payment password (prompted for on a terminal when omitted).
    #[arg(long)]
    pub password: Option<String>,
}

/// How `pay-remote` proves the payer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthChoice {
    /// SE mode: the card's payment applet signs after the PIN.
    Se,
    /// Device key + payment password.
    Password,
    /// Device key + SMS one-time code.
    Sms,
}

/// `wallet pay-remote`.
#[derive(Debug, clap::Args)]
pub struct PayArgs {
    /// The order to pay (from `wallet merchant order`).
    #[arg(long)]
    pub order: String,
    /// How to prove the payer.
    #[arg(long, value_enum)]
    pub auth: AuthChoice,
    /// The binding that pays (default: the only binding).
    #[arg(long)]
    pub binding: Option<String>,
    /// SE mode: the SE holding the card (default: the binding's only card).
    #[arg(long, value_enum)]
    pub se: Option<SeChoice>,
    /// SE mode: the card's PIN (prompted for on a terminal when omitted).
    #[arg(long)]
    pub pin: Option<String>,
    /// Password mode: the payment password (prompted for on a terminal when omitted).
    #[arg(long)]
    pub password: Option<String>,
    /// SMS mode: the code of an earlier challenge (with --challenge).
    #[arg(long, requires = "challenge")]
    pub code: Option<String>,
    /// SMS mode: the challenge the code belongs to (printed when the code was requested).
    #[arg(long)]
    pub challenge: Option<String>,
    /// SMS mode, TEST ONLY: request a code and read it from the mock SMS outbox.
    #[arg(long, conflicts_with = "code")]
    pub code_from_outbox: bool,
}

/// `wallet history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// First merge the remote payment system's records of every binding.
    #[arg(long)]
    pub sync: bool,
}

/// `wallet merchant order`: the platform creates an order (HTTP, with an idempotency key).
pub async fn create_order(url: &str, args: &OrderArgs, out: &mut Output) -> Result<(), Error> {
    let order = merchant_order(
        url,
        &args.merchant,
        parse_yuan(&args.amount)?,
        &args.description,
        args.expires_in,
    )
    .await?;
    out.ok("merchant order created", order_json(&order));
    Ok(())
}

/// Asks the payment content platform at `url` for an order of `amount` fen.
pub async fn merchant_order(
    url: &str,
    merchant: &str,
    amount: u64,
    description: &str,
    expires_in_secs: Option<u64>,
) -> Result<Order, Error> {
    let client = BackendClient::new(ClientConfig::new(url)).map_err(backend)?;
    let request = CreateOrderRequest {
        merchant_id: merchant.to_owned(),
        amount,
        currency: "CNY".into(),
        description: description.to_owned(),
        expires_in_secs,
    };
    let key = IdempotencyKey::generate().map_err(|e| Error::usage(e.to_string()))?;
    client
        .post(PATH_MERCHANT_ORDERS, &request, &key)
        .await
        .map_err(backend)
}

fn backend(e: wallet_core::backend::BackendError) -> Error {
    Error::from(wallet_core::WalletError::RemotePay(RemotePayError::from(e)))
}

/// Runs `set-password`, `pay-remote` and `history`.
pub async fn run(
    command: &Command,
    wallet: &Wallet,
    world: &World,
    out: &mut Output,
) -> Result<(), Error> {
    match command {
        Command::SetPassword(args) => {
            let binding = resolve_binding(wallet, args.binding.as_deref())?;
            let password = secret(args.password.as_deref(), "payment password (6 digits): ")?;
            let status = wallet.set_payment_password(&binding, &password).await?;
            out.ok(
                "payment password set (only its verifier left the phone)",
                json!({ "binding": binding, "attempts_left": status.attempts_left }),
            );
        }
        Command::PayRemote(args) => pay(wallet, world, args, out).await?,
        Command::History(args) => {
            let payments = if args.sync {
                for binding in wallet.bindings()? {
                    wallet.sync_payment_history(&binding.binding_id).await?;
                }
                wallet.payment_history()?
            } else {
                wallet.payment_history()?
            };
            out.info(
                "remote payments, newest first",
                json!({
                    "count": payments.len(),
                    "payments": payments.iter().map(payment_json).collect::<Vec<_>>(),
                }),
            );
        }
        _ => {}
    }
    Ok(())
}

/// `pay-remote`: an order answered "already paid" whose receipt reached this phone's history
/// during this command (its earlier submission, unanswered then — the app died or the answer
/// was lost — re-sent now while asking for the SMS code) is reported paid; an order paid before
/// stays an `order_already_paid` error.
async fn pay(
    wallet: &Wallet,
    world: &World,
    args: &PayArgs,
    out: &mut Output,
) -> Result<(), Error> {
    let binding = resolve_binding(wallet, args.binding.as_deref())?;
    let receipt = |wallet: &Wallet| -> Result<Option<RemotePayment>, Error> {
        Ok(wallet
            .payment_history()?
            .into_iter()
            .find(|p| p.order_id == args.order && p.binding_id == binding))
    };
    let had_receipt = receipt(wallet)?.is_some();
    let already_paid = error_kind(&RemotePayError::OrderAlreadyPaid);
    match submit(wallet, world, &binding, args, out).await {
        Err(e) if e.kind() == already_paid && !had_receipt => match receipt(wallet)? {
            Some(payment) => {
                out.ok(
                    "paid (by this phone's earlier submission, answered now)",
                    payment_json(&payment),
                );
                Ok(())
            }
            None => Err(e),
        },
        other => other,
    }
}

/// Proves the payer and pays (see [`pay`]).
async fn submit(
    wallet: &Wallet,
    world: &World,
    binding: &str,
    args: &PayArgs,
    out: &mut Output,
) -> Result<(), Error> {
    let binding = binding.to_owned();
    let order = wallet.fetch_order(&args.order).await?;
    out.info("order", order_json(&order));
    let auth = match args.auth {
        AuthChoice::Se => {
            let card = resolve_card(wallet, &binding, args.se)?;
            PayAuth::Se {
                se_id: card.se_id,
                pin: secret(args.pin.as_deref(), "card PIN: ")?,
            }
        }
        AuthChoice::Password => PayAuth::Password {
            password: secret(args.password.as_deref(), "payment password: ")?,
        },
        AuthChoice::Sms => match (&args.challenge, &args.code) {
            (Some(challenge), Some(code)) => PayAuth::Sms {
                challenge_id: challenge.clone(),
                code: code.clone(),
            },
            _ => {
                let challenge = wallet.request_payment_sms(&binding, &args.order).await?;
                out.ok("SMS code sent", challenge_json(&challenge));
                let code = if args.code_from_outbox {
                    let phone = test_phone(wallet, &binding)?;
                    out.info(
                        "SMS code read from the mock SMS outbox (test only)",
                        json!({ "phone": phone }),
                    );
                    world.latest_sms_code(phone).await?
                } else if std::io::stdin().is_terminal() {
                    crate::commands::prompt("SMS code: ")?
                } else {
                    out.info(
                        "pay with the SMS code",
                        json!({ "command": format!(
                            "wallet pay-remote --order {} --auth sms --challenge {} --code <code>",
                            args.order, challenge.challenge_id
                        ) }),
                    );
                    return Ok(());
                };
                PayAuth::Sms {
                    challenge_id: challenge.challenge_id,
                    code,
                }
            }
        },
    };
    let payment = wallet.pay_order(&binding, &args.order, auth).await?;
    out.ok("paid", payment_json(&payment));
    Ok(())
}

/// The phone of the mock bank's test card behind `binding` (TEST ONLY: the outbox is by phone).
fn test_phone(wallet: &Wallet, binding: &str) -> Result<&'static str, Error> {
    let masked = wallet
        .bindings()?
        .into_iter()
        .find(|b| b.binding_id == binding)
        .map(|b| b.masked_pan)
        .ok_or_else(|| Error::usage(format!("no binding {binding}")))?;
    mock_backend::bank::test_cards::ALL
        .iter()
        .find(|card| {
            let digits = masked.replace('*', "");
            card.pan.len() == masked.len()
                && card.pan.starts_with(&digits[..digits.len().min(6)])
                && card
                    .pan
                    .ends_with(&digits[digits.len().saturating_sub(4)..])
        })
        .map(|card| card.phone)
        .ok_or_else(|| Error::usage("the binding is not one of the mock bank's test cards"))
}

/// The given secret, else one typed at the terminal.
fn secret(given: Option<&str>, label: &str) -> Result<String, Error> {
    match given {
        Some(value) => Ok(value.to_owned()),
        None if std::io::stdin().is_terminal() => crate::commands::prompt(label),
        None => Err(Error::usage(format!(
            "no terminal to ask for the {}: pass it as an option",
            label.trim_end_matches(": ")
        ))),
    }
}

/// An order for display.
pub fn order_json(o: &Order) -> serde_json::Value {
    json!({
        "order": o.order_id,
        "merchant": o.merchant_id,
        "merchant_name": o.merchant_name,
        "amount": yuan(o.amount),
        "currency": o.currency,
        "description": o.description,
        "status": o.status,
        "expires_at": o.expires_at,
    })
}

/// An SMS challenge for display.
pub fn challenge_json(c: &SmsChallenge) -> serde_json::Value {
    json!({ "challenge": c.challenge_id, "sent_to": c.sent_to })
}

/// A payment for display.
pub fn payment_json(p: &RemotePayment) -> serde_json::Value {
    json!({
        "payment": p.payment_id,
        "order": p.order_id,
        "merchant_name": p.merchant_name,
        "amount": yuan(p.amount),
        "auth": p.auth,
        "card": p.masked_pan,
        "clearing_date": p.clearing_date,
    })
}

/// Stable `--json` error kind of a remote-payment error.
pub fn error_kind(e: &RemotePayError) -> &'static str {
    use RemotePayError as E;
    match e {
        E::OrderNotFound => "remote.order_not_found",
        E::InvalidOrderId => "remote.invalid_order_id",
        E::MerchantNotFound => "remote.merchant_not_found",
        E::OrderExpired => "remote.order_expired",
        E::OrderAlreadyPaid => "remote.order_already_paid",
        E::OrderMismatch => "remote.order_mismatch",
        E::InsufficientFunds => "remote.insufficient_funds",
        E::PasswordWrong { .. } => "remote.password_wrong",
        E::PasswordLocked => "remote.password_locked",
        E::PasswordNotSet => "remote.password_not_set",
        E::InvalidPassword => "remote.invalid_password",
        E::SmsCodeWrong { .. } => "remote.sms_code_wrong",
        E::SmsCodeLocked => "remote.sms_code_locked",
        E::SmsCodeExpired => "remote.sms_code_expired",
        E::ChallengeNotFound => "remote.challenge_not_found",
        E::SignatureRejected => "remote.signature_rejected",
        E::Replay => "remote.replay",
        E::SeKeyNotRegistered => "remote.se_key_not_registered",
        E::PinWrong { .. } => "remote.pin_wrong",
        E::PinBlocked => "remote.pin_blocked",
        E::InvalidPin => "remote.invalid_pin",
        E::NoSeCard => "remote.no_se_card",
        E::CardStatus(_) => "remote.card_status",
        E::SeUnavailable => "remote.se_unavailable",
        E::BindingNotFound => "remote.binding_not_found",
        E::Signer(_) => "remote.signer",
        E::Se(_) => "remote.se",
        E::Message(_) => "remote.invalid_message",
        E::Backend(_) => "backend",
        E::Binding(_) => "binding",
        E::Store(_) => "store",
        E::Crypto(_) => "crypto",
    }
}

/// The demo's remote payments for `binding`: password (after a wrong one), SMS, and SE mode
/// when the card opened in `se_id` has a signing key; then a double payment refused and the
/// history.
pub async fn demo(
    out: &mut Output,
    wallet: &Wallet,
    world: &World,
    binding: &str,
    phone: &str,
    se_id: &str,
) -> Result<(), Error> {
    let merchant = CONVENIENCE_STORE.id;
    let status = wallet.set_payment_password(binding, DEMO_PASSWORD).await?;
    out.ok(
        "payment password set (only its PBKDF2 verifier left the phone)",
        json!({ "attempts_left": status.attempts_left }),
    );
    let order = merchant_order(world.url(), merchant, 2_500, "coffee beans", None).await?;
    out.ok("merchant order created", order_json(&order));
    let wrong = PayAuth::Password {
        password: "000000".into(),
    };
    match wallet.pay_order(binding, &order.order_id, wrong).await {
        Err(e @ wallet_core::WalletError::RemotePay(RemotePayError::PasswordWrong { .. })) => {
            out.expected_error("a wrong payment password", &Error::from(e));
        }
        Err(e) => return Err(e.into()),
        Ok(_) => return Err(Error::usage("a wrong payment password was accepted")),
    }
    let password = PayAuth::Password {
        password: DEMO_PASSWORD.into(),
    };
    let paid = wallet.pay_order(binding, &order.order_id, password).await?;
    out.ok(
        "paid ¥25.00 with the device key + payment password",
        payment_json(&paid),
    );
    let again = PayAuth::Password {
        password: DEMO_PASSWORD.into(),
    };
    match wallet.pay_order(binding, &order.order_id, again).await {
        Err(e @ wallet_core::WalletError::RemotePay(RemotePayError::OrderAlreadyPaid)) => {
            out.expected_error("paying the same order twice", &Error::from(e));
        }
        Err(e) => return Err(e.into()),
        Ok(_) => return Err(Error::usage("an order was paid twice")),
    }

    let order = merchant_order(world.url(), merchant, 1_880, "movie ticket", None).await?;
    out.ok("merchant order created", order_json(&order));
    let challenge = wallet.request_payment_sms(binding, &order.order_id).await?;
    out.ok("SMS code sent", challenge_json(&challenge));
    let code = world.latest_sms_code(phone).await?;
    let sms = PayAuth::Sms {
        challenge_id: challenge.challenge_id,
        code,
    };
    let paid = wallet.pay_order(binding, &order.order_id, sms).await?;
    out.ok(
        "paid ¥18.80 with the device key + SMS code",
        payment_json(&paid),
    );

    let order = merchant_order(world.url(), merchant, 990, "e-book", None).await?;
    out.ok("merchant order created", order_json(&order));
    let se = PayAuth::Se {
        se_id: se_id.to_owned(),
        pin: mock_backend::bank::test_cards::TEST_PIN.into(),
    };
    match wallet.pay_order(binding, &order.order_id, se).await {
        Ok(paid) => out.ok(
            "paid ¥9.90 in SE mode (the card's applet signed after the PIN)",
            payment_json(&paid),
        ),
        Err(wallet_core::WalletError::RemotePay(
            e @ (RemotePayError::SeUnavailable | RemotePayError::NoSeCard),
        )) => out.info(
            "SE-mode payment skipped",
            json!({ "reason": e.to_string() }),
        ),
        Err(e) => return Err(e.into()),
    }

    let history = wallet.sync_payment_history(binding).await?;
    out.ok(
        "payment history (synchronised with the remote payment system)",
        json!({
            "count": history.len(),
            "payments": history.iter().map(payment_json).collect::<Vec<_>>(),
        }),
    );
    Ok(())
}

/// The demo's payment password.
const DEMO_PASSWORD: &str = "135790";
