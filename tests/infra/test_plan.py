"""The dev plan of the real aws provider against moto (scripts/check/infra.sh: `terraform plan`
on a scratch copy, then `terraform show -json`; TF_PLAN_JSON names the file). Skipped without
it: scripts/check/infra.sh runs this file only after that plan.

What the plan creates is checked against what the code needs, derived from the code
(tests/infra/code_contract.py: the composition root's call graph per function and command).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import code_contract
from conftest import TF, load_tf

PLAN_FILE = os.environ.get("TF_PLAN_JSON")
pytestmark = pytest.mark.skipif(not PLAN_FILE, reason="TF_PLAN_JSON unset: run scripts/check/infra.sh (the plan against moto)")

# Read by the code, but not to be set in AWS: local-only switches (Lambda sets AWS_REGION and
# AWS_LAMBDA_RUNTIME_API itself; the SDK's regional endpoints are the default; the database
# is reached through DATABASE_SECRET_ID, not a URL) and tunables whose defaults hold in AWS.
NOT_SET_IN_AWS = {
    "AWS_REGION", "AWS_LAMBDA_RUNTIME_API", "AWS_ENDPOINT_URL", "DYNAMODB_ENDPOINT_URL", "DATABASE_URL",
    "PORT", "HOST", "AUTH_MODE", "BODY_LIMIT_BYTES", "DATABASE_ACQUIRE_TIMEOUT_MS", "CACHE_TTL_SECONDS",
    "CACHE_KEY_PREFIX",
    # the execution role's credentials: Lambda sets them itself
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    # rotation settings with defaults (300 s; TLS required, as RDS Proxy wants it)
    "DATABASE_SECRET_TTL_SECONDS", "DATABASE_SSL_MODE",
    # queue URLs the long-poll loops read outside Lambda; under Lambda the event source mappings deliver
    "FULFILLMENT_QUEUE_URL",
}
# The cache is optional by design: functions whose role may not read the AUTH token run without it.
OPTIONAL_CACHE = {"REDIS_URL", "REDIS_AUTH_SECRET_ID"}


@pytest.fixture(scope="module")
def plan() -> dict:
    return json.loads(Path(PLAN_FILE).read_text())


def changes(plan: dict, rtype: str, mode: str = "managed") -> dict[str, dict]:
    return {r["address"]: r["change"] for r in plan["resource_changes"] if r["type"] == rtype and r["mode"] == mode}


def key_of(address: str) -> str:
    m = re.search(r'\["([^"]+)"\]$', address)
    return m.group(1) if m else address


@pytest.fixture(scope="module")
def functions(plan) -> dict[str, dict]:
    """function key (api_users_lambda ...) -> planned attributes (+ crate, command)."""
    out = {}
    for address, change in changes(plan, "aws_lambda_function").items():
        after = dict(change["after"])
        words = after["description"].split()
        after["crate"] = words[0]
        config = after.get("image_config") or []
        after["command"] = config[0]["command"][-1] if config and config[0].get("command") else "serve"
        out[key_of(address)] = after
    return out


def test_the_plan_creates_every_function(functions):
    assert len(functions) == 8, sorted(functions)


def test_every_function_runs_a_command_its_binary_has_from_its_crates_image(plan, functions):
    tag = plan["variables"]["image_tag"]["value"]
    assert re.fullmatch(r"[0-9a-f]{40}", tag), f"image_tag {tag!r}"
    repos = {c["after"]["name"] for c in changes(plan, "aws_ecr_repository").values()}
    lambdas_cfg = plan["configuration"]["root_module"]["module_calls"]["lambdas"]["module"]
    (fn_cfg,) = [r for r in lambdas_cfg["resources"] if r["address"] == "aws_lambda_function.this"]
    refs = fn_cfg["expressions"]["image_uri"]["references"]
    assert {"var.image_repository_urls", "each.value.crate", "var.image_tag"} <= set(refs), refs
    for fn, f in functions.items():
        assert f"shop-dev/{f['crate']}" in repos, (
            f"{fn}: no ECR repository planned for {f['crate']} ({sorted(repos)})")
        code_contract.reach(f["crate"], f["command"])  # fails if run_<crate> has no such arm
        assert f["package_type"] == "Image" and f["architectures"] == ["arm64"], fn


def test_memory_and_timeout_are_the_environments(functions):
    wanted = load_tf(TF / "environments" / "dev.tfvars")["lambda_functions"]
    for fn, f in functions.items():
        assert (f["memory_size"], f["timeout"]) == (wanted[fn]["memory_size"], wanted[fn]["timeout"]), fn


@pytest.fixture(scope="module")
def environment(plan) -> dict[str, dict[str, object]]:
    """function -> {NAME: value, or None where the plan knows it only after apply}."""
    out = plan["output_changes"]["rehearsal_environment"]
    after, unknown = out.get("after") or {}, out.get("after_unknown") or {}
    result = {}
    for fn in set(after) | set(unknown):
        names = set((after.get(fn) or {})) | set((unknown.get(fn) or {}) if isinstance(unknown.get(fn), dict) else {})
        result[fn] = {n: (None if (unknown.get(fn) or {}).get(n) is True else (after.get(fn) or {}).get(n)) for n in names}
    return result


def test_every_function_gets_every_variable_its_code_reads(functions, environment):
    for fn, f in functions.items():
        reads = code_contract.environment(f["crate"], f["command"]) - NOT_SET_IN_AWS - OPTIONAL_CACHE
        missing = reads - set(environment[fn])
        assert not missing, f"{fn} ({f['crate']} {f['command']}) reads {sorted(missing)}, not set"


def test_the_environment_names_what_the_plan_creates(plan, environment):
    tables = {c["after"]["name"] for c in changes(plan, "aws_dynamodb_table").values()}
    buckets = {c["after"]["bucket"] for c in changes(plan, "aws_s3_bucket").values()}
    for fn, env in environment.items():
        assert env["APP_ENV"] == "dev", fn
        prefix = env["DYNAMODB_TABLE_PREFIX"]
        for logical in ["ProductCatalog", "UserCart", "ProductImagesMeta", "OrderEvents", "Idempotency"]:
            assert f"{prefix}{logical}" in tables, f"{fn}: {prefix}{logical} is not a planned table"
        assert env["IMAGES_BUCKET"] in buckets | {None}, fn
        # ARNs, URLs and ids of resources this plan creates are known only after apply: a
        # literal there would name something else.
        for name in ["IMAGE_QUEUE_URL", "ORDER_EVENTS_TOPIC_ARN", "CHECKOUT_STATE_MACHINE_ARN", "CHECKOUT_TASK_QUEUE_URL",
                     "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "DATABASE_SECRET_ID", "IMAGES_PUBLIC_BASE_URL"]:
            if name in env:
                assert env[name] is None, f"{fn}: {name} = {env[name]!r} is not a resource of this plan"


@pytest.fixture(scope="module")
def policies(plan) -> dict[str, dict[str, tuple[str, list[str]]]]:
    out = {}
    for address, change in changes(plan, "aws_iam_policy_document", mode="data").items():
        if address.startswith("module.lambdas.data.aws_iam_policy_document.function["):
            out[key_of(address)] = {s["sid"]: (s["effect"], s["actions"]) for s in change["after"]["statement"]}
    return out


def test_every_role_grants_only_what_its_code_can_call(functions, policies):
    for fn, f in functions.items():
        bound = code_contract.dynamodb_upper_bound(f["crate"], f["command"])
        sdk = code_contract.all_sdk_actions(f["crate"], f["command"])
        for sid, (effect, actions) in policies[fn].items():
            if effect != "Allow":
                continue
            for action in actions:
                service, op = action.split(":")
                if service == "dynamodb":
                    table = sid.removeprefix("Table")
                    assert op in bound.get(table, set()), f"{fn}: {action} on {table}, which its code never calls"
                elif service in ("s3", "states", "cloudwatch", "sns"):
                    if action == "s3:ListBucket":
                        assert "s3:GetObject" in sdk, f"{fn}: ListBucket without reads"
                        continue
                    assert action in sdk, f"{fn}: {action}, which its code never calls"


def test_every_role_can_make_the_calls_its_code_makes(functions, policies):
    for fn, f in functions.items():
        granted = {a for _, (e, acts) in policies[fn].items() if e == "Allow" for a in acts}
        reads = code_contract.environment(f["crate"], f["command"])
        if "DATABASE_SECRET_ID" in reads:
            assert "secretsmanager:GetSecretValue" in granted, fn
        sdk = code_contract.all_sdk_actions(f["crate"], f["command"])
        if "s3:GetObject" in sdk and f["crate"] == "image_processor":
            # without ListBucket a missing object reads as AccessDenied, not NoSuchKey
            assert {"s3:GetObject", "s3:ListBucket"} <= granted, f"{fn}: reads objects without s3:ListBucket"


def test_event_source_mappings(plan, functions):
    esm = changes(plan, "aws_lambda_event_source_mapping")
    assert {key_of(a) for a in esm} == {"image-processing", "checkout-tasks", "fulfillment"}
    for address, change in esm.items():
        after = change["after"]
        assert after["function_response_types"] == ["ReportBatchItemFailures"], address
        assert after["scaling_config"][0]["maximum_concurrency"] >= 2, address


def test_every_queue_has_a_dlq_and_outlasts_its_consumer(plan, functions):
    queues = {key_of(a): c["after"] for a, c in changes(plan, "aws_sqs_queue").items() if ".this[" in a}
    dlqs = {key_of(a): c["after"] for a, c in changes(plan, "aws_sqs_queue").items() if ".dlq[" in a}
    assert set(queues) == set(dlqs) == {"image-processing", "checkout-tasks", "fulfillment"}
    consumers = {"image-processing": "image_processing_lambda", "checkout-tasks": "checkout_worker_lambda",
                 "fulfillment": "checkout_worker_lambda"}
    for q, after in queues.items():
        assert after["visibility_timeout_seconds"] >= functions[consumers[q]]["timeout"], q
        assert dlqs[q]["message_retention_seconds"] >= after["message_retention_seconds"], q


def test_every_alarm_watches_something_the_plan_creates(plan, functions):
    names = {f["function_name"] for f in functions.values()}
    queues = {c["after"]["name"] for c in changes(plan, "aws_sqs_queue").values()}
    for address, change in changes(plan, "aws_cloudwatch_metric_alarm").items():
        dims = change["after"].get("dimensions") or {}
        if "FunctionName" in dims:
            assert dims["FunctionName"] in names, address
        if "QueueName" in dims:
            assert dims["QueueName"] in queues, address
        if "Environment" in dims:
            assert dims["Environment"] == "dev", address


def test_the_state_machine_is_the_repositorys_asl(plan):
    (sm,) = changes(plan, "aws_sfn_state_machine").values()
    assert sm["after"]["name"] == "shop-dev-checkout_workflow"
    assert sm["after"]["logging_configuration"][0]["level"] in ("ALL", "ERROR", "FATAL")
    sf_cfg = plan["configuration"]["root_module"]["module_calls"]["step_functions"]
    assert "var.state_machine_definition_file" in str(sf_cfg["expressions"]["definition_file"])


def test_the_planned_vpc_endpoints_are_the_apis_the_functions_call(plan, functions):
    """Interface endpoints exactly for what the functions' code calls under Lambda (plus the RDS
    Proxy's Secrets Manager), gateway endpoints for DynamoDB and S3; subnets placed by AZ ID."""
    called = set()
    for f in functions.values():
        called |= code_contract.lambda_services(f["crate"], f["command"])
    endpoints = {c["after"]["service_name"].rsplit(".", 1)[1]: c["after"]["vpc_endpoint_type"]
                 for c in changes(plan, "aws_vpc_endpoint").values()}
    assert {s for s, t in endpoints.items() if t == "Gateway"} == {"dynamodb", "s3"}
    interface = {s for s, t in endpoints.items() if t == "Interface"}
    assert interface == (called | {"secretsmanager"}) - {"dynamodb", "s3"}, (interface, called)
    tfvars = load_tf(TF / "environments" / "dev.tfvars")
    subnets = [c["after"] for c in changes(plan, "aws_subnet").values()]
    assert {s["availability_zone_id"] for s in subnets} == set(tfvars["network"]["availability_zone_ids"])
    assert len(changes(plan, "aws_eip")) == tfvars["network"]["nat_gateways"]
