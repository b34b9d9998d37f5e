"""House rules of the Terraform code (STYLE.md habit 14) and the environments' tfvars."""

from __future__ import annotations

import re

import pytest

from conftest import MODULES, TF, Module, blocks, load_tf

MODULE_DIRS = sorted(p for p in MODULES.iterdir() if p.is_dir())
BOOTSTRAP = TF / "bootstrap"
ENVIRONMENTS = ["dev", "staging", "prod"]


@pytest.mark.parametrize("path", MODULE_DIRS, ids=lambda p: p.name)
def test_module_has_the_standard_files(path):
    for name in ["main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"]:
        assert (path / name).is_file(), f"{path.name}: missing {name}"


@pytest.mark.parametrize("path", [TF, BOOTSTRAP, *MODULE_DIRS], ids=lambda p: p.name)
def test_every_variable_is_typed_and_described_and_never_any(path):
    variables = Module(path).blocks("variable")
    for name, body in variables.items():
        assert body.get("description"), f"{path.name}: variable {name} has no description"
        assert "type" in body, f"{path.name}: variable {name} has no type"
        assert not re.search(r"\bany\b", str(body["type"])), f"{path.name}: variable {name} is typed any"


@pytest.mark.parametrize("path", [TF, BOOTSTRAP, *MODULE_DIRS], ids=lambda p: p.name)
def test_every_output_is_described(path):
    for name, body in Module(path).blocks("output").items():
        assert body.get("description"), f"{path.name}: output {name} has no description"


@pytest.mark.parametrize("path", [TF, BOOTSTRAP, *MODULE_DIRS], ids=lambda p: p.name)
def test_provider_versions_are_pinned(path):
    # Terraform >= 1.10: the S3 backend's use_lockfile; the root modules pin the exact aws
    # provider of the Terraform mirror (5.100.0) that the schema check was extracted from,
    # modules accept it.
    versions = load_tf(path / "versions.tf")["terraform"][0]
    assert versions["required_version"].startswith(">= 1.10"), f"{path.name}: {versions['required_version']}"
    aws = versions["required_providers"][0]["aws"]
    assert aws["source"] == "hashicorp/aws"
    if path in (TF, BOOTSTRAP):
        assert aws["version"] == "5.100.0", f"{path.name}: pin aws to 5.100.0 (the mirror's, tests/infra/aws_provider_schema.json)"
        lock = (path / ".terraform.lock.hcl").read_text()
        assert 'provider "registry.terraform.io/hashicorp/aws"' in lock and 'version     = "5.100.0"' in lock, (
            f"{path.name}: .terraform.lock.hcl must be committed, locking aws 5.100.0")
        assert lock.count('provider "') == 1, f"{path.name}: only the aws provider (the mirror holds no other)"
    else:
        assert aws["version"] in ("~> 5.99", "~> 5.100"), f"{path.name}: modules accept the pinned 5.100.0"


def test_root_outputs_name_the_key_resources():
    outputs = Module(TF).blocks("output")
    for name in ["api_endpoint", "cognito_user_pool_id", "cognito_app_client_id", "state_machine_arn",
                 "queue_urls", "dynamodb_table_names", "ecr_repository_urls"]:
        assert name in outputs, f"missing root output {name}"


def test_backend_is_partial_s3_with_the_s3_lockfile_per_environment():
    # dynamodb_table is deprecated since Terraform 1.11: the lock is a lockfile beside the state.
    backend = load_tf(TF / "backend.tf")["terraform"][0]["backend"][0]
    assert backend == {"s3": {}}, "the backend must be configured partially"
    for env in ENVIRONMENTS:
        cfg = load_tf(TF / "backend" / f"{env}.hcl")
        for key in ["key", "region", "encrypt", "use_lockfile"]:
            assert key in cfg, f"backend/{env}.hcl lacks {key}"
        assert cfg["use_lockfile"] is True, f"backend/{env}.hcl: use_lockfile = true"
        assert "dynamodb_table" not in cfg, f"backend/{env}.hcl: dynamodb_table is deprecated, use use_lockfile"
        assert env in cfg["key"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tfvars_set_every_root_variable_without_default(env, manifest):
    variables = Module(TF).blocks("variable")
    # image_tag: the commit SHA, passed by the deploy workflow (-var), never in a tfvars file
    required = {name for name, body in variables.items() if "default" not in body} - {"image_tag"}
    values = load_tf(TF / "environments" / f"{env}.tfvars")
    missing = required - set(values)
    assert not missing, f"{env}.tfvars does not set {sorted(missing)}"
    unknown = set(values) - set(variables)
    assert not unknown, f"{env}.tfvars sets undeclared variables {sorted(unknown)}"
    assert values["environment"] == env
    fns = set(Module(MODULES / "lambdas").locals()["functions"])
    assert {f["name"] for f in manifest["lambda_functions"]} <= fns
    assert set(values["lambda_functions"]) == fns, f"{env}: lambda_functions must size every function"
    # SQS consumers must finish within their queue's visibility timeout.
    visibility = {q["name"]: q["visibility_timeout"] for q in manifest["sqs_queues"]}
    event_sources = Module(MODULES / "lambdas").locals()["event_sources"]
    for queue, fn in event_sources.items():
        assert values["lambda_functions"][fn]["timeout"] <= visibility[queue], f"{env}: {fn} vs {queue}"


def test_environments_differ_where_they_should():
    dev, prod = (load_tf(TF / "environments" / f"{e}.tfvars") for e in ["dev", "prod"])
    assert prod["rds"]["multi_az"] is True and dev["rds"]["multi_az"] is False
    assert prod["rds"]["deletion_protection"] is True
    assert prod["protect_data"] is True and dev["protect_data"] is False
    assert prod["log_retention_days"] > dev["log_retention_days"]
    assert prod["api_throttling"]["rate_limit"] > dev["api_throttling"]["rate_limit"]
    assert prod["cognito"]["auto_confirm"] is False
