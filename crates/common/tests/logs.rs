//! What the services log: JSON lines that carry the request id and the caller, and never a
//! token or a password. A test binary of its own, since it installs the process's logger.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{TestApp, logs::Captured};

#[tokio::test]
async fn logs_carry_request_ids_and_never_tokens_or_passwords() {
    let captured = Captured::install();

    let app = TestApp::spawn().await;
    let email = format!("log-{}@example.com", uuid::Uuid::new_v4().simple());
    let password = "Sup3r-Secret-Pw!";
    let registered = app
        .send_json(
            Method::POST,
            "/v1/users/register",
            None,
            &json!({"name": "Logged", "email": email, "password": password}),
        )
        .await;
    assert_eq!(registered.status(), 201);
    let user = app.login(&email, password).await;
    let me = app
        .request(Method::GET, "/v1/users/me", Some(&user.access_token))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let refreshed = app
        .send_json(
            Method::POST,
            "/v1/users/refresh",
            None,
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_eq!(refreshed.status(), 200);
    let wrong = app
        .send_json(
            Method::POST,
            "/v1/users/login",
            None,
            &json!({"email": email, "password": "Wr0ng-Guess!"}),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    drop(app);

    let text = captured.text();
    let lines: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(lines.len() >= 5, "JSON log lines were written: {text}");
    for secret in [
        password,
        "Wr0ng-Guess!",
        &user.access_token,
        &user.id_token,
        &user.refresh_token,
    ] {
        let probe = &secret[..secret.len().min(24)];
        assert!(
            !text.contains(probe),
            "a secret leaked into the logs: {probe}"
        );
    }
    let me_line = lines
        .iter()
        .find(|l| l["message"] == "request completed" && l["span"]["request_id"] == "trace-me-123")
        .expect("the /me request's log line, under the client's request id");
    assert_eq!(me_line["status"], 200);
    assert!(
        me_line["span"]["user_id"]
            .as_str()
            .is_some_and(|u| !u.is_empty()),
        "the caller is on the line: {me_line}"
    );
}
