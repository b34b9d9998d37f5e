//! `scripts/gen/schema.sql` is exactly what the migrations produce.

use std::process::Command;

use testkit::TestApp;

/// `pg_dump --schema-only` of a database, without comments, session settings and the
/// migrations' bookkeeping table (as `scripts/gen/schema.sh` writes it).
fn dump(database_url: &str) -> String {
    let output = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/gen/schema.sh"
        ))
        .arg("--stdout")
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run scripts/gen/schema.sh");
    assert!(
        output.status.success(),
        "schema.sh failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn schema_sql_equals_what_the_migrations_produce() {
    let app = TestApp::spawn().await;
    let url = app.isolation.database_url.clone();
    let from_migrations = dump(&url);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/gen/schema.sql"
    ))
    .unwrap();
    assert!(
        from_migrations.contains("CREATE TABLE public.products"),
        "the dump has the schema"
    );
    assert!(
        from_migrations == committed,
        "scripts/gen/schema.sql is stale: run `scripts/gen/schema.sh` (it regenerates the file from the migrations)"
    );
}

/// Every signed-in request looks its caller up by `cognito_sub`: that must be an index lookup,
/// never a scan of `users`. With sequential scans priced out, a predicate that can use the
/// unique index is answered by it; one that cannot (a cast of the column) still scans.
#[tokio::test]
async fn the_signed_in_user_lookup_uses_the_cognito_sub_index() {
    let app = TestApp::spawn().await;
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let plan: serde_json::Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (FORMAT JSON) {}",
        common::repositories::users_pg::by_sub_sql()
    )))
    .bind(uuid::Uuid::new_v4())
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let text = plan.to_string();
    assert!(
        text.contains("users_cognito_sub_key") && !text.contains("Seq Scan"),
        "the lookup must use the unique index: {text}"
    );
    // The check can fail: the old predicate scans.
    let cast: serde_json::Value = sqlx::query_scalar(
        "EXPLAIN (FORMAT JSON) SELECT user_id FROM users WHERE cognito_sub::TEXT = $1",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(cast.to_string().contains("Seq Scan"), "{cast}");
}
