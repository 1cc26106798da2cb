//! The wire types against the examples of `specs/gp-seram/gpseram.yaml` (`components/examples`,
//! copied verbatim below, each under its example name) and the schema rules.

use super::validate::*;
use super::*;
use serde_json::{json, Value};

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).unwrap()
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

fn value(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// gpseram.yaml, components/examples/handshakeRequest.
const HANDSHAKE_REQUEST: &str = r#"{
  "secureElements": [
    {
      "seType": "eSE",
      "seId": "89001012012341234012345678901224",
      "seExtraInfo": "SAM"
    }
  ],
  "supportedTransportProtocols": [ "HTTPS" ],
  "supportedDataFormats": [ "application/json" ],
  "supportedVersion": [ "2.0.0" ]
}"#;

/// gpseram.yaml, components/examples/handshakeResponse.
const HANDSHAKE_RESPONSE: &str = r#"{
  "chosenTransportProtocol": "HTTPS",
  "chosenDataFormat": "application/json",
  "chosenVersion": "2.0.0"
}"#;

/// gpseram.yaml, components/examples/remoteManagementPolling.
const REMOTE_MANAGEMENT_POLLING: &str = r#"{
  "localAgentStatus": {
    "localAgentStatusEnum": "POLLING",
    "executedSeRamCommands": 0
  }
}"#;

/// gpseram.yaml, components/examples/apdusRemoteManagement.
const APDUS_REMOTE_MANAGEMENT: &str = r#"{
  "localAgentStatus": {
    "localAgentStatusEnum": "PROCESSED",
    "executedSeRamCommands": 2
  },
  "ramResponses": [
    {
      "ramResponseType": "seRamResponse",
      "listOfRAPDU": [ "9000", "9000" ]
    },
    {
      "ramResponseType": "seRamResponse",
      "listOfRAPDU": [ "9000" ]
    }
  ]
}"#;

/// gpseram.yaml, components/examples/withoutCommandOrder.
const WITHOUT_COMMAND_ORDER: &str = r#"{
  "delay": 500
}"#;

/// gpseram.yaml, components/examples/startCommandOrder.
const START_COMMAND_ORDER: &str = r#"{
  "ramCommands": [
    {
      "ramCommandType": "startCommand"
    }
  ]
}"#;

/// gpseram.yaml, components/examples/seRamCommandOrder.
const SE_RAM_COMMAND_ORDER: &str = r#"{
  "delay": 100,
  "chosenSecureElement": {
    "seType": "eSE",
    "seId": "89001012012341234012345678901224",
    "seExtraInfo": "SAM"
  },
  "ramCommands": [
    {
      "ramCommandType": "seRamCommand",
      "listOfCAPDU": [ "00A40400OA0001020304050607080900A" ]
    }
  ]
}"#;

/// gpseram.yaml, components/examples/notificationCommandOrder.
const NOTIFICATION_COMMAND_ORDER: &str = r#"{
  "ramCommands": [
    {
      "ramCommandType": "notificationCommand",
      "deviceAppNotification": "step1/action2/OK"
    }
  ]
}"#;

/// gpseram.yaml, components/examples/stopCommandOrder.
const STOP_COMMAND_ORDER: &str = r#"{
  "ramCommands": [
    {
      "ramCommandType": "stopCommand"
    }
  ]
}"#;

/// gpseram.yaml, components/examples/allCommandsOrder.
const ALL_COMMANDS_ORDER: &str = r#"{
  "delay": 0,
  "chosenSecureElement": {
    "seType": "eSE",
    "seId": "89001012012341234012345678901224",
    "seExtraInfo": "SAM"
  },
  "ramCommands": [
    {
      "ramCommandType": "startCommand"
    },
    {
      "ramCommandType": "seRamCommand",
      "listOfCAPDU": [ "00A40400OA0001020304050607080900A" ]
    },
    {
      "ramCommandType": "notificationCommand",
      "deviceAppNotification": "step1/action2/OK"
    },
    {
      "ramCommandType": "stopCommand"
    }
  ]
}"#;

fn example_se() -> SecureElement {
    SecureElement {
        se_type: SeType::Ese,
        se_id: "89001012012341234012345678901224".into(),
        se_extra_info: Some("SAM".into()),
    }
}

#[test]
fn handshake_request_example() {
    let hs: HandshakeCommand = parse(HANDSHAKE_REQUEST);
    assert_eq!(hs, HandshakeCommand::proposal(vec![example_se()]));
    // Emitted with the schema's property name `supportedVersions` (the example's
    // `supportedVersion` is accepted on input only).
    let mut expected = value(HANDSHAKE_REQUEST);
    let versions = expected["supportedVersion"].take();
    expected.as_object_mut().unwrap().remove("supportedVersion");
    expected["supportedVersions"] = versions;
    assert_eq!(to_value(&hs), expected);
    assert_eq!(hs.validate(), Ok(()));
}

#[test]
fn handshake_defaults_apply_when_lists_are_absent() {
    let hs: HandshakeCommand = parse(r#"{"secureElements":[]}"#);
    assert_eq!(hs.transport_protocols(), [TransportProtocol::Https]);
    assert_eq!(hs.data_formats(), [DataFormat::Json]);
    assert_eq!(hs.versions(), ["2.0.0"]);
    assert!(serde_json::from_str::<HandshakeCommand>("{}").is_err()); // secureElements required
}

#[test]
fn handshake_response_example() {
    let r: HandshakeResponse = parse(HANDSHAKE_RESPONSE);
    assert_eq!(
        r,
        HandshakeResponse {
            chosen_transport_protocol: TransportProtocol::Https,
            chosen_data_format: Some(DataFormat::Json),
            chosen_version: "2.0.0".into(),
        }
    );
    assert_eq!(to_value(&r), value(HANDSHAKE_RESPONSE));
    // The schema's `required` names `chosenDataProtocol`: accepted as an alias.
    let alias: HandshakeResponse = parse(
        r#"{"chosenTransportProtocol":"HTTPS","chosenDataProtocol":"application/json","chosenVersion":"2.0.0"}"#,
    );
    assert_eq!(alias, r);
    assert!(serde_json::from_str::<HandshakeResponse>(r#"{"chosenVersion":"2.0.0"}"#).is_err());
    assert!(serde_json::from_str::<HandshakeResponse>(
        r#"{"chosenTransportProtocol":"HTTP","chosenVersion":"2.0.0"}"#
    )
    .is_err());
}

#[test]
fn polling_report_example() {
    let r: RemoteManagementReport = parse(REMOTE_MANAGEMENT_POLLING);
    assert_eq!(r, RemoteManagementReport::polling());
    assert_eq!(
        to_value(&RemoteManagementReport::polling()),
        value(REMOTE_MANAGEMENT_POLLING)
    );
}

#[test]
fn apdus_report_example() {
    let r: RemoteManagementReport = parse(APDUS_REMOTE_MANAGEMENT);
    let se_ram = |l: &[&str]| {
        RamResponse::SeRam(SeRamResponse {
            list_of_rapdu: l.iter().map(|s| s.to_string()).collect(),
        })
    };
    assert_eq!(
        r,
        RemoteManagementReport {
            local_agent_status: LocalAgentStatus {
                local_agent_status_enum: LocalAgentStatusEnum::Processed,
                executed_se_ram_commands: Some(2),
                error_msg: None,
            },
            ram_responses: vec![se_ram(&["9000", "9000"]), se_ram(&["9000"])],
        }
    );
    assert_eq!(to_value(&r), value(APDUS_REMOTE_MANAGEMENT));
    assert_eq!(r.validate(), Ok(()));
}

#[test]
fn polling_order_example() {
    let o: RemoteManagementOrder = parse(WITHOUT_COMMAND_ORDER);
    assert_eq!(o.delay_ms(), 500);
    assert!(o.ram_commands.is_empty() && o.chosen_secure_element.is_none());
    assert_eq!(to_value(&o), value(WITHOUT_COMMAND_ORDER));
    // An order without `delay` means the schema default, 100 ms.
    assert_eq!(parse::<RemoteManagementOrder>("{}").delay_ms(), 100);
}

#[test]
fn start_and_stop_orders_accept_both_spellings() {
    let start: RemoteManagementOrder = parse(START_COMMAND_ORDER);
    assert_eq!(start.ram_commands, [RamCommand::Start]);
    let stop: RemoteManagementOrder = parse(STOP_COMMAND_ORDER);
    assert_eq!(stop.ram_commands, [RamCommand::Stop]);
    // Emitted with the discriminator mapping's names.
    assert_eq!(
        to_value(&start),
        json!({ "ramCommands": [ { "ramCommandType": "ramStartCommand" } ] })
    );
    assert_eq!(
        to_value(&stop),
        json!({ "ramCommands": [ { "ramCommandType": "ramStopCommand" } ] })
    );
    let mapped: RemoteManagementOrder = parse(
        r#"{"ramCommands":[{"ramCommandType":"ramStartCommand"},{"ramCommandType":"ramStopCommand"}]}"#,
    );
    assert_eq!(mapped.ram_commands, [RamCommand::Start, RamCommand::Stop]);
}

#[test]
fn se_ram_order_example_parses_but_its_apdu_is_not_hex() {
    let o: RemoteManagementOrder = parse(SE_RAM_COMMAND_ORDER);
    assert_eq!(o.delay, Some(100));
    assert_eq!(o.chosen_secure_element, Some(example_se()));
    assert_eq!(
        o.ram_commands,
        [RamCommand::SeRam(SeRamCommand {
            list_of_capdu: vec!["00A40400OA0001020304050607080900A".into()],
        })]
    );
    assert_eq!(to_value(&o), value(SE_RAM_COMMAND_ORDER));
    // The example's APDU holds the letter O and has an odd length: not `([0-9A-F]{2})*`.
    assert_eq!(o.validate(), Err(WireError::InvalidApduHex { index: 0 }));
}

#[test]
fn notification_order_example() {
    let o: RemoteManagementOrder = parse(NOTIFICATION_COMMAND_ORDER);
    assert_eq!(
        o.ram_commands,
        [RamCommand::Notification(NotificationCommand {
            device_app_notification: "step1/action2/OK".into(),
        })]
    );
    assert_eq!(to_value(&o), value(NOTIFICATION_COMMAND_ORDER));
    assert_eq!(o.validate(), Ok(()));
}

#[test]
fn all_commands_order_example() {
    let o: RemoteManagementOrder = parse(ALL_COMMANDS_ORDER);
    assert_eq!(o.delay_ms(), 0);
    let kinds: Vec<&str> = o
        .ram_commands
        .iter()
        .map(|c| match c {
            RamCommand::Start => "start",
            RamCommand::SeRam(_) => "seRam",
            RamCommand::Notification(_) => "notification",
            RamCommand::Stop => "stop",
        })
        .collect();
    assert_eq!(kinds, ["start", "seRam", "notification", "stop"]);
}

#[test]
fn schema_enums_are_spelled_as_in_the_spec() {
    let statuses = [
        (LocalAgentStatusEnum::Processed, "PROCESSED"),
        (LocalAgentStatusEnum::Polling, "POLLING"),
        (LocalAgentStatusEnum::UnavailableSe, "UNAVAILABLE_SE"),
        (LocalAgentStatusEnum::UnknownFailure, "UNKNOWN_FAILURE"),
        (LocalAgentStatusEnum::UngrantedAccess, "UNGRANTED_ACCESS"),
    ];
    for (status, text) in statuses {
        assert_eq!(to_value(&status), json!(text));
    }
    let types = [
        (SeType::Ese, "eSE"),
        (SeType::Ise, "iSE"),
        (SeType::Uicc, "uicc"),
        (SeType::Euicc, "euicc"),
        (SeType::Ieuicc, "ieuicc"),
        (SeType::Undefined, "undefined"),
    ];
    for (se_type, text) in types {
        assert_eq!(to_value(&se_type), json!(text));
        assert_eq!(
            serde_json::from_value::<SeType>(json!(text)).unwrap(),
            se_type
        );
    }
}

#[test]
fn missing_required_fields_and_unknown_types_are_rejected() {
    for bad in [
        r#"{"ramCommands":[{"ramCommandType":"seRamCommand"}]}"#,
        r#"{"ramCommands":[{"ramCommandType":"notificationCommand"}]}"#,
        r#"{"ramCommands":[{"ramCommandType":"redirectCommand"}]}"#,
        r#"{"ramCommands":[{}]}"#,
        r#"{"delay":-1}"#,
        r#"{"chosenSecureElement":{"seId":"x"}}"#,
    ] {
        assert!(
            serde_json::from_str::<RemoteManagementOrder>(bad).is_err(),
            "{bad}"
        );
    }
    assert!(serde_json::from_str::<RemoteManagementReport>(r#"{"ramResponses":[]}"#).is_err());
    assert!(serde_json::from_str::<RemoteManagementReport>(
        r#"{"localAgentStatus":{"localAgentStatusEnum":"DONE"}}"#
    )
    .is_err());
}

#[test]
fn apdu_hex_rules() {
    // The schema's own seRamCommand example: SELECT of the ISD A000000151000000.
    assert!(is_canonical_apdu("00A4040008A00000015100000000"));
    assert_eq!(
        decode_capdu("00A4040008A00000015100000000", 0).unwrap(),
        [0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00, 0x00]
    );
    assert!(is_canonical_apdu(""));
    assert!(!is_canonical_apdu("9000a"));
    assert!(!is_canonical_apdu("6a82"));
    assert_eq!(decode_apdu("6a82", 0).unwrap(), [0x6A, 0x82]);
    assert_eq!(encode_apdu(&[0x6A, 0x82]), "6A82");
    assert_eq!(
        decode_capdu("00A404", 3),
        Err(WireError::ApduTooShort { index: 3 })
    );
    let long = "00".repeat(MAX_APDU_BYTES + 1);
    assert_eq!(
        decode_apdu(&long, 1),
        Err(WireError::ApduTooLong {
            index: 1,
            len: MAX_APDU_BYTES + 1
        })
    );
}

#[test]
fn order_and_report_limits() {
    let mut o = RemoteManagementOrder {
        ram_commands: vec![RamCommand::Notification(NotificationCommand {
            device_app_notification: "x".repeat(MAX_NOTIFICATION_BYTES + 1),
        })],
        ..RemoteManagementOrder::default()
    };
    assert!(matches!(
        o.validate(),
        Err(WireError::NotificationTooLong { .. })
    ));
    o.ram_commands = vec![RamCommand::SeRam(SeRamCommand {
        list_of_capdu: vec!["80CA9F7F00".into(); MAX_APDUS_PER_ORDER + 1],
    })];
    assert!(matches!(
        o.validate(),
        Err(WireError::TooMany {
            what: "C-APDUs",
            ..
        })
    ));
    let report = RemoteManagementReport {
        ram_responses: vec![RamResponse::SeRam(SeRamResponse {
            list_of_rapdu: vec!["9000".into(), "".into(), "6a82".into()],
        })],
        ..RemoteManagementReport::polling()
    };
    assert_eq!(
        report.validate(),
        Err(WireError::InvalidApduHex { index: 2 })
    );
}

#[test]
fn session_ids() {
    assert_eq!(
        validate_session_id("0f96af97-f879-45a2-a011-ee7439df3804"),
        Ok(())
    );
    for bad in ["", "a\nb", &"x".repeat(MAX_SESSION_ID_BYTES + 1)] {
        assert_eq!(validate_session_id(bad), Err(WireError::InvalidSessionId));
    }
}
