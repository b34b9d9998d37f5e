//! api_cart_lambda: the cart routes of /v1.

#[tokio::main]
async fn main() -> Result<(), common::app::BoxError> {
    common::app::main(common::app::Function::Cart, common::app::run_cart).await
}
