//! The command exchange and SE RAM execution against the in-memory SE (no HTTP): the spec's
//! Local Agent Behaviour rules, one per test.

use std::sync::{Arc, Mutex};

use super::agent::{inventory, ExecutionFailure};
use super::exchange::{CommandExchange, Step};
use super::executor::SeRamExecutor;
use super::progress::{OtaListener, OtaProgress, Progress};
use super::seram::*;
use super::OtaError;
use crate::se::fake::{Call, FakeSe};
use crate::se::{SeError, SeService};

const AID: &str = "A000000333010101";
const SELECT_AID: &str = "00A4040008A00000033301010100";
const SELECT_RESPONSE: &str = "6F0A8408A0000003330101019000";
const GET_CPLC: &str = "80CA9F7F00";

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[derive(Default)]
struct Notes(Mutex<Vec<String>>);

impl OtaListener for Notes {
    fn on_progress(&self, _: OtaProgress) {}
    fn on_notification(&self, message: String) {
        self.0.lock().unwrap().push(message);
    }
}

/// eSE1 and SIM1 present; the ISD (default) answers `6D00`, the payment applet echoes its INS.
fn fake() -> Arc<FakeSe> {
    Arc::new(
        FakeSe::new(&[("eSE1", true), ("SIM1", true)])
            .with_applet(&hex("A000000151000000"), &hex("9000"), |_| hex("6D00"))
            .with_applet(&hex(AID), &hex(SELECT_RESPONSE), |c| {
                vec![c.get(1).copied().unwrap_or(0), 0x90, 0x00]
            }),
    )
}

fn exchange(se: &Arc<FakeSe>) -> (CommandExchange, Arc<Notes>) {
    let notes = Arc::new(Notes::default());
    let targets = inventory(&SeService::new(se.clone()), None, &[]).unwrap();
    let progress = Progress::new(notes.clone());
    (
        CommandExchange::new(SeRamExecutor::new(targets), progress),
        notes,
    )
}

fn se_ram(apdus: &[&str]) -> RamCommand {
    RamCommand::SeRam(SeRamCommand {
        list_of_capdu: apdus.iter().map(|s| s.to_string()).collect(),
    })
}

fn order(commands: Vec<RamCommand>) -> RemoteManagementOrder {
    RemoteManagementOrder {
        ram_commands: commands,
        ..RemoteManagementOrder::default()
    }
}

fn report(step: Step) -> RemoteManagementReport {
    match step {
        Step::Report(r) => r,
        Step::Stop => panic!("unexpected Stop"),
    }
}

fn rapdus(r: &RemoteManagementReport) -> Vec<Vec<String>> {
    r.ram_responses
        .iter()
        .map(|RamResponse::SeRam(s)| s.list_of_rapdu.clone())
        .collect()
}

fn status(r: &RemoteManagementReport) -> (LocalAgentStatusEnum, Option<u32>) {
    (
        r.local_agent_status.local_agent_status_enum,
        r.local_agent_status.executed_se_ram_commands,
    )
}

#[test]
fn inventory_offers_present_ses_best_first() {
    let offered: Vec<(SeType, String)> = inventory(&SeService::new(fake()), None, &[])
        .unwrap()
        .into_iter()
        .map(|t| (t.wire.se_type, t.wire.se_id))
        .collect();
    assert_eq!(
        offered,
        [(SeType::Ese, "eSE1".into()), (SeType::Uicc, "SIM1".into())]
    );
}

#[test]
fn select_opens_a_channel_and_commands_follow_on_it() {
    let se = fake();
    let (mut ex, notes) = exchange(&se);
    let note = RamCommand::Notification(NotificationCommand {
        device_app_notification: "step1/action2/OK".into(),
    });
    let r = report(
        ex.process(order(vec![
            RamCommand::Start,
            se_ram(&[SELECT_AID, GET_CPLC]),
            note,
        ]))
        .unwrap(),
    );
    assert_eq!(status(&r), (LocalAgentStatusEnum::Processed, Some(1)));
    assert_eq!(
        rapdus(&r),
        [vec![SELECT_RESPONSE.to_string(), "CA9000".into()]]
    );
    assert_eq!(*notes.0.lock().unwrap(), ["step1/action2/OK"]);
    // The SELECT became a channel opening; only the GET DATA was transmitted.
    assert_eq!(se.transmitted(), [hex(GET_CPLC)]);
    assert!(se
        .calls()
        .contains(&Call::OpenLogical(Some(hex(AID)), 0x00)));

    // The channel survives into the next order.
    let r = report(ex.process(order(vec![se_ram(&["80E2900000"])])).unwrap());
    assert_eq!(rapdus(&r), [vec!["E29000".to_string()]]);
    let opened = se
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::OpenLogical(..)))
        .count();
    assert_eq!(opened, 1);
}

#[test]
fn commands_before_any_select_go_to_the_default_applet() {
    let se = fake();
    let (mut ex, _) = exchange(&se);
    let r = report(
        ex.process(order(vec![RamCommand::Start, se_ram(&[GET_CPLC])]))
            .unwrap(),
    );
    assert_eq!(rapdus(&r), [vec!["6D00".to_string()]]);
    assert_eq!(
        se.calls()[..2],
        [
            Call::OpenSession("eSE1".into()),
            Call::OpenLogical(None, 0x00)
        ]
    );
}

#[test]
fn a_transmission_error_discards_the_rest_and_is_reported() {
    let se = fake();
    let (mut ex, _) = exchange(&se);
    ex.process(order(vec![RamCommand::Start])).unwrap();
    se.fail_transmit_at(
        2,
        SeError::Io {
            message: "SE removed".into(),
        },
    );
    let r = report(
        ex.process(order(vec![
            se_ram(&[GET_CPLC, "80E2900000", "80E2800000"]),
            se_ram(&[GET_CPLC]),
        ]))
        .unwrap(),
    );
    // The first R-APDU is kept, the failing C-APDU has none, the rest is never sent.
    assert_eq!(rapdus(&r), [vec!["6D00".to_string()]]);
    assert_eq!(status(&r), (LocalAgentStatusEnum::UnavailableSe, Some(0)));
    assert_eq!(
        r.local_agent_status.error_msg.as_deref(),
        Some("secure element I/O failure: SE removed")
    );
    assert_eq!(se.transmitted().len(), 2);
    assert_eq!(se.open_counts(), (0, 0)); // channel and session dropped after the failure
    assert_eq!(
        ex.tally.failures,
        [ExecutionFailure {
            status: LocalAgentStatusEnum::UnavailableSe,
            message: "secure element I/O failure: SE removed".into(),
            reported: true,
        }]
    );
}

#[test]
fn refusals_map_to_their_status() {
    let se = fake();
    let (mut ex, _) = exchange(&se);
    ex.process(order(vec![RamCommand::Start])).unwrap();
    se.fail_next_open(SeError::AccessDenied {
        message: "ARA-M".into(),
    });
    let r = report(
        ex.process(order(vec![se_ram(&[SELECT_AID, GET_CPLC])]))
            .unwrap(),
    );
    assert_eq!(status(&r), (LocalAgentStatusEnum::UngrantedAccess, Some(0)));
    assert_eq!(rapdus(&r), [Vec::<String>::new()]);
    se.fail_next_open(SeError::NoFreeChannel);
    let r = report(ex.process(order(vec![se_ram(&[GET_CPLC])])).unwrap());
    assert_eq!(status(&r).0, LocalAgentStatusEnum::UnknownFailure);
}

#[test]
fn a_select_refused_by_the_se_is_an_r_apdu() {
    let se = fake();
    let (mut ex, _) = exchange(&se);
    let r = report(
        ex.process(order(vec![
            RamCommand::Start,
            se_ram(&["00A4040005A000000999", SELECT_AID]),
        ]))
        .unwrap(),
    );
    assert_eq!(status(&r), (LocalAgentStatusEnum::Processed, Some(1)));
    assert_eq!(
        rapdus(&r),
        [vec!["6A82".to_string(), SELECT_RESPONSE.into()]]
    );
}

#[test]
fn void_orders_are_answered_by_polling() {
    let (mut ex, _) = exchange(&fake());
    let r = report(ex.process(order(vec![])).unwrap());
    assert_eq!(r, RemoteManagementReport::polling());
    let r = report(ex.process(order(vec![RamCommand::Start])).unwrap());
    assert_eq!(status(&r), (LocalAgentStatusEnum::Processed, Some(0)));
    assert!(r.ram_responses.is_empty());
}

#[test]
fn commands_out_of_sequence_are_protocol_violations() {
    let (mut ex, _) = exchange(&fake());
    let err = ex.process(order(vec![se_ram(&[GET_CPLC])])).unwrap_err();
    assert_eq!(
        err,
        OtaError::Protocol("an SE RAM command before the Start command".into())
    );
    let (mut ex, _) = exchange(&fake());
    assert!(matches!(
        ex.process(order(vec![RamCommand::Start, RamCommand::Start])),
        Err(OtaError::Protocol(_))
    ));
}

#[test]
fn stop_ends_without_a_report_and_closes_the_se() {
    let se = fake();
    let (mut ex, _) = exchange(&se);
    let step = ex
        .process(order(vec![
            RamCommand::Start,
            se_ram(&[SELECT_AID]),
            RamCommand::Stop,
            se_ram(&[GET_CPLC]), // after Stop: ignored
        ]))
        .unwrap();
    assert!(matches!(step, Step::Stop));
    assert_eq!(ex.tally.se_ram_commands_executed, 1);
    assert!(se.transmitted().is_empty());
    assert_eq!(se.open_counts(), (0, 0));
}

#[test]
fn chosen_secure_element_routes_the_commands() {
    let se = fake();
    let (mut ex, _) = exchange(&se);
    let sim = SecureElement {
        se_type: SeType::Uicc,
        se_id: "SIM1".into(),
        se_extra_info: None,
    };
    let mut o = order(vec![RamCommand::Start, se_ram(&[GET_CPLC])]);
    o.chosen_secure_element = Some(sim);
    report(ex.process(o).unwrap());
    assert_eq!(se.calls()[0], Call::OpenSession("SIM1".into()));

    let mut o = order(vec![se_ram(&[GET_CPLC])]);
    o.chosen_secure_element = Some(SecureElement {
        se_type: SeType::Ese,
        se_id: "eSE9".into(),
        se_extra_info: None,
    });
    let r = report(ex.process(o).unwrap());
    assert_eq!(status(&r), (LocalAgentStatusEnum::UnavailableSe, Some(0)));
}

#[test]
fn malformed_orders_are_rejected_before_any_se_work() {
    let se = fake();
    let (mut ex, _) = exchange(&se);
    let err = ex
        .process(order(vec![
            RamCommand::Start,
            se_ram(&[GET_CPLC, "80CA9F7"]),
        ]))
        .unwrap_err();
    assert_eq!(
        err,
        OtaError::MalformedMessage("APDU #1 is not an even-length hex string".into())
    );
    assert!(se.calls().is_empty());
}
