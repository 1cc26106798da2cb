//! Protocol behaviour shared by every endpoint: idempotency keys, malformed input, routing,
//! health, and state that survives a restart.

mod common;

use common::*;
use mock_backend::bank::test_cards;
use wallet_core::backend::api::{
    BeginBindingRequest, BeginBindingResponse, BindingRecord, BindingStatus,
    IDEMPOTENCY_KEY_HEADER, PATH_BINDINGS, PATH_BINDINGS_CONFIRM,
};
use wallet_core::crypto::ecdsa::P256SigningKey;

fn replayed(response: &reqwest::Response) -> bool {
    response.headers().get("idempotent-replayed").is_some()
}

#[tokio::test]
async fn a_repeated_key_replays_the_first_answer() -> TestResult {
    let h = start().await?;
    let request = begin_request(&test_cards::DEBIT);
    let first = h.post(PATH_BINDINGS, &request, Some("key-1")).await?;
    assert!(!replayed(&first));
    let first: BeginBindingResponse = ok_json(first).await?;
    let again = h.post(PATH_BINDINGS, &request, Some("key-1")).await?;
    assert!(replayed(&again));
    let again: BeginBindingResponse = ok_json(again).await?;
    assert_eq!(again, first);
    // The handler ran once: one session, one SMS.
    assert_eq!(h.outbox(test_cards::DEBIT.phone).await?.messages.len(), 1);

    // A new key is a new request.
    let other: BeginBindingResponse =
        ok_json(h.post(PATH_BINDINGS, &request, Some("key-2")).await?).await?;
    assert_ne!(other.binding_session_id, first.binding_session_id);
    assert_eq!(h.outbox(test_cards::DEBIT.phone).await?.messages.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_key_reused_with_another_body_conflicts() -> TestResult {
    let h = start().await?;
    let _: BeginBindingResponse = ok_json(
        h.post(PATH_BINDINGS, &begin_request(&test_cards::DEBIT), Some("k"))
            .await?,
    )
    .await?;
    let different = begin_request(&test_cards::CREDIT);
    expect_error(
        h.post(PATH_BINDINGS, &different, Some("k")).await?,
        409,
        "IDEMPOTENCY_CONFLICT",
    )
    .await?;
    // Keys are per endpoint: the same key on confirm is unrelated.
    let confirm = confirm_request("00", "123456", &P256SigningKey::generate()?);
    expect_error(
        h.post(PATH_BINDINGS_CONFIRM, &confirm, Some("k")).await?,
        404,
        "SESSION_NOT_FOUND",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn error_answers_are_replayed_but_malformed_requests_are_not_stored() -> TestResult {
    let h = start().await?;
    // A business refusal is an answer: replayed as is.
    let wrong_name = BeginBindingRequest {
        holder_name: "张四".into(),
        ..begin_request(&test_cards::DEBIT)
    };
    expect_error(
        h.post(PATH_BINDINGS, &wrong_name, Some("e1")).await?,
        422,
        "NAME_MISMATCH",
    )
    .await?;
    let again = h.post(PATH_BINDINGS, &wrong_name, Some("e1")).await?;
    assert!(replayed(&again));
    expect_error(again, 422, "NAME_MISMATCH").await?;

    // A malformed request never started: the key stays free for the corrected request.
    let bad = h
        .http
        .post(h.url(PATH_BINDINGS))
        .header(IDEMPOTENCY_KEY_HEADER, "e2")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    expect_error(bad, 400, "BAD_REQUEST").await?;
    let fixed = h
        .post(
            PATH_BINDINGS,
            &begin_request(&test_cards::DEBIT),
            Some("e2"),
        )
        .await?;
    assert!(!replayed(&fixed));
    let _: BeginBindingResponse = ok_json(fixed).await?;
    Ok(())
}

#[tokio::test]
async fn concurrent_retries_with_one_key_run_the_handler_once() -> TestResult {
    let h = start().await?;
    let request = begin_request(&test_cards::LATIN_NAME_DEBIT);
    let (a, b, c) = tokio::join!(
        h.post(PATH_BINDINGS, &request, Some("race")),
        h.post(PATH_BINDINGS, &request, Some("race")),
        h.post(PATH_BINDINGS, &request, Some("race")),
    );
    let a: BeginBindingResponse = ok_json(a?).await?;
    let b: BeginBindingResponse = ok_json(b?).await?;
    let c: BeginBindingResponse = ok_json(c?).await?;
    assert_eq!(a, b);
    assert_eq!(b, c);
    assert_eq!(
        h.outbox(test_cards::LATIN_NAME_DEBIT.phone)
            .await?
            .messages
            .len(),
        1
    );
    Ok(())
}

#[tokio::test]
async fn idempotent_confirm_replays_the_binding() -> TestResult {
    let h = start().await?;
    let key = P256SigningKey::generate()?;
    let begun = h.begin(&test_cards::DEBIT).await?;
    let code = h.latest_code(test_cards::DEBIT.phone).await?;
    let request = confirm_request(&begun.binding_session_id, &code, &key);
    let first: BindingRecord =
        ok_json(h.post(PATH_BINDINGS_CONFIRM, &request, Some("c1")).await?).await?;
    let second = h.post(PATH_BINDINGS_CONFIRM, &request, Some("c1")).await?;
    assert!(replayed(&second));
    assert_eq!(ok_json::<BindingRecord>(second).await?, first);
    Ok(())
}

#[tokio::test]
async fn malformed_bodies_are_400_with_an_error_body() -> TestResult {
    let h = start().await?;
    let send = |body: &'static str, content_type: Option<&'static str>| {
        let mut request = h.http.post(h.url(PATH_BINDINGS)).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request.send()
    };
    let json = Some("application/json");
    let cases = [
        ("{\"pan\": ", json),                                   // truncated JSON
        ("", json),                                             // empty body
        ("[]", json),                                           // wrong shape
        ("{\"pan\":\"6222021234567894\"}", json),               // missing fields
        (
            "{\"pan\":6222021234567894,\"holder_name\":\"张三\",\"id_number\":\"1233\",\"phone\":\"13800138000\",\"device_id\":\"d\"}",
            json,
        ), // number where a string belongs
        ("{\"pan\":\"6222021234567894\"}", Some("text/plain")), // wrong content type
        ("{\"pan\":\"6222021234567894\"}", None),               // no content type
    ];
    for (body, content_type) in cases {
        let response = send(body, content_type).await?;
        let error = expect_error(response, 400, "BAD_REQUEST").await?;
        assert!(
            error.error.message.len() > 10,
            "{body}: {}",
            error.error.message
        );
    }
    // Missing fields are named in the message.
    let response = send("{\"pan\":\"6222021234567894\"}", json).await?;
    let error = expect_error(response, 400, "BAD_REQUEST").await?;
    assert!(
        error.error.message.contains("holder_name"),
        "{}",
        error.error.message
    );

    // A bad idempotency key header.
    let response = h
        .http
        .post(h.url(PATH_BINDINGS))
        .header(IDEMPOTENCY_KEY_HEADER, "x".repeat(300))
        .json(&begin_request(&test_cards::DEBIT))
        .send()
        .await?;
    expect_error(response, 400, "BAD_REQUEST").await?;
    Ok(())
}

#[tokio::test]
async fn routing_and_health() -> TestResult {
    let h = start().await?;
    let health = h.get("/health").await?;
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.text().await?, "ok");
    expect_error(h.get("/no/such/thing").await?, 404, "BAD_REQUEST").await?;
    expect_error(h.get(PATH_BINDINGS_CONFIRM).await?, 405, "BAD_REQUEST").await?;
    let delete = h.http.delete(h.url(PATH_BINDINGS)).send().await?;
    expect_error(delete, 405, "BAD_REQUEST").await?;
    Ok(())
}

#[tokio::test]
async fn state_survives_a_restart_with_the_same_data_dir() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = P256SigningKey::generate()?;

    let h = start_with(Some(dir.path().to_owned())).await?;
    let bound = h.bind(&test_cards::DEBIT, &key).await?;
    // A session begun before the restart, confirmed after it.
    let pending = h.begin(&test_cards::CREDIT).await?;
    let idem = h
        .post(
            PATH_BINDINGS,
            &begin_request(&test_cards::E_CASH),
            Some("persist"),
        )
        .await?;
    let idem: BeginBindingResponse = ok_json(idem).await?;
    h.advance_clock(60).await?;
    let Harness { world, http } = h;
    drop(http);
    world.shutdown().await;

    let h = start_with(Some(dir.path().to_owned())).await?;
    assert!(h.world.state().clock().offset() >= 60);
    let fetched: BindingRecord = ok_json(h.get_binding(&bound.binding_id).await?).await?;
    assert_eq!(fetched, bound);
    assert_eq!(h.outbox(test_cards::DEBIT.phone).await?.messages.len(), 1);
    let code = h.latest_code(test_cards::CREDIT.phone).await?;
    let confirmed: BindingRecord = ok_json(
        h.confirm(&confirm_request(&pending.binding_session_id, &code, &key))
            .await?,
    )
    .await?;
    assert_eq!(confirmed.status, BindingStatus::Active);
    let replay = h
        .post(
            PATH_BINDINGS,
            &begin_request(&test_cards::E_CASH),
            Some("persist"),
        )
        .await?;
    assert!(replayed(&replay));
    assert_eq!(ok_json::<BeginBindingResponse>(replay).await?, idem);
    h.world.shutdown().await;

    // A fresh temporary world knows none of it.
    let other = start().await?;
    expect_error(
        other.get_binding(&bound.binding_id).await?,
        404,
        "BINDING_NOT_FOUND",
    )
    .await?;
    Ok(())
}

/// `mock-backend --fault SPEC` serves the world through the fault proxy on `--addr`.
#[test]
fn the_binary_injects_the_faults_it_is_given() -> TestResult {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mock-backend"))
        .args(["--addr", "127.0.0.1:0", "--fault", "status-503@/health*2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("stdout")?).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or("no URL line")?
        .to_owned();
    let statuses: Vec<u16> = tokio::runtime::Runtime::new()?.block_on(async {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(
                reqwest::get(format!("{url}/health"))
                    .await?
                    .status()
                    .as_u16(),
            );
        }
        Ok::<_, reqwest::Error>(statuses)
    })?;
    child.kill()?;
    child.wait()?;
    assert_eq!(statuses, [503, 503, 200]);
    Ok(())
}
