//! What every log line of a request carries: its id, the Lambda request id, the method, the
//! path and, once authenticated, the caller. Kept in a task-local that the JSON line writer
//! ([`super::json_lines`]) reads, instead of a `tracing` span per request: a span costs an
//! allocation in the registry and its fields formatted at every request, read or not, while
//! this is one `Arc` and is only read when a line is written.

use std::sync::{Arc, OnceLock};

use axum::http::{Method, Uri};
use tracing::Instrument;

pub struct RequestContext {
    pub request_id: String,
    pub lambda_request_id: Option<String>,
    pub method: Method,
    pub uri: Uri,
    user_id: OnceLock<String>,
}

impl RequestContext {
    pub fn new(
        request_id: String,
        lambda_request_id: Option<String>,
        method: Method,
        uri: Uri,
    ) -> Self {
        Self {
            request_id,
            lambda_request_id,
            method,
            uri,
            user_id: OnceLock::new(),
        }
    }

    /// The authenticated caller, once known.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.get().map(String::as_str)
    }
}

tokio::task_local! {
    static CURRENT: Arc<RequestContext>;
}

/// Runs `work` as the request `context`: every line it logs carries it.
pub async fn scope<F: std::future::Future>(context: Arc<RequestContext>, work: F) -> F::Output {
    CURRENT.scope(context, work).await
}

/// `f` applied to the current request's context, if the current task serves a request.
pub fn with_current<R>(f: impl FnOnce(&RequestContext) -> R) -> Option<R> {
    CURRENT.try_with(|context| f(context)).ok()
}

/// The id of the request being served by the current task, if any.
pub fn current_request_id() -> Option<String> {
    with_current(|context| context.request_id.clone())
}

/// Names the caller on the current request's lines (the first caller named wins).
pub fn set_user(user_id: &str) {
    with_current(|context| {
        let _ = context.user_id.set(user_id.to_owned());
    });
}

/// `work` with the current request's context and tracing span, for a task spawned on its
/// behalf (task-locals and spans do not cross `tokio::spawn` by themselves).
pub fn carry<F: std::future::Future>(work: F) -> impl std::future::Future<Output = F::Output> {
    let context = CURRENT.try_with(Arc::clone).ok();
    let work = work.instrument(tracing::Span::current());
    async move {
        match context {
            Some(context) => CURRENT.scope(context, work).await,
            None => work.await,
        }
    }
}
