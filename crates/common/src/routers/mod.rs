//! axum routers, one module per route group: extract, call one service function, map to JSON.
//! The per-service routers are assembled here, and so is the OpenAPI document.

pub mod dto;
pub mod health;
pub mod products;
pub mod users;

use axum::{Json, Router, middleware, routing::get};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};
use utoipa_axum::router::OpenApiRouter;

use crate::{http, state::AppState};

/// The services that answer HTTP, as API Gateway routes `/v1/{service}/…` to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Users,
    Products,
    Cart,
    Orders,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Users,
        Service::Products,
        Service::Cart,
        Service::Orders,
    ];

    fn routes(self) -> OpenApiRouter<AppState> {
        match self {
            Service::Users => users::router(),
            Service::Products => products::router(),
            Service::Cart => health::cart_router(),
            Service::Orders => health::orders_router(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Serverless shop API",
        version = "1.0.0",
        description = "The /v1 REST contract of the platform (users, products, cart, orders)."
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::error::ErrorEnvelope))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT (Cognito access token)".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

fn assemble(services: &[Service]) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi());
    for service in services {
        router = router.merge(service.routes());
    }
    router.split_for_parts()
}

/// The router of one Lambda function.
pub fn service_router(service: Service, state: AppState) -> Router {
    finish(assemble(&[service]).0, state)
}

/// Every service on one port, as API Gateway would route them, plus `/v1/openapi.json`.
pub fn local_router(state: AppState) -> Router {
    let (router, api) = assemble(&Service::ALL);
    let router = router.route("/v1/openapi.json", get(move || async move { Json(api) }));
    finish(router, state)
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    assemble(&Service::ALL).1
}

fn finish(router: Router<AppState>, state: AppState) -> Router {
    let router = router.route_layer(middleware::from_fn_with_state(
        state.idempotency.clone(),
        http::idempotency::layer,
    ));
    http::finish(router, state.config.body_limit_bytes).with_state(state)
}
