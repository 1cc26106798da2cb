//! `wallet demo`: every flow the project has, step by step, against the mock world.

use crate::cards::{card_json, hce_json, yuan, ProgressBar};
use crate::commands::{binding_json, open_phone, pending_json};
use crate::output::{anyhow_like::Error, Output};
use crate::tap::{LoadArgs, TapArgs, Via};
use crate::world::World;
use crate::Cli;
use mock_backend::bank::test_cards::{self, TestCard};
use serde_json::json;
use wallet_core::binding::{BindingError, BindingRequest};
use wallet_core::se::ReaderKind;
use wallet_core::{Wallet, WalletError};

/// Runs the demo in `--data-dir` or a fresh temporary directory.
pub async fn run(cli: &Cli, out: &mut Output) -> Result<(), Error> {
    let temp;
    let data_dir = match &cli.data_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = TempDir::new()?;
            temp.path.clone()
        }
    };
    out.section("mock world");
    let world = World::connect(cli.backend.as_deref(), &data_dir).await?;
    out.info(
        if world.is_embedded() {
            "embedded mock world started"
        } else {
            "using a running mock backend"
        },
        json!({ "url": world.url(), "data_dir": data_dir.display().to_string() }),
    );
    let result = flows(out, &world, &data_dir, cli.json).await;
    world.shutdown().await;
    result
}

async fn flows(
    out: &mut Output,
    world: &World,
    data_dir: &std::path::Path,
    json: bool,
) -> Result<(), Error> {
    let (wallet, se) = open_phone(data_dir, world.url())?;
    out.ok("wallet opened", json!({ "device_id": wallet.device_id() }));

    out.section("account binding: what the wallet refuses");
    let card = test_cards::DEBIT;
    let mut typo = request(&card);
    typo.pan = typo.pan.replace('4', "5");
    expect_error(
        out,
        "a mistyped card number is caught locally (Luhn)",
        wallet.begin_binding(&typo).await,
    )?;
    let mut wrong_name = request(&card);
    wrong_name.holder_name = "张四".into();
    expect_error(
        out,
        "the bank's real-name check rejects a wrong holder name",
        wallet.begin_binding(&wrong_name).await,
    )?;
    let mut unknown = request(&card);
    unknown.pan = test_cards::UNKNOWN_PAN.into();
    expect_error(
        out,
        "a card the bank does not know",
        wallet.begin_binding(&unknown).await,
    )?;
    expect_error(
        out,
        "a blocked card",
        wallet.begin_binding(&request(&test_cards::BLOCKED)).await,
    )?;

    out.section("account binding: debit card");
    let binding = bind(out, &wallet, world, &card, true).await?;

    out.section("air card opening: debit card into the eSE (SCP03 over GP SERAM)");
    let card = wallet
        .open_card(
            &binding,
            Some(ReaderKind::Ese),
            10_000,
            Some(ProgressBar::new(!json)),
        )
        .await?;
    out.ok(
        "TSM installed and personalised the card, loaded ¥100.00 e-cash",
        card_json(&card),
    );
    let balance = wallet.ecash_balance(&binding, &card.se_id).await?;
    out.ok(
        "e-cash balance read from the SE",
        json!({ "balance": yuan(balance) }),
    );
    out.ok(
        "card locked",
        card_json(&wallet.lock_card(&binding, &card.se_id).await?),
    );
    expect_error(
        out,
        "a locked card's balance cannot be read",
        wallet.ecash_balance(&binding, &card.se_id).await,
    )?;
    out.ok(
        "card unlocked",
        card_json(&wallet.unlock_card(&binding, &card.se_id).await?),
    );
    out.ok(
        "card status read by the TSM",
        card_json(&wallet.card_status(&binding, &card.se_id).await?),
    );

    out.section("near-field payment: the POS terminal taps the phone");
    let mut terminal = crate::tap::terminal(world.url(), Some(data_dir))?;
    for (amount, via) in [("12.34", Via::Se), ("888.00", Via::Se)] {
        let args = TapArgs {
            amount: amount.into(),
            via: Some(via),
            se: None,
            trace: None,
            reader: None,
            wait: 0,
        };
        crate::tap::tap(&wallet, &se, &mut terminal, &args, out).await?;
    }
    out.ok(
        "HCE card provisioned (token + limited-use keys)",
        hce_json(&wallet.open_hce_card(&binding).await?),
    );
    let args = TapArgs {
        amount: "23.45".into(),
        via: Some(Via::Hce),
        se: None,
        trace: None,
        reader: None,
        wait: 0,
    };
    crate::tap::tap(&wallet, &se, &mut terminal, &args, out).await?;

    out.section("e-cash load (圈存) at a load terminal: account → SE card");
    let load = LoadArgs {
        amount: "50.00".into(),
        via: Via::Se,
        se: None,
    };
    crate::tap::load_ecash(&wallet, &se, &mut terminal, &load, out).await?;
    let balance = wallet.ecash_balance(&binding, &card.se_id).await?;
    out.ok(
        "e-cash balance read from the SE after the load",
        json!({ "balance": yuan(balance) }),
    );

    out.section("remote payment: merchant orders paid in-app (non-SE and SE mode)");
    crate::remote::demo(
        out,
        &wallet,
        world,
        &binding,
        test_cards::DEBIT.phone,
        &card.se_id,
    )
    .await?;

    out.section("credit card: bind, open in the microSD (legacy SCP02), delete, unbind");
    let credit = bind(out, &wallet, world, &test_cards::CREDIT, false).await?;
    let sd_card = wallet
        .open_card(
            &credit,
            Some(ReaderKind::Sd),
            0,
            Some(ProgressBar::new(!json)),
        )
        .await?;
    out.ok("card opened in the microSD", card_json(&sd_card));
    out.ok(
        "card deleted from the microSD",
        card_json(&wallet.delete_card(&credit, &sd_card.se_id).await?),
    );
    wallet.unbind(&credit).await?;
    out.ok(
        "credit card unbound (the bank revoked its device key)",
        json!({ "binding": credit }),
    );

    let bindings = wallet.bindings()?;
    out.ok(
        "bound cards",
        json!({ "count": bindings.len(), "cards": bindings.iter().map(binding_json).collect::<Vec<_>>() }),
    );
    if !bindings.iter().any(|b| b.binding_id == binding) {
        return Err(Error::usage("the debit binding went missing"));
    }
    Ok(())
}

/// Binds `card`; with `show_wrong_code`, first tries a wrong code to show the attempts counter.
async fn bind(
    out: &mut Output,
    wallet: &Wallet,
    world: &World,
    card: &TestCard,
    show_wrong_code: bool,
) -> Result<String, Error> {
    let pending = wallet.begin_binding(&request(card)).await?;
    out.ok(
        "bank checked card and real name, SMS code sent",
        pending_json(&pending),
    );
    let code = world.latest_sms_code(card.phone).await?;
    if show_wrong_code {
        let wrong = if code == "000000" { "111111" } else { "000000" };
        expect_error(
            out,
            "a wrong SMS code",
            wallet.confirm_binding(&pending.session_id, wrong).await,
        )?;
    }
    out.info(
        "SMS code read from the mock SMS outbox (test only)",
        json!({ "phone": card.phone }),
    );
    let binding = wallet.confirm_binding(&pending.session_id, &code).await?;
    out.ok("device key registered, card bound", binding_json(&binding));
    Ok(binding.binding_id)
}

fn request(card: &TestCard) -> BindingRequest {
    BindingRequest {
        pan: card.pan.into(),
        holder_name: card.holder_name.into(),
        id_number: card.id_number[card.id_number.len() - 6..].into(),
        phone: card.phone.into(),
    }
}

/// Records an expected typed error; an unexpected success is a demo failure.
fn expect_error<T>(
    out: &mut Output,
    step: &str,
    result: Result<T, WalletError>,
) -> Result<(), Error> {
    match result {
        Ok(_) => Err(Error::usage(format!("expected an error: {step}"))),
        Err(WalletError::Binding(BindingError::Backend(e))) => {
            Err(Error::from(WalletError::Backend(e)))
        }
        Err(e) => {
            out.expected_error(step, &Error::from(e));
            Ok(())
        }
    }
}

/// A temporary directory removed on drop.
struct TempDir {
    path: std::path::PathBuf,
}

impl TempDir {
    fn new() -> Result<Self, Error> {
        let suffix =
            wallet_core::crypto::random::hex_id(6).map_err(|e| Error::usage(e.to_string()))?;
        let path = std::env::temp_dir().join(format!("wallet-demo-{suffix}"));
        std::fs::create_dir_all(&path)
            .map_err(|e| Error::usage(format!("cannot create {}: {e}", path.display())))?;
        Ok(Self { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
