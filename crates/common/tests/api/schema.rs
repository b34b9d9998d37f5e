//! `scripts/schema.sql` is exactly what the migrations produce.

use std::process::Command;

use testkit::TestApp;

/// `pg_dump --schema-only` of a database, without comments, session settings and the
/// migrations' bookkeeping table (as `scripts/schema.sh` writes it).
fn dump(database_url: &str) -> String {
    let output = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/schema.sh"
        ))
        .arg("--stdout")
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run scripts/schema.sh");
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
    let url = match &app.config.database {
        common::config::DatabaseSource::Url(url) => url.expose().clone(),
        other => panic!("tests use a URL, not {other:?}"),
    };
    let from_migrations = dump(&url);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/schema.sql"
    ))
    .unwrap();
    assert!(
        from_migrations.contains("CREATE TABLE public.products"),
        "the dump has the schema"
    );
    assert!(
        from_migrations == committed,
        "scripts/schema.sql is stale: run `scripts/schema.sh` (it regenerates the file from the migrations)"
    );
}
