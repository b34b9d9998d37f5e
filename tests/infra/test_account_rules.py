"""AWS rules that hold per account and region, or across services, which no single
environment's `terraform plan` can see (issue 20, item 4), each with the defect it guards:

- reserved Lambda concurrency summed over the environments that share an account and region
  (AWS keeps 100 unreserved): bootstrap's default puts dev, staging and prod in one account;
- an SQS event source mapping's maximum_concurrency (2..1000), summed over a function's
  mappings, within that function's reserved concurrency;
- the customer-managed key of the state machine and its logs lets the log delivery service
  (delivery.logs.amazonaws.com) use it, or execution logs are lost;
- the deploy workflow: main only (gate and the GitHub environments' branch policies), a
  read-only role for the plan, an AWS session long enough for a first prod apply, and no
  artifact holding the binary plan (the database password and Redis AUTH token in clear);
- Cognito mail in prod through SES (the default sender allows 50 mails a day);
- interface VPC endpoints only for the APIs the functions' code calls from the VPC (derived
  from the code, tests/infra/code_contract.py);
- NAT Elastic IPs summed over the environments of an account and region within its quota (5
  by default), and AZs from data.aws_availability_zones, not hard-coded names.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
import yaml

import code_contract
from conftest import MODULES, REPO, TF, Module, load_tf

ENVIRONMENTS = ["dev", "staging", "prod"]
DEPLOY = REPO / ".github" / "workflows" / "deploy.yml"
DOCS = REPO / "docs" / "deploy.md"

LAMBDA_UNRESERVED_MINIMUM = 100  # AWS: UnreservedConcurrentExecution may not drop below 100
DEFAULT_ELASTIC_IP_QUOTA = 5     # EC2-VPC Elastic IPs per region (L-0263D0A3)


def tfvars(env: str) -> dict:
    return load_tf(TF / "environments" / f"{env}.tfvars")


def accounts() -> dict[tuple[str, str], dict[str, dict]]:
    """(aws_account, aws_region) -> {env: tfvars} of the environments deployed there."""
    out: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
    for env in ENVIRONMENTS:
        values = tfvars(env)
        assert "aws_account" in values, f"{env}.tfvars must name its AWS account (aws_account)"
        out[(values["aws_account"], values["aws_region"])][env] = values
    return dict(out)


def _same_declaration(group: dict[str, dict], name: str):
    declared = {env: v.get(name) for env, v in group.items()}
    assert None not in declared.values(), f"every environment declares {name}: {declared}"
    assert len(set(declared.values())) == 1, (
        f"environments of one account and region declare different {name}: {declared}")
    return next(iter(declared.values()))


# --- 1. reserved concurrency per account and region ----------------------------------------

def test_reserved_concurrency_summed_over_the_environments_of_an_account_leaves_100():
    groups = accounts()
    for (account, region), group in groups.items():
        limit = _same_declaration(group, "lambda_account_concurrency_limit")
        reserved = {
            env: sum(s["reserved_concurrency"] for s in v["lambda_functions"].values() if s.get("reserved_concurrency"))
            for env, v in group.items()
        }
        total = sum(reserved.values())
        assert total == 0 or total + LAMBDA_UNRESERVED_MINIMUM <= limit, (
            f"account {account} in {region}: {reserved} reserve {total} of the declared {limit}, leaving "
            f"{limit - total} unreserved; AWS keeps at least {LAMBDA_UNRESERVED_MINIMUM}")


def test_the_account_grouping_is_an_explicit_choice_of_every_environment():
    variables = Module(TF).blocks("variable")
    for name in ("aws_account", "elastic_ip_quota", "lambda_account_concurrency_limit"):
        assert name in variables and "default" not in variables[name], f"{name}: a root variable without default"
    # bootstrap's default: the three environments in the account it is applied to
    boot = Module(TF / "bootstrap").blocks("variable")["environments"]["default"]
    if set(boot) == set(ENVIRONMENTS):
        assert len({tfvars(e)["aws_account"] for e in ENVIRONMENTS}) == 1, (
            "terraform/bootstrap puts every environment in one account by default: the tfvars must say so "
            "(or docs/deploy.md and bootstrap must bootstrap several accounts)")


# --- 2. event source mappings within the reservation -----------------------------------------

def _mapping_concurrency(env: str) -> dict[str, tuple[str, int]]:
    """queue -> (consuming function, maximum_concurrency) as the lambdas module computes it."""
    lambdas = Module(MODULES / "lambdas")
    sources = lambdas.locals()["event_sources"]
    default = lambdas.blocks("variable")["sqs_batch"]["default"]["maximum_concurrency"]
    settings = tfvars(env)["lambda_functions"]
    expr = lambdas.resources("aws_lambda_event_source_mapping")["sqs"]["scaling_config"][0]["maximum_concurrency"]
    if expr == "${var.sqs_batch.maximum_concurrency}":
        return {q: (fn, default) for q, fn in sources.items()}
    if expr == "${local.queue_concurrency[each.key]}":
        local = lambdas.locals()["queue_concurrency"]
        assert "coalesce(var.function_settings[fn].queue_concurrency, var.sqs_batch.maximum_concurrency)" in local, local
        return {q: (fn, settings[fn].get("queue_concurrency") or default) for q, fn in sources.items()}
    pytest.fail(f"cannot evaluate maximum_concurrency = {expr!r}; extend this check")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_event_source_mappings_poll_within_their_functions_reserved_concurrency(env):
    settings = tfvars(env)["lambda_functions"]
    by_function: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for queue, (fn, concurrency) in _mapping_concurrency(env).items():
        assert 2 <= concurrency <= 1000, f"{env}: {queue} maximum_concurrency {concurrency} (AWS: 2..1000)"
        by_function[fn].append((queue, concurrency))
    for fn, mappings in by_function.items():
        reserved = settings[fn].get("reserved_concurrency")
        total = sum(c for _, c in mappings)
        assert reserved is None or total <= reserved, (
            f"{env}: {fn}'s mappings {mappings} poll with up to {total} for a reserved concurrency of {reserved}")


def test_the_mapping_rules_are_also_enforced_at_plan_time():
    lambdas = Module(MODULES / "lambdas")
    mapping = lambdas.resources("aws_lambda_event_source_mapping")["sqs"]
    conditions = str(mapping["lifecycle"])
    assert "local.queue_concurrency_by_function[each.value] <=" in conditions
    assert "local.queue_concurrency[each.key] >= 2" in conditions


# --- 3. the key of the state machine and its logs ----------------------------------------------

def test_the_state_machine_key_lets_the_log_delivery_service_use_it():
    kms = Module(MODULES / "kms")
    policy = [d["aws_iam_policy_document"]["key"] for doc in kms.docs.values() for d in doc.get("data", [])
              if "aws_iam_policy_document" in d and "key" in d["aws_iam_policy_document"]]
    assert policy, "modules/kms: data.aws_iam_policy_document.key"
    assert kms.resources("aws_kms_key")["this"]["policy"] == "${data.aws_iam_policy_document.key.json}"
    delivery = [s for s in policy[0]["statement"]
                if s.get("effect", "Allow") == "Allow"
                and any(p["type"] == "Service" and "delivery.logs.amazonaws.com" in p["identifiers"] for p in s.get("principals", []))]
    assert delivery, "the key policy must let delivery.logs.amazonaws.com use the key (Step Functions vended logs)"
    actions = set().union(*(set(s["actions"]) for s in delivery))
    assert "kms:Decrypt" in actions and ({"kms:GenerateDataKey", "kms:GenerateDataKey*"} & actions), actions
    # ... and it is that key which encrypts the state machine and its log group
    sfn = Module(MODULES / "step_functions")
    machine = sfn.resources("aws_sfn_state_machine")["this"]
    assert machine["encryption_configuration"][0]["kms_key_id"] == "${var.kms_key_arn}"
    group = sfn.resources("aws_cloudwatch_log_group")["this"]
    assert group["kms_key_id"] == "${var.kms_key_arn}" and group["name"].startswith("/aws/vendedlogs/states/")
    assert machine["logging_configuration"][0]["log_destination"] == "${aws_cloudwatch_log_group.this.arn}:*"
    assert Module(TF).blocks("module")["step_functions"]["kms_key_arn"] == "${module.kms.kms_key_arn}"


# --- 4. the deploy workflow ------------------------------------------------------------------

def _deploy() -> dict:
    doc = yaml.safe_load(DEPLOY.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def _aws_step(job: dict) -> dict:
    (step,) = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    return step["with"]


def test_only_main_deploys():
    jobs = _deploy()["jobs"]
    gate = jobs["gate"]
    assert "github.ref == 'refs/heads/main'" in gate["if"], "a dispatch from another branch must not deploy"
    assert "github.event.workflow_run.head_branch == 'main'" in gate["if"]
    run = "\n".join(s.get("run", "") for s in gate["steps"])
    assert re.search(r'if \[ "\$branch" != main \]; then\n[^\n]*\n\s*exit 1', run), "the gate step refuses other branches"
    # Every GitHub environment the jobs use admits main only (deployment branch policy). They
    # are created by docs/deploy.md's step 2 (bootstrap has no GitHub provider).
    envs = {j["environment"] for j in jobs.values() if "environment" in j}
    assert envs == {"${{ needs.gate.outputs.environment }}", "${{ needs.gate.outputs.environment }}-plan"}, envs
    docs = DOCS.read_text()
    step = docs[docs.index("### 2. GitHub environments"):docs.index("### 3.")]
    assert re.search(r"for env in dev staging prod; do", step)
    assert re.search(r'for ghenv in "\$env" "\$env-plan"; do', step)
    assert re.search(r'"deployment_branch_policy":\s*\{\s*"protected_branches":\s*false,\s*"custom_branch_policies":\s*true\s*\}', step), (
        "each environment: a custom deployment branch policy")
    assert re.search(r'environments/\$ghenv/deployment-branch-policies"? -f name=main', step), "... admitting main"
    assert "prod" in step and "reviewers" in step


def test_the_plan_job_assumes_a_read_only_role():
    jobs = _deploy()["jobs"]
    assert _aws_step(jobs["plan"])["role-to-assume"] == "${{ vars.AWS_PLAN_ROLE_ARN }}"
    plan_runs = " ".join(s.get("run", "") for s in jobs["plan"]["steps"])
    assert "terraform plan" in plan_runs and "-lock=false" in plan_runs, "a read-only role cannot write the S3 lockfile"
    boot = Module(TF / "bootstrap")
    role = boot.resources("aws_iam_role")["plan"]
    assert role["assume_role_policy"] == "${data.aws_iam_policy_document.plan_trust[each.key].json}"
    docs = {n: b for doc in boot.docs.values() for d in doc.get("data", []) for n, b in d.get("aws_iam_policy_document", {}).items()}
    trust = json.dumps(docs["plan_trust"])
    assert "environment:${each.key}-plan" in trust and "environment:${each.key}\"" not in trust, "only the plan environment"
    attached = [a for a in boot.resources("aws_iam_role_policy_attachment").values() if a["role"] == "${each.value.name}"
                and a["for_each"] == "${aws_iam_role.plan}"]
    assert [a["policy_arn"] for a in attached] == ["arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"], attached
    inline = boot.resources("aws_iam_role_policy")["plan"]
    assert inline["policy"] == "${data.aws_iam_policy_document.plan[each.key].json}"
    statements = list(docs["plan"]["statement"])
    for dyn in docs["plan"].get("dynamic", []):
        statements += dyn.get("statement", {}).get("content", [])
    assert len(statements) >= 5, statements
    for statement in statements:
        if statement.get("effect") == "Deny":
            continue
        for action in statement["actions"]:
            assert re.fullmatch(r"(s3:(Get|List)\w*|kms:Decrypt|secretsmanager:GetSecretValue)", action), (
                f"the plan role may only read: {action}")
    assert "AWS_PLAN_ROLE_ARN" in DOCS.read_text() and "plan_role_arns" in DOCS.read_text()


def test_the_apply_session_outlasts_a_first_prod_apply():
    apply = _deploy()["jobs"]["apply"]
    duration = int(_aws_step(apply).get("role-duration-seconds", 3600))  # the action's default: 1 hour
    assert duration >= 3 * 3600, f"apply's AWS session {duration} s: a first prod apply can take over an hour"
    assert apply["timeout-minutes"] * 60 <= duration, "the job must end before its credentials do"
    boot = Module(TF / "bootstrap")
    assert boot.resources("aws_iam_role")["deploy"]["max_session_duration"] == "${var.deploy_session_seconds}"
    max_session = boot.blocks("variable")["deploy_session_seconds"]["default"]
    assert duration <= max_session <= 43200, f"role-duration-seconds {duration} > the role's max_session_duration {max_session}"


def test_no_artifact_holds_the_plan_file():
    """A binary plan holds every sensitive value in clear (the RDS master password, the Redis
    AUTH token): it stays in the job that made it; apply plans again and compares the text."""
    jobs = _deploy()["jobs"]
    for name, job in jobs.items():
        for step in job.get("steps", []):
            if "upload-artifact" in step.get("uses", ""):
                paths = str(step["with"]["path"]).split()
                assert all(p.endswith(".txt") for p in paths), f"{name} uploads {paths}: only the plan's redacted text"
                assert not step["with"].get("include-hidden-files"), f"{name}: hidden files (.terraform) hold state"
    apply_runs = [s.get("run", "") for s in jobs["apply"]["steps"]]
    plan_at = [i for i, r in enumerate(apply_runs) if "terraform plan" in r and "-out=tfplan" in r]
    apply_at = [i for i, r in enumerate(apply_runs) if "terraform apply" in r and r.rstrip().endswith("tfplan")]
    assert plan_at and apply_at and plan_at[0] < apply_at[0], "apply applies a plan made in its own job"
    assert "diff" in apply_runs[plan_at[0]] and "reviewed/plan.txt" in apply_runs[plan_at[0]], (
        "... after checking that it is the reviewed plan")


# --- 5. Cognito mail ----------------------------------------------------------------------------

def test_prod_sends_cognito_mail_through_ses():
    pool = Module(MODULES / "cognito").resources("aws_cognito_user_pool")["this"]
    assert "email_configuration" in pool, "no email_configuration: Cognito's default sender, 50 mails a day"
    email = pool["email_configuration"][0]
    assert email["email_sending_account"] == '${var.email == null ? "COGNITO_DEFAULT" : "DEVELOPER"}'
    assert ":ses:" in email["source_arn"] and "identity/${var.email.ses_identity}" in email["source_arn"]
    assert email["from_email_address"] == "${var.email == null ? null : var.email.from_address}"
    assert Module(TF).blocks("module")["cognito"]["email"] == "${var.cognito.email}"
    validation = str(Module(TF).blocks("variable")["cognito"]["validation"])
    assert 'var.environment != "prod" || var.cognito.email != null' in validation, "prod must require cognito.email"
    prod = tfvars("prod")["cognito"]
    assert prod.get("email") and prod["email"]["ses_identity"] and "@" in prod["email"]["from_address"]


AUTH_FLOWS = {
    "AdminUserPasswordAuth": "ALLOW_ADMIN_USER_PASSWORD_AUTH", "UserPasswordAuth": "ALLOW_USER_PASSWORD_AUTH",
    "RefreshTokenAuth": "ALLOW_REFRESH_TOKEN_AUTH", "RefreshToken": "ALLOW_REFRESH_TOKEN_AUTH",
    "UserSrpAuth": "ALLOW_USER_SRP_AUTH", "CustomAuth": "ALLOW_CUSTOM_AUTH",
}


def test_the_app_client_allows_every_auth_flow_the_code_uses():
    """Cognito refuses an InitiateAuth/AdminInitiateAuth whose flow the app client does not list
    ("Auth flow not enabled for this client"): the flows come from the code."""
    text = code_contract._strip((code_contract.SRC / "repositories" / "identity_cognito.rs").read_text())
    used = set(re.findall(r"AuthFlowType::(\w+)", text))
    assert used, "identity_cognito.rs names no AuthFlowType"
    client = Module(MODULES / "cognito").resources("aws_cognito_user_pool_client")["app"]
    missing = {f"{u} -> {AUTH_FLOWS[u]}" for u in used if AUTH_FLOWS[u] not in client["explicit_auth_flows"]}
    assert not missing, f"the app client does not allow the flows the code uses: {sorted(missing)}"


# --- 6. interface endpoints from the code --------------------------------------------------------

GATEWAY_SERVICES = {"dynamodb", "s3"}


def test_interface_endpoints_are_the_apis_the_code_in_the_vpc_calls():
    lambdas = Module(MODULES / "lambdas")
    assert "vpc_config" in lambdas.resources("aws_lambda_function")["this"], "every function runs in the VPC"
    called: dict[str, set[str]] = {}
    for fn, f in lambdas.locals()["functions"].items():
        command = f["command"][-1] if f["command"] else "serve"
        called[fn] = code_contract.lambda_services(f["crate"], command)
    needed = set().union(*called.values()) - GATEWAY_SERVICES
    needed.add("secretsmanager")  # the RDS Proxy reads the database credentials from the VPC too
    networking = Module(MODULES / "networking")
    endpoints = set(networking.blocks("variable")["interface_endpoints"]["default"])
    assert "interface_endpoints" not in Module(TF).blocks("module")["networking"], "the root keeps the module's list"
    gateways = networking.resources("aws_vpc_endpoint")["gateway"]
    assert "dynamodb" in gateways["for_each"] and "s3" in gateways["for_each"]
    assert not needed - endpoints, f"the code calls {sorted(needed - endpoints)} from the VPC without an endpoint ({called})"
    assert not endpoints - needed, (
        f"interface endpoints nothing in the VPC calls: {sorted(endpoints - needed)} (each costs per AZ and hour); "
        f"the code calls {sorted(needed)}")


def test_the_endpoint_derivation_sees_only_lambda_paths():
    # the worker's and image processor's long-poll loops (SQS) run outside Lambda only
    assert "sqs" not in code_contract.lambda_services("orders", "worker")
    assert "sqs" not in code_contract.lambda_services("image_processor", "serve")
    assert "states" in code_contract.lambda_services("orders", "worker")
    assert "cognito-idp" in code_contract.lambda_services("users", "serve")


# --- 7. Elastic IPs and availability zones --------------------------------------------------------

def test_nat_elastic_ips_of_an_account_and_region_fit_its_quota():
    for (account, region), group in accounts().items():
        quota = _same_declaration(group, "elastic_ip_quota")
        assert quota <= DEFAULT_ELASTIC_IP_QUOTA or "elastic_ip_quota" in DOCS.read_text(), (
            "a quota above AWS's default 5 must be requested (docs/deploy.md)")
        nats = {env: v["network"]["nat_gateways"] for env, v in group.items()}
        for env, v in group.items():
            assert nats[env] in (0, 1, len(v["network"]["availability_zone_ids"])), f"{env}: nat_gateways {nats[env]}"
        assert sum(nats.values()) <= quota, (
            f"account {account} in {region}: NAT gateways {nats} need {sum(nats.values())} Elastic IPs, "
            f"the declared quota is {quota}")
    networking = Module(MODULES / "networking")
    assert networking.resources("aws_eip")["nat"]["count"] == "${local.nat_count}"
    assert networking.resources("aws_nat_gateway")["this"]["count"] == "${local.nat_count}"
    assert networking.locals()["nat_count"] == "${var.nat_gateways}", "one Elastic IP per NAT gateway, an explicit count"


def test_availability_zones_are_ids_the_account_is_checked_to_offer():
    """AZ names map to different physical zones (AZ IDs) in each account: the subnets are placed
    by ID, and data.aws_availability_zones (allowlisted to those IDs) checks at plan time that
    the account offers each one."""
    networking = Module(MODULES / "networking")
    data = {n: b for doc in networking.docs.values() for d in doc.get("data", []) for n, b in d.get("aws_availability_zones", {}).items()}
    assert "selected" in data, "data.aws_availability_zones.selected"
    assert data["selected"]["filter"][0] == {"name": "zone-id", "values": "${var.availability_zone_ids}"}
    check = str(networking.resources("aws_vpc")["this"]["lifecycle"])
    assert "setsubtract(var.availability_zone_ids, data.aws_availability_zones.selected.zone_ids)" in check
    assert networking.locals()["azs"] == "${var.availability_zone_ids}"
    for kind in ("private", "public"):
        subnet = networking.resources("aws_subnet")[kind]
        assert subnet.get("availability_zone_id") == "${local.azs[count.index]}" and "availability_zone" not in subnet
    for env in ENVIRONMENTS:
        ids = tfvars(env)["network"]["availability_zone_ids"]
        assert len(ids) >= 2 and all(re.fullmatch(r"[a-z]+\d+-az\d+", i) for i in ids), f"{env}: {ids}"
        text = (TF / "environments" / f"{env}.tfvars").read_text()
        assert not re.search(r'"[a-z]{2}-[a-z]+-\d[a-z]"', text), f"{env}.tfvars names AZs (they map to other AZ IDs per account)"
    # the scheduled relay (app/jobs.rs): starts executions, projects the catalogue, records history
    assert {"states", "dynamodb"} <= code_contract.lambda_services("products", "relay")
