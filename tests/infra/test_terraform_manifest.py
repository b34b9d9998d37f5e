"""The Terraform modules match scripts/aws_resources.json, the one source of truth of names,
keys and wiring shared with the local stack (scripts/dev/provision.py)."""

from __future__ import annotations

import fnmatch
import re

from conftest import REPO, TF


def _key(attr: dict | None) -> tuple[str, str] | None:
    return None if attr is None else (attr["name"], attr["type"])


# --- services: ECR, Lambda, IAM role, route or event source --------------------------------


def test_every_service_crate_has_an_ecr_repository(manifest, root, module):
    crates = {f["crate"] for f in manifest["lambda_functions"]}
    assert set(root.locals()["services"]) == crates, "root local.services must list every manifest crate"
    assert root.blocks("module")["ecr"]["services"] == "${local.services}"
    repo = module("ecr").resources("aws_ecr_repository")["this"]
    assert repo["for_each"] == "${toset(var.services)}", "one repository per service crate"
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert repo["image_scanning_configuration"][0]["scan_on_push"] is True
    assert "this" in module("ecr").resources("aws_ecr_lifecycle_policy")


def test_every_manifest_function_is_a_lambda_with_its_crate(manifest, module):
    lambdas = module("lambdas")
    functions = lambdas.locals()["functions"]
    expected = {f["name"]: f for f in manifest["lambda_functions"]}
    # The manifest lists the functions the local stack stands in for; Terraform adds the
    # other commands of the same images (worker, relay, migrate).
    assert set(expected) <= set(functions), "every manifest function must be a lambdas locals.functions entry"
    for name, f in functions.items():
        if name not in expected:
            assert f["command"] is not None and f["kind"] in ("sqs", "schedule", "task"), f"{name}: extra functions are commands"
    for name, spec in expected.items():
        assert functions[name]["crate"] == spec["crate"], f"{name}: wrong crate"
        assert functions[name]["kind"] == spec["kind"], f"{name}: wrong kind"
    fn = lambdas.resources("aws_lambda_function")["this"]
    assert fn["for_each"] == "${local.functions}"
    assert fn["package_type"] == "Image"
    assert fn["architectures"] == ["arm64"]
    assert "each.value.crate" in fn["image_uri"], "the image must come from the function's crate repository"
    assert "vpc_config" in fn and "tracing_config" in fn


def test_every_function_has_its_own_least_privilege_role(manifest, module):
    lambdas = module("lambdas")
    names = set(lambdas.locals()["functions"])
    role = lambdas.resources("aws_iam_role")["this"]
    assert role["for_each"] == "${local.functions}", "one IAM role per function"
    assert lambdas.resources("aws_lambda_function")["this"]["role"] == "${aws_iam_role.this[each.key].arn}"
    access = lambdas.locals()["access"]
    assert set(access) == names, "every function needs an entry in locals.access"
    policy = lambdas.resources("aws_iam_role_policy")["function"]
    assert policy["for_each"] == "${local.functions}"
    # Only declared tables exist in the access matrix.
    tables = {t["name"] for t in manifest["dynamodb_tables"]}
    for fn, a in access.items():
        for t in a["tables"]:
            assert t in tables, f"{fn}: unknown table {t}"


def test_http_functions_have_protected_proxy_routes_and_sqs_functions_event_sources(manifest, root, module):
    lambdas = module("lambdas")
    functions = lambdas.locals()["functions"]
    api = module("api_gateway").locals()
    event_sources = lambdas.locals()["event_sources"]

    protected = api["protected_routes"]
    assert "ANY /v1/${s}/{proxy+}" in protected, "ANY /v1/{service}/{proxy+} per service"
    assert "ANY /v1/${s}" in protected
    route = module("api_gateway").resources("aws_apigatewayv2_route")["protected"]
    assert route["authorization_type"] == "JWT"
    assert route["authorizer_id"] == "${aws_apigatewayv2_authorizer.jwt.id}"
    # The api_gateway services map is built from the lambdas' HTTP functions and their prefix.
    assert "module.lambdas.http_functions" in root.blocks("module")["api_gateway"]["services"]

    for spec in manifest["lambda_functions"]:
        if spec["kind"] == "http":
            assert functions[spec["name"]]["route_prefix"] == spec["route_prefix"], spec["name"]
        else:
            assert event_sources.get(spec["queue"]) == spec["name"], f"{spec['name']} must consume {spec['queue']}"

    # The checkout workflow's task queue and the fulfillment queue are consumed by the orders
    # image's worker command.
    for sm in manifest["state_machines"]:
        assert event_sources.get(sm["task_queue"]) == "checkout_worker_lambda"
    assert event_sources.get("fulfillment") == "checkout_worker_lambda"
    assert functions["checkout_worker_lambda"]["crate"] == "orders"
    assert functions["checkout_worker_lambda"]["command"] == ["worker"]

    esm = lambdas.resources("aws_lambda_event_source_mapping")["sqs"]
    assert esm["for_each"] == "${local.event_sources}"
    assert esm["function_response_types"] == ["ReportBatchItemFailures"]


def test_public_routes_are_exactly_the_anonymous_routes_of_the_contract(module):
    api = module("api_gateway")
    public = api.locals()["public_routes"]
    text = str(public)
    for route in [
        "GET /v1/products",
        "GET /v1/products/{proxy+}",
        "POST /v1/users/register",
        "POST /v1/users/confirm",
        "POST /v1/users/login",
        "POST /v1/users/refresh",
        "GET /v1/${s}/health",
    ]:
        assert route in text, f"missing public route {route}"
    assert api.resources("aws_apigatewayv2_route")["public"]["authorization_type"] == "NONE"
    assert "ANY" not in text, "no ANY route may be public"


# The API's own description: served by the products function (routers::finish with
# function_serves_docs), anonymous, like the catalogue reads.
DOCS_ROUTES = ["GET /v1/openapi.json", "GET /v1/docs", "GET /v1/docs/{proxy+}"]
EXECUTION_ARN = "${aws_apigatewayv2_api.this.execution_arn}/"


def _literal_routes(api, local_name: str) -> dict[str, str]:
    """The literal `"METHOD /path" = "service"` entries of a routes local, including those of
    the locals it merges in (`local.docs_routes`); `for` expressions are left out."""
    locals_ = api.locals()
    value = locals_[local_name]
    if isinstance(value, dict):
        return dict(value)
    routes = dict(re.findall(r'"([A-Z]+ /[^"$]*)"\s*=\s*"([a-z_]+)"', value))
    for ref in re.findall(r"\blocal\.(\w+)\b", value):
        routes.update(_literal_routes(api, ref))
    return routes


def _services_serving_docs() -> set[str]:
    """The crates whose HTTP function the code builds with the documentation routes: each
    function's entry point (`pub async fn run_<crate>`) serves its router with
    `serve_http(<router>, &resources, <serves docs>)`."""
    app = (REPO / "crates" / "common" / "src" / "app" / "mod.rs").read_text()
    entry_points = re.split(r"\npub async fn run_", app)[1:]
    served = {}
    for body in entry_points:
        crate = re.match(r"(\w+)\(", body).group(1)
        body = body.split("\n}\n", 1)[0]
        at = body.find("serve_http(")
        if at < 0:
            continue
        depth, args = 0, ""
        for ch in body[at + len("serve_http("):]:
            if ch == ")" and depth == 0:
                break
            depth += {"(": 1, ")": -1}.get(ch, 0)
            args += ch
        served[crate] = args.strip().rstrip(",").rsplit(",", 1)[-1].strip()
    assert served and set(served.values()) <= {"true", "false"} and "true" in served.values(), (
        "crates/common/src/app/mod.rs no longer says which function serves /v1/openapi.json and "
        "/v1/docs (`serve_http(router, &resources, true)` in its `run_<crate>`): update this test"
    )
    return {crate for crate, docs in served.items() if docs == "true"}


def _invoke_permissions(api, services: list[str]) -> list[tuple[str, str]]:
    """(service, source ARN glob after the execution ARN) of every lambda:InvokeFunction
    permission, for the two shapes the module uses; any other shape fails (extend this)."""
    out = []
    for name, perm in api.resources("aws_lambda_permission").items():
        assert perm["principal"] == "apigateway.amazonaws.com" and perm["action"] == "lambda:InvokeFunction", name
        arn = perm["source_arn"]
        assert arn.startswith(EXECUTION_ARN), f"{name}: source_arn must be under this API's execution ARN"
        tail = arn[len(EXECUTION_ARN):]
        if perm["for_each"] == "${var.services}" and perm["function_name"] == "${each.value.function_name}":
            out += [(s, tail.replace("${each.key}", s)) for s in services]
        elif perm["function_name"] == "${var.services[each.value].function_name}":
            m = re.fullmatch(r"\$\{local\.(\w+)\}", perm["for_each"])
            assert m, f"{name}: for_each {perm['for_each']!r} not understood; extend this test"
            for route, service in _literal_routes(api, m.group(1)).items():
                glob = tail.replace(
                    '${replace(replace(each.key, " ", ""), "{proxy+}", "*")}',
                    route.replace(" ", "").replace("{proxy+}", "*"),
                ).replace('${replace(each.key, " ", "")}', route.replace(" ", ""))
                out.append((service, glob))
        else:
            raise AssertionError(f"aws_lambda_permission.{name}: shape not understood; extend this test")
        assert all("${" not in g for _, g in out), f"{name}: unresolved expression in {arn!r}; extend this test"
    return out


def test_the_openapi_document_and_docs_page_are_public_routes_of_the_products_function(root, module):
    api = module("api_gateway")
    public = _literal_routes(api, "public_routes")
    protected = _literal_routes(api, "protected_routes")
    serving = _services_serving_docs()
    assert serving == {"products"}, f"the code serves the docs from {sorted(serving)}; this test expects products"
    for route in DOCS_ROUTES:
        assert route in public, f"missing public route {route}"
        assert public[route] == "products", f"{route} goes to the {public[route]} function, not products"
        assert route not in protected, f"{route} must not also be a JWT route"

    # The public routes: no authorizer, each to the integration of its own service.
    routes = api.resources("aws_apigatewayv2_route")
    public_route = routes["public"]
    assert public_route["for_each"] == "${local.public_routes}"
    assert public_route["authorization_type"] == "NONE", "the public routes must not have an authorizer"
    assert "authorizer_id" not in public_route and "authorization_scopes" not in public_route
    assert public_route["target"] == "integrations/${aws_apigatewayv2_integration.service[each.value].id}"
    for rname, body in routes.items():
        if rname != "public":
            assert body["for_each"] != "${local.public_routes}", f"route {rname} also declares the public routes"
            assert "docs_routes" not in str(body), f"route {rname} also declares the documentation routes"

    # ... whose integration invokes that service's function ...
    integration = api.resources("aws_apigatewayv2_integration")["service"]
    assert integration["for_each"] == "${var.services}"
    assert integration["integration_uri"] == "${each.value.function_invoke_arn}"
    services = root.blocks("module")["api_gateway"]["services"]
    assert "module.lambdas.http_functions" in services and "function_invoke_arns[fn]" in services
    functions = module("lambdas").locals()["functions"]
    (products_fn,) = [n for n, f in functions.items() if f["kind"] == "http" and f["route_prefix"] == "products"]
    assert functions[products_fn]["crate"] in serving, f"{products_fn} runs another crate than the one serving the docs"

    # ... which lets API Gateway invoke it for exactly these paths.
    permissions = _invoke_permissions(api, ["users", "products", "cart", "orders"])
    for route in DOCS_ROUTES:
        method, path = route.split(" ")
        arn = f"$default/{method}{path.replace('{proxy+}', 'swagger-ui.css')}"
        allowed = {s for s, glob in permissions if fnmatch.fnmatchcase(arn, glob)}
        assert allowed == {"products"}, f"{route}: API Gateway may invoke {sorted(allowed) or 'no function'} for {arn}"


def test_every_route_may_invoke_the_function_it_targets(module):
    """A route without a matching lambda:InvokeFunction permission answers 500 in AWS."""
    api = module("api_gateway")
    services = ["users", "products", "cart", "orders"]
    permissions = _invoke_permissions(api, services)
    routes = dict(_literal_routes(api, "public_routes"))
    for template in ["ANY /v1/${s}", "ANY /v1/${s}/{proxy+}", "GET /v1/${s}/health"]:
        assert template in str(api.locals()["public_routes"]) + str(api.locals()["protected_routes"]), template
        routes.update({template.replace("${s}", s): s for s in services})
    for route, service in routes.items():
        method, path = route.split(" ")
        arn = f"$default/{'GET' if method == 'ANY' else method}{path.replace('{proxy+}', 'a/b')}"
        allowed = {s for s, glob in permissions if fnmatch.fnmatchcase(arn, glob)}
        assert service in allowed, f"{route}: no permission lets API Gateway invoke the {service} function ({arn})"


# --- messaging ------------------------------------------------------------------------------


def test_topics_match_the_manifest(manifest, module):
    topics = module("sns_sqs").locals()["topics"]
    assert set(re.findall(r'"([^"]+)"', topics)) == set(manifest["sns_topics"])
    topic = module("sns_sqs").resources("aws_sns_topic")["this"]
    assert topic["for_each"] == "${local.topics}" and topic["name"] == "${var.name_prefix}${each.key}"


def test_every_queue_has_a_dlq_with_the_manifest_redrive(manifest, module):
    m = module("sns_sqs")
    queues = m.locals()["queues"]
    expected = {q["name"]: q for q in manifest["sqs_queues"]}
    assert set(queues) == set(expected), "queues must be exactly the manifest's"
    for name, spec in expected.items():
        q = queues[name]
        assert q["dlq"] == spec["dlq"], f"{name}: dlq"
        assert q["max_receive_count"] == spec["max_receive_count"], f"{name}: maxReceiveCount"
        assert q["visibility_timeout"] == spec["visibility_timeout"], f"{name}: visibility timeout"
        assert q["subscribe_to"] == spec.get("subscribe_to"), f"{name}: subscription"
    queue = m.resources("aws_sqs_queue")["this"]
    dlq = m.resources("aws_sqs_queue")["dlq"]
    assert queue["for_each"] == dlq["for_each"] == "${local.queues}", "one DLQ per queue"
    assert "deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn" in queue["redrive_policy"]
    assert "maxReceiveCount = each.value.max_receive_count" in queue["redrive_policy"]
    assert "each.value.dlq" in dlq["name"]
    assert "dlq" in m.resources("aws_sqs_queue_redrive_allow_policy")
    sub = m.resources("aws_sns_topic_subscription")["this"]
    assert sub["protocol"] == "sqs" and sub["for_each"] == "${local.subscribed}"


def test_bucket_notification_targets_the_manifest_topic_with_the_raw_prefix(manifest, root, module):
    (bucket,) = manifest["s3_buckets"]
    notif = module("s3").resources("aws_s3_bucket_notification")["images"]
    (topic,) = notif["topic"]
    assert topic["filter_prefix"] == bucket["notification"]["prefix"]
    assert topic["events"] == bucket["notification"]["events"]
    assert topic["topic_arn"] == "${var.upload_topic_arn}"
    s3 = root.blocks("module")["s3"]
    assert s3["upload_topic_arn"] == f'${{module.sns_sqs.topic_arns["{bucket["notification"]["topic"]}"]}}'
    # The bucket may publish to that topic (topic policy in sns_sqs).
    policy = str(module("sns_sqs").docs["main.tf"]["data"])
    assert bucket["notification"]["topic"] in policy and "s3.amazonaws.com" in policy


# --- DynamoDB ---------------------------------------------------------------------------------


def test_every_table_has_exactly_the_manifest_schema(manifest, module):
    tables = module("dynamodb").locals()["tables"]
    expected = {t["name"]: t for t in manifest["dynamodb_tables"]}
    assert set(tables) == set(expected), "tables must be exactly the manifest's"
    for name, spec in expected.items():
        t = tables[name]
        assert _key(t["hash_key"]) == _key(spec["hash_key"]), f"{name}: hash key"
        assert _key(t["range_key"]) == _key(spec.get("range_key")), f"{name}: range key"
        assert t["ttl_attribute"] == spec.get("ttl_attribute"), f"{name}: TTL"
        got = {g["name"]: (_key(g["hash_key"]), _key(g.get("range_key"))) for g in t["gsis"]}
        want = {g["name"]: (_key(g["hash_key"]), _key(g.get("range_key"))) for g in spec["gsis"]}
        assert got == want, f"{name}: GSIs"
    table = module("dynamodb").resources("aws_dynamodb_table")["this"]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"][0]["enabled"] is True
    assert table["server_side_encryption"][0]["enabled"] is True
    assert table["name"] == "${var.name_prefix}${each.key}"


# --- Step Functions, Cognito, secrets ------------------------------------------------------


def test_state_machine_uses_the_manifest_definition(manifest, root, module):
    (sm,) = manifest["state_machines"]
    default = root.blocks("variable")["state_machine_definition_file"]["default"]
    assert (TF / default).resolve() == (REPO / sm["definition"]).resolve()
    machine = module("step_functions").resources("aws_sfn_state_machine")["this"]
    assert machine["name"].endswith(sm["name"])
    assert "templatefile(var.definition_file" in machine["definition"]
    policy = str(module("step_functions").docs["main.tf"]["data"])
    for action in ["sqs:SendMessage", "sns:Publish", "dynamodb:PutItem"]:
        assert action in policy, action
    assert 'topic_arns["order-events"]' in policy and 'tables["OrderEvents"]' in policy


def test_cognito_matches_the_manifest(manifest, module):
    c = module("cognito")
    pool = c.resources("aws_cognito_user_pool")["this"]
    client = c.resources("aws_cognito_user_pool_client")["app"]
    assert pool["name"].endswith(manifest["cognito"]["user_pool"])
    assert client["name"].endswith(manifest["cognito"]["app_client"])
    assert client["generate_secret"] is False
    assert {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} <= set(client["explicit_auth_flows"])
    groups = {g["name"] for g in c.resources("aws_cognito_user_group").values()}
    assert groups == set(manifest["cognito"]["groups"])
    policy = pool["password_policy"][0]
    assert policy["minimum_length"] >= 8
    assert all(policy[k] is True for k in ["require_uppercase", "require_lowercase", "require_numbers", "require_symbols"])


def test_db_secret_has_the_manifest_keys(manifest, module):
    (secret,) = manifest["secrets"]
    version = module("secrets").resources("aws_secretsmanager_secret_version")[secret["name"]]
    for key in secret["keys"]:
        assert re.search(rf"\b{key}\s*=", version["secret_string_wo"]), f"db secret lacks {key}"


# --- Lambda environment vs the code, .env.example and docs/configuration.md -----------------------------

CONFIG_RS = REPO / "crates" / "common" / "src" / "config.rs"


def _variables_the_code_reads() -> dict[str, str | None]:
    """Every variable config.rs reads (`env.get/or/number/flag/required("NAME"...)`), with the
    default of the numeric ones (`env.number("NAME", 800)`)."""
    text = CONFIG_RS.read_text()
    names = {n: None for n in re.findall(r'\benv\s*\.\s*\w+\(\s*"([A-Z][A-Z0-9_]*)"', text)}
    names.update(dict(re.findall(r'\benv\s*\.\s*number\(\s*"([A-Z][A-Z0-9_]*)"\s*,\s*(\d+)\s*\)', text)))
    assert len(names) > 20, f"only {len(names)} variables found in {CONFIG_RS}; has Env changed?"
    return names


def _readme_configuration_table() -> str:
    readme = (REPO / "docs" / "configuration.md").read_text()
    m = re.search(r"^## Configuration\n(.*?)^## ", readme, flags=re.M | re.S)
    assert m, "docs/configuration.md has no Configuration section"
    return m.group(1)


def test_lambda_environment_only_uses_variables_the_services_read(module):
    env_example = (REPO / ".env.example").read_text()
    # What the code reads (config.rs), and the process variables .env.example lists (RUST_LOG).
    known = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", env_example, flags=re.M)) | set(_variables_the_code_reads())
    # Read by the services in AWS only; documented in terraform/modules/lambdas/README.md.
    aws_only = {"REDIS_AUTH_SECRET_ID"}
    locals_ = module("lambdas").locals()
    env = str(locals_["common_environment"]) + str(locals_["environment"])
    keys = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", env))
    assert keys, "no environment variables parsed"
    unknown = keys - known - aws_only
    assert not unknown, f"Lambda env vars not read by the code nor in .env.example: {sorted(unknown)}"
    for required in ["APP_ENV", "DATABASE_SECRET_ID", "REDIS_URL", "DYNAMODB_TABLE_PREFIX", "IMAGES_BUCKET",
                     "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "CHECKOUT_STATE_MACHINE_ARN",
                     "CHECKOUT_TASK_QUEUE_URL", "ORDER_EVENTS_TOPIC_ARN", "IMAGE_QUEUE_URL"]:
        assert required in keys, f"Lambda env lacks {required}"
    assert "AWS_ENDPOINT_URL" not in keys and "AWS_ACCESS_KEY_ID" not in keys
    assert "DYNAMODB_ENDPOINT_URL" not in keys, "DynamoDB uses the regional endpoint in AWS"


def test_every_variable_the_code_reads_is_in_the_readme_configuration_table():
    table = _readme_configuration_table()
    documented = set()
    for row in re.findall(r"^\|([^|\n]*)\|", table, flags=re.M):
        documented |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", row))
    missing = sorted(set(_variables_the_code_reads()) - documented)
    assert not missing, f"docs/configuration.md's Configuration table does not list {missing} (read by {CONFIG_RS.name})"


# Root variable -> (environment variable, module attribute): the latency budgets and the
# in-process cache tier, tunable per environment, with the code's defaults.
TUNABLES = {
    "aws_timeout_ms": "AWS_TIMEOUT_MS",
    "request_timeout_ms": "REQUEST_TIMEOUT_MS",
    "cache_local_ttl_ms": "CACHE_LOCAL_TTL_MS",
}


def test_the_latency_tunables_reach_every_function_with_the_codes_defaults_and_rules(root, module):
    code = _variables_the_code_reads()
    lambdas = module("lambdas")
    common = str(lambdas.locals()["common_environment"])
    tuning = lambdas.blocks("variable")["service_tuning"]
    passed = root.blocks("module")["lambdas"]["service_tuning"]
    variables = root.blocks("variable")
    for var, env in TUNABLES.items():
        assert re.search(rf"\b{env}\s*=\s*tostring\(var\.service_tuning\.{var}\)", common), (
            f"lambdas common_environment must set {env} from var.service_tuning.{var}"
        )
        assert str(tuning["default"][var]) == code[env], f"lambdas service_tuning.{var} default != the code's {code[env]}"
        assert str(passed[var]) == f"${{var.{var}}}", f"the root module must pass var.{var}"
        body = variables[var]
        assert str(body["default"]) == code[env], f"variable {var}: default {body['default']} != the code's {code[env]}"
        conditions = " ".join(v["condition"] for v in body.get("validation", []))
        assert f"var.{var} >= 0" in conditions and f"floor(var.{var}) == var.{var}" in conditions, (
            f"variable {var} must be validated as a non-negative integer (config.rs parses a u64)"
        )
    conditions = " ".join(v["condition"] for v in variables["request_timeout_ms"]["validation"])
    assert "var.request_timeout_ms < 29000" in conditions, "REQUEST_TIMEOUT_MS must end before the API Gateway integration"
    assert "var.request_timeout_ms < f.timeout * 1000" in conditions, "REQUEST_TIMEOUT_MS must end before the HTTP functions' timeout"
    integration = module("api_gateway").resources("aws_apigatewayv2_integration")["service"]
    assert integration["timeout_milliseconds"] == 29000, "the 29000 of the request_timeout_ms validations is this timeout"
    fn = lambdas.resources("aws_lambda_function")["this"]
    preconditions = " ".join(p["condition"] for p in fn["lifecycle"][0]["precondition"])
    assert "var.service_tuning.request_timeout_ms < var.function_settings[each.key].timeout * 1000" in preconditions
