"""The monitoring module against the metrics the code emits (issue 13, item 3).

crates/common writes CloudWatch Embedded Metric Format lines (namespace Shop, dimensions
Service and Environment, plus RouteClass on request documents and Reason on failures, each
rolled up per [Service, Environment]); CloudWatch makes metrics of them. An alarm or a
dashboard line on a metric name or a dimension set the code never writes stays empty and
silent forever, so these tests read the names, units and dimensions out of the Rust sources and
hold the alarms and the dashboard to them, and every metric the code emits to the dashboard.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from conftest import MODULES, REPO, TF, Module

COMMON = REPO / "crates" / "common"
MONITORING = MODULES / "monitoring"
BASE = frozenset({"Service", "Environment"})

# The metrics issue 13 asks for; the scan below must find at least these (a regex that stops
# matching after a refactor must fail here, not let every other test pass on an empty set).
REQUIRED = {
    "Requests", "ClientErrors", "ServerErrors", "Latency", "CacheHit", "CacheMiss",
    "ProjectionLag", "ImagesProcessed", "ImagesFailed", "CheckoutsConfirmed", "CheckoutsFailed",
    "TimeToConfirm",
}

UNIT = r"(?:[\w:]+::)?Unit::(\w+)"
ADD_RE = re.compile(r"\bmetrics::add\(\s*\"(\w+)\"\s*,\s*" + UNIT)
ADD_WITH_RE = re.compile(r"\bmetrics::add_with\(\s*&\[(.*?)\]\s*,\s*\"(\w+)\"\s*,\s*" + UNIT, re.S)
SCOPE_DIM_RE = re.compile(r"with_dimension\(\s*\"(\w+)\"")


def _sources() -> dict[Path, str]:
    return {p: p.read_text() for p in sorted((COMMON / "src").rglob("*.rs"))}


def emitted() -> dict[str, dict]:
    """Metric name -> {"units": {...}, "sets": {frozenset of dimension names, ...}}.

    `metrics::add` inside a request (crates/common/src/http/mod.rs scopes every request with
    RouteClass) lands in the request's document, published per [Service, Environment,
    RouteClass] and rolled up per [Service, Environment]; outside a request it is its own
    document with [Service, Environment]. Both are possible for any `add`, so each gets all of
    them. `metrics::add_with(&[("Reason", ..)], ..)` publishes [Service, Environment, Reason]
    and the rollup.
    """
    http = (COMMON / "src" / "http" / "mod.rs").read_text()
    request_dims = set(SCOPE_DIM_RE.findall(http))
    assert request_dims == {"RouteClass"}, f"the request scope's dimensions changed: {request_dims}"
    out: dict[str, dict] = {}
    for path, text in _sources().items():
        if path.name == "metrics.rs" and path.parent.name == "src":
            continue  # the API itself
        for name, unit in ADD_RE.findall(text):
            entry = out.setdefault(name, {"units": set(), "sets": set()})
            entry["units"].add(unit)
            entry["sets"] |= {BASE, BASE | request_dims}
        for dims, name, unit in ADD_WITH_RE.findall(text):
            keys = set(re.findall(r"\(\s*\"(\w+)\"", dims))
            assert keys, f"{path.name}: add_with({dims!r}) names no dimension"
            entry = out.setdefault(name, {"units": set(), "sets": set()})
            entry["units"].add(unit)
            entry["sets"] |= {BASE, BASE | keys}
    return out


@pytest.fixture(scope="module")
def metrics() -> dict[str, dict]:
    found = emitted()
    missing = REQUIRED - set(found)
    assert not missing, f"the scan of crates/common/src found no metrics::add/add_with of {sorted(missing)}"
    return found


@pytest.fixture(scope="module")
def mon() -> Module:
    return Module(MONITORING)


def _services() -> set[str]:
    """The Service values the binaries write (Function::metric_name), minus the local server."""
    app = (COMMON / "src" / "app" / "mod.rs").read_text()
    body = app[app.index("fn metric_name"):]
    body = body[: body.index("\n    }\n")]
    names = set(re.findall(r"=> \"(\w+)\"", body))
    assert {"users", "products", "cart", "orders", "image_processor"} <= names, names
    return names - {"local"}


def _strings(expr: str) -> list[str]:
    return re.findall(r'"([^"$]+)"', expr)


def _resolve_for_each(mon: Module, for_each: str) -> list[str]:
    if for_each == "${var.http_services}":
        functions = Module(MODULES / "lambdas").locals()["functions"]
        return sorted({f["crate"] for f in functions.values() if f["kind"] == "http"})
    m = re.fullmatch(r"\$\{local\.(\w+)\}", for_each)
    if m:
        value = mon.locals()[m.group(1)]
        return value if isinstance(value, list) else _strings(value)
    m = re.fullmatch(r"\$\{toset\(local\.(\w+)\)\}", for_each)
    if m:
        return list(mon.locals()[m.group(1)])
    raise AssertionError(f"cannot resolve for_each {for_each!r}; extend tests/infra/test_observability.py")


def _values(mon: Module, expr: str, keys: list[str]) -> list[str]:
    """The values a dimension expression takes: a literal, a local, or the for_each key."""
    if "${" not in expr:
        return [expr]
    m = re.fullmatch(r"\$\{local\.(\w+)\}", expr)
    if m:
        return [mon.locals()[m.group(1)]]
    if expr in ("${each.key}", "${metric_query.key}"):
        assert keys, f"{expr} outside a for_each"
        return keys
    raise AssertionError(f"cannot resolve dimension value {expr!r}")


def shop_alarm_metrics(mon: Module) -> list[tuple[str, str, dict, list[str]]]:
    """(alarm, metric name, dimensions, for_each keys) of every Shop metric an alarm reads."""
    out = []
    for name, body in mon.resources("aws_cloudwatch_metric_alarm").items():
        if body.get("namespace", "${local.namespace}") != "${local.namespace}":
            continue  # AWS/Lambda, AWS/SQS, ...: not the services' own metrics
        keys = _resolve_for_each(mon, body["for_each"]) if "for_each" in body else []
        if body.get("namespace") == "${local.namespace}":
            out.append((name, body["metric_name"], body.get("dimensions", {}), keys))
        for query in body.get("metric_query", []):
            for metric in query.get("metric", []):
                if metric.get("namespace") == "${local.namespace}":
                    out.append((name, metric["metric_name"], metric.get("dimensions", {}), keys))
        for dynamic in body.get("dynamic", []):
            for label, dyn in dynamic.items():
                dyn_keys = _resolve_for_each(mon, dyn["for_each"])
                for content in dyn.get("content", []):
                    for metric in content.get("metric", []):
                        if metric.get("namespace") == "${local.namespace}":
                            out.append((name, metric["metric_name"], metric.get("dimensions", {}), dyn_keys))
    return out


def dashboard_text() -> str:
    text = (MONITORING / "main.tf").read_text()
    start = text.index('resource "aws_cloudwatch_dashboard"')
    return text[start:]


SEARCH_RE = re.compile(r"SEARCH\('\$\{local\.(\w+)\} MetricName=\\\"(\w+)\\\"")
ARRAY_RE = re.compile(r"\[local\.namespace,\s*\"(\w+)\"((?:,\s*[^,\]{]+)*)")


def dashboard_metrics(mon: Module) -> list[tuple[str, frozenset[str], str]]:
    """(metric, dimension names, how) of every Shop metric on the dashboard."""
    text = dashboard_text()
    out = []
    for schema_local, metric in SEARCH_RE.findall(text):
        schema = mon.locals()[schema_local]
        m = re.fullmatch(r"\{\$\{local\.namespace\},([\w,]+)\}", schema)
        assert m, f"local.{schema_local} = {schema!r} is not a SEARCH schema of namespace Shop"
        out.append((metric, frozenset(m.group(1).split(",")), f"SEARCH {schema_local}"))
    for metric, rest in ARRAY_RE.findall(text):
        parts = [p.strip() for p in rest.split(",") if p.strip()]
        out.append((metric, frozenset(p.strip('"') for p in parts[0::2]), "metric array"))
    return out


# --- the code's side ------------------------------------------------------------------------

def test_the_namespace_is_the_codes(mon):
    code = (COMMON / "src" / "metrics.rs").read_text()
    m = re.search(r'pub const NAMESPACE: &str = "(\w+)";', code)
    assert m, "crates/common/src/metrics.rs: NAMESPACE not found"
    assert mon.locals()["namespace"] == m.group(1)


def test_the_code_rolls_scoped_metrics_up_per_service():
    # The per-service alarms (ServerErrors over every route class, CheckoutsFailed and
    # ImagesFailed over every reason) read the [Service, Environment] rollup; the code's EMF
    # test pins that a scope with dimensions of its own also publishes it.
    emf_test = (COMMON / "tests" / "metrics.rs").read_text()
    assert re.search(r'\["Service",\s*"Environment",\s*"RouteClass"\],\s*\["Service",\s*"Environment"\]', emf_test), (
        "crates/common/tests/metrics.rs no longer pins the [Service, Environment] rollup of scoped "
        "documents: the per-service alarms in terraform/modules/monitoring read it"
    )


def test_every_metric_has_one_unit(metrics):
    for name, entry in metrics.items():
        assert len(entry["units"]) == 1, f"{name} is emitted with units {entry['units']}"
    assert metrics["Latency"]["units"] == {"Milliseconds"}
    assert metrics["Requests"]["units"] == {"Count"}


# --- alarms ---------------------------------------------------------------------------------

def test_every_alarm_reads_a_metric_and_dimension_set_the_code_emits(metrics, mon):
    services = _services()
    checked = 0
    for alarm, metric, dims, keys in shop_alarm_metrics(mon):
        where = f"aws_cloudwatch_metric_alarm.{alarm} ({metric})"
        assert metric in metrics, f"{where}: the code never emits {metric} (emitted: {sorted(metrics)})"
        assert frozenset(dims) in metrics[metric]["sets"], (
            f"{where}: dimensions {sorted(dims)} are not a set the code publishes "
            f"({[sorted(s) for s in metrics[metric]['sets']]})"
        )
        assert dims["Environment"] == "${var.environment}", f"{where}: Environment must be var.environment"
        for service in _values(mon, dims["Service"], keys):
            assert service in services, f"{where}: Service {service!r} is none of the binaries' {sorted(services)}"
        checked += 1
    assert checked >= 6, f"only {checked} Shop metrics under alarm"


def test_issue_13_alarms_exist(mon):
    alarmed = {metric for _, metric, _, _ in shop_alarm_metrics(mon)}
    assert {"ServerErrors", "CheckoutsFailed", "TimeToConfirm", "ProjectionLag", "ImagesFailed"} <= alarmed
    alarms = mon.resources("aws_cloudwatch_metric_alarm")
    assert alarms["time_to_confirm"]["extended_statistic"] == "p99"
    assert alarms["time_to_confirm"]["threshold"] == "${var.thresholds.time_to_confirm_p99_ms}"
    assert alarms["projection_lag"]["statistic"] == "Maximum"
    assert alarms["projection_lag"]["threshold"] == "${var.thresholds.projection_lag_ms}"


def test_server_errors_are_alarmed_for_every_http_service(mon):
    alarm = mon.resources("aws_cloudwatch_metric_alarm")["server_errors"]
    assert alarm["for_each"] == "${var.http_services}"
    passed = Module(TF).blocks("module")["monitoring"]["http_services"]
    assert "module.lambdas.http_functions" in passed and "module.lambdas.function_crates" in passed, passed
    lambdas = Module(MODULES / "lambdas")
    assert "function_crates" in lambdas.blocks("output")


def test_the_metrics_environment_is_the_functions_app_env():
    modules = Module(TF).blocks("module")
    assert modules["monitoring"]["environment"] == modules["lambdas"]["app_env"]


def test_the_expected_checkout_failure_reasons_are_the_codes(mon):
    checkout = (COMMON / "src" / "services" / "checkout_saga" / "steps.rs").read_text()
    body = checkout[checkout.index("pub fn failure_reason"):]
    body = body[: body.index("\n}\n")]
    reasons = set(re.findall(r'=> "(\w+)"\.into\(\)', body))
    expected = set(mon.locals()["expected_checkout_failures"])
    assert expected and expected <= reasons, f"{sorted(expected)} not among failure_reason's {sorted(reasons)}"


def test_every_alarm_notifies_the_alarm_topic_both_ways(mon):
    topic = ["${aws_sns_topic.alarms.arn}"]
    assert mon.locals()["alarm_actions"] == topic
    for name, body in mon.resources("aws_cloudwatch_metric_alarm").items():
        for key in ("alarm_actions", "ok_actions"):
            value = body.get(key)
            assert value in (topic, "${local.alarm_actions}"), f"{name}.{key} = {value!r}"
        assert body["treat_missing_data"] == "notBreaching", f"{name}: idle environments must stay green"


def test_every_alarm_is_in_the_outputs_and_on_the_dashboard(mon):
    outputs = str(mon.blocks("output")["alarm_names"]["value"])
    on_dashboard = str(mon.locals()["dashboard_alarm_arns"])
    for name in mon.resources("aws_cloudwatch_metric_alarm"):
        assert f"aws_cloudwatch_metric_alarm.{name}" in outputs, f"alarm_names lacks {name}"
        assert f"aws_cloudwatch_metric_alarm.{name}" in on_dashboard, f"the dashboard's alarm widget lacks {name}"


def test_every_threshold_is_tunable_per_environment(mon):
    def keys(type_expr: str) -> set[str]:
        return set(re.findall(r"(\w+)\s*=\s*optional\(", type_expr))

    module_keys = keys(mon.blocks("variable")["thresholds"]["type"])
    root_keys = keys(Module(TF).blocks("variable")["alarm_thresholds"]["type"])
    assert module_keys and module_keys == root_keys
    assert Module(TF).blocks("module")["monitoring"]["thresholds"] == "${var.alarm_thresholds}"
    for name, body in mon.resources("aws_cloudwatch_metric_alarm").items():
        threshold = str(body.get("threshold"))
        m = re.fullmatch(r"\$\{var\.thresholds\.(\w+)\}", threshold)
        assert m is None or m.group(1) in module_keys, f"{name}: {threshold}"


# --- dashboard ------------------------------------------------------------------------------

def test_every_dashboard_metric_is_emitted_with_that_dimension_set(metrics, mon):
    lines = dashboard_metrics(mon)
    assert len(lines) >= 12, lines
    for metric, dims, how in lines:
        assert metric in metrics, f"dashboard ({how}): the code never emits {metric}"
        assert dims in metrics[metric]["sets"], (
            f"dashboard ({how}): {metric} is never published with dimensions {sorted(dims)} "
            f"({[sorted(s) for s in metrics[metric]['sets']]})"
        )


def test_every_emitted_metric_is_on_the_dashboard(metrics, mon):
    shown = {metric for metric, _, _ in dashboard_metrics(mon)}
    missing = set(metrics) - shown
    assert not missing, f"emitted but on no dashboard widget: {sorted(missing)}"


def test_the_dashboard_filters_on_this_environment_and_region(mon):
    text = dashboard_text()
    assert mon.locals()["env_filter"] == 'Environment=\\"${var.environment}\\"'
    for m in re.finditer(r"SEARCH\('[^']*'", text):
        assert "${local.env_filter}" in m.group(0), f"SEARCH without the environment filter: {m.group(0)}"
    widgets = text.count('type = "metric"')
    assert widgets >= 8 and text.count("region = data.aws_region.current.name") == widgets
    assert text.count("var.environment,") >= text.count("[local.namespace,"), "metric arrays must name the Environment"


def test_the_dashboard_grid_is_24_columns_without_overlap():
    cells = [tuple(map(int, m)) for m in re.findall(r"x = (\d+), y = (\d+), width = (\d+), height = (\d+)", dashboard_text())]
    assert len(cells) >= 10
    taken: set[tuple[int, int]] = set()
    for x, y, w, h in cells:
        assert x + w <= 24, f"widget at x={x} width={w} passes column 24"
        area = {(i, j) for i in range(x, x + w) for j in range(y, y + h)}
        assert not area & taken, f"widget at ({x}, {y}) overlaps another"
        taken |= area


def test_the_checker_catches_a_typo(metrics, mon, monkeypatch):
    # The dashboard scan sees a misspelt metric (the regexes are not vacuous).
    monkeypatch.setattr(
        sys.modules[__name__], "dashboard_text",
        lambda: "[local.namespace, \"CheckoutConfirmed\", \"Service\", \"orders\", \"Environment\", var.environment]",
    )
    lines = dashboard_metrics(mon)
    assert lines == [("CheckoutConfirmed", frozenset({"Service", "Environment"}), "metric array")]
    assert "CheckoutConfirmed" not in metrics
