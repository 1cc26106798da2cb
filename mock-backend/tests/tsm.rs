//! The TSM side end to end: a bound card, a signed order, the GP SERAM session run by the core's
//! local agent against the SE simulator, and the card as the SE and the TSM then know it.
//! Covers the round-trip budget (3 for SCP03 SEs), lock / unlock / status / delete, every
//! topology, the order API's refusals, malformed SERAM messages and interrupted openings; the
//! opened card paying at a terminal (online and offline e-cash), checked by the issuer with the
//! device PAN the TSM recorded; and the e-cash refund of a deleted card.

mod common;
#[path = "tsm/payment.rs"]
mod payment;
#[path = "tsm/refund.rs"]
mod refund;
#[path = "tsm/se_payment_key.rs"]
mod se_payment_key;
#[path = "tsm/terminal.rs"]
mod terminal;

use common::{expect_error, ok_json, Harness, TestResult};
use mock_backend::bank::test_cards::{self, TestCard};
use mock_backend::se_sim::{PaymentApplet, SharedSe, SimulatedSe, SimulatedSeTransport};
use mock_backend::tsm::perso::{derive_icc_keys, CARD_CRYPTO, DEVICE_PAN_BIN};
use mock_backend::world_keys::SSD_AID;
use mock_backend::{MockWorld, MockWorldConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use wallet_core::backend::api::tsm::{
    failures, CardLifeCycle, CardOperation, CardOrderRequest, OrderAccepted, OrderSecureElement,
    OrderState, OrderStatus, Topology, TsmEntity, TsmRole, PATH_TSM_ORDERS,
};
use wallet_core::backend::api::BindingRecord;
use wallet_core::card::aids;
use wallet_core::crypto::ecdsa::P256SigningKey;
use wallet_core::crypto::random;
use wallet_core::gp::AppLifeCycle;
use wallet_core::ota::seram::RemoteManagementOrder;
use wallet_core::ota::{identity, AgentConfig, LocalAgent, OtaOutcome};
use wallet_core::se::{ReaderKind, SeService};

/// A phone: its SEs (the simulator), its device key, its binding.
struct Phone {
    se: Arc<SimulatedSeTransport>,
    key: P256SigningKey,
    binding: BindingRecord,
}

async fn phone(h: &Harness, card: &TestCard) -> TestResult<Phone> {
    let key = P256SigningKey::generate()?;
    let binding = h.bind(card, &key).await?;
    Ok(Phone {
        se: Arc::new(SimulatedSeTransport::in_memory()?),
        key,
        binding,
    })
}

async fn world(topology: Topology) -> TestResult<Harness> {
    let world = MockWorld::start(MockWorldConfig {
        topology,
        ..MockWorldConfig::default()
    })
    .await?;
    Ok(Harness {
        world,
        http: reqwest::Client::new(),
    })
}

impl Phone {
    /// The SE of `kind` as the wallet names it (GET DATA CF through the SE service).
    fn target(&self, kind: ReaderKind) -> TestResult<OrderSecureElement> {
        let service = SeService::new(self.se.clone());
        let reader = service.reader(mock_backend::world_keys::reader_name(kind))?;
        Ok(OrderSecureElement::from(&identity::describe(&reader)))
    }

    fn request(
        &self,
        op: CardOperation,
        se: OrderSecureElement,
        load: Option<u64>,
        now: u64,
    ) -> TestResult<CardOrderRequest> {
        let mut request = CardOrderRequest {
            binding_id: self.binding.binding_id.clone(),
            operation: op,
            se,
            initial_ecash_load: load,
            timestamp: now,
            nonce: random::hex_id(16)?,
            signature: String::new(),
        };
        request.signature = hex::encode(self.key.sign(&request.signing_message())?);
        Ok(request)
    }

    async fn order(
        &self,
        h: &Harness,
        op: CardOperation,
        kind: ReaderKind,
        load: Option<u64>,
    ) -> TestResult<OrderAccepted> {
        let request = self.request(op, self.target(kind)?, load, h.now())?;
        ok_json(
            h.post(PATH_TSM_ORDERS, &request, Some(&random::hex_id(8)?))
                .await?,
        )
        .await
    }

    /// The core's local agent runs the order's session.
    async fn run(
        &self,
        h: &Harness,
        accepted: &OrderAccepted,
        kind: ReaderKind,
    ) -> TestResult<OtaOutcome> {
        // Offer the SE under the identity the order named, as the wallet's card manager does.
        let reader = mock_backend::world_keys::reader_name(kind).to_owned();
        let config = AgentConfig {
            allow_http: true,
            preferred_kind: Some(kind),
            retry_window: Duration::from_secs(2),
            se_identities: vec![(reader, self.target(kind)?.to_seram())],
            ..AgentConfig::default()
        };
        let agent = LocalAgent::new(SeService::new(self.se.clone()), config);
        Ok(agent
            .run(&h.url(&accepted.ra_endpoint), &accepted.session_id)
            .await?)
    }

    /// Order, session, final status.
    async fn perform(
        &self,
        h: &Harness,
        op: CardOperation,
        kind: ReaderKind,
        load: Option<u64>,
    ) -> TestResult<(OrderStatus, u32)> {
        let accepted = self.order(h, op, kind, load).await?;
        let outcome = self.run(h, &accepted, kind).await?;
        let status = order_status(h, &accepted.order_id).await?;
        Ok((status, outcome.round_trips))
    }

    /// The SE's view of the instance: (life cycle, e-cash balance read with SELECT + GET DATA).
    fn on_se(&self, kind: ReaderKind, aid: &[u8]) -> (Option<u8>, Option<String>) {
        let shared = self.se.se(kind);
        let mut se = lock(&shared);
        let life_cycle = se.entry(aid).map(|e| e.life_cycle.value());
        let mut select = vec![0x00, 0xA4, 0x04, 0x00, aid.len() as u8];
        select.extend_from_slice(aid);
        select.push(0x00);
        let selected = se.transmit(&select);
        let balance = (selected.ends_with(&[0x90, 0x00]))
            .then(|| hex::encode_upper(se.transmit(&[0x80, 0xCA, 0x9F, 0x79, 0x00])));
        se.reset(); // leave nothing selected
        (life_cycle, balance)
    }

    fn instances(&self, kind: ReaderKind, aid: &[u8]) -> usize {
        let shared = self.se.se(kind);
        let se = lock(&shared);
        se.registry()
            .entries
            .iter()
            .filter(|e| e.aid.as_bytes() == aid)
            .count()
    }
}

/// Asserts that the order completed in `trips` HTTP round trips.
fn completed(status: &OrderStatus, round_trips: u32, trips: u32) {
    assert_eq!(
        (status.status, round_trips),
        (OrderState::Completed, trips),
        "{status:?}"
    );
}

/// The account balance of `card` at the bank.
fn bank_balance(h: &Harness, card: &TestCard) -> TestResult<i64> {
    let account = h.world.state().bank().account(card.pan)?;
    Ok(account.ok_or("no account")?.balance_fen)
}

/// The simulated SE, locked.
fn lock(se: &SharedSe) -> std::sync::MutexGuard<'_, SimulatedSe> {
    se.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Posts an order and expects it refused with `status` and `code`.
async fn refused<T: serde::Serialize>(
    h: &Harness,
    order: &T,
    status: u16,
    code: &str,
) -> TestResult {
    expect_error(h.post(PATH_TSM_ORDERS, order, None).await?, status, code).await?;
    Ok(())
}

async fn order_status(h: &Harness, order_id: &str) -> TestResult<OrderStatus> {
    ok_json(h.get(&format!("{PATH_TSM_ORDERS}/{order_id}")).await?).await
}

fn card_of(status: &OrderStatus) -> TestResult<&wallet_core::backend::api::tsm::TsmCard> {
    Ok(status
        .card
        .as_ref()
        .ok_or_else(|| format!("no card in {status:?}"))?)
}

#[tokio::test]
async fn card_opening_takes_three_round_trips_and_personalises_the_se() -> TestResult {
    let h = world(Topology::Direct).await?;
    let phone = phone(&h, &test_cards::DEBIT).await?;
    let (status, round_trips) = phone
        .perform(&h, CardOperation::Open, ReaderKind::Ese, Some(10_000))
        .await?;
    assert_eq!(status.status, OrderState::Completed, "{status:?}");
    assert_eq!((round_trips, status.seram_requests), (3, 3));
    let card = card_of(&status)?;
    assert_eq!(card.instance_aid, "A000000333010101");
    assert_eq!(card.life_cycle, CardLifeCycle::Active);
    assert_eq!(card.ecash_balance, Some(10_000));
    assert!(card.masked_pan.starts_with("628888") && !card.masked_pan.starts_with("622202"));
    // The SE: one selectable, personalised instance with the balance; the SSD with its keys.
    let (life_cycle, balance) = phone.on_se(ReaderKind::Ese, &aids::DEBIT);
    let life_cycle = AppLifeCycle::from_byte(life_cycle.ok_or("no instance")?)?;
    assert!(life_cycle.is_selectable(), "{life_cycle:?}");
    assert_eq!(balance.as_deref(), Some("9F79060000000100009000"));
    let shared = phone.se.se(ReaderKind::Ese);
    let se = lock(&shared);
    let ssd = se
        .entry(&SSD_AID)
        .and_then(|e| e.domain())
        .ok_or("no SSD")?;
    assert_eq!(ssd.keys.as_ref().map(|k| k.version()), Some(0x30));
    // What the applet received (DGI 8000 decrypted with the ISD's DEK): a device PAN and the
    // ICC master keys derived from the issuer master keys for it.
    let applet = se
        .entry(&aids::DEBIT)
        .and_then(|e| e.applet())
        .ok_or("no applet")?;
    let restored = PaymentApplet::restore(&applet.save())?;
    let perso = restored.personalization().ok_or("not personalised")?;
    assert!(perso.pan.starts_with(DEVICE_PAN_BIN) && perso.pan != test_cards::DEBIT.pan);
    assert_eq!(
        perso.keys,
        derive_icc_keys(CARD_CRYPTO, &perso.pan, perso.pan_sequence)?
    );
    assert_eq!(perso.ecash.map(|e| e.balance), Some(10_000));
    drop(se);
    // The load came out of the account, once.
    assert_eq!(
        bank_balance(&h, &test_cards::DEBIT)?,
        test_cards::DEBIT.balance_fen - 10_000
    );
    Ok(())
}

#[tokio::test]
async fn lock_unlock_status_and_delete() -> TestResult {
    let h = world(Topology::Direct).await?;
    let phone = phone(&h, &test_cards::E_CASH).await?;
    let kind = ReaderKind::Sim;
    let (opened, _) = phone
        .perform(&h, CardOperation::Open, kind, Some(2_500))
        .await?;
    assert_eq!(opened.status, OrderState::Completed, "{opened:?}");

    let (locked, round_trips) = phone.perform(&h, CardOperation::Lock, kind, None).await?;
    assert_eq!(
        (card_of(&locked)?.life_cycle, round_trips),
        (CardLifeCycle::Locked, 3)
    );
    let (life_cycle, balance) = phone.on_se(kind, &aids::E_CASH);
    assert!(AppLifeCycle::from_byte(life_cycle.ok_or("no instance")?)?.is_locked());
    assert_eq!(balance, None, "a locked instance cannot be selected");
    let again = phone.request(CardOperation::Lock, phone.target(kind)?, None, h.now())?;
    refused(&h, &again, 409, "INVALID_STATE").await?;

    let (status, _) = phone.perform(&h, CardOperation::Status, kind, None).await?;
    assert_eq!(card_of(&status)?.life_cycle, CardLifeCycle::Locked);
    let (unlocked, _) = phone.perform(&h, CardOperation::Unlock, kind, None).await?;
    assert_eq!(card_of(&unlocked)?.life_cycle, CardLifeCycle::Active);
    let (status, _) = phone.perform(&h, CardOperation::Status, kind, None).await?;
    assert_eq!(
        (
            card_of(&status)?.life_cycle,
            card_of(&status)?.ecash_balance
        ),
        (CardLifeCycle::Active, Some(2_500))
    );

    let (deleted, _) = phone.perform(&h, CardOperation::Delete, kind, None).await?;
    assert_eq!(card_of(&deleted)?.life_cycle, CardLifeCycle::Deleted);
    assert_eq!(phone.instances(kind, &aids::E_CASH), 0);
    let again = phone.request(CardOperation::Status, phone.target(kind)?, None, h.now())?;
    refused(&h, &again, 409, "CARD_NOT_FOUND").await?;
    // A deleted card can be opened again (a new device PAN).
    let (reopened, _) = phone.perform(&h, CardOperation::Open, kind, None).await?;
    assert_eq!(card_of(&reopened)?.life_cycle, CardLifeCycle::Active);
    assert_ne!(card_of(&reopened)?.masked_pan, card_of(&opened)?.masked_pan);
    Ok(())
}

#[tokio::test]
async fn every_topology_opens_a_card_and_records_its_route() -> TestResult {
    for (topology, entity) in [
        (Topology::Direct, TsmEntity::Tsm),
        (Topology::Convergence, TsmEntity::FinancialTsm),
        (Topology::Mtps, TsmEntity::ApplicationProviderTsm),
    ] {
        let h = world(topology).await?;
        let phone = phone(&h, &test_cards::CREDIT).await?;
        let (status, round_trips) = phone
            .perform(&h, CardOperation::Open, ReaderKind::Sim, None)
            .await?;
        assert_eq!(
            (status.status, round_trips),
            (OrderState::Completed, 3),
            "{topology:?}: {status:?}"
        );
        assert_eq!(status.route.topology, topology);
        assert_eq!(
            status.route.hops.first().map(|hop| (hop.entity, hop.role)),
            Some((entity, TsmRole::Front))
        );
        let hub = status
            .route
            .hops
            .iter()
            .any(|hop| hop.entity == TsmEntity::Mtps && hop.role == TsmRole::Hub);
        assert_eq!(hub, topology == Topology::Mtps);
        if topology == Topology::Mtps {
            // The platform named the bank's TSM and, for a SIM, the operator's TSM.
            let names: Vec<_> = status
                .route
                .hops
                .iter()
                .map(|hop| hop.name.as_deref())
                .collect();
            let bank = Some("bank-2-tsm");
            assert_eq!(
                names,
                [bank, bank, Some("mtps"), Some("se-issuer-operator-tsm")]
            );
        }
        let registry: Value = ok_json(h.get("/mtps/v1/registry").await?).await?;
        let registered = registry["secure_elements"].as_array().map_or(0, Vec::len);
        assert_eq!(
            registered,
            usize::from(topology == Topology::Mtps),
            "{topology:?}"
        );
        assert_eq!(phone.instances(ReaderKind::Sim, &aids::CREDIT), 1);
    }
    Ok(())
}

#[tokio::test]
async fn legacy_scp02_sd_needs_one_more_round_trip() -> TestResult {
    let h = world(Topology::Direct).await?;
    let phone = phone(&h, &test_cards::QUASI_CREDIT).await?;
    let (status, round_trips) = phone
        .perform(&h, CardOperation::Open, ReaderKind::Sd, Some(100))
        .await?;
    completed(&status, round_trips, 4);
    assert_eq!(
        phone
            .on_se(ReaderKind::Sd, &aids::QUASI_CREDIT)
            .1
            .as_deref(),
        Some("9F79060000000001009000")
    );
    Ok(())
}

#[tokio::test]
async fn orders_are_authenticated_and_checked() -> TestResult {
    let h = world(Topology::Direct).await?;
    let phone = phone(&h, &test_cards::DEBIT).await?;
    let se = phone.target(ReaderKind::Ese)?;
    let now = h.now();

    let mut forged = phone.request(CardOperation::Open, se.clone(), None, now)?;
    forged.initial_ecash_load = Some(1); // not what was signed
    refused(&h, &forged, 401, "SIGNATURE_INVALID").await?;
    let stale = phone.request(CardOperation::Open, se.clone(), None, now - 301)?;
    refused(&h, &stale, 409, "REPLAY").await?;
    let mut unknown = phone.request(CardOperation::Open, se.clone(), None, now)?;
    unknown.binding_id = "no-such-binding".into();
    refused(&h, &unknown, 404, "BINDING_NOT_FOUND").await?;
    let not_kdd = OrderSecureElement {
        se_id: "eSE1".into(),
        ..se.clone()
    };
    let request = phone.request(CardOperation::Open, not_kdd, None, now)?;
    refused(&h, &request, 422, "UNKNOWN_SE").await?;
    let request = phone.request(CardOperation::Open, se.clone(), Some(100_001), now)?;
    refused(&h, &request, 422, "ECASH_LOAD_REFUSED").await?;
    let request = phone.request(CardOperation::Lock, se.clone(), None, now)?;
    refused(&h, &request, 409, "CARD_NOT_FOUND").await?;
    let bad = json!({"binding_id": phone.binding.binding_id, "operation": "explode"});
    refused(&h, &bad, 400, "BAD_REQUEST").await?;

    // The same nonce twice: refused; the same idempotency key: the first answer again.
    let request = phone.request(CardOperation::Open, se.clone(), None, now)?;
    let first: OrderAccepted =
        ok_json(h.post(PATH_TSM_ORDERS, &request, Some("k-1")).await?).await?;
    let replayed: OrderAccepted =
        ok_json(h.post(PATH_TSM_ORDERS, &request, Some("k-1")).await?).await?;
    assert_eq!(first, replayed);
    refused(&h, &request, 409, "REPLAY").await?;
    expect_error(
        h.get(&format!("{PATH_TSM_ORDERS}/nope")).await?,
        404,
        "ORDER_NOT_FOUND",
    )
    .await?;

    // Once open, a second opening is refused; a revoked binding orders nothing.
    let outcome = phone.run(&h, &first, ReaderKind::Ese).await?;
    assert_eq!(outcome.round_trips, 3);
    let request = phone.request(CardOperation::Open, se.clone(), None, h.now())?;
    refused(&h, &request, 409, "CARD_EXISTS").await?;
    let unbind = common::signed_unbind(&phone.key, &phone.binding.binding_id, h.now(), "aa01")?;
    let _: BindingRecord = ok_json(h.unbind(&phone.binding.binding_id, &unbind).await?).await?;
    let request = phone.request(CardOperation::Status, se, None, h.now())?;
    refused(&h, &request, 409, "BINDING_REVOKED").await?;
    Ok(())
}

/// Raw SERAM requests.
async fn seram(
    h: &Harness,
    endpoint: &str,
    session: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> TestResult<reqwest::Response> {
    let mut url = h.url(&format!("/tsm/v1/seram/{endpoint}"));
    if let Some(session) = session {
        url = format!("{url}?sessionId={session}");
    }
    let request = h
        .http
        .post(url)
        .header("Content-Type", "application/json")
        .body(body);
    Ok(request.send().await?)
}

fn handshake_body(se: &OrderSecureElement) -> String {
    json!({"secureElements": [{"seType": se.se_type_name(), "seId": se.se_id}]}).to_string()
}

const POLL: &str =
    r#"{"localAgentStatus":{"localAgentStatusEnum":"POLLING","executedSeRamCommands":0}}"#;

#[tokio::test]
async fn malformed_seram_messages_get_clear_answers() -> TestResult {
    let h = world(Topology::Direct).await?;
    let phone = phone(&h, &test_cards::DEBIT).await?;
    let se = phone.target(ReaderKind::Ese)?;
    let accepted = phone
        .order(&h, CardOperation::Open, ReaderKind::Ese, None)
        .await?;
    let s = Some(accepted.session_id.as_str());
    let hello = handshake_body(&se);
    let other_se = json!({"secureElements": [{"seType": "eSE", "seId": "00000000000000000000"}]});
    let old = json!({"secureElements": [{"seType": "eSE", "seId": se.se_id}], "supportedVersions": ["1.0.0"]});
    let cbor = json!({"secureElements": [{"seType": "eSE", "seId": se.se_id}], "supportedDataFormats": ["application/cbor"]});
    let before_handshake = [
        (
            "handshake",
            Some("unknown"),
            hello.clone(),
            StatusCode::NOT_FOUND,
            "unknown session",
        ),
        (
            "handshake",
            None,
            hello.clone(),
            StatusCode::BAD_REQUEST,
            "no sessionId",
        ),
        (
            "handshake",
            s,
            "{not json".into(),
            StatusCode::BAD_REQUEST,
            "bad JSON",
        ),
        (
            "remoteManagement",
            s,
            POLL.into(),
            StatusCode::BAD_REQUEST,
            "report before handshake",
        ),
        (
            "handshake",
            s,
            other_se.to_string(),
            StatusCode::NOT_ACCEPTABLE,
            "order's SE not offered",
        ),
        (
            "handshake",
            s,
            old.to_string(),
            StatusCode::NOT_ACCEPTABLE,
            "version",
        ),
        (
            "handshake",
            s,
            cbor.to_string(),
            StatusCode::NOT_ACCEPTABLE,
            "data format",
        ),
    ];
    for (endpoint, session, body, expected, why) in before_handshake {
        assert_eq!(
            seram(&h, endpoint, session, body).await?.status(),
            expected,
            "{why}"
        );
    }
    let chosen: Value = ok_json(seram(&h, "handshake", s, hello).await?).await?;
    let expected = json!({"chosenTransportProtocol": "HTTPS", "chosenDataFormat": "application/json", "chosenVersion": "2.0.0"});
    assert_eq!(chosen, expected);

    let processed = r#"{"localAgentStatus":{"localAgentStatusEnum":"PROCESSED"},"ramResponses":"#;
    let pad = "A".repeat(300_000);
    let bad_reports = [
        (
            format!(r#"{processed}[{{"ramResponseType":"fooResponse"}}]}}"#),
            "fooResponse",
        ),
        (
            format!(
                r#"{processed}[{{"ramResponseType":"seRamResponse","listOfRAPDU":["9f00"]}}]}}"#
            ),
            "hex",
        ),
        (
            format!(r#"{{"localAgentStatus":{{"localAgentStatusEnum":"POLLING"}},"pad":"{pad}"}}"#),
            "larger than",
        ),
    ];
    for (body, says) in bad_reports {
        let response = seram(&h, "remoteManagement", s, body).await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.text().await?.contains(says), "{says}");
    }

    // The first poll gets Start and the batch; the same poll again gets the same order.
    let first: RemoteManagementOrder =
        ok_json(seram(&h, "remoteManagement", s, POLL).await?).await?;
    let again: RemoteManagementOrder =
        ok_json(seram(&h, "remoteManagement", s, POLL).await?).await?;
    assert_eq!(first, again);
    assert_eq!(first.delay, Some(0));
    let chosen = first.chosen_secure_element.map(|c| c.se_id);
    assert_eq!(chosen.as_deref(), Some(se.se_id.as_str()));
    Ok(())
}

/// Delivers the first batch of a new opening and executes its first `count` C-APDUs on the SE
/// (all of them for `None`), as a phone that dies before reporting would.
async fn interrupted_opening(
    h: &Harness,
    phone: &Phone,
    kind: ReaderKind,
    count: Option<usize>,
) -> TestResult<String> {
    let se = phone.target(kind)?;
    let accepted = phone
        .order(h, CardOperation::Open, kind, Some(3_000))
        .await?;
    let s = Some(accepted.session_id.as_str());
    let _: Value = ok_json(seram(h, "handshake", s, handshake_body(&se)).await?).await?;
    let order: RemoteManagementOrder =
        ok_json(seram(h, "remoteManagement", s, POLL).await?).await?;
    let capdus: Vec<Vec<u8>> = order
        .ram_commands
        .iter()
        .filter_map(|c| match c {
            wallet_core::ota::seram::RamCommand::SeRam(c) => Some(c.list_of_capdu.clone()),
            _ => None,
        })
        .flatten()
        .map(hex::decode)
        .collect::<Result<_, _>>()?;
    let shared = phone.se.se(kind);
    let mut card = lock(&shared);
    for capdu in capdus.iter().take(count.unwrap_or(capdus.len())) {
        card.transmit(capdu);
    }
    card.reset(); // the phone died: the SE powers down
    Ok(accepted.order_id)
}

#[tokio::test]
async fn an_interrupted_opening_converges_on_one_personalised_instance() -> TestResult {
    let h = world(Topology::Direct).await?;
    let phone = phone(&h, &test_cards::DEBIT).await?;
    let kind = ReaderKind::Ese;

    // Killed after the whole script ran: the next order finds the card complete (3 trips).
    let first = interrupted_opening(&h, &phone, kind, None).await?;
    let (status, round_trips) = phone
        .perform(&h, CardOperation::Open, kind, Some(3_000))
        .await?;
    completed(&status, round_trips, 3);
    assert_eq!(card_of(&status)?.ecash_balance, Some(3_000));
    assert_eq!(phone.instances(kind, &aids::DEBIT), 1);
    let superseded = order_status(&h, &first).await?;
    assert_eq!(
        superseded.failure.map(|f| f.code).as_deref(),
        Some(failures::SUPERSEDED)
    );
    assert_eq!(
        bank_balance(&h, &test_cards::DEBIT)?,
        test_cards::DEBIT.balance_fen - 3_000,
        "debited once"
    );
    Ok(())
}

#[tokio::test]
async fn a_half_personalised_instance_is_replaced_and_a_lost_batch_resynchronises() -> TestResult {
    let h = world(Topology::Direct).await?;
    let phone = phone(&h, &test_cards::DEBIT).await?;
    let kind = ReaderKind::Ese;

    // Killed in the middle of STORE DATA: an installed, unselectable instance is left. The
    // next order probes, then installs again (one more trip).
    interrupted_opening(&h, &phone, kind, Some(12)).await?;
    assert_eq!(
        phone.on_se(kind, &aids::DEBIT).0,
        Some(AppLifeCycle::INSTALLED.value())
    );
    let (status, round_trips) = phone
        .perform(&h, CardOperation::Open, kind, Some(3_000))
        .await?;
    completed(&status, round_trips, 4);
    assert_eq!(phone.instances(kind, &aids::DEBIT), 1);
    assert_eq!(
        phone.on_se(kind, &aids::DEBIT).1.as_deref(),
        Some("9F79060000000030009000")
    );
    Ok(())
}

#[tokio::test]
async fn a_batch_that_never_ran_costs_a_counter_resynchronisation() -> TestResult {
    let h = world(Topology::Direct).await?;
    let phone = phone(&h, &test_cards::CREDIT).await?;
    let kind = ReaderKind::Ese;
    // Delivered, never executed: the TSM's predicted counter is one ahead of the SE.
    interrupted_opening(&h, &phone, kind, Some(0)).await?;
    let (status, round_trips) = phone
        .perform(&h, CardOperation::Open, kind, Some(3_000))
        .await?;
    assert_eq!(status.status, OrderState::Completed, "{status:?}");
    // Handshake, probe (wrong counter), probe, install, Stop.
    assert_eq!(round_trips, 5);
    assert_eq!(phone.instances(kind, &aids::CREDIT), 1);
    Ok(())
}

#[tokio::test]
async fn a_backend_killed_mid_opening_converges_after_restart() -> TestResult {
    let dir = tempfile::tempdir()?;
    let config = MockWorldConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..MockWorldConfig::default()
    };
    let h = Harness {
        world: MockWorld::start(config.clone()).await?,
        http: reqwest::Client::new(),
    };
    let phone = phone(&h, &test_cards::DEBIT).await?;
    let kind = ReaderKind::Sim;
    let lost = interrupted_opening(&h, &phone, kind, Some(9)).await?;
    let Harness { world, http } = h;
    drop(http); // its idle connections would keep the old world's state (and sled lock) alive
    world.shutdown().await;

    // sled releases its file lock shortly after the last handle goes: retry for a while.
    let mut attempts = 0;
    let world = loop {
        match MockWorld::start(config.clone()).await {
            Ok(world) => break world,
            Err(_) if attempts < 100 => attempts += 1,
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let h = Harness {
        world,
        http: reqwest::Client::new(),
    };
    let status = order_status(&h, &lost).await?;
    let code = status.failure.map(|f| f.code);
    assert_eq!(code.as_deref(), Some(failures::SESSION_LOST));
    let (status, round_trips) = phone
        .perform(&h, CardOperation::Open, kind, Some(3_000))
        .await?;
    completed(&status, round_trips, 4);
    assert_eq!(phone.instances(kind, &aids::DEBIT), 1);
    Ok(())
}
