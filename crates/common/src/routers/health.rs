//! `GET /v1/<service>/health` for every HTTP service, and the routers of the services whose
//! features come later (cart, orders): they answer their health route and nothing else.

use axum::{extract::State, http::StatusCode, response::IntoResponse};

use crate::{
    http::extract::ApiJson,
    services::health::HealthReport,
    state::{CartState, OrdersState, ProductsState, ServiceState, UsersState},
};

async fn report<S>(state: &ServiceState<S>) -> impl IntoResponse + use<S> {
    let report = state.health.check().await;
    let status = if report.healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, ApiJson(report))
}

macro_rules! health_route {
    ($name:ident, $path:literal, $tag:literal, $state:ty) => {
        #[utoipa::path(get, path = $path, tag = $tag,
            responses(
                (status = 200, description = "Postgres and DynamoDB answer", body = HealthReport),
                (status = 503, description = "a required dependency is down", body = HealthReport),
            ))]
        pub async fn $name(State(state): State<$state>) -> impl IntoResponse {
            report(&state).await
        }
    };
}

health_route!(users_health, "/v1/users/health", "users", UsersState);
health_route!(
    products_health,
    "/v1/products/health",
    "products",
    ProductsState
);
health_route!(cart_health, "/v1/cart/health", "cart", CartState);
health_route!(orders_health, "/v1/orders/health", "orders", OrdersState);
