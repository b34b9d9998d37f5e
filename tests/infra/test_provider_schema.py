"""Every resource and data block under terraform/ against the aws provider's schema.

The schema is tests/infra/aws_provider_schema.json: hashicorp/aws 5.100.0 (the version
terraform/versions.tf pins, the one of the Terraform mirror), trimmed to the types in use, taken
from the provider binary by scripts/gen/tf_schema/from_provider.py (rerun
`scripts/gen/tf_schema/regenerate.sh --mirror` after adding a resource type). Where the mirror is
present, scripts/check/infra.sh also runs the real `terraform validate`. For each block it checks the
type exists, every argument and nested block is known (an argument written as a block or the
other way round is an error), and every required argument and block is present. This is what
`terraform validate` would say about names and shapes, without the provider binary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import hcl2
import pytest

from conftest import REPO, TF, load_tf

SCHEMA_FILE = Path(__file__).with_name("aws_provider_schema.json")
META_ARGUMENTS = {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}


def _unquote(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == '"' and s[-1] == '"' else s


def _is_block_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def tf_files() -> list[Path]:
    return sorted(p for p in TF.rglob("*.tf") if ".terraform" not in p.parts)


def blocks_of(path: Path) -> Iterator[tuple[str, str, str, dict]]:
    """(kind, type, name, raw body) of every resource and data block of a file."""
    with path.open() as fh:
        doc = hcl2.load(fh)
    for kind in ("resource", "data", "ephemeral"):
        for entry in doc.get(kind, []):
            for rtype, named in entry.items():
                for name, body in named.items():
                    yield kind, _unquote(rtype), _unquote(name), body


def check_body(body: dict, schema: dict, where: str, top: bool) -> list[str]:
    errors: list[str] = []
    attributes, nested = schema.get("attributes", {}), schema.get("blocks", {})
    present: set[str] = set()
    for key, value in body.items():
        if key.startswith("__"):
            continue
        if top and key in META_ARGUMENTS:
            continue
        if key == "dynamic":
            for dyn in value:
                for label, dyn_body in dyn.items():
                    if label.startswith("__"):
                        continue
                    label = _unquote(label)
                    if label not in nested:
                        errors.append(f"{where}: dynamic \"{label}\" is not a block of this type")
                        continue
                    present.add(label)
                    for content in dyn_body.get("content", []):
                        errors += check_body(content, nested[label], f"{where}.{label}", False)
            continue
        if key in nested:
            if not _is_block_list(value):
                errors.append(f"{where}: {key} is a block, written as an argument (`{key} = ...`)")
                continue
            present.add(key)
            for item in value:
                errors += check_body(item, nested[key], f"{where}.{key}", False)
        elif key in attributes:
            if _is_block_list(value) and not attributes[key].get("any"):
                errors.append(f"{where}: {key} is an argument, written as a block (`{key} {{ }}`)")
                continue
            present.add(key)
        else:
            errors.append(f"{where}: unknown argument or block {key!r}")
    for key, spec in attributes.items():
        if spec["required"] and key not in present:
            errors.append(f"{where}: required argument {key!r} is missing")
    for key, spec in nested.items():
        if spec["required"] and key not in present:
            errors.append(f"{where}: required block {key!r} is missing")
    return errors


def check_files(files: list[Path], schema: dict) -> list[str]:
    errors: list[str] = []
    for path in files:
        rel = path.relative_to(REPO)
        for kind, rtype, name, body in blocks_of(path):
            if not rtype.startswith("aws_"):
                continue  # random_*, terraform_data: not the aws provider's
            where = f"{rel}: {'' if kind == 'resource' else kind + '.'}{rtype}.{name}"
            types = schema[kind]
            if rtype not in types:
                errors.append(f"{where}: type unknown to the trimmed schema (a typo, or rerun scripts/gen/tf_schema/regenerate.sh)")
                continue
            errors += check_body(body, types[rtype], where, True)
    return errors


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text())


def test_the_schema_is_of_the_pinned_provider_version(schema):
    versions = load_tf(TF / "versions.tf")["terraform"][0]
    aws = versions["required_providers"][0]["aws"]
    assert aws["version"] == schema["provider_version"], (
        f"terraform/versions.tf pins aws {aws['version']}, the schema is of {schema['provider_version']}"
    )


def test_every_resource_and_data_block_matches_the_provider_schema(schema):
    files = tf_files()
    assert len(files) > 40, "the Terraform tree was not found"
    errors = check_files(files, schema)
    assert not errors, "provider schema violations:\n  " + "\n  ".join(errors)


# --- the checker itself catches what it claims to catch -------------------------------------

CASES = {
    "unknown argument": ('resource "aws_sqs_queue" "q" {\n  nmae = "x"\n}\n', "unknown argument or block 'nmae'"),
    "missing required": ('resource "aws_iam_role" "r" {\n  name = "x"\n}\n', "required argument 'assume_role_policy'"),
    "block as argument": (
        'resource "aws_lambda_function" "f" {\n  function_name = "f"\n  role = "r"\n  vpc_config = {}\n}\n',
        "vpc_config is a block",
    ),
    "unknown type": ('resource "aws_lambda_functoin" "f" {}\n', "type unknown"),
    "unknown nested": (
        'resource "aws_scheduler_schedule" "s" {\n  schedule_expression = "rate(1 minute)"\n'
        '  flexible_time_window {\n    mode = "OFF"\n  }\n  target {\n    arn = "a"\n    role_arn = "r"\n'
        '    retry {\n    }\n  }\n}\n',
        "unknown argument or block 'retry'",
    ),
    "missing required block": (
        'resource "aws_scheduler_schedule" "s" {\n  schedule_expression = "rate(1 minute)"\n'
        '  target {\n    arn = "a"\n    role_arn = "r"\n  }\n}\n',
        "required block 'flexible_time_window'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_checker_reports(case, schema, tmp_path):
    text, expected = CASES[case]
    path = REPO / "terraform" / f".schema_case_{tmp_path.name}.tf"
    try:
        path.write_text(text)
        errors = check_files([path], schema)
    finally:
        path.unlink(missing_ok=True)
    assert any(expected in e for e in errors), f"{case}: expected {expected!r} in {errors}"
