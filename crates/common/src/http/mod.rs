//! HTTP plumbing shared by every router: request ids, JSON in and out,
//! idempotency, and the router's own 404/405 in the error envelope.

pub mod error;
pub mod extract;
pub mod idempotency;
pub mod request_id;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};

use crate::http::error::ApiError;

/// A JSON body rendered ahead of the request (kept by a cache), sent as it is.
pub struct RenderedJson(pub bytes::Bytes);

impl IntoResponse for RenderedJson {
    fn into_response(self) -> Response {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// A finished HTTP application: one service around the whole router that gives every request
/// its body limit, its id, its log line and the envelope for axum's `405`
/// ([`request_id::middleware`]), so every response carries the id. Inside, the router's routes
/// have the request deadline and metrics, and axum's own 404 has the envelope.
///
/// Around the router once, rather than `Router::layer`, which wraps every route in a boxed
/// service of its own per layer, cloned for every request (about 8 % of a cached read's CPU:
/// docs/benchmarks/profile.md).
#[derive(Clone)]
pub struct App {
    router: Router,
    body_limit: DefaultBodyLimit,
}

impl App {
    pub fn new(router: Router, body_limit: usize, deadline: std::time::Duration) -> Self {
        let router = router
            .route_layer(middleware::from_fn_with_state(deadline, request_metrics))
            .fallback(|| async {
                ApiError::from(crate::error::Error::NotFound("no such route".into()))
            });
        App {
            router,
            body_limit: DefaultBodyLimit::max(body_limit),
        }
    }

    /// For `axum::serve`: every connection gets a clone of the application, and each request
    /// its peer's address (`ConnectInfo`: the caller's IP that sign-in hands to Cognito's
    /// threat protection; behind API Gateway the request context has it).
    pub fn into_make_service(
        self,
    ) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Self, std::net::SocketAddr>
    {
        axum::ServiceExt::<Request>::into_make_service_with_connect_info::<std::net::SocketAddr>(
            self,
        )
    }
}

impl<B> tower::Service<axum::http::Request<B>> for App
where
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response, Self::Error>> + Send + 'static>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let mut req = req.map(axum::body::Body::new);
        self.body_limit.apply(&mut req);
        let router = self.router.clone();
        Box::pin(async move { Ok(request_id::middleware(req, router).await) })
    }
}

/// One EMF document per request: `Requests`, `ClientErrors`/`ServerErrors` and `Latency` by
/// route class (`GET /v1/products/{product_id}`), plus whatever the request's code added
/// (cache hits and misses …).
///
/// And the request's deadline (`REQUEST_TIMEOUT_MS`): whatever a request waits on, its client
/// gets an answer by then — the envelope's `503` — rather than a hang. Every dependency has a
/// shorter timeout of its own; this is the backstop (a query in flight on a database that hung
/// mid-way waits for no timeout of its own). A keyed write runs on in its own task and its
/// outcome is stored under its key, so a retry learns it.
async fn request_metrics(
    axum::extract::State(deadline): axum::extract::State<std::time::Duration>,
    req: Request,
    next: Next,
) -> Response {
    use crate::metrics::{self, MetricSet, Unit};
    let class = format!(
        "{} {}",
        req.method(),
        req.extensions()
            .get::<axum::extract::MatchedPath>()
            .map_or("unmatched", |m| m.as_str())
    );
    let started = std::time::Instant::now();
    metrics::scope(
        MetricSet::default().with_dimension("RouteClass", class),
        async move {
            let response = match tokio::time::timeout(deadline, next.run(req)).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!(
                        deadline_ms = deadline.as_millis() as u64,
                        "request answered 503: past its deadline"
                    );
                    ApiError::from(crate::error::Error::unavailable(
                        "a backing service",
                        format!("the request did not finish within {deadline:?}"),
                    ))
                    .into_response()
                }
            };
            metrics::add("Requests", Unit::Count, 1.0);
            if response.status().is_server_error() {
                metrics::add("ServerErrors", Unit::Count, 1.0);
            } else if response.status().is_client_error() {
                metrics::add("ClientErrors", Unit::Count, 1.0);
            }
            metrics::add(
                "Latency",
                Unit::Milliseconds,
                started.elapsed().as_secs_f64() * 1000.0,
            );
            response
        },
    )
    .await
}
