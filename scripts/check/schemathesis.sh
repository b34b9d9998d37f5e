#!/usr/bin/env bash
# Fuzzes the real all-in-one server from its own OpenAPI document with schemathesis (pinned in
# scripts/check/requirements-schemathesis.txt, its own venv .venv-schemathesis, created on first use):
# every check, every phase (examples, coverage, fuzzing, stateful), signed in as the dev admin.
# Any failure of any kind fails the script. Needs the local stack's env (scripts/test.sh sources
# it); starts its own `local serve` (log: target/check_schemathesis.log) and stops it on exit.
#
#   SCHEMATHESIS_MAX_EXAMPLES  cases per operation and phase (default 12: ~500 cases in all)
#   SCHEMATHESIS_SEED          replay a run (printed at its end); random by default
#
# Data: the run creates products, users and carts with random values in the shared database
# (and may delete or re-price products it created); nothing depends on a clean database, so
# runs repeat.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
repo="$REPO"
cd "$repo"
started=$SECONDS

venv="$repo/.venv-schemathesis"
ensure_venv "$venv" "$repo/scripts/check/requirements-schemathesis.txt" schemathesis

start_local_server check_schemathesis 18090
token="$(admin_token "$SERVER_BASE")"

target="$TARGET_DIR"
report_dir="$target/schemathesis"
rm -rf "$report_dir"
mkdir -p "$report_dir"
seed_args=()
[[ -n "${SCHEMATHESIS_SEED:-}" ]] && seed_args=(--seed "$SCHEMATHESIS_SEED")

# No check is excluded; scripts/check/schemathesis.toml only names, per operation, statuses that a
# schema-valid request may get from the server's state (a full cart, an empty one, a reused key).
status=0
"$venv/bin/schemathesis" --config-file "$repo/scripts/check/schemathesis.toml" run \
    "$SERVER_BASE/v1/openapi.json" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-12}" \
    --header "Authorization: Bearer $token" \
    --workers 2 \
    --request-timeout 30 \
    --no-color \
    --report junit,ndjson --report-dir "$report_dir" \
    "${seed_args[@]}" >"$report_dir/output.txt" 2>&1 || status=$?

# The case count and the verdict, from the run's own summary.
summary="$(grep -E '^ *[0-9]+ generated' "$report_dir/output.txt" | tail -n 1 | sed 's/^ *//')"
if [[ $status -ne 0 || -z "$summary" ]] || ! grep -qE '^ *[0-9]+ generated, [0-9]+ passed' "$report_dir/output.txt"; then
    cat "$report_dir/output.txt" >&2
    echo "check_schemathesis: FAILED (exit $status): ${summary:-no summary}; server log: $SERVER_LOG" >&2
    exit 1
fi
generated="${summary%% generated*}"
printf 'check_schemathesis: %s test cases generated, 0 failures (%s; all checks, phases examples, coverage, fuzzing, stateful) in %ss\n' \
    "$generated" "$summary" "$((SECONDS - started))"
