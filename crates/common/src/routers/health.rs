//! `GET /v1/<service>/health` for every HTTP service, and the routers of the services whose
//! features come later (cart, orders): they answer their health route and nothing else.

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{http::extract::ApiJson, services::health::HealthReport, state::AppState};

async fn report(state: &AppState) -> impl IntoResponse + use<> {
    let report = state.health.check().await;
    let status = if report.healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, ApiJson(report))
}

macro_rules! health_route {
    ($name:ident, $path:literal, $tag:literal) => {
        #[utoipa::path(get, path = $path, tag = $tag,
            responses(
                (status = 200, description = "Postgres and DynamoDB answer", body = HealthReport),
                (status = 503, description = "a required dependency is down", body = HealthReport),
            ))]
        pub async fn $name(State(state): State<AppState>) -> impl IntoResponse {
            report(&state).await
        }
    };
}

health_route!(users_health, "/v1/users/health", "users");
health_route!(products_health, "/v1/products/health", "products");
health_route!(cart_health, "/v1/cart/health", "cart");
health_route!(orders_health, "/v1/orders/health", "orders");

pub fn cart_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(cart_health))
}

pub fn orders_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(orders_health))
}
