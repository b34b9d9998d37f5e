"""Least privilege, per function: the IAM the lambdas module grants is exactly what each
function's code calls, no more and no less (issue 11, defects 7 and 10).

CONTRACT below is the function contract the Rust code implements (the repositories and SDK
operations each service wires); `locals.access` of terraform/modules/lambdas must match it
entry for entry, and the policy statements must be built from it alone. Widen both together,
with the code change that needs it.
"""

from __future__ import annotations

import re

import pytest

from conftest import MODULES, Module

IDEMPOTENCY = ["GetItem", "PutItem", "UpdateItem"]  # a key is never given up (9c63945): no DeleteItem

# function -> what its code calls. tables: DynamoDB actions per logical table; s3_get/s3_put: key
# patterns in the images bucket ("processed" = every processed prefix, never raw/); states:
# actions on the checkout state machine; cognito: Admin* actions (the public sign-up/sign-in
# APIs need no IAM); queues: SQS queues consumed through an event source mapping.
CONTRACT = {
    "api_users_lambda": {
        "postgres": True, "redis": False,
        # PutItem: create_upload's pending record (services/uploads.rs); no Query: the image list
        # (ImageMetaReader::list) is read by ProductService only.
        # no Idempotency: app::users passes no idempotency store
        "tables": {"ProductImagesMeta": ["PutItem", "DescribeTable"]},
        "s3_get": [], "s3_put": ["raw/*"], "states": [],
        # identity_cognito.rs: admin_get_user (email_of), admin_delete_user (undo a half-made
        # sign-up), admin_initiate_auth (sign-in with the caller's context data),
        # admin_confirm_sign_up only when COGNITO_AUTO_CONFIRM (dev).
        "cognito": {"always": ["AdminGetUser", "AdminDeleteUser", "AdminInitiateAuth"], "auto_confirm": ["AdminConfirmSignUp"]},
        "queues": [],
    },
    "api_products_lambda": {
        "postgres": True, "redis": True,
        "tables": {
            "ProductCatalog": ["GetItem", "Query", "PutItem", "DeleteItem", "DescribeTable"],
            "ProductImagesMeta": ["PutItem", "Query"],
            "Idempotency": IDEMPOTENCY,
        },
        "s3_get": [], "s3_put": ["raw/*"], "states": [], "cognito": {}, "queues": [],
    },
    "api_cart_lambda": {
        "postgres": True, "redis": True,
        "tables": {
            "UserCart": ["GetItem", "PutItem", "UpdateItem", "DescribeTable"],  # cart_dynamo.rs never deletes
            "ProductCatalog": ["BatchGetItem", "GetItem"],
        },
        "s3_get": [], "s3_put": [], "states": [], "cognito": {"always": ["AdminGetUser"]}, "queues": [],
    },
    "api_orders_lambda": {
        "postgres": True, "redis": True,
        "tables": {
            "OrderEvents": ["Query", "PutItem", "DescribeTable"],
            "UserCart": ["GetItem"],
            "ProductCatalog": ["BatchGetItem", "GetItem"],
            "Idempotency": IDEMPOTENCY,
        },
        "s3_get": [], "s3_put": [], "states": ["StartExecution"], "cognito": {"always": ["AdminGetUser"]}, "queues": [],
    },
    "image_processing_lambda": {
        "postgres": True, "redis": False,
        # processing calls ImageMetaWriter::set_outcome (UpdateItem) only; put_pending belongs to
        # the upload routes, list to the products service.
        "tables": {"ProductImagesMeta": ["UpdateItem"], "ProductCatalog": ["PutItem", "DeleteItem"]},
        "s3_get": ["raw/*"], "s3_put": ["processed"], "states": [], "cognito": {}, "queues": ["image-processing"],
    },
    "checkout_worker_lambda": {
        "postgres": True, "redis": True,
        "tables": {
            "OrderEvents": ["PutItem"],
            "UserCart": ["GetItem", "PutItem"],
            "ProductCatalog": ["BatchGetItem", "GetItem"],
        },
        "s3_get": [], "s3_put": [], "states": ["SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"],
        "cognito": {}, "queues": ["checkout-tasks", "fulfillment"],
    },
    "outbox_relay_lambda": {
        "postgres": True, "redis": True,
        "tables": {"ProductCatalog": ["PutItem", "DeleteItem"], "OrderEvents": ["PutItem"]},
        "s3_get": [], "s3_put": [], "states": ["StartExecution"], "cognito": {}, "queues": [],
    },
    "db_migrate_lambda": {
        "postgres": True, "redis": False, "tables": {},
        "s3_get": [], "s3_put": [], "states": [], "cognito": {}, "queues": [],
    },
}


@pytest.fixture(scope="module")
def lambdas() -> Module:
    return Module(MODULES / "lambdas")


def test_every_function_has_a_contract(lambdas):
    assert set(lambdas.locals()["functions"]) == set(CONTRACT) == set(lambdas.locals()["access"])


@pytest.mark.parametrize("fn", sorted(CONTRACT))
def test_the_role_grants_exactly_what_the_code_calls(fn, lambdas):
    want, got = CONTRACT[fn], lambdas.locals()["access"][fn]
    assert got["postgres"] is want["postgres"], f"{fn}: database secret"
    assert got["redis"] is want["redis"], f"{fn}: redis-auth secret"
    got_tables = {t: sorted(a) for t, a in got["tables"].items()}
    want_tables = {t: sorted(a) for t, a in want["tables"].items()}
    for table in sorted(set(got_tables) | set(want_tables)):
        extra = set(got_tables.get(table, [])) - set(want_tables.get(table, []))
        missing = set(want_tables.get(table, [])) - set(got_tables.get(table, []))
        assert not extra, f"{fn}: grants dynamodb {sorted(extra)} on {table}, which its code never calls"
        assert not missing, f"{fn}: its code calls dynamodb {sorted(missing)} on {table}, not granted"
    assert got["s3_get"] == want["s3_get"], f"{fn}: s3:GetObject on {got['s3_get']}, contract {want['s3_get']}"
    if want["s3_put"] == ["processed"]:
        assert got["s3_put"] == '${[for p in var.images.processed_prefixes : "${p}*"]}', f"{fn}: PutObject on the processed prefixes only"
    else:
        assert got["s3_put"] == want["s3_put"], f"{fn}: s3:PutObject on {got['s3_put']}, contract {want['s3_put']}"
    assert sorted(got["states"]) == sorted(want["states"]), f"{fn}: states {got['states']}"
    cognito = got["cognito"]
    if not want["cognito"]:
        assert cognito == [], f"{fn}: no Cognito admin calls in its code"
    else:
        cognito = cognito if isinstance(cognito, str) else str(cognito)
        always = re.findall(r'"?(Admin\w+)"?', cognito.split("var.cognito.auto_confirm")[0])
        optional = re.findall(r'"(Admin\w+)"', cognito.split("var.cognito.auto_confirm")[1]) if "auto_confirm" in cognito else []
        assert sorted(always) == sorted(want["cognito"]["always"]), f"{fn}: Cognito {always}"
        assert sorted(optional) == sorted(want["cognito"].get("auto_confirm", [])), f"{fn}: Cognito when auto-confirming {optional}"
    consumed = sorted(q for q, f in lambdas.locals()["event_sources"].items() if f == fn)
    assert consumed == sorted(want["queues"]), f"{fn}: consumes {consumed}"


def test_statements_are_built_from_the_contract_only(lambdas):
    """No statement grants anything beyond locals.access (plus logs/VPC/X-Ray and the data key;
    no cloudwatch:PutMetricData: the metrics are Embedded Metric Format log lines)."""
    statements = lambdas.locals()["statements"]
    actions = set(re.findall(r'"([a-z0-9-]+:[A-Za-z*]+)"', statements))
    assert actions == {
        "secretsmanager:GetSecretValue", "kms:Decrypt", "kms:GenerateDataKey",
        "s3:GetObject", "s3:ListBucket", "s3:PutObject", "sqs:ReceiveMessage", "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
    }, f"literal actions in the statements: {sorted(actions)}"
    for generated in ['"dynamodb:${x}"', '"states:${x}"', '"cognito-idp:${x}"']:
        assert generated in statements, f"{generated} must come from locals.access"
    # the secret list follows the postgres/redis flags, and Redis settings only reach functions
    # that may read the token (else they would fail on AccessDenied at start-up)
    assert "a.postgres ? [var.database.secret_arn]" in statements
    assert "a.redis ? [var.redis.secret_arn]" in statements
    environment = lambdas.locals()["environment"]
    assert "a.redis ?" in environment and "REDIS_AUTH_SECRET_ID" in environment
    assert "REDIS_URL" not in lambdas.locals()["common_environment"]
    # the processor never writes raw/ (its own trigger)
    assert "NoWritesToRaw" in statements


def test_the_state_machine_role_only_hands_out_tasks_publishes_and_appends():
    sf = Module(MODULES / "step_functions")
    stmts = sf.docs["main.tf"]["data"]
    (doc,) = [d["aws_iam_policy_document"]["this"] for d in stmts if "this" in d.get("aws_iam_policy_document", {})]
    granted = {s["sid"]: (s["actions"], s["resources"]) for s in doc["statement"]}
    assert granted["HandTasksToTheOrdersWorker"] == (["sqs:SendMessage"], ["${var.task_queue.arn}"])
    assert granted["PublishOrderEvents"] == (["sns:Publish"], ['${var.topic_arns["order-events"]}'])
    assert granted["AppendOrderEvents"] == (["dynamodb:PutItem"], ['${var.tables["OrderEvents"].arn}'])


# --- the code side: every AWS call the production code makes is granted somewhere ------------

# SDK method -> IAM action. A call missing here that looks like an AWS operation fails the test
# below, so a new SDK call cannot slip past the contract.
SDK_ACTIONS = {
    "put_item": "dynamodb:PutItem", "get_item": "dynamodb:GetItem", "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem", "query": "dynamodb:Query", "batch_get_item": "dynamodb:BatchGetItem",
    "batch_write_item": "dynamodb:BatchWriteItem", "transact_write_items": "dynamodb:TransactWriteItems",
    "transact_get_items": "dynamodb:TransactGetItems", "describe_table": "dynamodb:DescribeTable", "scan": "dynamodb:Scan",
    "get_object": "s3:GetObject", "put_object": "s3:PutObject", "head_object": "s3:GetObject",
    "delete_object": "s3:DeleteObject", "copy_object": "s3:PutObject",
    "publish": "sns:Publish", "send_message": "sqs:SendMessage", "receive_message": "sqs:ReceiveMessage",
    "delete_message": "sqs:DeleteMessage", "change_message_visibility": "sqs:ChangeMessageVisibility",
    "start_execution": "states:StartExecution", "send_task_success": "states:SendTaskSuccess",
    "send_task_failure": "states:SendTaskFailure", "send_task_heartbeat": "states:SendTaskHeartbeat",
    "describe_execution": "states:DescribeExecution", "get_secret_value": "secretsmanager:GetSecretValue",
    "put_metric_data": "cloudwatch:PutMetricData",
    # Cognito's public APIs are signed by no IAM principal
    "sign_up": None, "confirm_sign_up": None, "initiate_auth": None, "global_sign_out": None,
    "get_user": None, "revoke_token": None,
}


def _granted_anywhere() -> set[str]:
    granted = {"secretsmanager:GetSecretValue", "s3:GetObject", "s3:PutObject",
               "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}
    for c in CONTRACT.values():
        granted |= {f"dynamodb:{a}" for actions in c["tables"].values() for a in actions}
        granted |= {f"states:{a}" for a in c["states"]}
        granted |= {f"cognito-idp:{a}" for group in c["cognito"].values() for a in group}
    return granted


def test_every_aws_call_of_the_production_code_is_granted_to_some_function():
    """The code side of the contract: crates/common and services/ (not the test kit) only call
    AWS operations some function's role grants. Per function, the contract above decides."""
    repo = MODULES.parents[1]
    sources = [p for p in [*(repo / "crates" / "common" / "src").rglob("*.rs"), *(repo / "services").rglob("*.rs")]
               if "tests" not in p.parts]
    assert sources, "no Rust sources found"
    granted, problems = _granted_anywhere(), []
    for path in sources:
        text = path.read_text()
        text = text.split("#[cfg(test)]")[0]  # unit tests may call anything against the emulator
        for method in set(re.findall(r"\.(admin_[a-z_]+|[a-z_]+)\(\)\s*\n\s*\.", text)) | set(re.findall(r"\.(admin_[a-z_]+)\(\)", text)):
            if method.startswith("admin_"):
                action = "cognito-idp:" + "".join(w.capitalize() for w in method.split("_"))
            elif method in SDK_ACTIONS:
                action = SDK_ACTIONS[method]
            else:
                continue
            if action is not None and action not in granted:
                problems.append(f"{path.relative_to(repo)}: .{method}() needs {action}, granted to no function")
    assert not problems, "AWS calls without a grant (add them to CONTRACT and lambdas locals.access):\n  " + "\n  ".join(sorted(problems))
