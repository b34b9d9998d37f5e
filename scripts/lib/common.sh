# Sourced by the check scripts that drive a real all-in-one server (check_schemathesis.sh,
# check_client.sh; check_openapi.sh for ensure_venv only): builds `local`, starts `local serve`
# on a free port with the stack's env (the caller has sourced it), waits for it, and stops it
# when the calling script exits.
#
#   start_local_server NAME [PREFERRED_PORT]
#     sets SERVER_PORT, SERVER_BASE (http://127.0.0.1:PORT), SERVER_PID, SERVER_LOG
#     (target/NAME.log) and installs an EXIT trap that stops the server.
#   admin_token BASE     prints a fresh access token of the dev admin.
#   ensure_venv VENV REQUIREMENTS EXECUTABLE
#                        (re)creates the pinned venv VENV from REQUIREMENTS unless it has
#                        EXECUTABLE and was made from the same file (sha256 kept in the venv).

_lib_server_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_lib_server_target="${CARGO_TARGET_DIR:-$_lib_server_repo/target}"

_port_is_free() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_local_server() {
    if [[ -n "${SERVER_PID:-}" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

start_local_server() {
    local name="$1" preferred="${2:-}"
    : "${DATABASE_URL:?the stack env is not sourced: source \"\$(scripts/dev/stack.sh env)\"}"
    (cd "$_lib_server_repo" && cargo build --quiet -p local)
    if [[ -n "$preferred" ]] && _port_is_free "$preferred"; then
        SERVER_PORT="$preferred"
    else
        SERVER_PORT="$(_free_port)"
    fi
    SERVER_BASE="http://127.0.0.1:$SERVER_PORT"
    SERVER_LOG="$_lib_server_target/$name.log"
    mkdir -p "$_lib_server_target"
    PORT="$SERVER_PORT" IMAGES_PUBLIC_BASE_URL="$SERVER_BASE/images" RUST_LOG="${RUST_LOG:-warn}" \
        "$_lib_server_target/debug/local" serve >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    trap stop_local_server EXIT
    for _ in $(seq 1 300); do
        if curl -fs "$SERVER_BASE/v1/products/health" -o /dev/null; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "$name: the server exited during start-up; its log ($SERVER_LOG):" >&2
            tail -n 30 "$SERVER_LOG" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "$name: the server did not become healthy within 30 s; its log ($SERVER_LOG):" >&2
    tail -n 30 "$SERVER_LOG" >&2
    return 1
}

admin_token() {
    local base="$1"
    curl -fsS -X POST "$base/v1/users/login" -H 'content-type: application/json' \
        -d "$(python3 -c 'import json,os; print(json.dumps({"email": os.environ.get("LOCAL_ADMIN_EMAIL", "admin@example.com"), "password": os.environ.get("LOCAL_ADMIN_PASSWORD", "Admin-Passw0rd!")}))')" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

ensure_venv() {
    local venv="$1" req="$2" exe="$3" want
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    if [[ ! -x "$venv/bin/$exe" || "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]]; then
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
        printf '%s\n' "$want" >"$venv/.requirements.sha256"
    fi
}
