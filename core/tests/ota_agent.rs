//! The GP SERAM local agent against a fake remote agent (axum, in process) that answers from a
//! script and records what it receives, with a fake SE behind the agent. Covers the happy path
//! of an air card opening, a transmission error, the HTTP error statuses, malformed and
//! oversized orders, polling delays and an unreachable remote agent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use wallet_core::ota::seram::{HandshakeCommand, RemoteManagementReport};
use wallet_core::ota::{AgentConfig, LocalAgent, OtaError, OtaListener, OtaProgress, OtaStage};
use wallet_core::se::{ChannelOpened, ReaderInfo, SeError, SeService, SeTransport};

const SESSION: &str = "0f96af97-f879-45a2-a011-ee7439df3804";
const AID: &str = "A000000333010101";
const SELECT_AID: &str = "00A4040008A00000033301010100";
const SELECT_RESPONSE: &str = "6F0A8408A0000003330101019000";
const GET_CPLC: &str = "80CA9F7F00";
const STORE_DATA: &str = "80E2800003DF0101";
const STORE_DATA_LAST: &str = "80E2810003DF0202";

// ---------------------------------------------------------------------------------------------
// Fake SE: one eSE with one applet (AID above); the default applet answers 6D00.

struct FakeSe {
    present: bool,
    fail_at: Option<usize>,
    transmitted: Mutex<Vec<Vec<u8>>>,
    next: Mutex<u64>,
}

impl FakeSe {
    fn new(fail_at: Option<usize>) -> Arc<FakeSe> {
        Arc::new(FakeSe {
            present: true,
            fail_at,
            transmitted: Mutex::new(Vec::new()),
            next: Mutex::new(1),
        })
    }

    fn transmitted(&self) -> Vec<String> {
        self.transmitted
            .lock()
            .unwrap()
            .iter()
            .map(hex::encode_upper)
            .collect()
    }

    fn handle(&self) -> u64 {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        *next
    }
}

impl SeTransport for FakeSe {
    fn readers(&self) -> Result<Vec<ReaderInfo>, SeError> {
        Ok(vec![
            ReaderInfo::new("eSE1", self.present),
            ReaderInfo::new("SIM1", false),
        ])
    }
    fn open_session(&self, _reader: String) -> Result<u64, SeError> {
        Ok(self.handle())
    }
    fn open_logical_channel(
        &self,
        _: u64,
        aid: Option<Vec<u8>>,
        _: u8,
    ) -> Result<ChannelOpened, SeError> {
        let select_response = match aid {
            None => hex::decode("9000").unwrap(),
            Some(aid) if hex::encode_upper(&aid) == AID => hex::decode(SELECT_RESPONSE).unwrap(),
            Some(aid) => {
                return Err(SeError::ApplicationNotFound {
                    aid: hex::encode_upper(aid),
                })
            }
        };
        Ok(ChannelOpened {
            handle: self.handle(),
            select_response: Some(select_response),
        })
    }
    fn open_basic_channel(
        &self,
        _: u64,
        _: Option<Vec<u8>>,
        _: u8,
    ) -> Result<ChannelOpened, SeError> {
        Err(SeError::NoFreeChannel)
    }
    fn transmit(&self, _: u64, apdu: Vec<u8>) -> Result<Vec<u8>, SeError> {
        let mut log = self.transmitted.lock().unwrap();
        log.push(apdu);
        if Some(log.len()) == self.fail_at {
            return Err(SeError::Io {
                message: "SE removed".into(),
            });
        }
        Ok(vec![0x90, 0x00])
    }
    fn close_channel(&self, _: u64) -> Result<(), SeError> {
        Ok(())
    }
    fn close_session(&self, _: u64) -> Result<(), SeError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Fake remote agent: answers the handshake and the successive reports from a script.

struct Received {
    path: &'static str,
    body: Value,
    at: Instant,
}

struct Script {
    handshake: (StatusCode, String),
    orders: Vec<(StatusCode, String)>,
    received: Vec<Received>,
}

type Ra = Arc<Mutex<Script>>;

fn ok(body: Value) -> (StatusCode, String) {
    (StatusCode::OK, body.to_string())
}

fn standard_handshake() -> (StatusCode, String) {
    ok(
        json!({ "chosenTransportProtocol": "HTTPS", "chosenDataFormat": "application/json", "chosenVersion": "2.0.0" }),
    )
}

async fn serve(
    ra: Ra,
    path: &'static str,
    query: HashMap<String, String>,
    body: Bytes,
) -> impl IntoResponse {
    let mut script = ra.lock().unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    script.received.push(Received {
        path,
        body: body.clone(),
        at: Instant::now(),
    });
    if query.get("sessionId").map(String::as_str) != Some(SESSION) {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            String::new(),
        );
    }
    let (status, answer) = if path == "handshake" {
        // The remote agent checks the proposal against the shared schema.
        assert!(
            serde_json::from_value::<HandshakeCommand>(body).is_ok(),
            "handshake schema"
        );
        script.handshake.clone()
    } else {
        let report: RemoteManagementReport = serde_json::from_value(body).expect("report schema");
        assert_eq!(report.validate(), Ok(()));
        let index = script
            .received
            .iter()
            .filter(|r| r.path == "remoteManagement")
            .count()
            - 1;
        script
            .orders
            .get(index)
            .cloned()
            .unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, String::new()))
    };
    (status, [(header::CONTENT_TYPE, "application/json")], answer)
}

/// Starts the fake remote agent; returns its RA endpoint and its script.
async fn remote_agent(
    handshake: (StatusCode, String),
    orders: Vec<(StatusCode, String)>,
) -> (String, Ra) {
    let ra: Ra = Arc::new(Mutex::new(Script {
        handshake,
        orders,
        received: Vec::new(),
    }));
    let app = Router::new()
        .route(
            "/gp/seram/handshake",
            post(
                |State(ra): State<Ra>, Query(q): Query<HashMap<String, String>>, body: Bytes| {
                    serve(ra, "handshake", q, body)
                },
            ),
        )
        .route(
            "/gp/seram/remoteManagement",
            post(
                |State(ra): State<Ra>, Query(q): Query<HashMap<String, String>>, body: Bytes| {
                    serve(ra, "remoteManagement", q, body)
                },
            ),
        )
        .with_state(ra.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/gp/seram"), ra)
}

fn bodies(ra: &Ra, path: &str) -> Vec<Value> {
    ra.lock()
        .unwrap()
        .received
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.body.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Recorder {
    progress: Mutex<Vec<OtaProgress>>,
    notes: Mutex<Vec<String>>,
}

impl OtaListener for Recorder {
    fn on_progress(&self, p: OtaProgress) {
        self.progress.lock().unwrap().push(p);
    }
    fn on_notification(&self, message: String) {
        self.notes.lock().unwrap().push(message);
    }
}

fn config() -> AgentConfig {
    AgentConfig {
        allow_http: true,
        request_timeout: Duration::from_secs(5),
        retry_window: Duration::from_millis(300),
        retry_backoff: Duration::from_millis(50),
        session_deadline: Duration::from_secs(20), // no test can hang on the agent
        ..AgentConfig::default()
    }
}

fn agent(se: Arc<FakeSe>, config: AgentConfig) -> LocalAgent {
    LocalAgent::new(SeService::new(se), config)
}

fn start_and_apdus(apdus: &[&str]) -> (StatusCode, String) {
    ok(json!({
        "delay": 0,
        "chosenSecureElement": { "seType": "eSE", "seId": "eSE1" },
        "ramCommands": [
            { "ramCommandType": "startCommand" },
            { "ramCommandType": "seRamCommand", "listOfCAPDU": apdus }
        ]
    }))
}

fn notify_and_stop(text: &str) -> (StatusCode, String) {
    ok(json!({ "ramCommands": [
        { "ramCommandType": "notificationCommand", "deviceAppNotification": text },
        { "ramCommandType": "stopCommand" }
    ] }))
}

#[tokio::test]
async fn air_card_opening_happy_path_in_three_round_trips() {
    let se = FakeSe::new(None);
    let (url, ra) = remote_agent(
        standard_handshake(),
        vec![
            start_and_apdus(&[SELECT_AID, GET_CPLC, STORE_DATA, STORE_DATA_LAST]),
            notify_and_stop("card/opened"),
        ],
    )
    .await;
    let recorder = Arc::new(Recorder::default());
    let outcome = agent(se.clone(), config())
        .with_listener(recorder.clone())
        .run(&url, SESSION)
        .await
        .unwrap();

    assert_eq!(outcome.round_trips, 3);
    assert_eq!(outcome.chosen_version, "2.0.0");
    assert_eq!(outcome.secure_element.se_id, "eSE1");
    assert_eq!(outcome.se_ram_commands_executed, 1);
    assert_eq!(outcome.apdus_exchanged, 4);
    assert_eq!(outcome.notifications, ["card/opened"]);
    assert!(outcome.failures.is_empty());

    // What the remote agent received, message by message.
    assert_eq!(
        bodies(&ra, "handshake"),
        [json!({
            "secureElements": [ { "seType": "eSE", "seId": "eSE1" } ],
            "supportedTransportProtocols": [ "HTTPS" ],
            "supportedDataFormats": [ "application/json" ],
            "supportedVersions": [ "2.0.0" ]
        })]
    );
    assert_eq!(
        bodies(&ra, "remoteManagement"),
        [
            json!({ "localAgentStatus": { "localAgentStatusEnum": "POLLING", "executedSeRamCommands": 0 } }),
            json!({
                "localAgentStatus": { "localAgentStatusEnum": "PROCESSED", "executedSeRamCommands": 1 },
                "ramResponses": [ {
                    "ramResponseType": "seRamResponse",
                    "listOfRAPDU": [ SELECT_RESPONSE, "9000", "9000", "9000" ]
                } ]
            }),
        ]
    );
    // The SELECT opened the channel; the other C-APDUs reached the SE unchanged.
    assert_eq!(se.transmitted(), [GET_CPLC, STORE_DATA, STORE_DATA_LAST]);

    assert_eq!(*recorder.notes.lock().unwrap(), ["card/opened"]);
    let progress = recorder.progress.lock().unwrap();
    assert!(progress.windows(2).all(|w| w[0].percent <= w[1].percent));
    let last = progress.last().unwrap();
    assert_eq!(
        (last.stage, last.percent, last.apdus_exchanged),
        (OtaStage::Completed, 100, 4)
    );
}

#[tokio::test]
async fn a_transmission_error_stops_the_batch_and_is_reported() {
    let se = FakeSe::new(Some(2)); // the second transmitted C-APDU fails
    let (url, ra) = remote_agent(
        standard_handshake(),
        vec![
            start_and_apdus(&[SELECT_AID, GET_CPLC, STORE_DATA, STORE_DATA_LAST]),
            notify_and_stop("card/failed"),
        ],
    )
    .await;
    let outcome = agent(se.clone(), config())
        .run(&url, SESSION)
        .await
        .unwrap();

    assert_eq!(se.transmitted(), [GET_CPLC, STORE_DATA]); // the last one was discarded
    let reports = bodies(&ra, "remoteManagement");
    assert_eq!(
        reports[1],
        json!({
            "localAgentStatus": {
                "localAgentStatusEnum": "UNAVAILABLE_SE",
                "executedSeRamCommands": 0,
                "errorMsg": "secure element I/O failure: SE removed"
            },
            "ramResponses": [ { "ramResponseType": "seRamResponse", "listOfRAPDU": [ SELECT_RESPONSE, "9000" ] } ]
        })
    );
    assert_eq!(outcome.se_ram_commands_executed, 0);
    assert_eq!(outcome.failures.len(), 1);
    assert!(outcome.failures[0].reported);
}

#[tokio::test]
async fn malformed_orders_are_protocol_errors() {
    for bad in [
        "{ not json",
        r#"{"ramCommands":[{"ramCommandType":"redirectCommand"}]}"#,
        r#"{"delay":"soon"}"#,
    ] {
        let (url, _) = remote_agent(standard_handshake(), vec![(StatusCode::OK, bad.into())]).await;
        let err = agent(FakeSe::new(None), config())
            .run(&url, SESSION)
            .await
            .unwrap_err();
        assert!(
            matches!(err, OtaError::MalformedMessage(_)),
            "{bad}: {err:?}"
        );
    }
    // Well-formed JSON, but an SE RAM command before Start.
    let (url, _) = remote_agent(
        standard_handshake(),
        vec![ok(json!({ "ramCommands": [ { "ramCommandType": "seRamCommand", "listOfCAPDU": [GET_CPLC] } ] }))],
    )
    .await;
    let se = FakeSe::new(None);
    let err = agent(se.clone(), config())
        .run(&url, SESSION)
        .await
        .unwrap_err();
    assert!(matches!(err, OtaError::Protocol(_)), "{err:?}");
    assert!(se.transmitted().is_empty());
}

#[tokio::test]
async fn an_unknown_session_is_not_found() {
    let (url, ra) = remote_agent(standard_handshake(), vec![]).await;
    let err = agent(FakeSe::new(None), config())
        .run(&url, "no-such-session")
        .await
        .unwrap_err();
    assert_eq!(err, OtaError::SessionNotFound);
    assert_eq!(bodies(&ra, "remoteManagement").len(), 0);

    // The remote agent forgets the session mid-way.
    let (url, _) = remote_agent(
        standard_handshake(),
        vec![(StatusCode::NOT_FOUND, String::new())],
    )
    .await;
    let err = agent(FakeSe::new(None), config())
        .run(&url, SESSION)
        .await
        .unwrap_err();
    assert_eq!(err, OtaError::SessionNotFound);
}

#[tokio::test]
async fn handshake_refusals() {
    let (url, _) = remote_agent((StatusCode::NOT_ACCEPTABLE, String::new()), vec![]).await;
    let err = agent(FakeSe::new(None), config())
        .run(&url, SESSION)
        .await
        .unwrap_err();
    assert_eq!(err, OtaError::HandshakeRefused);

    // A selection the agent never proposed.
    let (url, _) = remote_agent(
        ok(json!({ "chosenTransportProtocol": "HTTPS", "chosenVersion": "3.0.0" })),
        vec![],
    )
    .await;
    let err = agent(FakeSe::new(None), config())
        .run(&url, SESSION)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OtaError::Protocol(ref m) if m.contains("3.0.0")),
        "{err:?}"
    );

    let (url, _) = remote_agent((StatusCode::INTERNAL_SERVER_ERROR, String::new()), vec![]).await;
    let err = agent(FakeSe::new(None), config())
        .run(&url, SESSION)
        .await
        .unwrap_err();
    assert_eq!(err, OtaError::RemoteAgent { status: 500 });
}

#[tokio::test]
async fn an_oversized_order_is_rejected() {
    let apdus = vec!["80E2800003DF0101"; 200]; // ~3.6 kB of JSON
    let (url, _) = remote_agent(standard_handshake(), vec![start_and_apdus(&apdus)]).await;
    let se = FakeSe::new(None);
    let config = AgentConfig {
        max_message_bytes: 2048,
        ..config()
    };
    let err = agent(se.clone(), config)
        .run(&url, SESSION)
        .await
        .unwrap_err();
    assert_eq!(err, OtaError::MessageTooLarge { limit: 2048 });
    assert!(se.transmitted().is_empty());
}

#[tokio::test]
async fn polling_delays_are_honoured_and_capped() {
    let (url, ra) = remote_agent(
        standard_handshake(),
        vec![
            ok(json!({ "delay": 200 })),  // wait 200 ms
            ok(json!({})),                // no delay given: the schema default, 100 ms
            ok(json!({ "delay": 60000 })), // a minute, capped to 250 ms below
            ok(json!({ "ramCommands": [ { "ramCommandType": "startCommand" }, { "ramCommandType": "stopCommand" } ] })),
        ],
    )
    .await;
    let config = AgentConfig {
        max_delay: Duration::from_millis(250),
        ..config()
    };
    let started = Instant::now();
    let outcome = agent(FakeSe::new(None), config)
        .run(&url, SESSION)
        .await
        .unwrap();
    assert_eq!(outcome.round_trips, 5);

    let times: Vec<Instant> = ra
        .lock()
        .unwrap()
        .received
        .iter()
        .filter(|r| r.path == "remoteManagement")
        .map(|r| r.at)
        .collect();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= Duration::from_millis(200), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(100), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(250), "{gaps:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the one-minute delay was capped"
    );
    // Every poll is a void report.
    assert!(bodies(&ra, "remoteManagement")
        .iter()
        .all(|b| b["localAgentStatus"]["localAgentStatusEnum"] == "POLLING"));
}

#[tokio::test]
async fn an_unreachable_remote_agent_is_retried_then_a_network_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let started = Instant::now();
    let err = agent(FakeSe::new(None), config())
        .run(&format!("http://127.0.0.1:{port}/gp/seram"), SESSION)
        .await
        .unwrap_err();
    assert!(matches!(err, OtaError::Network(_)), "{err:?}");
    // Retried (50, 100 ms…) within the 300 ms window before giving up.
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn without_a_secure_element_nothing_is_sent() {
    let (url, ra) = remote_agent(standard_handshake(), vec![]).await;
    let se = Arc::new(FakeSe {
        present: false,
        ..Arc::try_unwrap(FakeSe::new(None)).ok().unwrap()
    });
    let err = agent(se, config()).run(&url, SESSION).await.unwrap_err();
    assert_eq!(err, OtaError::NoSecureElement);
    assert!(ra.lock().unwrap().received.is_empty());
}
