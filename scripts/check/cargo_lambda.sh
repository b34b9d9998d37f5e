#!/usr/bin/env bash
# cargo-lambda in the test command (docs/cargo-lambda.md): installs cargo-lambda (pip: it
# brings Zig) if missing, builds ONE function with `cargo lambda build`, runs that binary under
# `cargo lambda watch --only-lambda-apis` (the Runtime API emulator) with the local stack's
# env, and sends it its sample event with `cargo lambda invoke`: `GET /v1/products?limit=5`
# (events/products/list.json) must answer 200 with a page of items.
#
# Needs the local stack up (scripts/dev/stack.sh up). Environment (defaults):
# CARGO_TARGET_DIR=<repo>/target CARGO_LAMBDA_VENV=<repo>/.venv-cargo-lambda
# STACK_DIR=/var/tmp/shop-stack CARGO_LAMBDA_PORT=<a free port> CARGO_LAMBDA_RELEASE=0
# (1: `--release`; the test command builds the debug profile, which keeps it quick)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION=1.9.2
VENV="${CARGO_LAMBDA_VENV:-$REPO/.venv-cargo-lambda}"
STACK_ENV="${STACK_DIR:-/var/tmp/shop-stack}/stack.env"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
FUNCTION=products
EVENT="$REPO/events/products/list.json"
WORK="$(mktemp -d)"
WATCH_PID=""
FN_PID=""

log() { printf 'cargo-lambda: %s\n' "$*" >&2; }
die() {
    printf 'cargo-lambda: FAILED: %s\n' "$*" >&2
    exit 1
}
cleanup() {
    if [[ -n "$FN_PID" ]]; then kill "$FN_PID" 2>/dev/null || true; fi
    if [[ -n "$WATCH_PID" ]]; then kill "$WATCH_PID" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$REPO"

# 1. cargo-lambda and Zig from PyPI, in a venv of their own (quick when present).
if ! "$VENV/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q "cargo-lambda $VERSION"; then
    log "installing cargo-lambda $VERSION (pip, with Zig) into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$VERSION"
fi
export PATH="$VENV/bin:$PATH"
log "$(cargo lambda --version)"

[[ -f "$STACK_ENV" ]] || die "no $STACK_ENV: start the local stack (scripts/dev/stack.sh up)"

# 2. Build the function's bootstrap.
profile=(); [[ "${CARGO_LAMBDA_RELEASE:-0}" == 1 ]] && profile=(--release)
log "cargo lambda build -p $FUNCTION ${profile[*]} (target dir $CARGO_TARGET_DIR)"
started=$SECONDS
cargo lambda build --quiet -p "$FUNCTION" "${profile[@]}"
BOOTSTRAP="$CARGO_TARGET_DIR/lambda/$FUNCTION/bootstrap"
[[ -x "$BOOTSTRAP" ]] || die "no $BOOTSTRAP after the build"
log "built $BOOTSTRAP in $((SECONDS - started)) s"

# 3. The Runtime API emulator, and the bootstrap under it the way the image starts it
#    (`_HANDLER=bootstrap`: serve), with the local stack's env. `--only-lambda-apis` serves the
#    Runtime API without compiling the function again for the host triple.
INVOKE_PORT="${CARGO_LAMBDA_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
cargo lambda watch --only-lambda-apis --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
    >"$WORK/watch.log" 2>&1 &
WATCH_PID=$!
for _ in $(seq 300); do # it reads the workspace's metadata first: a few seconds
    (exec 3<>"/dev/tcp/127.0.0.1/$INVOKE_PORT") 2>/dev/null && break
    kill -0 "$WATCH_PID" 2>/dev/null || { cat "$WORK/watch.log" >&2; die "cargo lambda watch exited"; }
    sleep 0.2
done
log "cargo lambda watch --only-lambda-apis on 127.0.0.1:$INVOKE_PORT (pid $WATCH_PID)"
(
    set -a
    # shellcheck disable=SC1090
    source "$STACK_ENV"
    set +a
    export AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$INVOKE_PORT/.rt/$FUNCTION" AWS_LAMBDA_FUNCTION_NAME="$FUNCTION" \
        AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512 _HANDLER=bootstrap \
        RUST_LOG=warn
    exec "$BOOTSTRAP"
) >"$WORK/function.log" 2>&1 &
FN_PID=$!

# 4. Invoke it by name with the sample event (the emulator queues a function's events under
#    `/.rt/<name>`, as `cargo lambda watch` itself starts functions) and check the answer.
log "cargo lambda invoke $FUNCTION --data-file ${EVENT#"$REPO"/}"
if ! timeout 60 cargo lambda invoke "$FUNCTION" --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
    --data-file "$EVENT" --output-format json >"$WORK/answer.json" 2>"$WORK/invoke.err"; then
    cat "$WORK/invoke.err" "$WORK/function.log" >&2
    die "cargo lambda invoke failed"
fi
if ! python3 - "$WORK/answer.json" <<'EOF'; then
import json, sys
answer = json.load(open(sys.argv[1]))
body = json.loads(answer["body"])
assert answer["statusCode"] == 200, answer
assert isinstance(body["items"], list) and len(body["items"]) <= 5, body
assert answer["headers"]["x-request-id"] == "Jh3wKiYKoAMEVr1=", answer["headers"]
print(f"cargo-lambda: answer: statusCode 200, {len(body['items'])} item(s), "
      f"x-request-id {answer['headers']['x-request-id']}", file=sys.stderr)
EOF
    cat "$WORK/answer.json" "$WORK/function.log" >&2
    die "unexpected answer to ${EVENT#"$REPO"/}"
fi
log "OK: cargo lambda build + watch + invoke of $FUNCTION"
