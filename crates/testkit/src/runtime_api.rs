//! A Lambda Runtime API emulator (the `2018-06-01` interface a custom runtime polls), so a
//! test can start a function's real binary the way Lambda does — `AWS_LAMBDA_RUNTIME_API`
//! pointing here — hand it events and read its answers.

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::IntoResponse,
    routing::{get, post},
};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// What the function answered to one invocation.
#[derive(Debug)]
pub enum Answer {
    Response(Value),
    Error(Value),
}

struct Shared {
    events: Mutex<mpsc::Receiver<(String, Value)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    first_poll: Mutex<Option<Instant>>,
    /// Extensions registered during init (the Extensions API), by identifier: their names.
    extensions: Mutex<HashMap<String, String>>,
    /// Set when the environment shuts down: each extension's `GET /event/next` answers
    /// `SHUTDOWN`.
    shutdown: tokio::sync::watch::Sender<bool>,
}

pub struct RuntimeApi {
    pub address: String,
    sender: mpsc::Sender<(String, Value)>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    shared
        .first_poll
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    // One poller at a time (the runtime polls again only after answering).
    let received = {
        let mut events = shared.events.lock().unwrap();
        events.try_recv().ok()
    };
    let (id, event) = match received {
        Some(found) => found,
        None => loop {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if let Ok(found) = shared.events.lock().unwrap().try_recv() {
                break found;
            }
        },
    };
    let mut headers = HeaderMap::new();
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_str(&id).unwrap(),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_str(&deadline.to_string()).unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:test"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000;Sampled=0"),
    );
    (StatusCode::OK, headers, event.to_string())
}

fn settle(shared: &Shared, id: &str, answer: Answer) -> StatusCode {
    match shared.waiting.lock().unwrap().remove(id) {
        Some(waiter) => {
            let _ = waiter.send(answer);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body)
        .unwrap_or(Value::String(String::from_utf8_lossy(&body).into()));
    settle(&shared, &id, Answer::Response(value))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    settle(&shared, &id, Answer::Error(value))
}

/// `POST /2020-01-01/extension/register`: an extension registers during init, naming itself
/// (`Lambda-Extension-Name`) and the events it wants; it gets an identifier.
async fn register_extension(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let name = headers
        .get("lambda-extension-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if name.is_empty() || !request["events"].is_array() {
        return (StatusCode::BAD_REQUEST, HeaderMap::new(), String::new());
    }
    let id = uuid::Uuid::new_v4().to_string();
    shared.extensions.lock().unwrap().insert(id.clone(), name);
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-extension-identifier",
        HeaderValue::from_str(&id).unwrap(),
    );
    let answer = serde_json::json!({
        "functionName": "test", "functionVersion": "$LATEST", "handler": "bootstrap",
    });
    (StatusCode::OK, headers, answer.to_string())
}

/// `GET /2020-01-01/extension/event/next`: blocks until the environment shuts down (this
/// emulator sends no `INVOKE` events to extensions), then answers `SHUTDOWN`.
async fn next_extension_event(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let known = headers
        .get("lambda-extension-identifier")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|id| shared.extensions.lock().unwrap().contains_key(id));
    if !known {
        return (StatusCode::FORBIDDEN, String::new());
    }
    let mut shutdown = shared.shutdown.subscribe();
    let _ = shutdown.wait_for(|down| *down).await;
    let event = serde_json::json!({
        "eventType": "SHUTDOWN",
        "shutdownReason": "spindown",
        "deadlineMs": chrono::Utc::now().timestamp_millis() + 500,
    });
    (StatusCode::OK, event.to_string())
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let (sender, receiver) = mpsc::channel(16);
        let shared = Arc::new(Shared {
            events: Mutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            first_poll: Mutex::new(None),
            extensions: Mutex::new(HashMap::new()),
            shutdown: tokio::sync::watch::Sender::new(false),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2020-01-01/extension/register", post(register_extension))
            .route(
                "/2020-01-01/extension/event/next",
                get(next_extension_event),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            address,
            sender,
            shared,
            server,
        }
    }

    /// The names of the extensions registered so far.
    pub fn extensions(&self) -> Vec<String> {
        self.shared
            .extensions
            .lock()
            .unwrap()
            .values()
            .cloned()
            .collect()
    }

    /// When the function first asked for an event (its init is done).
    pub fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_poll.lock().unwrap()
    }

    /// Invokes the function with `event`; its answer, or a panic after `timeout`.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Answer {
        self.try_invoke(event, timeout)
            .await
            .expect("the function answers in time")
    }

    /// Invokes the function with `event`; its answer, or `None` when none came within
    /// `timeout` (a function that was shut down mid-way).
    pub async fn try_invoke(&self, event: Value, timeout: Duration) -> Option<Answer> {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id.clone(), tx);
        self.sender.send((id, event)).await.ok()?;
        tokio::time::timeout(timeout, rx).await.ok()?.ok()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A function's binary running under the emulator, killed when dropped.
pub struct LambdaProcess {
    pub api: RuntimeApi,
    child: tokio::sync::Mutex<tokio::process::Child>,
    started: Instant,
}

impl LambdaProcess {
    /// Starts `binary [args]` as Lambda would, with the local stack's settings plus `env`.
    pub async fn start(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_with_stdout(binary, args, env, Stdio::null()).await
    }

    /// [`Self::start`], with the function's stdout (its log and EMF lines) going to `stdout`.
    pub async fn start_with_stdout(
        binary: &str,
        args: &[&str],
        env: &[(&str, &str)],
        stdout: impl Into<Stdio>,
    ) -> Self {
        let api = RuntimeApi::start().await;
        let mut command = tokio::process::Command::new(binary);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
            .env("RUST_LOG", "warn")
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in crate::stack_env() {
            if k.starts_with("AWS_LAMBDA") || k == "PATH" || k == "RUST_LOG" {
                continue;
            }
            if k.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                command.env(k, v);
            }
        }
        for (k, v) in env {
            command.env(k, v);
        }
        let started = Instant::now();
        let child = command.spawn().expect("start the function's binary");
        Self {
            api,
            child: tokio::sync::Mutex::new(child),
            started,
        }
    }

    /// Starts `binary` the way the deployed image starts the Lambda function `function`: the
    /// base image's entrypoint (`/lambda-entrypoint.sh`) takes the image's command — Terraform's
    /// `image_config.command` for that function (terraform/modules/lambdas/main.tf), else the
    /// Dockerfile's `CMD` — as the handler name, exports it as `_HANDLER` and starts the
    /// bootstrap with no argument. Checks that Terraform builds the function from this binary.
    pub async fn start_as_image(binary: &str, function: &str, env: &[(&str, &str)]) -> Self {
        let (krate, handler) = image_entrypoint(function);
        let file = std::path::Path::new(binary)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert_eq!(
            file, krate,
            "Terraform builds {function} from the `{krate}` image, not `{file}`"
        );
        assert_position_dependent(binary);
        let mut env: Vec<(&str, &str)> = env.to_vec();
        env.push(("_HANDLER", &handler));
        Self::start(binary, &[], &env).await
    }

    /// Time from exec to the first poll for an event (the function's init), once known.
    pub fn init_time(&self) -> Option<Duration> {
        self.api.first_poll().map(|at| at - self.started)
    }

    pub async fn invoke(&self, event: Value) -> Answer {
        self.api.invoke(event, Duration::from_secs(30)).await
    }

    /// Lambda's shutdown phase, as Lambda runs it: with an extension registered, the runtime
    /// gets SIGTERM (and the extensions their `SHUTDOWN` event) and a grace period to exit
    /// before SIGKILL; with none registered, it is killed outright. Returns how the process
    /// ended. The grace is 2 s, Lambda's limit when an external extension is registered (with
    /// internal ones only it is 500 ms): a loaded test machine needs the margin.
    pub async fn shut_down(&self) -> std::process::ExitStatus {
        let mut child = self.child.lock().await;
        if self.api.extensions().is_empty() {
            let _ = child.start_kill();
        } else {
            let _ = self.api.shared.shutdown.send(true);
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            if tokio::time::timeout(Duration::from_secs(2), child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
            }
        }
        child.wait().await.expect("the function's exit status")
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        let _ = self.child.get_mut().start_kill();
    }
}

/// Checks that a function's binary is an ELF executable of type `EXEC`, not a
/// position-independent `DYN` one: its build script links it with `-no-pie`
/// (services/no_pie.rs), so the loader applies no relocations at a cold start.
pub fn assert_position_dependent(binary: &str) {
    let mut header = [0u8; 18];
    std::io::Read::read_exact(
        &mut std::fs::File::open(binary).expect("open the function's binary"),
        &mut header,
    )
    .expect("read the function's ELF header");
    assert_eq!(&header[..4], b"\x7fELF", "{binary} is not an ELF file");
    const ET_EXEC: u16 = 2;
    let kind = u16::from_le_bytes([header[16], header[17]]);
    assert_eq!(
        kind, ET_EXEC,
        "{binary} is position-independent (ELF type {kind}): its build.rs must link it with -no-pie"
    );
}

/// The crate and the `_HANDLER` the image gives `function`: `image_config.command` from the
/// lambdas module's `functions` map, or the Dockerfile's `CMD` when the command is null.
pub fn image_entrypoint(function: &str) -> (String, String) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let module = std::fs::read_to_string(format!("{root}/terraform/modules/lambdas/main.tf"))
        .expect("read the lambdas module");
    let line = module
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{function} ")) && l.contains("crate ="))
        .unwrap_or_else(|| panic!("{function} is not in the lambdas module's functions map"));
    let field = |name: &str| {
        let rest = &line[line.find(&format!("{name} =")).expect(name) + name.len() + 2..];
        rest.trim_start()
            .split([',', '}'])
            .next()
            .unwrap()
            .trim()
            .to_owned()
    };
    let krate = field("crate").trim_matches('"').to_owned();
    let command = field("command");
    let handler = if command == "null" {
        let dockerfile = std::fs::read_to_string(format!("{root}/docker/Dockerfile"))
            .expect("read the Dockerfile");
        let cmd = dockerfile
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("CMD "))
            .expect("the Dockerfile's CMD");
        let args: Vec<String> = serde_json::from_str(cmd).expect("CMD in exec form");
        assert!(
            !dockerfile
                .lines()
                .any(|l| l.trim().starts_with("ENTRYPOINT")),
            "this helper models the base image's entrypoint; the Dockerfile sets its own"
        );
        args[0].clone()
    } else {
        let args: Vec<String> =
            serde_json::from_str(&command).expect("image_config.command as a list of strings");
        assert_eq!(
            args.len(),
            1,
            "the entrypoint passes one handler name: {args:?}"
        );
        args[0].clone()
    };
    (krate, handler)
}

/// Starts an HTTP function's binary under the emulator and checks it answers API Gateway v2
/// events: its health route with 200 and `"status": "ok"`, an unknown route with the
/// envelope's 404. Prints its init time.
pub async fn assert_http_function(binary: &str, service: &str) {
    let function =
        LambdaProcess::start_as_image(binary, &format!("api_{service}_lambda"), &[]).await;
    let answer = function
        .invoke(crate::lambda::apigw_v2_event(
            "GET",
            &format!("/v1/{service}/health"),
            None,
            None,
        ))
        .await;
    let Answer::Response(response) = answer else {
        panic!("{service}: the function failed: {answer:?}");
    };
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value =
        serde_json::from_str(response["body"].as_str().expect("a text body")).unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    let unknown = function
        .invoke(crate::lambda::apigw_v2_event(
            "GET",
            &format!("/v1/{service}/no/such/route"),
            None,
            None,
        ))
        .await;
    let Answer::Response(unknown) = unknown else {
        panic!("{service}: the function failed: {unknown:?}");
    };
    assert_eq!(unknown["statusCode"], 404, "{unknown}");
    eprintln!(
        "{service}: init (exec to first poll) {:?}",
        function.init_time().expect("the runtime polled")
    );
}
