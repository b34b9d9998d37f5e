//! api_users_lambda: the users routes of /v1.

// One thread: a Lambda execution environment hands it one event at a time (`common::app::main`).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), common::app::BoxError> {
    common::app::main(common::app::Function::Users, common::app::run_users).await
}
