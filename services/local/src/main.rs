//! the all-in-one local server: every /v1 router on one port, as API Gateway would route them, plus the queue pollers and the outbox relay; `local migrate` applies the migrations.

#[tokio::main]
async fn main() -> Result<(), common::app::BoxError> {
    common::app::main(common::app::Function::Local, common::app::run_local).await
}
