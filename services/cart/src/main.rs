//! `api_cart_lambda`: the cart routes of /v1, under Lambda or as a plain HTTP server.

#[tokio::main]
async fn main() -> Result<(), common::error::BoxError> {
    common::runtime::serve(common::routers::Service::Cart).await
}
