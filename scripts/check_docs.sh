#!/usr/bin/env bash
# Checks the interactive documentation in a real headless browser: starts the all-in-one server
# on a free port (the local stack must be up: run by scripts/test.sh after `stack.sh up`), loads
# /v1/docs in Chromium (Debian's package, installed if missing; offline: the page has no external
# assets), and requires the rendered page to list every operation of /v1/openapi.json.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
# shellcheck disable=SC1090
source "$(scripts/stack.sh env)"

if ! command -v chromium >/dev/null; then
    [[ $EUID -eq 0 ]] || { echo "check_docs: chromium is missing; run as root or install it" >&2; exit 1; }
    echo "check_docs: installing chromium" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null ||
        { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
fi

cargo build --quiet -p local
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="${CARGO_TARGET_DIR:-$repo/target}/check_docs.log"
PORT="$port" RUST_LOG=warn "${CARGO_TARGET_DIR:-$repo/target}/debug/local" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/v1/openapi.json" -o /dev/null && break
    sleep 0.1
done
expected="$(curl -fs "http://127.0.0.1:$port/v1/openapi.json" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
print(sum(1 for item in doc["paths"].values() for m in ("get", "post", "put", "patch", "delete") if m in item))')"
profile="$(mktemp -d)"
dom="$(timeout 60 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$profile" --virtual-time-budget=10000 --dump-dom "http://127.0.0.1:$port/v1/docs" 2>/dev/null)"
rm -rf "$profile"
listed="$(grep -o 'data-operation="[A-Z]* [^"]*"' <<<"$dom" | sort -u | wc -l)"
if [[ "$listed" -ne "$expected" || "$expected" -eq 0 ]]; then
    echo "check_docs: /v1/docs lists $listed operations; the document has $expected" >&2
    exit 1
fi
echo "check_docs: /v1/docs lists all $expected operations (headless Chromium, offline page)"
