//! The users contract against the emulator's real Cognito.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::TestApp;

fn email() -> String {
    format!("new-{}@example.com", uuid::Uuid::new_v4().simple())
}

const STRONG: &str = "Str0ng-Passw0rd!";

#[tokio::test]
async fn a_customer_registers_signs_in_and_edits_their_profile() {
    let app = TestApp::spawn().await;
    let address = email();
    let response = app
        .send_json(Method::POST, "/v1/users/register", None, &json!({
            "name": "Ada Lovelace", "email": address, "password": STRONG, "address": "12 St James's Square"
        }))
        .await;
    assert_eq!(response.status(), 201);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["email"], address.as_str());
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["address"], "12 St James's Square");
    assert!(user["avatar_url"].is_null());
    let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 7, "exactly the documented fields: {keys:?}");
    assert!(
        !user.to_string().to_lowercase().contains("passw"),
        "no password or hash: {user}"
    );

    let signed_in = app.login(&address, STRONG).await;
    let me: Value = app
        .get("/v1/users/me", Some(&signed_in.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["user_id"], user["user_id"],
        "the token is linked to the row by cognito_sub"
    );

    let patched = app
        .send_json(
            Method::PATCH,
            "/v1/users/me",
            Some(&signed_in.access_token),
            &json!({"name": "Ada King", "address": null}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["name"], "Ada King");
    assert!(patched["address"].is_null(), "null clears the address");

    let refreshed = app
        .send_json(
            Method::POST,
            "/v1/users/refresh",
            None,
            &json!({"refresh_token": signed_in.refresh_token}),
        )
        .await;
    assert_eq!(refreshed.status(), 200);
    let tokens: Value = refreshed.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_i64().unwrap() > 0);
    let again = app
        .get(
            "/v1/users/me",
            Some(tokens["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(again.status(), 200, "the refreshed access token works");
}

#[tokio::test]
async fn sign_up_and_sign_in_errors_use_the_contracts_codes() {
    let app = TestApp::spawn().await;
    let taken = email();
    let first = app
        .send_json(
            Method::POST,
            "/v1/users/register",
            None,
            &json!({"name": "A", "email": taken, "password": STRONG}),
        )
        .await;
    assert_eq!(first.status(), 201);

    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "taken e-mail",
            json!({"name": "B", "email": taken, "password": STRONG}),
            409,
            "CONFLICT",
        ),
        (
            "taken e-mail in other case",
            json!({"name": "B", "email": taken.to_uppercase(), "password": STRONG}),
            409,
            "CONFLICT",
        ),
        (
            "short password",
            json!({"name": "B", "email": email(), "password": "Sh0rt!"}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "password without upper case or symbol",
            json!({"name": "B", "email": email(), "password": "alllowercase1"}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "not an e-mail",
            json!({"name": "B", "email": "nobody", "password": STRONG}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "empty name",
            json!({"name": " ", "email": email(), "password": STRONG}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "missing password",
            json!({"name": "B", "email": email()}),
            400,
            "VALIDATION_FAILED",
        ),
    ];
    for (case, body, status, code) in cases {
        let response = app
            .send_json(Method::POST, "/v1/users/register", None, &body)
            .await;
        let error = crate::assert_error(response, status, code, case).await;
        let message = error["error"]["message"].as_str().unwrap().to_lowercase();
        assert!(
            !message.contains("exception") && !message.contains("cognito"),
            "{case}: no provider text: {message}"
        );
    }

    let wrong_password = app
        .send_json(
            Method::POST,
            "/v1/users/login",
            None,
            &json!({"email": taken, "password": "Wr0ng-Passw0rd!"}),
        )
        .await;
    let a = crate::assert_error(wrong_password, 401, "UNAUTHENTICATED", "wrong password").await;
    let unknown = app
        .send_json(
            Method::POST,
            "/v1/users/login",
            None,
            &json!({"email": email(), "password": STRONG}),
        )
        .await;
    let b = crate::assert_error(unknown, 401, "UNAUTHENTICATED", "unknown e-mail").await;
    assert_eq!(
        a["error"]["message"], b["error"]["message"],
        "one message for both: no account enumeration"
    );

    let bad_refresh = app
        .send_json(
            Method::POST,
            "/v1/users/refresh",
            None,
            &json!({"refresh_token": "garbage"}),
        )
        .await;
    crate::assert_error(bad_refresh, 401, "UNAUTHENTICATED", "garbage refresh token").await;
    let me = app.get("/v1/users/me", None).await;
    crate::assert_error(me, 401, "UNAUTHENTICATED", "me without a token").await;
}

#[tokio::test]
async fn a_sign_up_whose_database_insert_fails_leaves_no_cognito_user() {
    let app = TestApp::spawn().await;
    sqlx::raw_sql(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$; \
         CREATE TRIGGER refuse_users BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse();",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let address = email();
    let body = json!({"name": "Half", "email": address, "password": STRONG});
    let failed = app
        .send_json(Method::POST, "/v1/users/register", None, &body)
        .await;
    crate::assert_error(failed, 500, "INTERNAL", "insert refused").await;
    let lookup = app
        .cognito_client
        .admin_get_user()
        .user_pool_id(&app.cognito.user_pool_id)
        .username(&address)
        .send()
        .await;
    assert!(lookup.is_err(), "the Cognito user was removed again");

    sqlx::raw_sql("DROP TRIGGER refuse_users ON users")
        .execute(&app.pool)
        .await
        .unwrap();
    let retried = app
        .send_json(Method::POST, "/v1/users/register", None, &body)
        .await;
    assert_eq!(
        retried.status(),
        201,
        "the same sign-up works once the database does"
    );
}

#[tokio::test]
async fn a_signed_in_user_without_a_row_gets_one_on_first_use() {
    let app = TestApp::spawn().await;
    let customer = app.customer().await; // made in Cognito directly, never registered here
    let me = app.get("/v1/users/me", Some(&customer.access_token)).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["email"], customer.email.as_str());
    let again: Value = app
        .get("/v1/users/me", Some(&customer.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["user_id"], me["user_id"],
        "one row, not one per request"
    );
}

#[tokio::test]
async fn only_admins_read_other_users() {
    let app = TestApp::spawn().await;
    let (admin, alice, bob) = (
        app.admin().await,
        app.customer().await,
        app.customer().await,
    );
    let alice_row: Value = app
        .get("/v1/users/me", Some(&alice.access_token))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/v1/users/{}", alice_row["user_id"]);

    let by_admin = app.get(&path, Some(&admin.access_token)).await;
    assert_eq!(by_admin.status(), 200);
    assert_eq!(
        by_admin.json::<Value>().await.unwrap()["email"],
        alice.email.as_str()
    );
    crate::assert_error(
        app.get(&path, Some(&bob.access_token)).await,
        403,
        "FORBIDDEN",
        "another customer",
    )
    .await;
    crate::assert_error(
        app.get(&path, Some(&alice.access_token)).await,
        403,
        "FORBIDDEN",
        "herself, by id",
    )
    .await;
    crate::assert_error(
        app.get(&path, None).await,
        401,
        "UNAUTHENTICATED",
        "anonymous",
    )
    .await;
    crate::assert_error(
        app.get("/v1/users/99999999", Some(&admin.access_token))
            .await,
        404,
        "RESOURCE_NOT_FOUND",
        "no such user",
    )
    .await;
    // An ID token is not an access token, on the local path too.
    crate::assert_error(
        app.get("/v1/users/me", Some(&alice.id_token)).await,
        401,
        "UNAUTHENTICATED",
        "ID token",
    )
    .await;
}
