"""Shared fixtures of the infrastructure tests: the manifest and parsed Terraform.

python-hcl2 (>= 5) keeps the quotes of string literals and block labels ("\"users\"") and
marks blocks with "__is_block__"; `load_tf` strips both, so literals compare as plain strings
while expressions stay in their "${...}" form.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
MODULES = TF / "modules"


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items() if k not in ("__is_block__", "__comments__", "__inline_comments__")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def load_tf(path: Path) -> dict[str, Any]:
    with path.open() as fh:
        return _clean(hcl2.load(fh))


def merged_locals(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for block in doc.get("locals", []):
        out.update(block)
    return out


def resources(doc: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    """Resources of one type in a parsed file: {name: body}."""
    out: dict[str, dict[str, Any]] = {}
    for block in doc.get("resource", []):
        for typ, named in block.items():
            if typ == rtype:
                out.update(named)
    return out


def blocks(doc: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Named top-level blocks (variable, output, module): {name: body}."""
    out: dict[str, dict[str, Any]] = {}
    for block in doc.get(kind, []):
        out.update(block)
    return out


class Module:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.docs = {f.name: load_tf(f) for f in sorted(path.glob("*.tf"))}

    def resources(self, rtype: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for doc in self.docs.values():
            out.update(resources(doc, rtype))
        return out

    def locals(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for doc in self.docs.values():
            out.update(merged_locals(doc))
        return out

    def blocks(self, kind: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for doc in self.docs.values():
            out.update(blocks(doc, kind))
        return out


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    return json.loads((REPO / "scripts" / "aws_resources.json").read_text())


@pytest.fixture(scope="session")
def root() -> Module:
    return Module(TF)


@pytest.fixture(scope="session")
def module():
    cache: dict[str, Module] = {}

    def get(name: str) -> Module:
        if name not in cache:
            cache[name] = Module(MODULES / name)
        return cache[name]

    return get
