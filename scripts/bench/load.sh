#!/usr/bin/env bash
# Load scenario for the hot paths — browse → product page → cart → checkout — with Locust,
# headless and bounded in time, against the local platform; writes a markdown report per step
# (requests, failures, requests/s, p50/p95/p99) to docs/benchmarks/load.md.
#
#   scripts/bench/load.sh                                   # 20 users, 5/s, 60 s against :8080
#   LOAD_USERS=50 LOAD_DURATION=120 scripts/bench/load.sh
#   BASE_URL=http://127.0.0.1:18080 scripts/bench/load.sh   # a server that is already running
#
# The scenario is scripts/bench/locustfile.py (its docstring lists the tasks and their weights); the
# dev admin seeds LOAD_PRODUCTS products with LOAD_STOCK units each first, and every user signs
# up through POST /v1/users/register and signs in before its first task.
#
# Locust is pinned in scripts/bench/requirements-locust.txt and installed into its own venv
# (LOAD_VENV, rebuilt when that file changes). It runs under `nice -n LOAD_NICE` (the machine is
# shared; the generator then yields to builds rather than the server).
#
# If nothing answers at BASE_URL (default http://127.0.0.1:8080, loopback only), the script
# starts the platform itself and stops it at the end: `scripts/run.sh` (the local stack and the
# debug build of the all-in-one server; the build is done first under `nice -n 19`) in the
# background, or with LOAD_SERVER_BIN=<path to a `local` binary> (e.g. target/release/local)
# that binary against the stack (`scripts/dev/stack.sh up` first). The stack is stopped again at
# the end only if no part of it was running before. A running server is used as it is.
#
# Exit status: 0 no request failed; 1 some requests failed (the report is written anyway);
# 2 a setup failure (no server, seeding or sign-up failed, Locust crashed).
#
# Environment (defaults): BASE_URL=http://127.0.0.1:8080 LOAD_USERS=20 LOAD_SPAWN_RATE=5
# LOAD_DURATION=60 (seconds of load) LOAD_STOP_TIMEOUT=15 (seconds a user may finish its task
# after that) LOAD_WAIT_MIN=0.5 LOAD_WAIT_MAX=2.0 (think time, seconds) LOAD_PRODUCTS=12
# LOAD_STOCK=1000000 LOAD_POLL_MS=100 LOAD_CONFIRM_TIMEOUT=60 LOAD_NICE=10
# LOAD_VENV=<repo>/.venv-locust LOAD_OUT=docs/benchmarks/load.md (empty: print only)
# LOAD_SERVER_BIN= (see above) LOAD_SERVER_WAIT=900 (seconds for a started server's build and
# start) LOAD_KEEP_RAW=<dir> (keep Locust's CSVs and logs, and the server's log).
set -euo pipefail

LOG_NAME=load DIE_STATUS=2
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO"

case "${1:-}" in
"") ;;
-h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
*)
    printf 'load: ERROR: no arguments expected (got %q); see --help\n' "$1" >&2
    exit 2
    ;;
esac

BASE_URL="${BASE_URL:-http://127.0.0.1:8080}"
BASE_URL="${BASE_URL%/}"
LOAD_USERS="${LOAD_USERS:-20}"
LOAD_SPAWN_RATE="${LOAD_SPAWN_RATE:-5}"
LOAD_DURATION="${LOAD_DURATION:-60}"
LOAD_STOP_TIMEOUT="${LOAD_STOP_TIMEOUT:-15}"
LOAD_NICE="${LOAD_NICE:-10}"
LOAD_VENV="${LOAD_VENV:-$REPO/.venv-locust}"
LOAD_OUT="${LOAD_OUT-docs/benchmarks/load.md}"
LOAD_SERVER_BIN="${LOAD_SERVER_BIN:-}"
LOAD_SERVER_WAIT="${LOAD_SERVER_WAIT:-900}"
LOAD_KEEP_RAW="${LOAD_KEEP_RAW:-}"
export LOAD_WAIT_MIN="${LOAD_WAIT_MIN:-0.5}" LOAD_WAIT_MAX="${LOAD_WAIT_MAX:-2.0}"
export LOAD_PRODUCTS="${LOAD_PRODUCTS:-12}" LOAD_STOCK="${LOAD_STOCK:-1000000}"
export LOAD_POLL_MS="${LOAD_POLL_MS:-100}" LOAD_CONFIRM_TIMEOUT="${LOAD_CONFIRM_TIMEOUT:-60}"
REQUIREMENTS="$REPO/scripts/bench/requirements-locust.txt"

for n in LOAD_USERS LOAD_SPAWN_RATE LOAD_DURATION LOAD_STOP_TIMEOUT LOAD_SERVER_WAIT; do
    [[ "${!n}" =~ ^[0-9]+$ && "${!n}" -gt 0 ]] || {
        printf 'load: ERROR: %s must be a positive integer (got %q)\n' "$n" "${!n}" >&2
        exit 2
    }
done

WORK="$(mktemp -d /tmp/load.XXXXXX)"
SERVER_PID=""

# shellcheck disable=SC2317 # called at exit
keep_raw() {
    if [[ -n "$LOAD_KEEP_RAW" ]]; then
        mkdir -p "$LOAD_KEEP_RAW"
        cp -f "$WORK"/* "$LOAD_KEEP_RAW"/ 2>/dev/null || true
        log "raw files kept in $LOAD_KEEP_RAW"
    fi
    rm -rf "$WORK"
}
on_exit keep_raw

# shellcheck disable=SC2317 # called at exit
stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        log "stopping the server this script started (pid $SERVER_PID)"
        if [[ "$(cat "/proc/$SERVER_PID/comm" 2>/dev/null)" == local ]]; then
            kill -TERM "$SERVER_PID" 2>/dev/null || true # run.sh has exec'd the server
        else
            # run.sh is still setting up: started with setsid, its process group (run.sh,
            # stack.sh, cargo) is ours alone.
            kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
        fi
        stop_pid "$SERVER_PID" 100
    fi
    SERVER_PID=""
}

# --------------------------------------------------------------------------- the server

command -v curl >/dev/null || die "curl is required"
ensure_venv "$LOAD_VENV" "$REQUIREMENTS" locust

server=""
if [[ "$(http_status "$BASE_URL/v1/products/health")" == 000 ]]; then
    [[ "$BASE_URL" =~ ^http://(127\.0\.0\.1|localhost):([0-9]+)$ ]] ||
        die "nothing answers at $BASE_URL (the script starts a server only on loopback)"
    port="${BASH_REMATCH[2]}"
    stack_down_at_exit
    on_exit stop_server
    if [[ -z "$LOAD_SERVER_BIN" ]]; then
        # run.sh builds with a plain `cargo build`: build first, niced, so that it finds the
        # binary up to date.
        log "building the debug server (nice -n 19 cargo build -p local)"
        nice -n 19 cargo build --quiet -p local || die "cargo build -p local failed"
        log "nothing answers at $BASE_URL: starting scripts/run.sh (PORT=$port) in the background"
        PORT="$port" setsid scripts/run.sh >"$WORK/server.log" 2>&1 &
        SERVER_PID=$!
        bin="$TARGET_DIR/debug/local"
        server="debug build started by \`scripts/run.sh\`"
    else
        [[ -x "$LOAD_SERVER_BIN" ]] || die "LOAD_SERVER_BIN=$LOAD_SERVER_BIN is not executable"
        bin="$(cd "$(dirname "$LOAD_SERVER_BIN")" && pwd)/$(basename "$LOAD_SERVER_BIN")"
        log "scripts/dev/stack.sh up"
        "$STACK_SH" up >"$WORK/stack-up.log" 2>&1 || {
            tail -n 30 "$WORK/stack-up.log" >&2
            die "scripts/dev/stack.sh up failed"
        }
        log "nothing answers at $BASE_URL: starting $bin serve (PORT=$port) in the background"
        (
            load_stack_env || exit 2
            export PORT="$port" HOST=127.0.0.1 IMAGES_PUBLIC_BASE_URL="$BASE_URL/images"
            exec setsid "$bin" serve
        ) >"$WORK/server.log" 2>&1 &
        SERVER_PID=$!
        server="\`${bin#"$REPO"/} serve\` started by this script"
    fi
    if ! wait_http "$BASE_URL/v1/orders/health" "$SERVER_PID" "$LOAD_SERVER_WAIT" 0.5; then
        tail -n 30 "$WORK/server.log" >&2
        die "the server did not become healthy on $BASE_URL"
    fi
    rust_log="$(tr '\0' '\n' <"/proc/$SERVER_PID/environ" 2>/dev/null | sed -n 's/^RUST_LOG=//p')"
    server="$server (\`${bin#"$REPO"/}\`, built $(date -u -r "$bin" +%Y-%m-%dT%H:%MZ), RUST_LOG=${rust_log:-unset}, log to a file)"
    log "the server answers on $BASE_URL"
else
    [[ "$(http_status "$BASE_URL/v1/orders/health")" == 200 ]] ||
        die "$BASE_URL answers but GET /v1/orders/health is not 200"
    server="already running at $BASE_URL (not started by this script)"
fi

# The admin account of the stack (falls back to the README's defaults in the locustfile).
admin_email="$(if load_stack_env >/dev/null 2>&1; then printf '%s' "${LOCAL_ADMIN_EMAIL:-}"; fi)"
admin_password="$(if load_stack_env >/dev/null 2>&1; then printf '%s' "${LOCAL_ADMIN_PASSWORD:-}"; fi)"
export LOAD_ADMIN_EMAIL="${LOAD_ADMIN_EMAIL:-$admin_email}"
export LOAD_ADMIN_PASSWORD="${LOAD_ADMIN_PASSWORD:-$admin_password}"
export LOAD_RUN_ID="${LOAD_RUN_ID:-$(date -u +%Y%m%d%H%M%S)-$$}"

# The pid listening on BASE_URL's port (this machine only), for its CPU time.
server_pid=""
if [[ "$BASE_URL" =~ ^http://(127\.0\.0\.1|localhost):([0-9]+)$ ]]; then
    server_pid="$(ss -Htlnp "sport = :${BASH_REMATCH[2]}" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1)"
fi
export LOAD_SERVER_PID="${server_pid:-0}"

# Another `local` process on the same stack (the same AWS endpoint) also polls the checkout task
# queue and runs some of this run's saga steps with its own binary: the report says so.
endpoint="$(if load_stack_env >/dev/null 2>&1; then printf '%s' "${AWS_ENDPOINT_URL:-}"; fi)"
others=""
for pid in $(pgrep -x local 2>/dev/null || true); do
    [[ "$pid" == "${server_pid:-}" ]] && continue
    [[ -n "$SERVER_PID" && "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$SERVER_PID" ]] && continue
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "AWS_ENDPOINT_URL=$endpoint"; then
        others+="$pid ($(readlink "/proc/$pid/exe" 2>/dev/null || echo '?')) "
    fi
done

# --------------------------------------------------------------------------- the run

# CPU seconds of the server, the stack's processes (from its pid files; the PostgreSQL
# postmaster with its backends), other `local` servers and the whole machine, from /proc.
stack_dir="$(if load_stack_env >/dev/null 2>&1; then printf '%s' "${STACK_DIR:-}"; fi)"
export LOAD_STACK_DIR="${stack_dir:-/var/tmp/shop-stack}"
cpu_snapshot() {
    "$LOAD_VENV/bin/python" - <<'PY'
import json, os
tick = os.sysconf("SC_CLK_TCK")
stack = os.environ["LOAD_STACK_DIR"]

def first_line(path):
    try:
        with open(path) as f:
            return f.readline().strip()
    except OSError:
        return ""

roles = {os.environ["LOAD_SERVER_PID"]: "server",
         first_line(f"{stack}/pg/postmaster.pid"): "PostgreSQL",
         first_line(f"{stack}/redis.pid"): "Redis",
         first_line(f"{stack}/moto.pid"): "moto"}
roles.pop("", None)
roles.pop("0", None)
cpu = {}  # "role pid" → CPU seconds
procs = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        continue
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    procs[pid] = (comm, fields[1], (int(fields[11]) + int(fields[12])) / tick)
for pid, (comm, ppid, seconds) in procs.items():
    role = roles.get(pid) or (roles.get(ppid) == "PostgreSQL" and "PostgreSQL")
    if role or comm == "local":
        cpu[f"{role or 'other `local` servers (any stack)'} {pid}"] = seconds
with open("/proc/stat") as f:
    total = [int(x) for x in f.readline().split()[1:]]
cpu["machine busy"] = (sum(total) - total[3] - total[4]) / tick  # all but idle and iowait
print(json.dumps(cpu))
PY
}

# CPU seconds (user + system) of this shell's finished children, from the output of `times`
# (which must run in this shell, not in a subshell: a fork starts with zero times).
children_cpu() {
    sed -n 2p "$1" | awk '{ for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } } END { printf "%.2f\n", s }'
}

log "Locust: $LOAD_USERS users (spawn $LOAD_SPAWN_RATE/s), ${LOAD_DURATION}s against $BASE_URL"
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
cpu_snapshot >"$WORK/cpu-before.json"
times >"$WORK/times-before"
t0=$SECONDS
status=0
# Bound: the run, the users' stop timeout, and time for seeding and the serialized sign-ups.
timeout --kill-after=10 "$((LOAD_DURATION + LOAD_STOP_TIMEOUT + 180))" \
    nice -n "$LOAD_NICE" "$LOAD_VENV/bin/locust" -f "$REPO/scripts/bench/locustfile.py" \
    --host "$BASE_URL" --headless -u "$LOAD_USERS" -r "$LOAD_SPAWN_RATE" -t "${LOAD_DURATION}s" \
    --stop-timeout "$LOAD_STOP_TIMEOUT" --csv "$WORK/load" --only-summary \
    --loglevel INFO --logfile "$WORK/locust.log" --exit-code-on-error 1 \
    >"$WORK/locust.out" 2>&1 || status=$?
wall=$((SECONDS - t0))
cpu_snapshot >"$WORK/cpu-after.json"
export LOAD_LOCUST_CPU
times >"$WORK/times-after"
LOAD_LOCUST_CPU="$(awk -v a="$(children_cpu "$WORK/times-before")" -v b="$(children_cpu "$WORK/times-after")" 'BEGIN { printf "%.2f", b - a }')"
cat "$WORK/locust.out" >&2
if ((status != 0 && status != 1)) || [[ ! -s "$WORK/load_stats.csv" ]]; then
    tail -n 40 "$WORK/locust.log" >&2 || true
    die "Locust failed (exit $status)"
fi
if ((status == 1)); then
    log "some requests failed; the first logged failures:"
    grep -m 10 -E 'WARNING/load|ERROR' "$WORK/locust.log" >&2 || true
fi

# --------------------------------------------------------------------------- the report

export LOAD_STARTED="$started" LOAD_WALL="$wall" LOAD_SERVER="$server" LOAD_OTHERS="$others"
export LOAD_COMMIT
LOAD_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- crates services migrations 2>/dev/null || LOAD_COMMIT="$LOAD_COMMIT + uncommitted changes"
export LOAD_MACHINE
LOAD_MACHINE="$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
export LOAD_LOCUST
LOAD_LOCUST="$("$LOAD_VENV/bin/locust" --version 2>&1 | head -n 1 | sed 's/ from .* (/ (/')"
export LOAD_BASE_URL="$BASE_URL" LOAD_USERS LOAD_SPAWN_RATE LOAD_DURATION LOAD_NICE

"$LOAD_VENV/bin/python" - "$WORK" >"$WORK/report.md" <<'PY'
import csv, json, os, sys

work = sys.argv[1]
env = os.environ
with open(f"{work}/load_stats.csv", newline="") as f:
    rows = list(csv.DictReader(f))
with open(f"{work}/load_failures.csv", newline="") as f:
    failures = list(csv.DictReader(f))
before = json.load(open(f"{work}/cpu-before.json"))
after = json.load(open(f"{work}/cpu-after.json"))

total = next(r for r in rows if r["Name"] == "Aggregated")
steps = [r for r in rows if r["Name"] != "Aggregated"]
# One window for every row: Locust's per-row rate starts at each row's first request.
window = int(total["Request Count"]) / float(total["Requests/s"]) if float(total["Requests/s"]) else 0

def ms(value: str) -> str:
    return "–" if value in ("", "N/A") else f"{float(value):,.0f} ms"

def row(r: dict, label: str) -> str:
    count, failed = int(r["Request Count"]), int(r["Failure Count"])
    rps = count / window if window else 0.0
    fail = f"**{failed}**" if failed else "0"
    return (f"| {label} | {count:,} | {fail} | {rps:.2f} | {ms(r['50%'])} | {ms(r['95%'])} | "
            f"{ms(r['99%'])} |")

out = [
    f"Locust, {env['LOAD_USERS']} users (spawned {env['LOAD_SPAWN_RATE']}/s, each signing up "
    f"first), {env['LOAD_DURATION']} s against {env['LOAD_BASE_URL']}; think time "
    f"{env['LOAD_WAIT_MIN']}–{env['LOAD_WAIT_MAX']} s between tasks; requests/s over the whole "
    f"{window:.0f} s window.",
    "",
    "| step | requests | failures | req/s | p50 | p95 | p99 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
]
for r in steps:
    name = r["Name"]
    step, _, rest = name.partition(" ")
    if r["Type"] == "SAGA":
        label = f"{step}. `POST /v1/orders` sent → `CONFIRMED` seen (polled every {env['LOAD_POLL_MS']} ms)"
    else:
        what, _, path = rest.partition(" /")
        path, _, note = path.partition(" (")
        label = f"{step}. {what}: `{r['Type']} /{path}`" + (f" ({note}" if note else "")
    out.append(row(r, label))
out.append(row(total, "**all requests**"))
out += ["", "Failures:", ""]
if failures:
    out += ["| request | error | occurrences |", "| --- | --- | ---: |"]
    out += [f"| `{f['Method']} {f['Name']}` | {f['Error']} | {f['Occurrences']} |" for f in failures]
else:
    out.append("none.")
wall = float(env["LOAD_WALL"])
# Per process: what it used since the first snapshot (or since it started); a process that
# ended before the second snapshot (a PostgreSQL backend) is not counted.
busy = after.pop("machine busy") - before.pop("machine busy")
cpu = dict.fromkeys(["server", "PostgreSQL", "Redis", "moto", "other `local` servers (any stack)"], 0.0)
for key, seconds in after.items():
    cpu[key.rsplit(" ", 1)[0]] += seconds - before.get(key, 0.0)
cpu["Locust"] = float(env["LOAD_LOCUST_CPU"])
named = sum(cpu.values())
if env["LOAD_SERVER_PID"] == "0":
    cpu.pop("server")  # not found on this machine
out += [
    "",
    f"CPU during the run ({wall:.0f} s wall, seeding and sign-ups included; the machine has "
    f"{os.cpu_count()} cores): " + ", ".join(f"{k} {v / wall:.2f}" for k, v in cpu.items())
    + f", everything else {max(busy - named, 0) / wall:.2f} cores.",
]
# The server's own view when this script started it: the per-request latency it reports in its
# EMF metric lines (RouteClass, Latency), the seeding's requests included.
latency, levels = {}, {}
try:
    with open(f"{work}/server.log", errors="replace") as f:
        for line in f:
            if '"RouteClass"' in line and '"Latency"' in line:
                try:
                    doc = json.loads(line)
                    latency.setdefault(doc["RouteClass"], []).append(float(doc["Latency"]))
                except (ValueError, KeyError, TypeError):
                    pass
            for level in ("WARN", "ERROR"):
                if f'"level":"{level}"' in line:
                    levels[level] = levels.get(level, 0) + 1
except OSError:
    pass
if latency:
    def pct(values, p):
        values = sorted(values)
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
    out += ["", "The server's own latency per route (from its EMF `Latency` metric; the seeding's "
            "requests included): ", "",
            "| route | requests | p50 | p95 | p99 |", "| --- | ---: | ---: | ---: | ---: |"]
    for route, values in sorted(latency.items()):
        out.append(f"| `{route}` | {len(values):,} | {pct(values, 50):,.1f} ms | "
                   f"{pct(values, 95):,.1f} ms | {pct(values, 99):,.1f} ms |")
    out += ["", "Server log lines at WARN: {}, at ERROR: {}.".format(levels.get("WARN", 0),
                                                                      levels.get("ERROR", 0))]
print("\n".join(out))
PY

others_note=""
if [[ -n "$others" ]]; then
    others_note="- Other \`local\` processes shared the stack (pids $others): they poll the same checkout task queue and may have run some of this run's saga steps."$'\n'
fi
report="$(
    cat <<MD
# Load: browse → product page → cart → checkout

\`scripts/bench/load.sh\` — Locust, headless, bounded; the scenario is \`scripts/bench/locustfile.py\`.

- Run: $started, $LOAD_MACHINE (shared with other builds and tests).
- Commit: $LOAD_COMMIT. Server: $server.
- Generator: $LOAD_LOCUST under \`nice -n $LOAD_NICE\`, on the same machine as the server and
  the stack (PostgreSQL, Redis, moto).
${others_note}- Percentiles are Locust's (response times are kept rounded: to 1 ms below 100 ms, to 10 ms below
  1 s, to 100 ms above); the checkout row is measured by the locustfile and fired through
  Locust's request event.

$(cat "$WORK/report.md")
MD
)"
printf '%s\n' "$report"
if [[ -n "$LOAD_OUT" ]]; then
    mkdir -p "$(dirname "$LOAD_OUT")"
    printf '%s\n' "$report" >"$LOAD_OUT"
    log "wrote $LOAD_OUT"
fi
exit "$status"
