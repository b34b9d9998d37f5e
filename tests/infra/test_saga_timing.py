"""The checkout saga's clocks agree: the ASL, the Terraform of its queue and worker, and the
worker's own constants (crates/common/src/services/checkout_saga/mod.rs).

- A busy worker heartbeats at least three times per `HeartbeatSeconds`, so a live step never
  times out, while a dead worker's step times out long before SQS would redeliver its message:
  the workflow's `Retry` (on the heartbeat timeout and on `StepRetryable`) runs the step again,
  and SQS redelivery is left as the crash-recovery path (what it redelivers is stale and
  harmless).
- The worker's Lambda timeout fits the queue's visibility timeout (AWS requires it).
- The reconciler waits longer than the longest the workflow can run with every attempt of every
  step timing out, so it never unwinds an order a live workflow still works on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ASL = json.loads((REPO / "statemachines" / "checkout_workflow.asl.json").read_text())
CHECKOUT_RS = (REPO / "crates" / "common" / "src" / "services" / "checkout_saga" / "mod.rs").read_text()
QUEUES_TF = (REPO / "terraform" / "modules" / "sns_sqs" / "main.tf").read_text()
ENVIRONMENTS = sorted((REPO / "terraform" / "environments").glob("*.tfvars"))


def rust_seconds(name: str) -> int:
    match = re.search(rf"pub const {name}: Duration = Duration::from_secs\((\d+)\);", CHECKOUT_RS)
    assert match, f"{name} not found in checkout_saga/mod.rs"
    return int(match.group(1))


def rust_str(name: str) -> str:
    match = re.search(rf'pub const {name}: &str = "([^"]+)";', CHECKOUT_RS)
    assert match, f"{name} not found in checkout_saga/mod.rs"
    return match.group(1)


HEARTBEAT = rust_seconds("HEARTBEAT")
RECONCILE_AFTER = rust_seconds("RECONCILE_AFTER")
RETRYABLE = rust_str("RETRYABLE")
WORKER_STATES = {
    name: state
    for name, state in ASL["States"].items()
    if state.get("Resource", "").endswith("waitForTaskToken")
}


def visibility_timeout(queue: str) -> int:
    match = re.search(rf'"{queue}"\s*=\s*{{[^}}]*visibility_timeout\s*=\s*(\d+)', QUEUES_TF)
    assert match, f"{queue} has no visibility_timeout in sns_sqs/main.tf"
    return int(match.group(1))


def worker_timeout(tfvars: Path) -> int:
    match = re.search(r"checkout_worker_lambda\s*=\s*{[^}]*timeout\s*=\s*(\d+)", tfvars.read_text())
    assert match, f"{tfvars.name} sizes no checkout_worker_lambda"
    return int(match.group(1))


def worst_case_seconds(state: dict) -> float:
    """The longest a Task state can take: every attempt runs to its timeout, with the waits
    between the attempts of the retrier that allows the most."""
    attempts, waits = 1, 0.0
    for retrier in state.get("Retry", []):
        count = retrier.get("MaxAttempts", 3)
        interval = retrier.get("IntervalSeconds", 1)
        rate = retrier.get("BackoffRate", 2.0)
        total = sum(interval * rate**k for k in range(count))
        if count + 1 > attempts:
            attempts, waits = count + 1, total
    return attempts * state.get("TimeoutSeconds", 60) + waits


def test_every_worker_step_is_heartbeated_and_retried_by_the_workflow() -> None:
    assert WORKER_STATES, "the ASL has no worker steps"
    for name, state in WORKER_STATES.items():
        beat = state.get("HeartbeatSeconds")
        assert beat, f"{name} has no HeartbeatSeconds: a dead worker would hold it to its timeout"
        assert beat >= 3 * HEARTBEAT, f"{name}: HeartbeatSeconds {beat} < 3 x the worker's {HEARTBEAT} s"
        assert beat < state["TimeoutSeconds"], f"{name}: heartbeat must be shorter than the timeout"
        retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        for error in (RETRYABLE, "States.HeartbeatTimeout"):
            assert error in retried, f"{name} does not retry {error}: a retryable failure would compensate"


@pytest.mark.parametrize("tfvars", ENVIRONMENTS, ids=lambda p: p.stem)
def test_sqs_redelivers_only_after_the_workflow_has_retried(tfvars: Path) -> None:
    visibility = visibility_timeout("checkout-tasks")
    timeout = worker_timeout(tfvars)
    assert timeout <= visibility, f"worker timeout {timeout} s exceeds the visibility timeout {visibility} s"
    for name, state in WORKER_STATES.items():
        assert state["HeartbeatSeconds"] < visibility, (
            f"{name}: a dead worker's step must time out ({state['HeartbeatSeconds']} s) and be "
            f"retried by the workflow before SQS redelivers its message ({visibility} s)"
        )


def test_the_reconciler_waits_out_the_longest_workflow() -> None:
    longest = sum(worst_case_seconds(s) for s in ASL["States"].values() if s.get("Type") == "Task")
    assert RECONCILE_AFTER > longest, (
        f"RECONCILE_AFTER {RECONCILE_AFTER} s must exceed the workflow's worst case {longest:.0f} s"
    )


def test_compensation_and_publishing_end_in_a_recorded_terminal_state() -> None:
    states = ASL["States"]
    compensate = states["Compensate"]
    caught = compensate.get("Catch", [])
    assert caught and caught[0]["ErrorEquals"] == ["States.ALL"], "Compensate must catch what its retries leave"
    target = states[caught[0]["Next"]]
    assert target.get("Resource", "").endswith("dynamodb:putItem"), "a failed compensation is recorded"
    assert states[target["Next"]]["Type"] == "Fail", "and ends the execution failed (the alarm)"
    publish = states["PublishConfirmed"]
    assert publish["Catch"][0]["Next"] != "EmptyCart", "a failed publish is not skipped silently"
    record = states[publish["Catch"][0]["Next"]]
    assert record.get("Resource", "").endswith("dynamodb:putItem")
    assert states[record["Next"]]["Type"] == "Fail"
