//! api_users_lambda: the users routes of /v1.

#[tokio::main]
async fn main() -> Result<(), common::app::BoxError> {
    common::app::main(common::app::Function::Users, common::app::run_users).await
}
