//! `api_products_lambda`: the products routes of /v1, under Lambda or as a plain HTTP server.

#[tokio::main]
async fn main() -> Result<(), common::error::BoxError> {
    common::runtime::serve(common::routers::Service::Products).await
}
