#!/usr/bin/env python3
"""Create the project's AWS resources in the local emulator (moto server), idempotently.

Reads scripts/aws_resources.json (the single source of truth for names and keys) and makes
sure every table, bucket, topic, queue, user pool, secret and state machine exists in the
emulator at AWS_ENDPOINT_URL (default http://127.0.0.1:$MOTO_PORT). Safe to run again: each
resource is looked up first and only created (or converged) when missing or different.

Prints one JSON object on stdout with the generated ids and URLs (scripts/dev/stack.sh turns it
into $STACK_DIR/stack.env); progress and warnings go to stderr.

Environment (all optional):
  MOTO_PORT (55000), AWS_ENDPOINT_URL, AWS_REGION (us-east-1), RESOURCE_PREFIX (""),
  DYNAMODB_TABLE_PREFIX (defaults to RESOURCE_PREFIX), IMAGES_BUCKET (shop-images-local),
  LOCAL_ADMIN_EMAIL, LOCAL_ADMIN_PASSWORD, PG_HOST (127.0.0.1), PG_PORT (55432),
  PG_USER/PG_PASSWORD/PG_DATABASE (shop), DB_SECRET_NAME (shop/local/db), MANIFEST.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from shop_http import request  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ACCOUNT_ID = "123456789012"
CHECKOUT_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/checkout-workflow"


def log(msg: str) -> None:
    print(f"provision: {msg}", file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    print(f"provision: WARNING: {msg}", file=sys.stderr, flush=True)


def env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


MOTO_PORT = env("MOTO_PORT", "55000")
ENDPOINT = env("AWS_ENDPOINT_URL", f"http://127.0.0.1:{MOTO_PORT}").rstrip("/")
REGION = env("AWS_REGION", "us-east-1")
RESOURCE_PREFIX = os.environ.get("RESOURCE_PREFIX", "")
TABLE_PREFIX = os.environ.get("DYNAMODB_TABLE_PREFIX", RESOURCE_PREFIX)
IMAGES_BUCKET = env("IMAGES_BUCKET", "shop-images-local")
ADMIN_EMAIL = env("LOCAL_ADMIN_EMAIL", "admin@example.com")
ADMIN_PASSWORD = env("LOCAL_ADMIN_PASSWORD", "Admin-Passw0rd!")
DB_SECRET_NAME = env("DB_SECRET_NAME", "shop/local/db")
MANIFEST = Path(env("MANIFEST", str(REPO / "scripts" / "aws_resources.json")))


def client(service: str):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def is_error(err: ClientError, *codes: str) -> bool:
    return err.response.get("Error", {}).get("Code") in codes


# --------------------------------------------------------------------------- DynamoDB


def key_schema(spec: dict[str, Any]) -> list[dict[str, str]]:
    keys = [{"AttributeName": spec["hash_key"]["name"], "KeyType": "HASH"}]
    if spec.get("range_key"):
        keys.append({"AttributeName": spec["range_key"]["name"], "KeyType": "RANGE"})
    return keys


def provision_tables(tables: list[dict[str, Any]]) -> dict[str, str]:
    ddb = client("dynamodb")
    names: dict[str, str] = {}
    for spec in tables:
        name = TABLE_PREFIX + spec["name"]
        names[spec["name"]] = name
        try:
            ddb.describe_table(TableName=name)
            log(f"table {name}: exists")
        except ClientError as err:
            if not is_error(err, "ResourceNotFoundException"):
                raise
            attrs: dict[str, str] = {}
            for k in (spec["hash_key"], spec.get("range_key")):
                if k:
                    attrs[k["name"]] = k["type"]
            gsis = []
            for gsi in spec.get("gsis", []):
                for k in (gsi["hash_key"], gsi.get("range_key")):
                    if k:
                        attrs[k["name"]] = k["type"]
                gsis.append(
                    {
                        "IndexName": gsi["name"],
                        "KeySchema": key_schema(gsi),
                        "Projection": {"ProjectionType": "ALL"},
                    }
                )
            kwargs: dict[str, Any] = {
                "TableName": name,
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": key_schema(spec),
                "AttributeDefinitions": [
                    {"AttributeName": n, "AttributeType": t} for n, t in attrs.items()
                ],
            }
            if gsis:
                kwargs["GlobalSecondaryIndexes"] = gsis
            ddb.create_table(**kwargs)
            ddb.get_waiter("table_exists").wait(
                TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
            )
            log(f"table {name}: created")
        ttl = spec.get("ttl_attribute")
        if ttl:
            current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or (
                current.get("AttributeName") != ttl
            ):
                ddb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl},
                )
                log(f"table {name}: TTL on {ttl} enabled")
    return names


# --------------------------------------------------------------------------- SNS / SQS


def provision_topics(topics: list[str]) -> dict[str, str]:
    sns = client("sns")
    existing = set()
    for page in sns.get_paginator("list_topics").paginate():
        existing.update(t["TopicArn"] for t in page.get("Topics", []))
    arns: dict[str, str] = {}
    for logical in topics:
        name = RESOURCE_PREFIX + logical
        arn = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}"
        if arn not in existing:
            arn = sns.create_topic(Name=name)["TopicArn"]  # idempotent in AWS and moto
            log(f"topic {name}: created")
        else:
            log(f"topic {name}: exists")
        arns[logical] = arn
    return arns


def ensure_queue(sqs, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    """Create the queue or converge its attributes; return (url, arn)."""
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        changed = {k: v for k, v in attributes.items() if not same_attr(current.get(k), v)}
        if changed:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
            log(f"queue {name}: updated {sorted(changed)}")
        else:
            log(f"queue {name}: exists")
    except ClientError as err:
        if not is_error(err, "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise
        sqs.create_queue(QueueName=name, Attributes=attributes)
        # Use the URL the service hands back from GetQueueUrl: that is what the code sees.
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        log(f"queue {name}: created")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def same_attr(current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if wanted.startswith("{"):
        try:
            return json.loads(current) == json.loads(wanted)
        except ValueError:
            return False
    return current == wanted


def queue_policy(queue_arn: str, topic_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        },
        sort_keys=True,
    )


def provision_queues(
    queues: list[dict[str, Any]], topic_arns: dict[str, str]
) -> dict[str, dict[str, str]]:
    sqs = client("sqs")
    sns = client("sns")
    out: dict[str, dict[str, str]] = {}
    for spec in queues:
        name = RESOURCE_PREFIX + spec["name"]
        dlq_name = RESOURCE_PREFIX + spec["dlq"]
        visibility = str(spec.get("visibility_timeout", 30))
        dlq_url, dlq_arn = ensure_queue(
            sqs, dlq_name, {"MessageRetentionPeriod": "1209600", "VisibilityTimeout": visibility}
        )
        attributes = {
            "VisibilityTimeout": visibility,
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec["max_receive_count"]}
            ),
        }
        topic_logical = spec.get("subscribe_to")
        topic_arn = topic_arns.get(topic_logical) if topic_logical else None
        if topic_logical and not topic_arn:
            raise SystemExit(f"queue {name} subscribes to unknown topic {topic_logical}")
        if topic_arn:
            # The policy needs the queue ARN, which is deterministic in moto and AWS alike.
            queue_arn_guess = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
            attributes["Policy"] = queue_policy(queue_arn_guess, topic_arn)
        url, arn = ensure_queue(sqs, name, attributes)
        out[spec["name"]] = {"url": url, "arn": arn, "dlq_url": dlq_url, "dlq_arn": dlq_arn}
        if topic_arn:
            subscribed = False
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(
                TopicArn=topic_arn
            ):
                for sub in page.get("Subscriptions", []):
                    if sub.get("Protocol") == "sqs" and sub.get("Endpoint") == arn:
                        subscribed = True
            if subscribed:
                log(f"subscription {topic_logical} -> {name}: exists")
            else:
                # Not raw delivery: consumers unwrap the SNS envelope.
                sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
                log(f"subscription {topic_logical} -> {name}: created")
    return out


# --------------------------------------------------------------------------- S3


def topic_policy_allowing_s3(topic_arn: str, bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowBucket",
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "SNS:Publish",
                    "Resource": topic_arn,
                    "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
                }
            ],
        }
    )


def provision_buckets(buckets: list[dict[str, Any]], topic_arns: dict[str, str]) -> dict:
    s3 = client("s3")
    sns = client("sns")
    out = {}
    for spec in buckets:
        # The manifest's only bucket is the images bucket; its local name comes from IMAGES_BUCKET.
        name = IMAGES_BUCKET if spec["name"] == "images" else RESOURCE_PREFIX + spec["name"]
        out[spec["name"]] = name
        try:
            s3.head_bucket(Bucket=name)
            log(f"bucket {name}: exists")
        except ClientError as err:
            if not is_error(err, "404", "NoSuchBucket", "NotFound"):
                raise
            s3.create_bucket(Bucket=name)  # us-east-1: no LocationConstraint
            log(f"bucket {name}: created")
        note = spec.get("notification")
        if not note:
            continue
        topic_arn = topic_arns[note["topic"]]
        attrs = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
        policy = topic_policy_allowing_s3(topic_arn, name)
        if not same_attr(attrs.get("Policy"), policy):
            sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy", AttributeValue=policy)
        wanted = {
            "TopicArn": topic_arn,
            "Events": sorted(note["events"]),
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": note["prefix"]}]}},
        }
        current = s3.get_bucket_notification_configuration(Bucket=name)
        present = any(
            c.get("TopicArn") == topic_arn
            and sorted(c.get("Events", [])) == wanted["Events"]
            and normalise_rules(c) == [("prefix", note["prefix"])]
            for c in current.get("TopicConfigurations", [])
        )
        if present:
            log(f"bucket {name}: notification -> {note['topic']} exists")
            continue
        # Setting it makes moto (like S3) send an s3:TestEvent through the topic: expected.
        s3.put_bucket_notification_configuration(
            Bucket=name,
            NotificationConfiguration={
                "TopicConfigurations": [
                    {
                        "Id": f"{note['topic']}-{note['prefix'].strip('/')}",
                        **wanted,
                    }
                ]
            },
        )
        log(f"bucket {name}: notification {note['events']} on {note['prefix']} -> {note['topic']}")
    return out


def normalise_rules(conf: dict[str, Any]) -> list[tuple[str, str]]:
    rules = conf.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return sorted((r["Name"].lower(), r["Value"]) for r in rules)


# --------------------------------------------------------------------------- Cognito


def provision_cognito(spec: dict[str, Any]) -> dict[str, str]:
    idp = client("cognito-idp")
    pool_name = RESOURCE_PREFIX + spec["user_pool"]
    client_name = RESOURCE_PREFIX + spec["app_client"]

    pool_id = None
    for page in idp.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page.get("UserPools", []):
            if pool["Name"] == pool_name:
                pool_id = pool["Id"]
    if pool_id:
        log(f"user pool {pool_name}: exists ({pool_id})")
    else:
        pool_id = idp.create_user_pool(
            PoolName=pool_name,
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": 8,
                    "RequireUppercase": True,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                }
            },
            Schema=[
                {
                    "Name": "name",
                    "AttributeDataType": "String",
                    "Mutable": True,
                    "Required": False,
                }
            ],
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": False},
        )["UserPool"]["Id"]
        log(f"user pool {pool_name}: created ({pool_id})")

    client_id = None
    for page in idp.get_paginator("list_user_pool_clients").paginate(
        UserPoolId=pool_id, MaxResults=60
    ):
        for c in page.get("UserPoolClients", []):
            if c["ClientName"] == client_name:
                client_id = c["ClientId"]
    if client_id:
        log(f"app client {client_name}: exists ({client_id})")
    else:
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=client_name,
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            AccessTokenValidity=60,
            IdTokenValidity=60,
            RefreshTokenValidity=30,
            TokenValidityUnits={
                "AccessToken": "minutes",
                "IdToken": "minutes",
                "RefreshToken": "days",
            },
            PreventUserExistenceErrors="ENABLED",
        )["UserPoolClient"]["ClientId"]
        log(f"app client {client_name}: created ({client_id})")

    for group in spec.get("groups", []):
        try:
            idp.get_group(GroupName=group, UserPoolId=pool_id)
        except ClientError as err:
            if not is_error(err, "ResourceNotFoundException"):
                raise
            idp.create_group(GroupName=group, UserPoolId=pool_id, Description=f"{group} users")
            log(f"group {group}: created")

    # The dev admin account: created once, password (re)set permanently, member of `admin`.
    try:
        idp.admin_get_user(UserPoolId=pool_id, Username=ADMIN_EMAIL)
        log(f"admin user {ADMIN_EMAIL}: exists")
    except ClientError as err:
        if not is_error(err, "UserNotFoundException"):
            raise
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username=ADMIN_EMAIL,
            UserAttributes=[
                {"Name": "email", "Value": ADMIN_EMAIL},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": "Local Admin"},
            ],
            TemporaryPassword=ADMIN_PASSWORD,
            MessageAction="SUPPRESS",
        )
        log(f"admin user {ADMIN_EMAIL}: created")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=ADMIN_EMAIL, Password=ADMIN_PASSWORD, Permanent=True
    )
    if "admin" in spec.get("groups", []):
        groups = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=ADMIN_EMAIL)
        if not any(g["GroupName"] == "admin" for g in groups.get("Groups", [])):
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=ADMIN_EMAIL, GroupName="admin")
            log(f"admin user {ADMIN_EMAIL}: added to group admin")
    return {"user_pool_id": pool_id, "client_id": client_id}


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def verify_cognito(pool_id: str, client_id: str, jwks_url: str) -> dict[str, Any]:
    """Log the admin in and fetch the JWKS; warn (never fail) when something is off."""
    result: dict[str, Any] = {"admin_login_ok": False, "admin_in_group": False, "jwks_ok": False}
    idp = client("cognito-idp")
    try:
        auth = idp.initiate_auth(
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=client_id,
            AuthParameters={"USERNAME": ADMIN_EMAIL, "PASSWORD": ADMIN_PASSWORD},
        )["AuthenticationResult"]
        access = jwt_claims(auth["AccessToken"])
        result["admin_login_ok"] = True
        result["admin_in_group"] = "admin" in access.get("cognito:groups", [])
        if not result["admin_in_group"]:
            warn(f"admin access token lacks cognito:groups=[admin]: {sorted(access)}")
    except (ClientError, KeyError) as err:
        warn(f"USER_PASSWORD_AUTH login of {ADMIN_EMAIL} failed: {err}")
    try:
        answer = request("GET", jwks_url, timeout=10)
        if answer.status != 200:
            raise OSError(f"HTTP {answer.status or answer.error}")
        keys = (answer.json() or {}).get("keys", [])
        result["jwks_ok"] = bool(keys)
        if not keys:
            warn(f"JWKS at {jwks_url} has no keys")
    except Exception as err:  # noqa: BLE001 - a warning, whatever the cause
        warn(f"JWKS at {jwks_url} not served: {err}")
    return result


# --------------------------------------------------------------------------- Secrets Manager


def provision_secret() -> str:
    sm = client("secretsmanager")
    value = json.dumps(
        {
            "username": env("PG_USER", "shop"),
            "password": env("PG_PASSWORD", "shop"),
            "host": env("PG_HOST", "127.0.0.1"),
            "port": int(env("PG_PORT", "55432")),
            "dbname": env("PG_DATABASE", "shop"),
        }
    )
    try:
        desc = sm.describe_secret(SecretId=DB_SECRET_NAME)
        current = sm.get_secret_value(SecretId=DB_SECRET_NAME).get("SecretString")
        if current is None or json.loads(current) != json.loads(value):
            sm.put_secret_value(SecretId=DB_SECRET_NAME, SecretString=value)
            log(f"secret {DB_SECRET_NAME}: updated")
        else:
            log(f"secret {DB_SECRET_NAME}: exists")
        return desc["ARN"]
    except ClientError as err:
        if not is_error(err, "ResourceNotFoundException"):
            raise
        arn = sm.create_secret(
            Name=DB_SECRET_NAME,
            Description="Local PostgreSQL credentials (RDS Proxy secret shape)",
            SecretString=value,
        )["ARN"]
        log(f"secret {DB_SECRET_NAME}: created")
        return arn


# --------------------------------------------------------------------------- Step Functions

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def render_definition(text: str, values: dict[str, str]) -> str:
    """Fill Terraform-style ${name} placeholders (either case) from the provisioned values."""
    lookup = {k.lower(): v for k, v in values.items()}

    def sub(m: re.Match[str]) -> str:
        key = m.group(1).lower()
        if key in lookup:
            return lookup[key]
        warn(f"state machine definition: unknown placeholder {m.group(0)} left as is")
        return m.group(0)

    return PLACEHOLDER.sub(sub, text)


def provision_state_machines(
    machines: list[dict[str, Any]], values: dict[str, str]
) -> dict[str, dict[str, Any]]:
    sfn = client("stepfunctions")
    out: dict[str, dict[str, Any]] = {}
    existing: dict[str, str] = {}
    for page in sfn.get_paginator("list_state_machines").paginate():
        for sm in page.get("stateMachines", []):
            existing[sm["name"]] = sm["stateMachineArn"]
    for spec in machines:
        name = RESOURCE_PREFIX + spec["name"]
        arn = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"
        out[spec["name"]] = {"arn": arn, "provisioned": False}
        path = REPO / spec["definition"]
        if not path.is_file():
            # Added later by the orders service; nothing to do until then.
            continue
        definition = render_definition(path.read_text(), values)
        try:
            json.loads(definition)
        except ValueError as err:
            warn(f"state machine {name}: {spec['definition']} is not valid JSON ({err}); skipped")
            continue
        if name in existing:
            arn = existing[name]
            current = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
            if json.loads(current) != json.loads(definition):
                sfn.update_state_machine(
                    stateMachineArn=arn, definition=definition, roleArn=CHECKOUT_ROLE_ARN
                )
                log(f"state machine {name}: definition updated")
            else:
                log(f"state machine {name}: exists")
        else:
            arn = sfn.create_state_machine(
                name=name, definition=definition, roleArn=CHECKOUT_ROLE_ARN, type="STANDARD"
            )["stateMachineArn"]
            log(f"state machine {name}: created")
        out[spec["name"]] = {"arn": arn, "provisioned": True}
    return out


# --------------------------------------------------------------------------- main


def main() -> int:
    manifest = json.loads(MANIFEST.read_text())
    log(f"endpoint {ENDPOINT}, region {REGION}, manifest {MANIFEST}")

    tables = provision_tables(manifest.get("dynamodb_tables", []))
    topics = provision_topics(manifest.get("sns_topics", []))
    queues = provision_queues(manifest.get("sqs_queues", []), topics)
    buckets = provision_buckets(manifest.get("s3_buckets", []), topics)
    cognito = provision_cognito(manifest["cognito"])
    secret_arn = provision_secret()

    # Values a state machine definition may refer to as ${NAME} (upper or lower case).
    values: dict[str, str] = {
        "AWS_REGION": REGION,
        "ACCOUNT_ID": ACCOUNT_ID,
        "DYNAMODB_TABLE_PREFIX": TABLE_PREFIX,
        "RESOURCE_PREFIX": RESOURCE_PREFIX,
        "IMAGES_BUCKET": IMAGES_BUCKET,
    }
    for logical, arn in topics.items():
        values[f"{logical.replace('-', '_')}_topic_arn"] = arn
    for logical, q in queues.items():
        values[f"{logical.replace('-', '_')}_queue_url"] = q["url"]
        values[f"{logical.replace('-', '_')}_queue_arn"] = q["arn"]
    for logical, name in tables.items():
        values[f"{logical}_table"] = name
    for spec in manifest.get("state_machines", []):
        if spec.get("task_queue") in queues:
            values["task_queue_url"] = queues[spec["task_queue"]]["url"]
            values["checkout_task_queue_url"] = queues[spec["task_queue"]]["url"]
        if spec.get("topic") in topics:
            values["topic_arn"] = topics[spec["topic"]]
    machines = provision_state_machines(manifest.get("state_machines", []), values)

    pool_id = cognito["user_pool_id"]
    jwks_url = f"{ENDPOINT}/{pool_id}/.well-known/jwks.json"
    checks = verify_cognito(pool_id, cognito["client_id"], jwks_url)

    print(
        json.dumps(
            {
                "endpoint": ENDPOINT,
                "region": REGION,
                "account_id": ACCOUNT_ID,
                "tables": tables,
                "topics": topics,
                "queues": queues,
                "buckets": buckets,
                "images_bucket": buckets.get("images", IMAGES_BUCKET),
                "user_pool_id": pool_id,
                "client_id": cognito["client_id"],
                "issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
                "jwks_url": jwks_url,
                "db_secret_id": DB_SECRET_NAME,
                "db_secret_arn": secret_arn,
                "state_machines": machines,
                "checks": checks,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
