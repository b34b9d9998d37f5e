#!/usr/bin/env bash
# Generates a Python client from the served OpenAPI document with openapi-python-client (pinned
# in scripts/check/requirements-client.txt, its own venv .venv-client, created on first use; a
# generator warning fails the check), installs it into that venv, and drives a journey with it
# against a real `local serve` (scripts/check/client_journey.py: sign in, create a product with an
# Idempotency-Key, list, read, upload an image and wait for the pipeline). Needs the local
# stack's env (scripts/test.sh sources it); the client is generated under target/, never into
# the repository; the server's log is target/check_client.log.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
repo="$REPO"
cd "$repo"
started=$SECONDS

venv="$repo/.venv-client"
ensure_venv "$venv" "$repo/scripts/check/requirements-client.txt" openapi-python-client

target="$TARGET_DIR"
work="$target/client"
rm -rf "$work"
mkdir -p "$work"
cargo run --quiet -p local -- openapi >"$work/openapi.json"
# The generator runs ruff (a dependency of it, in the venv) over what it wrote.
(cd "$work" && PATH="$venv/bin:$PATH" "$venv/bin/openapi-python-client" generate \
    --path "$work/openapi.json" --meta setup --output-path "$work/generated" --fail-on-warning \
    >"$work/generate.log" 2>&1) || {
    cat "$work/generate.log" >&2
    echo "check_client: openapi-python-client could not generate a client from the document" >&2
    exit 1
}
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall "$work/generated"

start_local_server check_client 18091
"$venv/bin/python" scripts/check/client_journey.py "$SERVER_BASE"
printf 'check_client: generated client (%s operations) drove the journey in %ss\n' \
    "$(find "$work"/generated/*/api -mindepth 2 -maxdepth 2 -name '*.py' ! -name __init__.py | wc -l)" "$((SECONDS - started))"
