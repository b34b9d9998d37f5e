#!/usr/bin/env bash
# Static checks of the infrastructure code, run by the test command and by CI:
#
#   1. terraform fmt -check -recursive terraform
#   2. checkov (offline, --skip-download) on terraform/, docker/Dockerfile and .github/workflows:
#      zero failed checks; every skip is justified inline (#checkov:skip=CKV_...:reason)
#   3. pytest tests/infra: the modules against scripts/aws_resources.json, house rules, tfvars;
#      every resource/data block against the aws provider schema (5.99.1, committed trimmed in
#      tests/infra/aws_provider_schema.json; scripts/tf_schema/regenerate.sh rebuilds it); the
#      per-function IAM contract; value guards the schema cannot see (AUTH token characters,
#      Cognito tier, name lengths, reserved concurrency vs the declared account limit, files
#      read by templatefile() rendering to JSON, images behind CloudFront OAC, the Dockerfile,
#      workflow pins and deploy gating). The checkout ASL check says SKIPPED until
#      statemachines/checkout_workflow.asl.json exists. terraform validate/test need the
#      provider binaries and run in CI (.github/workflows/ci.yml, job terraform).
#   4. ansible-playbook --syntax-check ansible/site.yml
#   5. scripts/diagrams.sh --check: architecture.png always; database_rds_schema.png when a
#      database is reachable (PG_ADMIN_URL or the local stack's stack.env), else said skipped
#
# On a fresh Debian machine (as root) it installs what is missing: graphviz, fonts, psql and
# python3-venv from apt; checkov in .venv-checkov and python-hcl2 + pytest + ansible-core in
# .venv-infra (pinned in tests/infra/requirements*.txt; rebuilt when those files change).
# Terraform itself must be on PATH (it is not packaged in Debian). Runs every step, then exits
# non-zero if any failed.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

log() { printf 'check_infra: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

PYTHON="${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}"
CHECKOV_VENV="$REPO/.venv-checkov"
INFRA_VENV="$REPO/.venv-infra"

# ------------------------------------------------------------------- prerequisites

apt_missing=()
command -v dot >/dev/null || apt_missing+=(graphviz)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || apt_missing+=(fonts-dejavu-core)
command -v psql >/dev/null || apt_missing+=(postgresql-client)
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || apt_missing+=(python3-venv)
if [[ ${#apt_missing[@]} -gt 0 ]]; then
    [[ $EUID -eq 0 ]] || die "missing ${apt_missing[*]}; run as root or install them"
    log "installing ${apt_missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null ||
        die "apt-get install ${apt_missing[*]} failed"
fi
command -v terraform >/dev/null || die "terraform is not on PATH (install Terraform >= 1.6)"

ensure_venv() { # ensure_venv DIR REQUIREMENTS_FILE
    local dir="$1" req="$2" stamp want
    stamp="$dir/.requirements.sha256"
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    log "creating $(basename "$dir") from ${req#"$REPO"/}"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir" &&
        "$dir/bin/pip" install -q --disable-pip-version-check -r "$req" &&
        printf '%s\n' "$want" >"$stamp" || die "could not build $dir"
}
ensure_venv "$CHECKOV_VENV" "$REPO/tests/infra/requirements-checkov.txt"
ensure_venv "$INFRA_VENV" "$REPO/tests/infra/requirements.txt"

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

pytest_run() {
    "$INFRA_VENV/bin/python" -m pytest -q -rs -p no:cacheprovider tests/infra
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
step "ansible syntax-check" ansible_run
step "diagrams --check" "$REPO/scripts/diagrams.sh" --check

if [[ ${#failed[@]} -gt 0 ]]; then
    log "FAILED: ${failed[*]}"
    exit 1
fi
log "all infrastructure checks passed"
