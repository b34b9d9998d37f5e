//! api_products_lambda: the products routes of /v1, plus the `relay` (scheduled outbox relay) and `migrate` (deploy step) commands.

// One thread: a Lambda execution environment hands it one event at a time (`common::app::main`).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), common::app::BoxError> {
    common::app::main(common::app::Function::Products, common::app::run_products).await
}
