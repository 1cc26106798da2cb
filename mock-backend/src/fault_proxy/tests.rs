use super::*;
use crate::{MockWorld, MockWorldConfig};
use wallet_core::backend::client::{BackendClient, BackendError, ClientConfig};

/// A GET that answers JSON and changes nothing.
const PROBE: &str = "/test/sms/outbox?phone=13800138000";
const TIMEOUT: Duration = Duration::from_millis(300);

fn client(url: &str, retries: u32) -> BackendClient {
    let mut config = ClientConfig::new(url);
    config.request_timeout = TIMEOUT;
    config.max_retries = retries;
    config.retry_backoff = Duration::from_millis(5);
    BackendClient::new(config).expect("client")
}

#[test]
fn rules_skip_then_fault_then_are_spent() {
    let mut state = State::default();
    state
        .rules
        .push(FaultRule::path("/a", Fault::LoseAnswer).times(2));
    state.rules.push(FaultRule::nth(2, Fault::Status(503)));
    state.rules[0].skip = 1;
    let faults: Vec<_> = ["/a", "/b", "/a", "/a", "/a", "/b"]
        .iter()
        .map(|path| state.admit("GET", path))
        .collect();
    // Exchange 0 ("/a") is the first rule's skip and the second rule's first skip; exchange 1
    // ("/b") the second rule's second skip; exchanges 2 and 3 spend the first rule; the second
    // rule fires on exchange 4.
    assert_eq!(
        faults,
        [
            None,
            None,
            Some(Fault::LoseAnswer),
            Some(Fault::LoseAnswer),
            Some(Fault::Status(503)),
            None
        ]
    );
    assert!(state.rules.is_empty());
    assert_eq!(state.exchanges.len(), 6);
    assert_eq!(state.exchanges[2].fault, Some(Fault::LoseAnswer));
}

#[test]
fn a_rule_can_require_a_method() {
    let mut rule = FaultRule::path("/x", Fault::DropRequest);
    rule.method = Some("POST".into());
    assert!(rule.matches("POST", "/x/1"));
    assert!(!rule.matches("GET", "/x/1"));
    assert!(!rule.matches("POST", "/y"));
    assert!(FaultRule::nth(0, Fault::DropRequest).matches("GET", "/anything"));
}

/// Each fault, seen by the wallet's client with no retry: the error it is classified as.
#[tokio::test]
async fn each_fault_reaches_the_client_as_a_typed_error() {
    let world = MockWorld::start(MockWorldConfig::default()).await.unwrap();
    let proxy = FaultProxy::start(world.url()).await.unwrap();
    let client = client(proxy.url(), 0);

    let clean: serde_json::Value = client.get(PROBE).await.unwrap();
    assert!(clean.is_object(), "{clean}");

    for fault in Fault::all(TIMEOUT * 2) {
        proxy.inject(FaultRule::path(PROBE, fault));
        let err = client.get::<serde_json::Value>(PROBE).await.unwrap_err();
        match fault {
            Fault::Delay(_) => assert_eq!(err, BackendError::Timeout),
            Fault::Status(status) | Fault::StatusAfterForward(status) => assert!(
                matches!(&err, BackendError::Rejected { status: s, .. } if *s == status),
                "{fault:?}: {err:?}"
            ),
            _ => assert!(
                matches!(err, BackendError::Network(_)),
                "{fault:?}: {err:?}"
            ),
        }
        assert!(
            err.is_transient(),
            "{fault:?} must be worth a retry: {err:?}"
        );
        assert!(proxy.rules_spent());
    }
    let seen = proxy.exchanges();
    assert_eq!(seen.len(), 8);
    assert_eq!(seen[0].fault, None);
    assert_eq!(seen[1].path, PROBE);
    // The answers the server gave but the client did not get in full.
    assert_eq!(proxy.lost_answers().len(), 4);
    world.shutdown().await;
}

/// With retries, every fault on one exchange is absorbed: the next attempt goes through.
#[tokio::test]
async fn a_retrying_client_gets_through_one_fault() {
    let world = MockWorld::start(MockWorldConfig::default()).await.unwrap();
    let proxy = FaultProxy::start(world.url()).await.unwrap();
    let client = client(proxy.url(), 1);
    for fault in Fault::all(TIMEOUT * 2) {
        proxy.inject(FaultRule::path(PROBE, fault));
        let answer: serde_json::Value = client.get(PROBE).await.unwrap();
        assert!(answer.is_object(), "{fault:?}: {answer}");
    }
    let faulted = proxy
        .exchanges()
        .iter()
        .filter(|e| e.fault.is_some())
        .count();
    assert_eq!(faulted, 7);
    world.shutdown().await;
}

#[tokio::test]
async fn a_round_trip_delay_applies_to_every_exchange() {
    let world = MockWorld::start(MockWorldConfig::default()).await.unwrap();
    let proxy = FaultProxy::start(world.url()).await.unwrap();
    proxy.set_round_trip(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let _: serde_json::Value = client(proxy.url(), 0).get(PROBE).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    world.shutdown().await;
}

#[tokio::test]
async fn a_bad_upstream_address_is_refused() {
    let err = FaultProxy::start("not an address").await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
