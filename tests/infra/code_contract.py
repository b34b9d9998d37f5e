"""What each function's code reads and calls, derived from the Rust source (not hand-written).

A small call graph over the composition root (crates/common/src/app/mod.rs, app/jobs.rs and
app/resources.rs): from `run_<crate>`'s match arm for the function's command, every function of
those two files it reaches, every `<Section>Config::from_env` (config.rs: the environment
variables that section reads) and every adapter it constructs (`Type::new(`, and
`resources.table("T")` next to it: the DynamoDB table that adapter is given). Each adapter's
file under repositories/ gives the AWS SDK operations it can call. The result is an upper
bound per function: a grant outside it is an over-grant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "crates" / "common" / "src"

SDK_ACTIONS = {
    "put_item": "dynamodb:PutItem", "get_item": "dynamodb:GetItem", "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem", "query": "dynamodb:Query", "batch_get_item": "dynamodb:BatchGetItem",
    "batch_write_item": "dynamodb:BatchWriteItem", "transact_write_items": "dynamodb:TransactWriteItems",
    "describe_table": "dynamodb:DescribeTable", "scan": "dynamodb:Scan",
    "get_object": "s3:GetObject", "put_object": "s3:PutObject", "head_object": "s3:GetObject",
    "publish": "sns:Publish", "send_message": "sqs:SendMessage",
    "start_execution": "states:StartExecution", "send_task_success": "states:SendTaskSuccess",
    "send_task_failure": "states:SendTaskFailure", "send_task_heartbeat": "states:SendTaskHeartbeat",
    "get_secret_value": "secretsmanager:GetSecretValue", "put_metric_data": "cloudwatch:PutMetricData",
}


def _app_text() -> str:
    """The composition root: app/mod.rs and its jobs (app/jobs.rs), each without its tests."""
    return "\n".join(_strip((SRC / "app" / name).read_text()) for name in ("mod.rs", "jobs.rs"))


def _strip(text: str) -> str:
    text = text.split("#[cfg(test)]")[0]
    return re.sub(r"//[^\n]*", "", text)


def _bodies(text: str) -> dict[str, str]:
    """fn name -> body text (brace matched)."""
    out: dict[str, str] = {}
    for m in re.finditer(r"\bfn (\w+)\s*(?:<[^>{]*>)?\s*\(", text):
        start = text.find("{", m.end())
        depth, i = 0, start
        while i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        out.setdefault(m.group(1), text[start:i + 1])
    return out


def config_sections() -> dict[str, set[str]]:
    """Config struct -> the environment variables its from_env reads."""
    text = _strip((SRC / "config.rs").read_text())
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"^impl (\w+Config) \{", text, re.M):
        body = _bodies(text[m.start():]).get("from_env", "")
        out[m.group(1)] = set(re.findall(r'\benv\s*\.\s*\w+\(\s*"([A-Z][A-Z0-9_]*)"', body))
    return out


def _adapter_files() -> dict[str, Path]:
    out = {}
    for path in (SRC / "repositories").glob("*.rs"):
        for name in re.findall(r"^pub struct (\w+)", path.read_text(), re.M):
            out[name] = path
    return out


@dataclass
class Reach:
    sections: set[str] = field(default_factory=set)
    adapters: dict[str, set[str]] = field(default_factory=dict)  # adapter -> tables given
    resources: set[str] = field(default_factory=set)  # Resources methods used


def reach(crate: str, command: str) -> Reach:
    app = _bodies(_strip(_app_text()))
    res = _bodies(_strip((SRC / "app" / "resources.rs").read_text()))
    run = app[f"run_{crate}"]
    arm = re.search(rf'"{command}"\s*=>(.*?)(?:\n\s*"\w+"\s*=>|\n\s*other\s*=>)', run, re.S)
    assert arm, f"run_{crate} has no `{command}` arm"
    out = Reach(sections={"BaseConfig"})
    seen: set[str] = set()
    todo = [("app", "__arm__", arm.group(1))]
    adapters = _adapter_files()
    while todo:
        where, name, body = todo.pop()
        if (where, name) in seen:
            continue
        seen.add((where, name))
        out.sections |= set(re.findall(r"\b(\w+Config)::from_env", body))
        for m in re.finditer(r"\b([A-Z]\w+)::new\(", body):
            if m.group(1) in adapters:
                tables = set(re.findall(r'table\("(\w+)"\)', body[m.end():m.end() + 200].split("::new(")[0]))
                out.adapters.setdefault(m.group(1), set()).update(tables)
        if "DynamoProbe" in body:
            out.adapters.setdefault("DynamoProbe", set())
        for call in re.findall(r"\b(\w+)\(", body):
            if call in app and where == "app":
                todo.append(("app", call, app[call]))
        for call in re.findall(r"(?:resources|self)\.(\w+)\(", body):
            if call in res:
                out.resources.add(call)
                todo.append(("res", call, res[call]))
        # health(resources, "Table"): the DescribeTable probe of that table
        for table in re.findall(r'\bhealth\(\s*\w+,\s*"(\w+)"\)', body):
            out.adapters.setdefault("DynamoProbe", set()).add(table)
    return out


def sdk_calls(adapter: str) -> set[str]:
    path = _adapter_files()[adapter]
    text = _strip(path.read_text())
    return {SDK_ACTIONS[m] for m in re.findall(r"\.([a-z_]+)\(\)", text) if m in SDK_ACTIONS}


def environment(crate: str, command: str) -> set[str]:
    sections = config_sections()
    got = reach(crate, command)
    return set().union(*(sections.get(s, set()) for s in got.sections))


def dynamodb_upper_bound(crate: str, command: str) -> dict[str, set[str]]:
    """table -> the DynamoDB actions the adapters given that table can call."""
    got = reach(crate, command)
    out: dict[str, set[str]] = {}
    for adapter, tables in got.adapters.items():
        actions = {a.split(":")[1] for a in sdk_calls(adapter) if a.startswith("dynamodb:")}
        for table in tables:
            out.setdefault(table, set()).update(actions)
    return out


def all_sdk_actions(crate: str, command: str) -> set[str]:
    got = reach(crate, command)
    out: set[str] = set()
    for adapter in got.adapters:
        out |= sdk_calls(adapter)
    return out


# --- what a function's code calls from inside the VPC, under Lambda ----------------------------

# Resources' client getters (crates/common/src/app/resources.rs) -> the AWS API they reach.
CLIENT_SERVICES = {
    "dynamodb": "dynamodb", "s3": "s3", "sqs": "sqs", "sfn": "states",
    "secrets": "secretsmanager", "cognito": "cognito-idp",
}


def _lambda_only(body: str) -> str:
    """The part of a body that runs under Lambda: `if runtime::is_lambda() { return ...; }` ends
    it (what follows is the local long-poll loop), and `if !runtime::is_lambda() { ... }` blocks
    never run there."""
    m = re.search(r"if\s+runtime::is_lambda\(\)\s*\{", body)
    if m:
        block = _bodies("fn x() " + body[m.end() - 1:])["x"]
        if "return" in block:
            body = body[:m.end() - 1] + block
    while True:
        m = re.search(r"if\s+!\s*runtime::is_lambda\(\)\s*\{", body)
        if not m:
            return body
        block = _bodies("fn x() " + body[m.end() - 1:])["x"]
        body = body[:m.start()] + body[m.end() - 1 + len(block):]


def lambda_services(crate: str, command: str) -> set[str]:
    """The AWS APIs (endpoint service names: dynamodb, s3, states, ...) a function's code calls
    under Lambda: every Resources client getter reached from its command's arm, in the
    composition root and in Resources itself, after dropping what runs only outside Lambda.
    Queues that an event source mapping delivers are polled by the Lambda service, not here."""
    app = {k: _lambda_only(v) for k, v in _bodies(_strip(_app_text())).items()}
    res = _bodies(_strip((SRC / "app" / "resources.rs").read_text()))
    run = app[f"run_{crate}"]
    arm = re.search(rf'"{command}"\s*=>(.*?)(?:\n\s*"\w+"\s*=>|\n\s*other\s*=>)', run, re.S)
    assert arm, f"run_{crate} has no `{command}` arm"
    out: set[str] = set()
    seen: set[tuple[str, str]] = set()
    todo = [("app", "__arm__", _lambda_only(arm.group(1)))]
    while todo:
        where, name, body = todo.pop()
        if (where, name) in seen:
            continue
        seen.add((where, name))
        for call in re.findall(r"(?:resources|self)\.(\w+)\(", body):
            if call in CLIENT_SERVICES:
                out.add(CLIENT_SERVICES[call])
            if call in res:
                todo.append(("res", call, res[call]))
        if where == "app":
            for call in re.findall(r"\b(\w+)\(", body):
                if call in app:
                    todo.append(("app", call, app[call]))
    return out
