#!/usr/bin/env bash
# Applies the database migrations in AWS: invokes the migration function (the
# products image with the `migrate` command, db_migrate_lambda) once and fails
# when the function reports an error, so a deploy never rolls out code whose
# schema did not apply. Used by .github/workflows/deploy.yml and by hand
# (docs/deploy.md):
#
#   scripts/deploy/invoke_migrations.sh "$(terraform -chdir=terraform output -raw migrate_function_name)"
#
# Needs the AWS CLI v2, jq and credentials allowed to lambda:InvokeFunction.
set -euo pipefail

fn="${1:?usage: invoke_migrations.sh FUNCTION_NAME}"
out="$(mktemp)"
meta="$(mktemp)"
trap 'rm -f "$out" "$meta"' EXIT

echo "invoking ${fn} (migrations)..." >&2
aws lambda invoke \
    --function-name "$fn" \
    --cli-binary-format raw-in-base64-out \
    --payload '{"source":"deploy","task":"migrate"}' \
    --log-type Tail \
    --cli-read-timeout 900 \
    "$out" >"$meta"

# The last 4 KB of the function's log, whatever the outcome.
jq -r '.LogResult // empty' "$meta" | base64 -d >&2 || true
echo "response: $(head -c 2000 "$out")" >&2

if jq -e 'has("FunctionError")' "$meta" >/dev/null; then
    echo "error: ${fn} failed ($(jq -r .FunctionError "$meta")); the deploy stops here" >&2
    exit 1
fi
echo "migrations applied" >&2
