# shellcheck shell=bash disable=SC2120
# The helpers every script of scripts/ shares. Source it after `set -euo pipefail`:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"    # from scripts/<group>/
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"       # from scripts/
#
# It sets REPO (the repository's root), TARGET_DIR (CARGO_TARGET_DIR, else $REPO/target) and
# STACK_SH (scripts/dev/stack.sh), and installs one EXIT trap that runs what `on_exit` registered
# (INT and TERM exit 130, so it runs then too). Nothing here changes directory.
#
#   log MSG / die MSG       "NAME: MSG" / "NAME: ERROR: MSG" on stderr; die exits DIE_STATUS (1).
#                           NAME is LOG_NAME, else the script's file name without .sh.
#   on_exit COMMAND         run COMMAND (a string, eval'd) at exit; the last registered runs first
#   stop_pid PID [TENTHS]   SIGTERM, up to TENTHS tenths of a second (50), then SIGKILL; reaps it
#   port_open PORT          something accepts connections on 127.0.0.1:PORT
#   free_port [START [NOT]] the first port >= START nothing listens on (and not NOT); without
#                           START a port the kernel picks
#   http_status URL         the HTTP status of GET URL, 000 when nothing answers
#   wait_http URL PID SECS [EVERY]
#                           until URL answers 200 (every EVERY s, 0.2); fails when PID dies or
#                           SECS run out
#   apt_install CMD[:PKG]...  installs the Debian package of every command that is missing
#   apt_packages PKG...     installs these Debian packages (as root)
#   ensure_venv VENV REQUIREMENTS EXECUTABLE
#                           (re)creates the pinned venv VENV unless it has EXECUTABLE and was made
#                           from the same requirements file (its sha256 is kept in the venv)
#   load_stack_env          exports the running local stack's settings (stack.env); fails if none
#   stack_up [LOG]          `stack.sh up` (idempotent; output to LOG, its tail shown on failure,
#                           else stderr; STACK_NICE=N: under nice -n N), registering
#                           `stack.sh down` at exit when no part of the stack was running before;
#                           then load_stack_env
#   stack_down_at_exit      only that registration (for a script that starts the stack otherwise)
#   start_local_server NAME [PREFERRED_PORT]
#                           builds `local` (debug), starts `local serve` on a free port with the
#                           loaded stack env, waits for its health route and stops it at exit;
#                           sets SERVER_PORT, SERVER_BASE, SERVER_PID, SERVER_LOG (target/NAME.log)
#   stop_local_server       stops it earlier
#   admin_token BASE        prints a fresh access token of the dev admin
#   busy_before WHAT        sets BUSY_BEFORE, how busy the machine is without us (% over 2 s),
#                           and warns above 10 % that the numbers will be WHAT and noisy
#   git_commit              the short HEAD, "(with uncommitted changes)" when tracked files differ
#   write_between_markers FILE BODY BEGIN END TITLE
#                           puts the file BODY between the lines BEGIN and END of FILE (a
#                           benchmark's results in its docs/benchmarks/ page), keeping the rest;
#                           a FILE without the markers gets "# TITLE", a line naming the script
#                           and the markered block appended

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
STACK_SH="$REPO/scripts/dev/stack.sh"

log() { printf '%s: %s\n' "${LOG_NAME:-$(basename "$0" .sh)}" "$*" >&2; }
die() {
    printf '%s: ERROR: %s\n' "${LOG_NAME:-$(basename "$0" .sh)}" "$*" >&2
    exit "${DIE_STATUS:-1}"
}

_ON_EXIT=()
on_exit() { _ON_EXIT+=("$*"); }
# shellcheck disable=SC2317 # called by the trap
_run_on_exit() {
    local i
    for ((i = ${#_ON_EXIT[@]} - 1; i >= 0; i--)); do
        eval "${_ON_EXIT[i]}" || true
    done
    _ON_EXIT=()
}
trap _run_on_exit EXIT
trap 'exit 130' INT TERM

stop_pid() {
    local pid="$1" tenths="${2:-50}"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq "$tenths"); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    if [[ -z "${1:-}" ]]; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
        return
    fi
    local port="$1"
    while port_open "$port" || [[ "$port" == "${2:-}" ]]; do
        port=$((port + 1))
        ((port < 65535)) || die "no free port from $1"
    done
    printf '%s\n' "$port"
}

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" || true; }

wait_http() {
    local url="$1" pid="$2" deadline=$((SECONDS + $3)) every="${4:-0.2}"
    until [[ "$(http_status "$url")" == 200 ]]; do
        kill -0 "$pid" 2>/dev/null || return 1
        ((SECONDS < deadline)) || return 1
        sleep "$every"
    done
}

apt_install() {
    local spec missing=()
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null || missing+=("${spec#*:}")
    done
    apt_packages "${missing[@]}"
}

apt_packages() {
    (($#)) || return 0
    [[ $EUID -eq 0 ]] || die "missing $*: run as root or install them"
    log "installing $*"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
        die "apt-get install $* failed"
}

ensure_venv() {
    local venv="$1" req="$2" exe="$3" want
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    if [[ -x "$venv/bin/$exe" && "$(cat "$venv/.requirements.sha256" 2>/dev/null)" == "$want" ]]; then
        return 0
    fi
    log "creating the venv $venv from $req"
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv?)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" ||
        die "installing $req failed"
    printf '%s\n' "$want" >"$venv/.requirements.sha256"
}

load_stack_env() {
    local file
    file="$("$STACK_SH" env 2>/dev/null || true)"
    [[ -n "$file" && -f "$file" ]] || return 1
    set -a
    # shellcheck source=/dev/null
    . "$file"
    set +a
}

stack_down_at_exit() {
    local before
    before="$("$STACK_SH" status 2>/dev/null | grep -c '^[a-z]* *up ' || true)"
    if ((before == 0)); then
        on_exit 'log "stopping the local stack (this script started it)"; "$STACK_SH" down >&2'
    elif ((before < 3)); then
        log "the stack was partly running: it will be left running afterwards"
    fi
}

stack_up() {
    local logfile="${1:-}" up_cmd=("$STACK_SH" up)
    [[ -z "${STACK_NICE:-}" ]] || up_cmd=(nice -n "$STACK_NICE" "${up_cmd[@]}")
    stack_down_at_exit
    if [[ -n "$logfile" ]]; then
        "${up_cmd[@]}" >"$logfile" 2>&1 || { tail -n 30 "$logfile" >&2; die "scripts/dev/stack.sh up failed"; }
    else
        "${up_cmd[@]}" >&2
    fi
    load_stack_env || die "no stack env after scripts/dev/stack.sh up"
}

# --------------------------------------------------------------------------- the local server

stop_local_server() {
    stop_pid "${SERVER_PID:-}"
    SERVER_PID=""
}

start_local_server() {
    local name="$1" preferred="${2:-}"
    : "${DATABASE_URL:?the stack env is not sourced: source \"\$(scripts/dev/stack.sh env)\"}"
    (cd "$REPO" && cargo build --quiet -p local)
    if [[ -n "$preferred" ]] && ! port_open "$preferred"; then
        SERVER_PORT="$preferred"
    else
        SERVER_PORT="$(free_port)"
    fi
    SERVER_BASE="http://127.0.0.1:$SERVER_PORT"
    SERVER_LOG="$TARGET_DIR/$name.log"
    mkdir -p "$TARGET_DIR"
    PORT="$SERVER_PORT" IMAGES_PUBLIC_BASE_URL="$SERVER_BASE/images" RUST_LOG="${RUST_LOG:-warn}" \
        "$TARGET_DIR/debug/local" serve >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    on_exit stop_local_server
    if ! wait_http "$SERVER_BASE/v1/products/health" "$SERVER_PID" 30 0.1; then
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "$name: the server did not become healthy within 30 s; its log ($SERVER_LOG):" >&2
        else
            echo "$name: the server exited during start-up; its log ($SERVER_LOG):" >&2
        fi
        tail -n 30 "$SERVER_LOG" >&2
        return 1
    fi
}

admin_token() {
    curl -fsS -X POST "$1/v1/users/login" -H 'content-type: application/json' \
        -d "$(python3 -c 'import json,os; print(json.dumps({"email": os.environ.get("LOCAL_ADMIN_EMAIL", "admin@example.com"), "password": os.environ.get("LOCAL_ADMIN_PASSWORD", "Admin-Passw0rd!")}))')" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# --------------------------------------------------------------------------- results

busy_before() {
    local a b
    a="$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)"
    sleep 2
    b="$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)"
    BUSY_BEFORE="$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
        busy = y[1] - x[1]; idle = y[2] - x[2]; printf "%.0f", 100 * busy / (busy + idle + 1e-9) }')"
    if ((BUSY_BEFORE > 10)); then
        log "WARNING: the machine is ${BUSY_BEFORE} % busy before the benchmark; the numbers will be $1 and noisy"
    fi
}

git_commit() {
    local commit
    commit="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [[ -n "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
        commit="$commit (with uncommitted changes)"
    fi
    printf '%s\n' "$commit"
}

write_between_markers() {
    local file="$1" body="$2" begin="$3" end="$4" title="$5" script
    script="$(realpath "$0")"
    mkdir -p "$(dirname "$file")"
    python3 - "$file" "$body" "$begin" "$end" "$title" "${script#"$REPO"/}" <<'PY'
import os, sys
path, body, begin, end, title, script = sys.argv[1:]
block = begin + "\n\n" + open(body).read().strip("\n") + "\n\n" + end
text = open(path).read() if os.path.exists(path) else ""
if begin in text and end in text.split(begin, 1)[1]:
    head, rest = text.split(begin, 1)
    text = head + block + rest.split(end, 1)[1]
else:
    text += ("\n" if text else "") + f"# {title}\n\nWritten by `{script}` between the markers (see its header for the knobs).\n\n{block}\n"
open(path, "w").write(text)
PY
}
