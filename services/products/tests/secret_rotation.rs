//! Database credentials that rotate (issue 22, item 4): the real `products` binary takes its
//! database credentials from a Secrets Manager secret (moto); under load, the role's password
//! and the secret change and the role's sessions end (as when the pool must open new
//! connections after a rotation). With at most one retry per request nothing fails, and every
//! acknowledged write is in the database.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use serde_json::json;
use testkit::TestApp;

/// Requests each client sends before the rotation, meanwhile, and once it is done.
const BEFORE: usize = 10;
const DURING: usize = 15;
const AFTER: usize = 10;
const CLIENTS: usize = 4;

#[derive(Default)]
struct Outcomes {
    /// SKUs of the products whose creation was answered 201.
    acknowledged: Vec<String>,
    /// Requests that failed twice: (SKU, what the second attempt got).
    failed: Vec<(String, String)>,
    /// Requests that needed their retry.
    retried: usize,
}

/// One create, retried once with the same key and body (a client's retry: the key makes a
/// retry after an unknown outcome safe).
async fn create(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    n: usize,
) -> Result<String, (String, String)> {
    let body = TestApp::product_body(&format!("rotation {n}"), "3.00", 5);
    let sku = body["sku"].as_str().unwrap().to_owned();
    let mut last = String::new();
    for attempt in 0..2 {
        let sent = client
            .post(format!("{url}/v1/products"))
            .bearer_auth(token)
            .header("idempotency-key", format!("rotation-{sku}"))
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status() == 201 => {
                return Ok(if attempt == 0 {
                    sku
                } else {
                    format!("retried:{sku}")
                });
            }
            Ok(response) => {
                last = format!(
                    "{} {}",
                    response.status(),
                    response.text().await.unwrap_or_default()
                )
            }
            Err(err) => last = err.to_string(),
        }
    }
    Err((sku, last))
}

#[tokio::test]
async fn a_password_rotated_under_load_fails_no_request_twice_and_loses_no_acknowledged_write() {
    // Arrange: a role of this test's own, its credentials in a secret, the products function
    // reading them from there.
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let suffix = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let role = format!("rotation_{suffix}");
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // Roles, other roles' sessions and their start times are the superuser's business: the
    // stack's `postgres`, over the data directory's socket (trusted locally).
    let stack = testkit::stack_env();
    let pg_port: u16 = stack["PG_PORT"].parse().unwrap();
    let superuser = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::postgres::PgConnectOptions::new()
                .socket(format!("{}/pg", stack["STACK_DIR"]))
                .port(pg_port)
                .username("postgres")
                .database(&database),
        )
        .await
        .expect("connect as the stack's superuser over its socket");
    for statement in [
        format!("CREATE ROLE \"{role}\" LOGIN PASSWORD 'first-{suffix}'"),
        format!("GRANT CONNECT ON DATABASE \"{database}\" TO \"{role}\""),
        format!("GRANT USAGE ON SCHEMA public TO \"{role}\""),
        format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"{role}\""
        ),
        format!("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO \"{role}\""),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&superuser)
            .await
            .unwrap();
    }
    let secret_value = |password: &str| {
        json!({
            "username": role, "password": password, "host": "127.0.0.1",
            "port": pg_port, "dbname": database,
        })
        .to_string()
    };
    let secret_id = format!("rotation/{role}");
    let secrets = app.resources.secrets();
    secrets
        .create_secret()
        .name(&secret_id)
        .secret_string(secret_value(&format!("first-{suffix}")))
        .send()
        .await
        .expect("create the secret in moto");
    let (url, mut child) = app
        .spawn_process_with(
            env!("CARGO_BIN_EXE_products"),
            &[
                ("DATABASE_URL", ""),
                ("DATABASE_SECRET_ID", &secret_id),
                ("DATABASE_SSL_MODE", "disable"),
            ],
        )
        .await;

    // Act: clients create products; once each has sent BEFORE, the password and the secret
    // change and the role's sessions are ended while they go on.
    let outcomes: Arc<Mutex<Outcomes>> = Arc::default();
    let ready = Arc::new(AtomicUsize::new(0));
    let rotated = tokio::sync::watch::Sender::new(false);
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, url, token) = (app.client.clone(), url.clone(), admin.access_token.clone());
        let (outcomes, ready, mut rotated) = (outcomes.clone(), ready.clone(), rotated.subscribe());
        clients.push(tokio::spawn(async move {
            for n in 0..BEFORE + DURING + AFTER {
                if n == BEFORE {
                    ready.fetch_add(1, Ordering::AcqRel);
                }
                if n == BEFORE + DURING {
                    rotated.wait_for(|done| *done).await.unwrap();
                }
                let outcome = create(&client, &url, &token, c * 1000 + n).await;
                let mut outcomes = outcomes.lock().unwrap();
                match outcome {
                    Ok(sku) => match sku.strip_prefix("retried:") {
                        Some(sku) => {
                            outcomes.retried += 1;
                            outcomes.acknowledged.push(sku.to_owned());
                        }
                        None => outcomes.acknowledged.push(sku),
                    },
                    Err(failure) => outcomes.failed.push(failure),
                }
            }
        }));
    }
    while ready.load(Ordering::Acquire) < CLIENTS {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let rotated_at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&superuser)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER ROLE \"{role}\" PASSWORD 'second-{suffix}'"
    )))
    .execute(&superuser)
    .await
    .unwrap();
    secrets
        .put_secret_value()
        .secret_id(&secret_id)
        .secret_string(secret_value(&format!("second-{suffix}")))
        .send()
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1")
        .bind(&role)
        .execute(&superuser)
        .await
        .unwrap();
    rotated.send(true).unwrap();
    for client in clients {
        client.await.unwrap();
    }

    // Assert: no request failed twice; every acknowledged product is in the database; and the
    // function did open connections with the new password.
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    assert!(
        outcomes.failed.is_empty(),
        "{} of {} requests failed after their retry (e.g. {:?}); {} needed their retry",
        outcomes.failed.len(),
        CLIENTS * (BEFORE + DURING + AFTER),
        outcomes.failed.first(),
        outcomes.retried
    );
    let stored: Vec<String> = sqlx::query_scalar("SELECT sku FROM products WHERE sku = ANY($1)")
        .bind(&outcomes.acknowledged)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        stored.len(),
        outcomes.acknowledged.len(),
        "acknowledged products missing from the database"
    );
    let new_sessions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND backend_start > $2",
    )
    .bind(&role)
    .bind(rotated_at)
    .fetch_one(&superuser)
    .await
    .unwrap();
    assert!(
        new_sessions > 0,
        "the function opened no connection after the rotation"
    );
    eprintln!(
        "rotation: {} acknowledged, {} needed their retry, {new_sessions} sessions opened after it",
        outcomes.acknowledged.len(),
        outcomes.retried
    );

    // The role is the cluster's, not the test database's: drop it.
    let _ = child.kill().await;
    let _ =
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1")
            .bind(&role)
            .execute(&superuser)
            .await;
    for statement in [
        format!("DROP OWNED BY \"{role}\""),
        format!("DROP ROLE \"{role}\""),
    ] {
        let _ = sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&superuser)
            .await;
    }
    superuser.close().await;
    let _ = secrets
        .delete_secret()
        .secret_id(&secret_id)
        .force_delete_without_recovery(true)
        .send()
        .await;
}

#[tokio::test]
async fn a_rotated_redis_auth_token_is_read_again_when_redis_refuses_the_old_one() {
    // Arrange: a Redis of the test's own with a password, its token in a secret, the cache of
    // an app that reads it from there, working.
    let redis = testkit::redis_server::PrivateRedis::start_with_password("first-token").await;
    let probe = TestApp::spawn().await;
    let secret_id = probe
        .create_secret(r#"{"auth_token": "first-token"}"#)
        .await;
    drop(probe);
    let app = TestApp::builder()
        .env("REDIS_URL", redis.url())
        .env("REDIS_AUTH_SECRET_ID", &secret_id)
        .spawn()
        .await;
    let cache = app.resources.cache().await.unwrap();
    let ttl = std::time::Duration::from_secs(60);
    cache.set("rotation:before", &1u32, ttl).await;
    assert_eq!(
        cache.get::<u32>("rotation:before").await,
        Some(1),
        "the cache works before"
    );

    // Act: the token rotates (Redis takes only the new one, the secret holds it) and Redis
    // drops the clients' connections, so the app's manager must authenticate again.
    let client =
        redis::Client::open(format!("redis://:first-token@127.0.0.1:{}", redis.port)).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("second-token")
        .query_async::<()>(&mut admin)
        .await
        .unwrap();
    app.resources
        .secrets()
        .put_secret_value()
        .secret_id(&secret_id)
        .secret_string(r#"{"auth_token": "second-token"}"#)
        .send()
        .await
        .unwrap();
    redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .query_async::<u64>(&mut admin)
        .await
        .unwrap();

    // Assert: within a few commands (the ones that meet the old token fail, as misses) the
    // cache reads and writes again, with the new token.
    let mut misses = 0;
    let mut works = false;
    for n in 0..10u32 {
        cache.set("rotation:after", &n, ttl).await;
        if cache.get::<u32>("rotation:after").await == Some(n) {
            works = true;
            break;
        }
        misses += 1;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        works,
        "the cache still fails after {misses} round trips with a rotated token"
    );
    let check =
        redis::Client::open(format!("redis://:second-token@127.0.0.1:{}", redis.port)).unwrap();
    let mut check = check.get_multiplexed_async_connection().await.unwrap();
    let stored: Option<String> = redis::cmd("GET")
        .arg(format!("{}rotation:after", app.isolation.cache_prefix))
        .query_async(&mut check)
        .await
        .unwrap();
    assert!(
        stored.is_some(),
        "the value written after the rotation is in Redis"
    );
    eprintln!("redis rotation: {misses} failed round trips before the cache worked again");
}
