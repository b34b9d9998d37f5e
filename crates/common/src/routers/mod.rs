//! axum routers, one module per route group: extract, call one service function, map to JSON.
//! Each service's routes are sealed here with that service's state (and its `Idempotency-Key`
//! routes, declared by the route module), and so is the OpenAPI document.

/// A route module's routes: `routes!(docs; handler, …)` is `utoipa_axum::routes!(handler, …)`
/// when `docs` is [`Docs::Build`]. With [`Docs::Skip`] it routes the same handlers from each
/// one's path and methods alone (its `utoipa::Path` impl) and builds neither its OpenAPI
/// operation nor its schemas: a served router throws its document away (`finish` serves the
/// one [`openapi`] builds, on request), and building it was a third of a function's init CPU
/// (docs/benchmarks/lambda.md).
macro_rules! routes {
    ($docs:expr; $($handler:ident),+ $(,)?) => {
        match $docs {
            $crate::routers::Docs::Build => utoipa_axum::routes!($($handler),+),
            $crate::routers::Docs::Skip => {
                let mut paths = utoipa::openapi::path::Paths::new();
                let mut router = axum::routing::MethodRouter::new();
                $(
                    utoipa_axum::paste! {
                        let methods = <[<__path_ $handler>] as utoipa::Path>::methods();
                        let path = <[<__path_ $handler>] as utoipa::Path>::path();
                    }
                    for method in &methods {
                        router = router.on(utoipa_axum::PathItemExt::to_method_filter(method), $handler);
                    }
                    paths.add_path_operation(path, methods, utoipa::openapi::path::Operation::default());
                )+
                (Vec::new(), paths, router)
            }
        }
    };
}

/// Whether a route module's router builds its OpenAPI operations and schemas ([`routes!`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Docs {
    /// For the document ([`openapi`]).
    Build,
    /// For serving: the routes only.
    Skip,
}

pub mod cart;
pub mod cdn;
mod docs;
pub mod dto;
pub mod health;
pub mod orders;
pub mod products;
pub mod schema;
pub mod users;

use std::sync::{Arc, OnceLock};

use axum::{Router, middleware, routing::get};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};
use utoipa_axum::router::OpenApiRouter;

use crate::{
    config::BaseConfig,
    http::{
        self,
        idempotency::{Idempotency, IdempotentRoutes},
    },
    state::{CartState, OrdersState, ProductsState, ServiceState, UsersState},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Serverless shop API",
        version = "1.0.0",
        description = "The /v1 REST contract of the platform (users, products, cart, orders)."
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::http::error::ErrorEnvelope))
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

/// Gives a service's routes their state, behind the idempotency layer when the service has
/// `Idempotency-Key` routes.
fn seal<S: Send + Sync + 'static>(
    router: OpenApiRouter<ServiceState<S>>,
    state: ServiceState<S>,
    idempotent: IdempotentRoutes,
) -> OpenApiRouter {
    let router = match &state.idempotency {
        Some(service) if !idempotent.is_empty() => {
            router.route_layer(middleware::from_fn_with_state(
                Idempotency::new(
                    service.clone(),
                    state.auth.clone(),
                    idempotent,
                    state.body_limit,
                ),
                http::idempotency::layer,
            ))
        }
        _ => router,
    };
    router.with_state(state)
}

pub fn users(state: UsersState) -> OpenApiRouter {
    seal(users::router(Docs::Skip), state, users::IDEMPOTENT)
}

pub fn products(state: ProductsState) -> OpenApiRouter {
    seal(products::router(Docs::Skip), state, products::IDEMPOTENT)
}

pub fn cart(state: CartState) -> OpenApiRouter {
    seal(cart::router(Docs::Skip), state, cart::IDEMPOTENT)
}

pub fn orders(state: OrdersState) -> OpenApiRouter {
    seal(orders::router(Docs::Skip), state, orders::IDEMPOTENT)
}

/// The OpenAPI document of every route (no state needed).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(users::router(Docs::Build).into_openapi());
    doc.merge(products::router(Docs::Build).into_openapi());
    doc.merge(cart::router(Docs::Build).into_openapi());
    doc.merge(orders::router(Docs::Build).into_openapi());
    complete_operations(&mut doc);
    describe_responses(&mut doc);
    doc
}

/// What every route answers by construction, added where a route's annotation does not
/// already say more: `400` (a malformed `x-request-id`, a path id that is not an `int64`, a
/// malformed or invalid body), `413`/`415` for a JSON body, `401` where a bearer token is
/// required, `503` when a dependency is down (every route reads one). Path ids are stated as
/// what the router parses: positive `int64`s.
fn complete_operations(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{
        ContentBuilder, ObjectBuilder, Ref, RefOr, ResponseBuilder, path::ParameterIn, schema::Type,
    };
    let envelope = |status: &str| -> RefOr<utoipa::openapi::Response> {
        ResponseBuilder::new()
            .description(status_meaning(status))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                    .build(),
            )
            .into()
    };
    for item in doc.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let mut statuses = vec!["400", "503"];
            if operation.request_body.is_some() {
                statuses.extend(["413", "415"]);
            }
            if operation
                .security
                .as_ref()
                .is_some_and(|requirements| !requirements.is_empty())
            {
                statuses.push("401");
            }
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter
                    && parameter.parameter_in == ParameterIn::Header
                    && parameter.name.eq_ignore_ascii_case("Idempotency-Key")
                {
                    parameter.schema = Some(schema::idempotency_key());
                }
                if let RefOr::T(parameter) = parameter
                    && parameter.parameter_in == ParameterIn::Path
                    && let Some(RefOr::T(utoipa::openapi::Schema::Object(schema))) =
                        &parameter.schema
                    && schema.schema_type == Type::Integer.into()
                {
                    parameter.schema = Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .format(schema.format.clone())
                            .minimum(Some(1))
                            .maximum(Some(i64::MAX))
                            .into(),
                    );
                }
            }
            let responses = &mut operation.responses.responses;
            for status in statuses {
                if !responses.contains_key(status) {
                    responses.insert(status.to_owned(), envelope(status));
                }
            }
        }
    }
}

/// OpenAPI requires a description on every response object: a response a route documents
/// by status and body only gets its status's meaning in docs/api.md's terms.
fn describe_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    for item in doc.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            for (status, response) in operation.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = status_meaning(status).to_owned();
                }
            }
        }
    }
}

fn status_meaning(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "204" => "No content",
        "400" => {
            "`BAD_REQUEST` (malformed JSON, a missing or invalid header such as `x-request-id`) or `VALIDATION_FAILED` (a path id that is not an int64, a body or query that breaks a rule; details name the fields)"
        }
        "401" => "`UNAUTHENTICATED`: no token, or an invalid, expired or foreign one",
        "403" => "`FORBIDDEN`: the caller's role does not allow this",
        "404" => "`RESOURCE_NOT_FOUND` (or another user's)",
        "405" => "`METHOD_NOT_ALLOWED`",
        "409" => "`CONFLICT`",
        "413" => "`PAYLOAD_TOO_LARGE`: the body is over the limit (64 KiB by default)",
        "415" => "`UNSUPPORTED_MEDIA_TYPE`: the body must be application/json",
        "422" => "`IDEMPOTENCY_KEY_REUSED`: the key was used with another request",
        "429" => "`RATE_LIMITED`",
        "503" => "`DEPENDENCY_UNAVAILABLE`: a required backing service is down; retry later",
        _ => "See the error envelope",
    }
}

/// One function's router, finished: the envelope for axum's own 404/405, the body limit and
/// request ids. The products function also serves the API's own description
/// (`/v1/openapi.json`, `/v1/docs` and Swagger UI's files under it), so API Gateway routes
/// those paths to it.
pub fn finish(router: OpenApiRouter, base: &BaseConfig, function_serves_docs: bool) -> http::App {
    let router = router.split_for_parts().0;
    let router = if function_serves_docs {
        router.merge(documentation())
    } else {
        router
    };
    http::App::new(router, base.body_limit_bytes, base.request_timeout)
}

/// The all-in-one router: every service plus `/v1/openapi.json` and `/v1/docs`, and the
/// processed images at `/images/<key>` (CloudFront's stand-in).
pub fn finish_local(router: OpenApiRouter, cdn: Router, base: &BaseConfig) -> http::App {
    let router = router.split_for_parts().0.merge(documentation()).merge(cdn);
    http::App::new(router, base.body_limit_bytes, base.request_timeout)
}

/// `/v1/openapi.json` and `/v1/docs` (Swagger UI: [`docs`]). The document is built and
/// serialized once, on its first request — not at start, where it cost the products function
/// about 4 ms of every cold start (docs/benchmarks/lambda.md) for a route few invocations ask
/// for. A handler that captured the `OpenApi` value itself would be cloned with the router for
/// every connection (about 1.7 MiB each), and re-encoded for every request.
fn documentation() -> Router {
    let document: Arc<OnceLock<axum::body::Bytes>> = Arc::default();
    Router::new()
        .route(
            "/v1/openapi.json",
            get(move || {
                let body = document
                    .get_or_init(|| {
                        axum::body::Bytes::from(
                            serde_json::to_vec(&openapi())
                                .expect("the OpenAPI document serializes"),
                        )
                    })
                    .clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        )
        .merge(docs::router())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Each path with its methods, as a router's document lists them.
    fn routes(doc: utoipa::openapi::OpenApi) -> BTreeSet<(String, String)> {
        let mut routes = BTreeSet::new();
        for (path, item) in doc.paths.paths {
            let item = serde_json::to_value(item).unwrap();
            for method in item.as_object().unwrap().keys() {
                routes.insert((path.clone(), method.clone()));
            }
        }
        routes
    }

    #[test]
    fn a_served_router_has_the_documented_routes_without_their_operations() {
        let pairs = [
            (
                routes(users::router(Docs::Build).into_openapi()),
                users::router(Docs::Skip).into_openapi(),
            ),
            (
                routes(products::router(Docs::Build).into_openapi()),
                products::router(Docs::Skip).into_openapi(),
            ),
            (
                routes(cart::router(Docs::Build).into_openapi()),
                cart::router(Docs::Skip).into_openapi(),
            ),
            (
                routes(orders::router(Docs::Build).into_openapi()),
                orders::router(Docs::Skip).into_openapi(),
            ),
        ];
        for (documented, served) in pairs {
            assert!(documented.len() >= 5, "{documented:?}");
            let schemas = served.components.as_ref().map_or(0, |c| c.schemas.len());
            assert_eq!(schemas, 0, "a served router builds no schemas");
            assert_eq!(routes(served), documented);
        }
    }
}
