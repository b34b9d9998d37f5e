//! api_orders_lambda: the orders routes of /v1.

#[tokio::main]
async fn main() -> Result<(), common::app::BoxError> {
    common::app::main(common::app::Function::Orders, common::app::run_orders).await
}
