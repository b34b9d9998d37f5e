#!/usr/bin/env bash
# Validates the served OpenAPI document (`local openapi` prints what /v1/openapi.json serves)
# against the OpenAPI 3.1 specification with openapi-spec-validator (pinned, in its own venv
# .venv-openapi, created on first use). Run by scripts/test.sh.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
repo="$REPO"
cd "$repo"
venv="$repo/.venv-openapi"
ensure_venv "$venv" "$repo/scripts/check/requirements-openapi.txt" openapi-spec-validator
out="$TARGET_DIR/openapi.json"
cargo run --quiet -p local -- openapi >"$out"
"$venv/bin/openapi-spec-validator" "$out"
printf 'openapi: %s operations, valid OpenAPI %s\n' \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(len([m for m in p if m in ("get","post","put","patch","delete")]) for p in d["paths"].values()))' "$out")" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["openapi"])' "$out")"
