#!/usr/bin/env bash
# Static checks of the infrastructure code, run by the test command and by CI:
#
#   1. terraform fmt -check -recursive terraform
#   2. checkov (offline, --skip-download) on terraform/, docker/Dockerfile and .github/workflows:
#      zero failed checks; every skip is justified inline (#checkov:skip=CKV_...:reason)
#   3. pytest tests/infra: the modules against scripts/aws_resources.json, house rules, tfvars;
#      every resource/data block against the aws provider schema (5.99.1, committed trimmed in
#      tests/infra/aws_provider_schema.json; scripts/gen/tf_schema/regenerate.sh rebuilds it); the
#      per-function IAM contract; value guards the schema cannot see (AUTH token characters,
#      Cognito tier, name lengths, reserved concurrency vs the declared account limit, files
#      read by templatefile() rendering to JSON, images behind CloudFront OAC, the Dockerfile,
#      workflow pins and deploy gating). The checkout ASL check says SKIPPED until
#      statemachines/checkout_workflow.asl.json exists.
#   4. The deploy rehearsal with the real aws provider, taken from a Terraform filesystem mirror
#      (scripts/gen/tf_schema/tf_mirror.sh finds it and writes the TF_CLI_CONFIG_FILE; no registry
#      access), on a scratch copy of terraform/: terraform validate of the root and bootstrap
#      modules (init -lockfile=readonly: the committed .terraform.lock.hcl files); terraform
#      test for dev, staging and prod (mock providers); terraform plan of dev against moto
#      (the local stack's, else a private moto_server from .venv-moto; provider endpoints in a
#      generated moto_override.tf, scripts/gen/tf_schema/moto_plan_copy.py), then
#      tests/infra/test_plan.py on its `terraform show -json`. Without a mirror these steps
#      say SKIPPED loudly and the rest still runs (TF_REHEARSAL=require makes that a failure).
#   5. ansible-playbook --syntax-check ansible/site.yml
#   6. scripts/gen/diagrams.sh --check: architecture.png always; database_rds_schema.png when a
#      database is reachable (PG_ADMIN_URL or the local stack's stack.env), else said skipped
#
# On a fresh Debian machine (as root) it installs what is missing: graphviz, fonts, psql and
# python3-venv from apt; checkov in .venv-checkov and python-hcl2 + pytest + ansible-core in
# .venv-infra (pinned in tests/infra/requirements*.txt; rebuilt when those files change).
# Terraform itself must be on PATH (it is not packaged in Debian). Runs every step, then exits
# non-zero if any failed.
set -uo pipefail

LOG_NAME=check_infra
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO" || exit 1

PYTHON="${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}"
CHECKOV_VENV="$REPO/.venv-checkov"
INFRA_VENV="$REPO/.venv-infra"

# ------------------------------------------------------------------- prerequisites

apt_missing=()
command -v dot >/dev/null || apt_missing+=(graphviz)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || apt_missing+=(fonts-dejavu-core)
command -v psql >/dev/null || apt_missing+=(postgresql-client)
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || apt_missing+=(python3-venv)
apt_packages "${apt_missing[@]}"
command -v terraform >/dev/null || die "terraform is not on PATH (install Terraform >= 1.6)"

ensure_venv "$CHECKOV_VENV" "$REPO/tests/infra/requirements-checkov.txt" python
ensure_venv "$INFRA_VENV" "$REPO/tests/infra/requirements.txt" python

# ------------------------------------------------------------------------- checks

failed=()
step() { # step NAME COMMAND...
    local name="$1"; shift
    local t0=$SECONDS
    log "--- $name"
    if "$@"; then
        log "ok   $name ($((SECONDS - t0)) s)"
    else
        log "FAIL $name"
        failed+=("$name")
    fi
}

checkov_run() { # checkov_run ARGS... ; fails on any failed check, prints the summary
    local out rc
    out="$("$CHECKOV_VENV/bin/checkov" --skip-download --quiet --compact --output cli "$@" 2>&1)"
    rc=$?
    printf '%s\n' "$out" | grep -E 'scan results|Passed checks' >&2
    if [[ $rc -ne 0 ]]; then
        printf '%s\n' "$out" | grep -E -A3 '^Check: ' >&2
        return 1
    fi
}

pytest_run() { # the static checks; test_plan.py runs in the rehearsal below
    "$INFRA_VENV/bin/python" -m pytest -q -rs -p no:cacheprovider tests/infra --deselect tests/infra/test_plan.py
}

# ------------------------------------------------------- the deploy rehearsal (real provider)

TF_WORK="$(mktemp -d)"
PRIVATE_MOTO_PID=""
cleanup() {
    [[ -n "$PRIVATE_MOTO_PID" ]] && kill "$PRIVATE_MOTO_PID" 2>/dev/null
    rm -rf "$TF_WORK"
}
on_exit cleanup
PLAN_IMAGE_TAG=0123456789abcdef0123456789abcdef01234567 # any 40-hex commit SHA

# A scratch copy of terraform/ (and the ASL it reads) with nothing of the checkout's
# .terraform/ directories; the committed lock files come along.
tf_copy() {
    mkdir -p "$TF_WORK/repo"
    cp -r terraform "$TF_WORK/repo/terraform" && cp -r statemachines "$TF_WORK/repo/statemachines" &&
        find "$TF_WORK/repo/terraform" -name .terraform -type d -prune -exec rm -rf {} + &&
        find "$TF_WORK/repo/terraform" -name '*.tfstate*' -delete
}

tf_init() { # tf_init DIR: providers from the mirror, exactly the committed lock file
    terraform -chdir="$1" init -backend=false -input=false -lockfile=readonly -no-color >"$TF_WORK/init.log" 2>&1 ||
        { cat "$TF_WORK/init.log" >&2; return 1; }
}

tf_validate() { # tf_validate DIR
    tf_init "$1" && terraform -chdir="$1" validate -no-color
}

tf_test() { # tf_test ENV
    local out rc
    out="$(terraform -chdir="$TF_WORK/repo/terraform" test -no-color -var-file="environments/$1.tfvars" 2>&1)"
    rc=$?
    if [[ $rc -ne 0 ]]; then printf '%s\n' "$out" >&2; return 1; fi
    printf '%s\n' "$out" | grep -E '^Success|run "' >&2
}

# The moto endpoint to plan against: AWS_ENDPOINT_URL if it answers, else the local stack's
# (scripts/dev/stack.sh env), else a private moto_server started here from .venv-moto.
moto_endpoint() {
    local url="${AWS_ENDPOINT_URL:-}" env_file port
    if [[ -z "$url" ]] && env_file="$("$REPO/scripts/dev/stack.sh" env 2>/dev/null)" && [[ -f "$env_file" ]]; then
        # shellcheck source=/dev/null
        url="$(set +u; source "$env_file" >/dev/null 2>&1; printf '%s' "${AWS_ENDPOINT_URL:-}")"
    fi
    if [[ -n "$url" ]] && curl -fs -o /dev/null --max-time 3 "$url/moto-api/config"; then
        printf '%s\n' "$url"
        return 0
    fi
    if [[ ! -x "$REPO/.venv-moto/bin/moto_server" ]]; then
        log "no moto running and no .venv-moto: installing it (scripts/dev/stack.sh install)"
        "$REPO/scripts/dev/stack.sh" install >&2 || return 1
    fi
    port="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$REPO/.venv-moto/bin/moto_server" -H 127.0.0.1 -p "$port" >"$TF_WORK/moto.log" 2>&1 &
    PRIVATE_MOTO_PID=$!
    for _ in $(seq 50); do
        if curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/moto-api/config"; then
            log "planning against a private moto_server on port $port"
            printf 'http://127.0.0.1:%s\n' "$port"
            return 0
        fi
        sleep 0.2
    done
    cat "$TF_WORK/moto.log" >&2
    return 1
}

tf_plan_moto() {
    local moto plan="$TF_WORK/plan" dir="$TF_WORK/plan/terraform"
    moto="$(moto_endpoint)" || { log "no moto endpoint to plan against"; return 1; }
    mkdir -p "$plan" && cp -r "$TF_WORK/repo/terraform" "$dir" && cp -r statemachines "$plan/statemachines" &&
        "$PYTHON" scripts/gen/tf_schema/moto_plan_copy.py "$dir" "$moto" || return 1
    terraform -chdir="$dir" plan -input=false -no-color -lock=false \
        -var-file=environments/dev.tfvars -var="image_tag=$PLAN_IMAGE_TAG" -out="$TF_WORK/dev.tfplan" >"$TF_WORK/plan.log" 2>&1 ||
        { grep -E -A12 '^Error' "$TF_WORK/plan.log" >&2 || tail -n 40 "$TF_WORK/plan.log" >&2; return 1; }
    grep -E '^Plan:' "$TF_WORK/plan.log" >&2
    terraform -chdir="$dir" show -json "$TF_WORK/dev.tfplan" >"$TF_WORK/dev.plan.json" || return 1
    if [[ -n "${TF_KEEP_PLAN_JSON:-}" ]]; then cp "$TF_WORK/dev.plan.json" "$TF_KEEP_PLAN_JSON"; fi
}

plan_checks() {
    [[ -s "$TF_WORK/dev.plan.json" ]] || { log "no plan JSON (the plan step failed)"; return 1; }
    TF_PLAN_JSON="$TF_WORK/dev.plan.json" TF_PLAN_IMAGE_TAG="$PLAN_IMAGE_TAG" \
        "$INFRA_VENV/bin/python" -m pytest -q -rs -p no:cacheprovider tests/infra/test_plan.py
}

rehearsal() {
    local mirror
    if ! mirror="$("$REPO/scripts/gen/tf_schema/tf_mirror.sh" "$TF_WORK/cli.tfrc")"; then
        log "################################################################################"
        log "SKIPPED: terraform validate, terraform test (dev, staging, prod), terraform plan"
        log "of dev against moto and the plan checks: no Terraform provider mirror with"
        log "hashicorp/aws on this machine (set TF_PROVIDER_MIRROR; docs/deploy.md, 'Deploy"
        log "rehearsal'). The static checks above still ran."
        log "################################################################################"
        [[ "${TF_REHEARSAL:-}" == require ]] && failed+=("deploy rehearsal (no provider mirror)")
        return 0
    fi
    log "provider mirror: $mirror"
    export TF_CLI_CONFIG_FILE="$TF_WORK/cli.tfrc" TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
    step "copy terraform/ to a scratch directory" tf_copy || return 0
    step "terraform validate (root)" tf_validate "$TF_WORK/repo/terraform"
    step "terraform validate (bootstrap)" tf_validate "$TF_WORK/repo/terraform/bootstrap"
    local env
    for env in dev staging prod; do
        step "terraform test ($env)" tf_test "$env"
    done
    step "terraform plan (dev, against moto)" tf_plan_moto
    step "pytest tests/infra/test_plan.py (the dev plan)" plan_checks
}

ansible_run() {
    (cd ansible && ANSIBLE_CONFIG="$REPO/ansible/ansible.cfg" ANSIBLE_LOCAL_TEMP="$(mktemp -d)" \
        "$INFRA_VENV/bin/ansible-playbook" --syntax-check site.yml)
}

step "terraform fmt" terraform fmt -check -recursive -diff terraform
step "checkov terraform" checkov_run --directory terraform --framework terraform
step "checkov dockerfile" checkov_run --file docker/Dockerfile --framework dockerfile
step "checkov github_actions" checkov_run --directory .github/workflows --framework github_actions
step "pytest tests/infra" pytest_run
rehearsal
step "ansible syntax-check" ansible_run
step "diagrams --check" "$REPO/scripts/gen/diagrams.sh" --check

if [[ ${#failed[@]} -gt 0 ]]; then
    log "FAILED: ${failed[*]}"
    exit 1
fi
log "all infrastructure checks passed"
