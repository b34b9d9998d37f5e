"""Value guards for rules of AWS that neither the provider schema nor `terraform validate` see,
each of which made (or would make) a first deploy fail or come up broken (issue 11):

- the ElastiCache AUTH token's character set (CreateReplicationGroup rejects other specials);
- Cognito threat protection (AUDIT/ENFORCED) only on the PLUS user pool tier;
- name length limits (Lambda functions and IAM roles 64, SQS queues 80, ...) for the longest
  project and environment names the root module accepts;
- reserved Lambda concurrency vs the account limit each environment declares (AWS keeps 100
  unreserved);
- every file a file()/templatefile() reads exists and renders with the placeholders the module
  offers; the checkout ASL must be JSON after rendering, with no stray ${...};
- the images bucket stays private while CloudFront (origin access control) serves only the
  processed prefixes, and image URLs handed to clients are CloudFront's;
- the Dockerfile's cargo-chef + zigbuild glibc-suffix workaround; the workflows' action pins,
  their BuildKit gha cache usage, the deploy gate and the plan-before-approval order.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
import yaml

from conftest import MODULES, REPO, TF, Module, load_tf

ENVIRONMENTS = ["dev", "staging", "prod"]
WORKFLOWS = REPO / ".github" / "workflows"

# The longest names the root module accepts: project matches ^[a-z][a-z0-9]{1,15}$ and the
# longest environment is "staging".
LONGEST_PROJECT = "p" * 16
LONGEST_PREFIX = f"{LONGEST_PROJECT}-staging-"
ACCOUNT_ID = "123456789012"
LONGEST_REGION = "ap-southeast-5"


def tfvars(env: str) -> dict:
    return load_tf(TF / "environments" / f"{env}.tfvars")


# --- ElastiCache AUTH token -----------------------------------------------------------------

# https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html: printable ASCII, 16-128
# characters, and of the non-alphanumerics only ! & # $ ^ < > -
ELASTICACHE_AUTH_SPECIALS = set("!&#$^<>-")


def test_the_redis_auth_token_uses_only_characters_elasticache_accepts(module):
    secrets = module("secrets")
    data = {}
    for doc in secrets.docs.values():
        for block in doc.get("data", []):
            data.update(block.get("aws_secretsmanager_random_password", {}))
    password = data["redis"]
    assert 16 <= password["password_length"] <= 128, "AUTH tokens are 16-128 characters"
    assert password.get("include_space") is False
    if not password.get("exclude_punctuation", False):
        # GetRandomPassword draws punctuation from string.punctuation less exclude_characters
        excluded = set(password.get("exclude_characters", "").encode().decode("unicode_escape"))
        bad = set(string.punctuation) - excluded - ELASTICACHE_AUTH_SPECIALS
        assert not bad, f"ElastiCache rejects these AUTH token characters: {''.join(sorted(bad))}"
    # ... and that token is the one the secret and the replication group get.
    version = secrets.resources("aws_secretsmanager_secret_version")["redis"]
    assert "data.aws_secretsmanager_random_password.redis.random_password" in version["secret_string_wo"]
    root = Module(TF).blocks("module")
    assert root["elasticache"]["auth_token"] == "${module.secrets.redis_auth_token}"
    out = secrets.blocks("output")["redis_auth_token"]
    assert out["value"] == "${jsondecode(data.aws_secretsmanager_secret_version.redis.secret_string).auth_token}"
    group = module("elasticache").resources("aws_elasticache_replication_group")["this"]
    assert group["auth_token"] == "${var.auth_token}" and group["transit_encryption_enabled"] is True


# --- Cognito tier ---------------------------------------------------------------------------

def _tier(expr, mode: str) -> str:
    if expr is None:
        return "ESSENTIALS"  # the default tier of a new pool
    m = re.fullmatch(r'\$\{var\.advanced_security_mode\s*==\s*"(\w+)"\s*\?\s*"(\w+)"\s*:\s*"(\w+)"\}', expr)
    if m:
        return m.group(2) if mode == m.group(1) else m.group(3)
    m = re.fullmatch(r'\$\{var\.advanced_security_mode\s*!=\s*"(\w+)"\s*\?\s*"(\w+)"\s*:\s*"(\w+)"\}', expr)
    if m:
        return m.group(3) if mode == m.group(1) else m.group(2)
    if re.fullmatch(r"[A-Z_]+", expr):
        return expr
    pytest.fail(f"cannot evaluate user_pool_tier = {expr!r}; extend this guard")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_threat_protection_comes_with_the_plus_tier(env, module):
    pool = module("cognito").resources("aws_cognito_user_pool")["this"]
    mode = tfvars(env)["cognito"]["advanced_security_mode"]
    assert pool["user_pool_add_ons"][0]["advanced_security_mode"] == "${var.advanced_security_mode}"
    assert Module(TF).blocks("module")["cognito"]["advanced_security_mode"] == "${var.cognito.advanced_security_mode}"
    tier = _tier(pool.get("user_pool_tier"), mode)
    if mode in ("AUDIT", "ENFORCED"):
        assert tier == "PLUS", f"{env}: advanced_security_mode {mode} needs user_pool_tier PLUS, got {tier}"
    else:
        assert tier in ("ESSENTIALS", "LITE", "PLUS"), f"{env}: unknown tier {tier}"


# --- name lengths ---------------------------------------------------------------------------

# (resource type, argument) -> the longest name AWS accepts.
NAME_LIMITS = {
    ("aws_lambda_function", "function_name"): 64,
    ("aws_iam_role", "name"): 64,
    ("aws_iam_role_policy", "name"): 128,
    ("aws_sqs_queue", "name"): 80,
    ("aws_sns_topic", "name"): 256,
    ("aws_scheduler_schedule", "name"): 64,
    ("aws_sfn_state_machine", "name"): 80,
    ("aws_elasticache_replication_group", "replication_group_id"): 40,
    ("aws_elasticache_subnet_group", "name"): 255,
    ("aws_cloudwatch_metric_alarm", "alarm_name"): 255,
    ("aws_cloudwatch_dashboard", "dashboard_name"): 255,
    ("aws_cloudwatch_log_group", "name"): 512,
    ("aws_cognito_user_pool", "name"): 128,
    ("aws_cognito_user_pool_client", "name"): 128,
    ("aws_cloudfront_origin_access_control", "name"): 64,
    ("aws_db_instance", "identifier"): 63,
    ("aws_db_proxy", "name"): 60,
    ("aws_db_subnet_group", "name"): 255,
    ("aws_db_parameter_group", "name"): 255,
    ("aws_ecr_repository", "name"): 256,
    ("aws_dynamodb_table", "name"): 255,
    ("aws_security_group", "name"): 255,
    ("aws_secretsmanager_secret", "name"): 512,
    ("aws_kms_alias", "name"): 256,
    ("aws_wafv2_web_acl", "name"): 128,
    ("aws_apigatewayv2_api", "name"): 128,
    ("aws_s3_bucket", "bucket"): 63,
    ("aws_lb", "name"): 32,
    ("aws_alb", "name"): 32,
    ("aws_lb_target_group", "name"): 32,
    ("aws_alb_target_group", "name"): 32,
}


def _strings(expr: str) -> list[str]:
    return re.findall(r'"([^"$]+)"', expr)


def _for_each_values(module_name: str, mod: Module, for_each: str) -> tuple[list[str], list[dict]]:
    """The keys (and, for maps of objects, the values) a for_each iterates over, or ([], [])."""
    locals_ = mod.locals()
    m = re.fullmatch(r"\$\{local\.(\w+)\}", for_each)
    if m and m.group(1) in locals_:
        value = locals_[m.group(1)]
        if isinstance(value, dict):
            return list(value), [v for v in value.values() if isinstance(v, dict)]
        if isinstance(value, str) and value.startswith("${toset(["):
            return _strings(value), []
    if re.fullmatch(r"\$\{toset\(\[.*\]\)\}", for_each):
        return _strings(for_each), []
    if for_each == "${toset(var.services)}":
        return Module(TF).locals()["services"], []
    if for_each == "${toset(var.environments)}":
        return ENVIRONMENTS, []
    if for_each in ("${aws_iam_role.deploy}",):
        return ENVIRONMENTS, []
    if module_name == "monitoring" and for_each == "${var.function_names}":
        return list(Module(MODULES / "lambdas").locals()["functions"]), []
    if module_name == "monitoring" and for_each == "${var.dlq_names}":
        return list(Module(MODULES / "sns_sqs").locals()["queues"]), []
    if module_name == "monitoring" and for_each == "${var.http_services}":
        functions = Module(MODULES / "lambdas").locals()["functions"]
        return [f["crate"] for f in functions.values() if f["kind"] == "http"], []
    return [], []


def _worst_case(module_name: str, mod: Module, body: dict, expr: str) -> str | None:
    value = expr
    value = value.replace('${trimsuffix(var.name_prefix, "-")}', LONGEST_PREFIX[:-1])
    value = value.replace("${var.name_prefix}", LONGEST_PREFIX)
    value = value.replace("${var.project}", LONGEST_PROJECT)
    value = value.replace("${var.bucket_name}", f"{LONGEST_PREFIX}images-{ACCOUNT_ID}")
    value = value.replace("${local.account_id}", ACCOUNT_ID)
    value = value.replace("${var.aws_region}", LONGEST_REGION)
    # terraform/bootstrap: the state bucket's default name
    value = value.replace("${local.state_bucket}", f"{LONGEST_PROJECT}-tfstate-{ACCOUNT_ID}-{LONGEST_REGION}")
    if "each." in value:
        keys, objects = _for_each_values(module_name, mod, str(body.get("for_each", "")))
        if not keys:
            return None
        # Functions such as lower() or trimprefix() never lengthen: the longest key bounds them.
        value = re.sub(r"\$\{[^}]*each\.key[^}]*\}", max(keys, key=len), value)
        for attr in set(re.findall(r"\$\{each\.value\.(\w+)\}", value)):
            longest = max((str(o.get(attr, "")) for o in objects), key=len, default="")
            value = value.replace(f"${{each.value.{attr}}}", longest)
    if "${" in value:
        return None
    return value


def _named_resources():
    dirs = [("root", TF), ("bootstrap", TF / "bootstrap")] + [(p.name, p) for p in sorted(MODULES.iterdir()) if p.is_dir()]
    for name, path in dirs:
        mod = Module(path)
        for (rtype, attr), limit in NAME_LIMITS.items():
            for rname, body in mod.resources(rtype).items():
                if attr in body:
                    yield name, mod, rtype, rname, attr, body, limit


def test_every_name_fits_its_aws_limit_for_the_longest_project_and_environment():
    errors, checked = [], 0
    for module_name, mod, rtype, rname, attr, body, limit in _named_resources():
        expr = body[attr]
        worst = _worst_case(module_name, mod, body, str(expr))
        where = f"{module_name}: {rtype}.{rname}.{attr} = {expr!r}"
        if worst is None:
            if str(expr).startswith("${var.") or str(expr).startswith("${local."):
                continue  # a name passed in whole is checked where it is built
            errors.append(f"{where}: cannot evaluate; extend tests/infra/test_deploy_guards.py")
            continue
        checked += 1
        if len(worst) > limit:
            errors.append(f"{where}: {len(worst)} > {limit} characters at worst ({worst})")
    assert checked > 30, f"only {checked} names evaluated"
    assert not errors, "names over AWS limits:\n  " + "\n  ".join(errors)


# --- reserved concurrency -------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_reserved_concurrency_leaves_100_of_the_declared_account_limit(env):
    values = tfvars(env)
    assert "lambda_account_concurrency_limit" in values, f"{env}: declare the account's Lambda concurrency quota"
    limit = values["lambda_account_concurrency_limit"]
    reserved = {fn: s.get("reserved_concurrency") for fn, s in values["lambda_functions"].items()}
    for fn, r in reserved.items():
        assert r is None or r >= 1, f"{env}: {fn} reserved_concurrency {r} (0 throttles it; unset = unreserved)"
    total = sum(r for r in reserved.values() if r is not None)
    assert total == 0 or total + 100 <= limit, (
        f"{env}: reserved concurrency totals {total}; AWS needs an account limit of at least {total + 100}, "
        f"{env}.tfvars declares {limit}"
    )


def test_the_concurrency_rule_is_also_enforced_at_plan_time(module):
    variables = Module(TF).blocks("variable")
    conditions = str(variables["lambda_account_concurrency_limit"].get("validation"))
    assert "+ 100 <= var.lambda_account_concurrency_limit" in conditions
    fn = module("lambdas").resources("aws_lambda_function")["this"]
    assert "local.reserved_total + 100 <= var.account_concurrency_limit" in str(fn["lifecycle"])
    # dev reserves nothing, so it deploys on a new account whatever its quota.
    assert all(s.get("reserved_concurrency") is None for s in tfvars("dev")["lambda_functions"].values())


# --- files read by file() / templatefile() --------------------------------------------------

ASL = REPO / "statemachines" / "checkout_workflow.asl.json"


def _template_placeholders_offered(module) -> set[str]:
    """The names module step_functions passes to templatefile(), as Terraform would build them."""
    sf = module("step_functions")
    generated = sf.locals()["generated"]
    names = set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*=", str(generated).split("}")[0]))
    manifest = json.loads((REPO / "scripts" / "aws_resources.json").read_text())
    for topic in manifest["sns_topics"]:
        names.add(f"{topic.replace('-', '_')}_topic_arn")
    for q in manifest["sqs_queues"]:
        names |= {f"{q['name'].replace('-', '_')}_queue_url", f"{q['name'].replace('-', '_')}_queue_arn"}
    for t in manifest["dynamodb_tables"]:
        names |= {f"{t['name']}_table", f"{t['name']}_table_arn"}
    names |= set(Module(TF).blocks("module")["step_functions"]["template_values"])
    return names | {n.lower() for n in names} | {n.upper() for n in names}


def test_every_file_read_by_terraform_exists_or_is_the_pending_asl():
    calls = []
    for path in TF.rglob("*.tf"):
        for m in re.finditer(r"\b(file|templatefile|filebase64|filesha256)\(([^,)]+)", path.read_text()):
            calls.append((path.relative_to(REPO), m.group(1), m.group(2).strip()))
    assert calls, "no file()/templatefile() call found"
    for where, fn, arg in calls:
        if arg == "var.definition_file":
            root = Module(TF)
            assert root.blocks("module")["step_functions"]["definition_file"] == "${path.root}/${var.state_machine_definition_file}"
            default = root.blocks("variable")["state_machine_definition_file"]["default"]
            assert (TF / default).resolve() == ASL.resolve(), f"{where}: the definition is {ASL}"
            continue
        m = re.fullmatch(r'"\$\{path\.module\}/([^"]+)"', arg)
        assert m, f"{where}: {fn}({arg}): use a literal \"${{path.module}}/...\" path this check can follow"
        assert (where.parent / m.group(1)).is_file(), f"{where}: {fn} reads a missing file {m.group(1)}"


def render(text: str, offered: set[str]) -> str:
    used = set(re.findall(r"\$\{([^}]*)\}", text))
    unknown = {u for u in used if u not in offered}
    assert not unknown, f"placeholders the step_functions module does not offer: {sorted(unknown)}"
    assert "%{" not in text, "template directives (%{...}) in the ASL"
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: f"arn:aws:test:::{m.group(1)}", text)


def test_the_checkout_asl_renders_with_the_offered_placeholders_to_json(module):
    if not ASL.is_file():
        pytest.skip(f"{ASL.relative_to(REPO)} is not committed yet (it comes with the orders code); plan would fail")
    offered = _template_placeholders_offered(module)
    for name in ["checkout_task_queue_url", "order_events_topic_arn", "OrderEvents_table"]:
        assert name in offered, f"the module must offer ${{{name}}}"
    rendered = render(ASL.read_text(), offered)
    assert "${" not in rendered, "stray ${...} after rendering"
    doc = json.loads(rendered)
    assert "StartAt" in doc and "States" in doc, "an ASL document has StartAt and States"


def test_the_renderer_refuses_what_terraform_would(module):
    offered = _template_placeholders_offered(module)
    with pytest.raises(AssertionError, match="does not offer"):
        render('{"QueueUrl": "${checkout_queue_url}"}', offered)
    with pytest.raises(json.JSONDecodeError):
        json.loads(render('{"QueueUrl": "${checkout_task_queue_url}",}', offered))


# --- images: private bucket, CloudFront with OAC, raw/ never served -----------------------------

def test_processed_images_are_served_by_cloudfront_with_origin_access_control(module):
    root = Module(TF)
    prefixes = root.locals()["processed_image_prefixes"]
    assert prefixes and all(p.endswith("/") and not p.startswith("raw") for p in prefixes)
    cdn = module("cdn")
    dist = cdn.resources("aws_cloudfront_distribution")["images"]
    assert "count" not in dist and "for_each" not in dist, "the images distribution is always on"
    (origin,) = dist["origin"]
    assert origin["origin_access_control_id"] == "${aws_cloudfront_origin_access_control.images.id}"
    assert "s3_origin_config" not in origin, "OAC, not the legacy origin access identity"
    oac = cdn.resources("aws_cloudfront_origin_access_control")["images"]
    assert oac["signing_behavior"] == "always" and oac["origin_access_control_origin_type"] == "s3"
    assert set(dist["default_cache_behavior"][0]["allowed_methods"]) <= {"GET", "HEAD", "OPTIONS"}
    # the bucket stays private ...
    s3 = module("s3")
    block = s3.resources("aws_s3_bucket_public_access_block")["images"]
    assert all(block[k] is True for k in ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"])
    # ... and lets only this distribution read only the processed prefixes.
    (grant,) = [st for st in s3.docs["main.tf"]["data"][0]["aws_iam_policy_document"]["images"]["statement"]
                if st.get("sid") == "CloudFrontReadsProcessedImages"]
    assert grant["actions"] == ["s3:GetObject"]
    assert "var.cdn_read.prefixes" in str(grant["resources"]) and "raw" not in str(grant["resources"])
    assert grant["condition"][0]["variable"] == "AWS:SourceArn"
    assert root.blocks("module")["s3"]["cdn_read"]["prefixes"] == "${local.processed_image_prefixes}"
    # image links handed to clients are CloudFront's, never the bucket's
    images = root.blocks("module")["lambdas"]["images"]
    assert images["public_base_url"] == "${module.cdn.public_base_url}"
    assert images["processed_prefixes"] == "${local.processed_image_prefixes}"


# --- Dockerfile -----------------------------------------------------------------------------

def test_cargo_chef_cook_with_a_glibc_suffixed_zigbuild_target_finds_its_target_dir():
    """cargo-zigbuild writes target/<triple>/ even for <triple>.<glibc>, where `cargo chef cook`
    looks to clean up (LukeMathWalker/cargo-chef#367): the suffixed directory must exist."""
    text = (REPO / "docker" / "Dockerfile").read_text()
    runs = [r for r in re.split(r"\n(?=RUN |COPY |FROM |ARG |ENV |WORKDIR |LABEL |CMD )", text) if r.startswith("RUN ")]
    cook = [r for r in runs if "cargo chef cook" in r]
    assert cook, "no cargo chef cook"
    for run in cook:
        m = re.search(r"--zigbuild\b.*--target\s+\"?\$\{TARGET\}\.\$\{GLIBC\}\"?", run.replace("\\\n", " "))
        if not m:
            continue
        flat = run.replace("\\\n", " ")
        link = re.search(r'ln -sfn? "?\$\{TARGET\}"? "?target/\$\{TARGET\}\.\$\{GLIBC\}"?', flat)
        assert link and link.start() < flat.index("cargo chef cook"), (
            "cargo chef cook --zigbuild --target <triple>.<glibc> needs target/<triple>.<glibc> to point at "
            "target/<triple> before it runs"
        )


# --- workflows ------------------------------------------------------------------------------

def _workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def _steps(doc: dict):
    for job_name, job in doc["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_actions_are_pinned_by_commit_sha(name):
    for job, step in _steps(_workflow(name)):
        if "uses" in step and not step["uses"].startswith("./"):
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), f"{name}/{job}: {step['uses']} is not pinned by SHA"


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_the_gha_build_cache_is_used_only_through_build_push_action(name):
    """type=gha needs ACTIONS_RUNTIME_TOKEN and ACTIONS_CACHE_URL, which only actions (not `run:`
    steps) receive: a plain `docker buildx build --cache-to type=gha` fails the build."""
    for job, step in _steps(_workflow(name)):
        run = step.get("run", "")
        assert not ("type=gha" in run and "buildx" in run), f"{name}/{job}: type=gha cache in a run step"


def test_deploy_waits_for_a_green_ci_and_shows_the_plan_before_the_protected_apply():
    doc = _workflow("deploy.yml")
    on = doc["on"]
    assert "push" not in on, "deploy must not run on every push without waiting for CI"
    assert on["workflow_run"]["workflows"] == ["ci"] and on["workflow_run"]["types"] == ["completed"]
    jobs = doc["jobs"]
    assert "conclusion == 'success'" in jobs["gate"]["if"]
    assert "status=success" in str(jobs["gate"]["steps"]), "a dispatch must find a green ci run of its commit"
    plan, apply = jobs["plan"], jobs["apply"]
    assert "gate" in plan["needs"] and "plan" in apply["needs"]
    assert plan["environment"].endswith("-plan"), "the plan runs before, and outside, the protected environment"
    assert apply["environment"] == "${{ needs.gate.outputs.environment }}", "apply runs in the protected environment"
    plan_text = json.dumps(plan["steps"])
    assert "-out=tfplan" in plan_text and "GITHUB_STEP_SUMMARY" in plan_text and "upload-artifact" in plan_text
    apply_runs = [s.get("run", "") for s in apply["steps"]]
    assert any("terraform apply" in r and r.rstrip().endswith("tfplan") for r in apply_runs), "apply a plan file"
    # The binary plan holds secrets in clear and stays in the plan job (test_account_rules.py):
    # apply plans again and goes on only if that plan's text is the reviewed one.
    names = [s.get("name", "") for s in apply["steps"]]
    replan = apply["steps"][names.index("terraform plan (again, compared with the reviewed plan)")]["run"]
    assert "diff -u ../reviewed/plan.txt plan.txt" in replan and "exit 1" in replan
    # migrations: after that check, before the apply that shifts the HTTP functions, failing on a FunctionError
    assert (names.index("terraform plan (again, compared with the reviewed plan)")
            < names.index("database migrations (before the rollout)")
            < names.index("terraform apply (the reviewed plan)"))
    script = (REPO / "scripts" / "deploy" / "invoke_migrations.sh").read_text()
    assert re.search(r"if jq -e 'has\(\"FunctionError\"\)' \"\$meta\" >/dev/null; then\n(?:[^\n]*\n){0,3}?\s*exit 1", script), (
        "invoke_migrations.sh must exit 1 when the invocation reports a FunctionError"
    )


def test_ci_runs_terraform_init_validate_and_test():
    doc = _workflow("ci.yml")
    runs = "\n".join(s.get("run", "") for _, s in _steps(doc))
    # the rehearsal runs in scripts/check/infra.sh, with a mirror made from the lock file
    assert "terraform providers mirror" in runs and "TF_REHEARSAL=require" in runs and "scripts/check/infra.sh" in runs
    script = (REPO / "scripts" / "check" / "infra.sh").read_text()
    assert "init -backend=false" in script and " validate" in script and " test " in script and " plan " in script
    assert list((TF / "tests").glob("*.tftest.hcl")), "terraform/tests/*.tftest.hcl"
    assert "mock_provider" in "".join(p.read_text() for p in (TF / "tests").glob("*.tftest.hcl"))
    images = doc["jobs"]["images"]
    build = [s for s in images["steps"] if "build-push-action" in s.get("uses", "")]
    assert build and build[0]["with"]["platforms"] == "linux/arm64"


# --- the relay schedule ----------------------------------------------------------------------

def test_the_outbox_relay_runs_every_minute_from_eventbridge_scheduler(module):
    lambdas = module("lambdas")
    schedule = lambdas.resources("aws_scheduler_schedule")["outbox_relay"]
    assert schedule["target"][0]["arn"] == '${aws_lambda_function.this["outbox_relay_lambda"].arn}'
    expr = lambdas.blocks("variable")["relay_schedule_expression"]["default"]
    assert expr == "rate(1 minute)"
    relay = lambdas.locals()["functions"]["outbox_relay_lambda"]
    assert relay["crate"] == "products" and relay["command"] == ["relay"]
    policy = str(lambdas.docs["main.tf"]["data"])
    assert "lambda:InvokeFunction" in policy and "scheduler.amazonaws.com" in policy


def test_image_tag_is_a_required_commit_sha():
    """The ECR repositories are immutable and the workflow pushes the commit SHA only: a default
    (`latest`) would deploy an image that was never pushed."""
    var = Module(TF).blocks("variable")["image_tag"]
    assert "default" not in var, "image_tag must have no default"
    conditions = " ".join(v["condition"] for v in var.get("validation", []))
    assert "[0-9a-f]{40}" in conditions, "image_tag must be validated as a 40-hex commit SHA"
