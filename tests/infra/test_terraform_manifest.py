"""The Terraform modules match scripts/aws_resources.json, the one source of truth of names,
keys and wiring shared with the local stack (scripts/provision.py)."""

from __future__ import annotations

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
        assert re.search(rf"\b{key}\s*=", version["secret_string"]), f"db secret lacks {key}"


# --- Lambda environment vs .env.example ------------------------------------------------------


def test_lambda_environment_only_uses_variables_the_services_read(module):
    env_example = (REPO / ".env.example").read_text()
    known = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", env_example, flags=re.M))
    # Read by the services in AWS only; documented in terraform/modules/lambdas/README.md.
    aws_only = {"REDIS_AUTH_SECRET_ID"}
    locals_ = module("lambdas").locals()
    env = str(locals_["common_environment"]) + str(locals_["environment"])
    keys = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", env))
    assert keys, "no environment variables parsed"
    unknown = keys - known - aws_only
    assert not unknown, f"Lambda env vars not in .env.example: {sorted(unknown)}"
    for required in ["APP_ENV", "DATABASE_SECRET_ID", "REDIS_URL", "DYNAMODB_TABLE_PREFIX", "IMAGES_BUCKET",
                     "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "CHECKOUT_STATE_MACHINE_ARN",
                     "CHECKOUT_TASK_QUEUE_URL", "ORDER_EVENTS_TOPIC_ARN", "IMAGE_QUEUE_URL"]:
        assert required in keys, f"Lambda env lacks {required}"
    assert "AWS_ENDPOINT_URL" not in keys and "AWS_ACCESS_KEY_ID" not in keys
