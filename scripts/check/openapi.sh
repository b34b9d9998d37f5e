#!/usr/bin/env bash
# Validates the served OpenAPI document (`local openapi` prints what /v1/openapi.json serves)
# against the OpenAPI 3.1 specification with openapi-spec-validator (pinned, in its own venv
# .venv-openapi, created on first use). Run by scripts/test.sh.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
venv="$repo/.venv-openapi"
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
ensure_venv "$venv" "$repo/scripts/check/requirements-openapi.txt" openapi-spec-validator
out="${CARGO_TARGET_DIR:-$repo/target}/openapi.json"
cargo run --quiet -p local -- openapi >"$out"
"$venv/bin/openapi-spec-validator" "$out"
printf 'openapi: %s operations, valid OpenAPI %s\n' \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(len([m for m in p if m in ("get","post","put","patch","delete")]) for p in d["paths"].values()))' "$out")" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["openapi"])' "$out")"
