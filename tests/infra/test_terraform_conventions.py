"""House rules of the Terraform code (STYLE.md habit 14) and the environments' tfvars."""

from __future__ import annotations

import re

import pytest

from conftest import MODULES, TF, Module, blocks, load_tf

MODULE_DIRS = sorted(p for p in MODULES.iterdir() if p.is_dir())
ENVIRONMENTS = ["dev", "staging", "prod"]


@pytest.mark.parametrize("path", MODULE_DIRS, ids=lambda p: p.name)
def test_module_has_the_standard_files(path):
    for name in ["main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"]:
        assert (path / name).is_file(), f"{path.name}: missing {name}"


@pytest.mark.parametrize("path", [TF, *MODULE_DIRS], ids=lambda p: p.name)
def test_every_variable_is_typed_and_described_and_never_any(path):
    variables = Module(path).blocks("variable")
    for name, body in variables.items():
        assert body.get("description"), f"{path.name}: variable {name} has no description"
        assert "type" in body, f"{path.name}: variable {name} has no type"
        assert not re.search(r"\bany\b", str(body["type"])), f"{path.name}: variable {name} is typed any"


@pytest.mark.parametrize("path", [TF, *MODULE_DIRS], ids=lambda p: p.name)
def test_every_output_is_described(path):
    for name, body in Module(path).blocks("output").items():
        assert body.get("description"), f"{path.name}: output {name} has no description"


@pytest.mark.parametrize("path", [TF, *MODULE_DIRS], ids=lambda p: p.name)
def test_provider_versions_are_pinned(path):
    versions = load_tf(path / "versions.tf")["terraform"][0]
    assert versions["required_version"].startswith(">= 1.6")
    aws = versions["required_providers"][0]["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert aws["version"].startswith("~> 5.") or aws["version"].startswith("~> 6.")


def test_root_outputs_name_the_key_resources():
    outputs = Module(TF).blocks("output")
    for name in ["api_endpoint", "cognito_user_pool_id", "cognito_app_client_id", "state_machine_arn",
                 "queue_urls", "dynamodb_table_names", "ecr_repository_urls"]:
        assert name in outputs, f"missing root output {name}"


def test_backend_is_partial_s3_with_a_lock_table_per_environment():
    backend = load_tf(TF / "backend.tf")["terraform"][0]["backend"][0]
    assert backend == {"s3": {}}, "the backend must be configured partially"
    for env in ENVIRONMENTS:
        cfg = load_tf(TF / "backend" / f"{env}.hcl")
        for key in ["bucket", "key", "region", "dynamodb_table", "encrypt"]:
            assert key in cfg, f"backend/{env}.hcl lacks {key}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tfvars_set_every_root_variable_without_default(env, manifest):
    variables = Module(TF).blocks("variable")
    required = {name for name, body in variables.items() if "default" not in body}
    values = load_tf(TF / "environments" / f"{env}.tfvars")
    missing = required - set(values)
    assert not missing, f"{env}.tfvars does not set {sorted(missing)}"
    unknown = set(values) - set(variables)
    assert not unknown, f"{env}.tfvars sets undeclared variables {sorted(unknown)}"
    assert values["environment"] == env
    fns = {f["name"] for f in manifest["lambda_functions"]}
    assert set(values["lambda_functions"]) == fns, f"{env}: lambda_functions must size every manifest function"
    # SQS consumers must finish within their queue's visibility timeout.
    visibility = {q["name"]: q["visibility_timeout"] for q in manifest["sqs_queues"]}
    for f in manifest["lambda_functions"]:
        if f["kind"] == "sqs":
            assert values["lambda_functions"][f["name"]]["timeout"] <= visibility[f["queue"]], f"{env}: {f['name']}"
    assert values["lambda_functions"]["api_orders_lambda"]["timeout"] <= visibility["checkout-tasks"]


def test_environments_differ_where_they_should():
    dev, prod = (load_tf(TF / "environments" / f"{e}.tfvars") for e in ["dev", "prod"])
    assert prod["rds"]["multi_az"] is True and dev["rds"]["multi_az"] is False
    assert prod["rds"]["deletion_protection"] is True
    assert prod["protect_data"] is True and dev["protect_data"] is False
    assert prod["log_retention_days"] > dev["log_retention_days"]
    assert prod["api_throttling"]["rate_limit"] > dev["api_throttling"]["rate_limit"]
    assert prod["cognito"]["auto_confirm"] is False
