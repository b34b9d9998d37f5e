//! Lambda's shutdown phase (issue 22, item 5): the real `products` binary under the Runtime API
//! emulator, under load, shut down the way Lambda shuts an execution environment down.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;
use testkit::{
    lambda::apigw_v2_event,
    runtime_api::{Answer, LambdaProcess},
};

/// Each answered request: its id, its status and the path it asked for.
type Acknowledged = Arc<Mutex<Vec<(String, u16, &'static str)>>>;

#[tokio::test]
async fn a_shutdown_under_load_exits_cleanly_with_every_acknowledged_requests_log_line_written() {
    // Arrange: the function as its image starts it, its stdout (log and EMF lines) in a file.
    let stdout_path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("lambda_shutdown-{}.log", std::process::id()));
    let stdout = std::fs::File::create(&stdout_path).unwrap();
    let (_, handler) = testkit::runtime_api::image_entrypoint("api_products_lambda");
    let function = Arc::new(
        LambdaProcess::start_with_stdout(
            env!("CARGO_BIN_EXE_products"),
            &[],
            &[("_HANDLER", handler.as_str()), ("RUST_LOG", "info")],
            stdout,
        )
        .await,
    );
    let acknowledged: Acknowledged = Arc::default();
    let load = tokio::spawn({
        let (function, acknowledged) = (function.clone(), acknowledged.clone());
        async move {
            for n in 0u32.. {
                // Health checks (each writes an EMF document) and unknown routes (a 404).
                let path = if n % 2 == 0 {
                    "/v1/products/health"
                } else {
                    "/v1/products/no/such/route"
                };
                let event = apigw_v2_event("GET", path, None, None);
                let request_id = event["requestContext"]["requestId"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                match function
                    .api
                    .try_invoke(event, Duration::from_secs(10))
                    .await
                {
                    Some(Answer::Response(response)) => {
                        let status = response["statusCode"].as_u64().unwrap() as u16;
                        acknowledged
                            .lock()
                            .unwrap()
                            .push((request_id, status, path));
                    }
                    _ => return,
                }
            }
        }
    });
    while acknowledged.lock().unwrap().len() < 40 {
        assert!(
            !load.is_finished(),
            "the function stopped answering before the shutdown"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Act: Lambda's shutdown phase while events keep coming.
    let status = function.shut_down().await;
    load.abort();
    let _ = load.await;

    // Assert: it registered an extension (else Lambda sends no SIGTERM), exited by itself with
    // status 0, and every acknowledged request's line is in its stdout.
    assert!(
        !function.api.extensions().is_empty(),
        "no extension registered: Lambda would not send SIGTERM, only SIGKILL"
    );
    assert!(
        status.success(),
        "the function did not exit cleanly on SIGTERM: {status:?}"
    );
    let text = std::fs::read_to_string(&stdout_path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let logged: HashSet<&str> = lines
        .iter()
        .filter(|l| l["message"] == "request completed")
        .filter_map(|l| l["span"]["request_id"].as_str())
        .collect();
    let acknowledged = acknowledged.lock().unwrap().clone();
    for (request_id, status, _) in &acknowledged {
        assert!(
            logged.contains(request_id.as_str()),
            "request {request_id} (answered {status}) has no log line; {} lines logged",
            logged.len()
        );
    }
    let _ = std::fs::remove_file(&stdout_path);
    let health_answers = acknowledged
        .iter()
        .filter(|(_, _, path)| path.ends_with("/health"))
        .count();
    let health_metrics = lines
        .iter()
        .filter(|l| l["RouteClass"] == "GET /v1/products/health" && l["Requests"].is_number())
        .count();
    assert!(
        health_metrics >= health_answers,
        "{health_answers} health checks answered, {health_metrics} EMF documents written"
    );
    assert!(
        lines.iter().any(|l| l["message"] == "shutting down"),
        "the shutdown hook did not run"
    );
}
