#!/usr/bin/env bash
# Startup time and memory of every HTTP binary (release) against the local stack.
#
#   scripts/bench/startup.sh
#
# For each binary in STARTUP_BINARIES (default: users products cart orders local):
#   1. startup: STARTUP_RUNS times (default 20), exec -> first HTTP 200 on its health route
#      (`/v1/<service>/health`; `/v1/products/health` for local), polled every millisecond over
#      loopback by one Python process that also starts the binary on a free PORT; the process is
#      stopped (SIGTERM, SIGKILL after 5 s) after every run. Median, min and max.
#   2. memory: one more process that serves STARTUP_REQUESTS requests (default 10000) on its
#      health route, then as many on a cheap read route where it has one (users: GET
#      /v1/users/me, products and local: GET /v1/products/{id}, cart: GET /v1/cart with one line,
#      orders: GET /v1/orders; the customer and the product are created first through the local
#      server), with wrk (1 thread, STARTUP_CONNECTIONS keep-alive connections, default 16, ended
#      by a wrk Lua script after that many responses). Reports VmRSS after start, VmRSS after the
#      health requests, VmRSS after the read requests and the peak (VmHWM), from
#      /proc/<pid>/status.
# Every health check does a Postgres, a DynamoDB (moto) and a Redis round trip, so the number of
# requests per second here is moto's, not the binary's: see scripts/bench/http.sh for throughput.
#
# Prints markdown tables and writes them, with the per-run times, the date, the machine and the
# commit, between the markers of BENCH_OUT (default docs/benchmarks/startup.md, the rest of it is
# kept; a new file if it has no markers; empty: print only). Exits non-zero if
# a binary never answers 200 (within STARTUP_TIMEOUT seconds per run, default 30) or its load run
# fails; every wait is bounded.
#
# It installs wrk (apt) if missing, runs `scripts/dev/stack.sh up` (and `down` at the end only if no
# part of the stack was running before), builds the release binaries in the default target dir
# (CARGO_TARGET_DIR is honoured; `nice -n 19`), applies the migrations with `local migrate`, and
# writes to the local database and the emulated Cognito pool: one product and one customer
# (unique email) per run. The binaries run with the stack's env (`stack.sh env`), RUST_LOG=warn.
#
# Environment (defaults): STARTUP_BINARIES="users products cart orders local" STARTUP_RUNS=20
# STARTUP_REQUESTS=10000 STARTUP_CONNECTIONS=16 STARTUP_TIMEOUT=30
# STARTUP_LOAD_SECONDS=300 (bound of each wrk run) BENCH_PORT=19080 (first port tried)
# BENCH_OUT=docs/benchmarks/startup.md BENCH_SKIP_BUILD=0 (1: use the binaries already built)
# BENCH_BIN_DIR=<target dir>/release (where the binaries are; e.g. a copy made after the build,
# so that another release build cannot replace them during the run; implies BENCH_SKIP_BUILD=1).
set -euo pipefail

LOG_NAME=bench_startup
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO"

STARTUP_BINARIES="${STARTUP_BINARIES:-users products cart orders local}"
STARTUP_RUNS="${STARTUP_RUNS:-20}"
STARTUP_REQUESTS="${STARTUP_REQUESTS:-10000}"
STARTUP_CONNECTIONS="${STARTUP_CONNECTIONS:-16}"
STARTUP_TIMEOUT="${STARTUP_TIMEOUT:-30}"
STARTUP_LOAD_SECONDS="${STARTUP_LOAD_SECONDS:-300}"
BENCH_PORT="${BENCH_PORT:-19080}"
BENCH_OUT="${BENCH_OUT-docs/benchmarks/startup.md}"
BENCH_SKIP_BUILD="${BENCH_SKIP_BUILD:-0}"
RELEASE="${BENCH_BIN_DIR:-$TARGET_DIR/release}"

WORK="$(mktemp -d /tmp/bench_startup.XXXXXX)"
on_exit 'rm -rf "$WORK"'

# health_path BINARY
health_path() {
    case "$1" in
        local) echo /v1/products/health ;;
        *) echo "/v1/$1/health" ;;
    esac
}

# status_kib PID FIELD: VmRSS / VmHWM of a process in KiB.
status_kib() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# --------------------------------------------------------------------------- prerequisites

for tool in curl jq python3; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
apt_install wrk
# Migrations are applied below by the release binary (`local migrate`).
SKIP_MIGRATIONS=1 stack_up

if [[ "$BENCH_SKIP_BUILD" != 1 && -z "${BENCH_BIN_DIR:-}" ]]; then
    log "building the release binaries (nice -n 19 cargo build --release -p users -p products -p cart -p orders -p local --bins)"
    build_started=$SECONDS
    nice -n 19 cargo build --release -p users -p products -p cart -p orders -p local --bins >&2
    log "build took $((SECONDS - build_started)) s"
fi
for bin in $STARTUP_BINARIES local; do
    [[ -x "$RELEASE/$bin" ]] || die "missing $RELEASE/$bin (build it, or unset BENCH_SKIP_BUILD)"
done

export APP_ENV=local RUST_LOG=warn HOST=127.0.0.1
"$RELEASE/local" migrate >"$WORK/migrate.log" 2>&1 ||
    {
        tail -n 20 "$WORK/migrate.log" >&2
        grep -q VersionMissing "$WORK/migrate.log" &&
            log "the database holds a migration the binaries do not know: rebuild them from the current tree"
        die "migrations failed"
    }

# --------------------------------------------------------------------------- fixtures

# Through the local server: a product (as the dev admin) and a customer with that product in
# their cart, for the read routes.
port="$(free_port "$BENCH_PORT")"
BASE="http://127.0.0.1:$port"
PORT="$port" "$RELEASE/local" serve >"$WORK/fixtures.log" 2>&1 &
FIXTURE_PID=$!
on_exit "stop_pid $FIXTURE_PID"
wait_http "$BASE/v1/products/health" "$FIXTURE_PID" "$STARTUP_TIMEOUT" 0.1 ||
    {
        tail -n 20 "$WORK/fixtures.log" >&2
        die "local serve did not become healthy on $BASE"
    }

body="$(jq -nc --arg e "$LOCAL_ADMIN_EMAIL" --arg p "$LOCAL_ADMIN_PASSWORD" '{email: $e, password: $p}')"
ADMIN_TOKEN="$(curl -fsS -X POST "$BASE/v1/users/login" -H 'content-type: application/json' \
    -d "$body" | jq -r .access_token)"
[[ -n "$ADMIN_TOKEN" && "$ADMIN_TOKEN" != null ]] || die "login as $LOCAL_ADMIN_EMAIL failed"
stamp="$(date +%s)-$$-$RANDOM"
body="$(jq -nc --arg s "STARTUP-$stamp" '{sku: $s, name: "Startup benchmark product", price: "12.50", stock: 100}')"
PRODUCT_ID="$(curl -fsS -X POST "$BASE/v1/products" -H "authorization: Bearer $ADMIN_TOKEN" \
    -H 'content-type: application/json' -d "$body" | jq -r .product_id)"
[[ "$PRODUCT_ID" =~ ^[0-9]+$ ]] || die "creating the benchmark product failed"

email="startup-$stamp@example.com"
password="Bench-Passw0rd!"
body="$(jq -nc --arg e "$email" --arg p "$password" '{name: "Startup Bench", email: $e, password: $p}')"
curl -fsS -o /dev/null -X POST "$BASE/v1/users/register" -H 'content-type: application/json' \
    -d "$body" || die "registering $email failed"
body="$(jq -nc --arg e "$email" --arg p "$password" '{email: $e, password: $p}')"
TOKEN="$(curl -fsS -X POST "$BASE/v1/users/login" -H 'content-type: application/json' \
    -d "$body" | jq -r .access_token)"
[[ -n "$TOKEN" && "$TOKEN" != null ]] || die "login as $email failed"
body="$(jq -nc --argjson id "$PRODUCT_ID" '{product_id: $id, quantity: 1}')"
curl -fsS -o /dev/null -X POST "$BASE/v1/cart/items" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d "$body" || die "adding product $PRODUCT_ID to the cart failed"
log "fixtures: product $PRODUCT_ID, customer $email with it in their cart"
stop_pid "$FIXTURE_PID"

# read_route BINARY: the path of its cheap read route and whether it needs the token.
read_route() {
    case "$1" in
        users) echo "/v1/users/me token" ;;
        products | local) echo "/v1/products/$PRODUCT_ID -" ;;
        cart) echo "/v1/cart token" ;;
        orders) echo "/v1/orders token" ;;
        *) echo "- -" ;;
    esac
}

# --------------------------------------------------------------------------- startup

busy_before high

# startup.py BINARY HEALTH_PATH RUNS TIMEOUT OUT: exec -> first 200, RUNS times, one time in ms per
# line in OUT. Exit 1 if a run gets no 200 within TIMEOUT seconds or the process exits.
cat >"$WORK/startup.py" <<'PY'
import http.client, os, signal, socket, subprocess, sys, time

binary, path, runs, timeout, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

times = []
for run in range(runs):
    port = free_port()
    env = dict(os.environ, PORT=str(port))
    log = open(f"{out}.run{run}.log", "wb")
    started = time.monotonic()
    proc = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    elapsed, last = None, "no answer"
    try:
        while time.monotonic() - started < timeout:
            if proc.poll() is not None:
                last = f"the process exited with {proc.returncode}"
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    elapsed = time.monotonic() - started
                    break
                last = f"HTTP {resp.status}"
            except OSError:
                pass
            time.sleep(0.001)
    finally:
        stop(proc)
        log.close()
    if elapsed is None:
        sys.stderr.write(f"{binary}: run {run + 1}: no 200 on {path} within {timeout:.0f} s ({last}); see {out}.run{run}.log\n")
        with open(f"{out}.run{run}.log", "rb") as f:
            sys.stderr.write(f.read()[-2000:].decode(errors="replace"))
        sys.exit(1)
    times.append(elapsed * 1000)
    time.sleep(0.2)

with open(out, "w") as f:
    f.write("".join(f"{t:.1f}\n" for t in times))
PY

FAILED=()
STARTUP_ROWS=()
RAW_ROWS=()
for bin in $STARTUP_BINARIES; do
    path="$(health_path "$bin")"
    log "$bin: exec -> first 200 on $path, $STARTUP_RUNS runs"
    if python3 "$WORK/startup.py" "$RELEASE/$bin" "$path" "$STARTUP_RUNS" "$STARTUP_TIMEOUT" "$WORK/startup-$bin.txt"; then
        stats="$(sort -n "$WORK/startup-$bin.txt" | awk '{ v[NR] = $1 } END {
            med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.1f %.1f %.1f", med, v[1], v[NR] }')"
        read -r med min max <<<"$stats"
        size="$(mib "$(($(stat -c %s "$RELEASE/$bin") / 1024))")"
        STARTUP_ROWS+=("| \`$bin\` | \`$path\` | **$med** | $min | $max | $STARTUP_RUNS | $size |")
        RAW_ROWS+=("| \`$bin\` | $(paste -sd' ' "$WORK/startup-$bin.txt") |")
        log "$bin: median $med ms (min $min, max $max)"
    else
        FAILED+=("$bin (startup)")
        STARTUP_ROWS+=("| \`$bin\` | \`$path\` | **never answered 200** | – | – | – | – |")
    fi
done

# --------------------------------------------------------------------------- memory

# wrk stops at its -d duration, not after a number of requests (a thread's `wrk.thread:stop()`
# still leaves the main thread sleeping for the whole duration), so this script counts the
# responses of the single wrk thread and ends wrk when it has its count (args: requests, the
# file to write "responses non-2xx" to). Requests still in flight on the other connections are
# dropped.
cat >"$WORK/limit.lua" <<'LUA'
local limit, out = 10000, nil
local count, bad = 0, 0
function init(args)
  limit = tonumber(args[1])
  out = args[2]
end
function response(status, headers, body)
  count = count + 1
  if status < 200 or status > 299 then bad = bad + 1 end
  if count >= limit then
    local f = io.open(out, "w")
    f:write(count, " ", bad, "\n")
    f:close()
    os.exit(0)
  end
end
LUA

# load URL NAME [TOKEN]: STARTUP_REQUESTS requests (one wrk thread, STARTUP_CONNECTIONS
# keep-alive connections, at most STARTUP_LOAD_SECONDS); sets SERVED NON2XX RPS.
load() {
    local url="$1" name="$2" token="${3:-}" out="$WORK/wrk-$2.txt" count="$WORK/count-$2.txt"
    local hdr=() t0 t1
    [[ -z "$token" ]] || hdr=(-H "Authorization: Bearer $token")
    rm -f "$count"
    t0="$(date +%s.%N)"
    timeout --foreground $((STARTUP_LOAD_SECONDS + 30)) wrk -t1 -c"$STARTUP_CONNECTIONS" \
        -d"${STARTUP_LOAD_SECONDS}s" --timeout 10s "${hdr[@]}" -s "$WORK/limit.lua" "$url" \
        -- "$STARTUP_REQUESTS" "$count" >"$out" 2>&1 || true
    t1="$(date +%s.%N)"
    if [[ ! -s "$count" ]]; then
        cat "$out" >&2
        log "$name: fewer than $STARTUP_REQUESTS responses within ${STARTUP_LOAD_SECONDS} s"
        return 1
    fi
    read -r SERVED NON2XX <"$count"
    RPS="$(awk -v n="$SERVED" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", n / (t1 - t0) }')"
    log "$name: $SERVED responses in $(awk -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f", t1 - t0 }') s ($RPS/s), non-2xx: $NON2XX"
}

MEM_ROWS=()
for bin in $STARTUP_BINARIES; do
    path="$(health_path "$bin")"
    read -r rpath rtoken <<<"$(read_route "$bin")"
    port="$(free_port "$BENCH_PORT")"
    url="http://127.0.0.1:$port"
    PORT="$port" "$RELEASE/$bin" serve >"$WORK/load-$bin.log" 2>&1 &
    pid=$!
    on_exit "stop_pid $pid"
    if ! wait_http "$url$path" "$pid" "$STARTUP_TIMEOUT" 0.1; then
        tail -n 20 "$WORK/load-$bin.log" >&2
        FAILED+=("$bin (load run: no 200)")
        MEM_ROWS+=("| \`$bin\` | **never answered 200** | | | | | | |")
        stop_pid "$pid"
        continue
    fi
    rss_start="$(status_kib "$pid" VmRSS)"
    if ! load "$url$path" "$bin-health"; then
        FAILED+=("$bin (load run: wrk)")
        MEM_ROWS+=("| \`$bin\` | $(mib "$rss_start") | **wrk failed** | | | | |")
        stop_pid "$pid"
        continue
    fi
    health_cell="$SERVED ($RPS/s, non-2xx $NON2XX)"
    rss_health="$(status_kib "$pid" VmRSS)"
    read_cell="–"
    rss_read="–"
    if [[ "$rpath" != - ]]; then
        tok=""
        [[ "$rtoken" != token ]] || tok="$TOKEN"
        hdr=()
        [[ -z "$tok" ]] || hdr=(-H "authorization: Bearer $tok")
        code="$(curl -s -o "$WORK/read-$bin.json" -w '%{http_code}' --max-time 10 "${hdr[@]}" "$url$rpath" || true)"
        if [[ "$code" == 200 ]]; then
            if load "$url$rpath" "$bin-read" "$tok"; then
                read_cell="\`GET $rpath\`: $SERVED ($RPS/s, non-2xx $NON2XX)"
                rss_read="$(mib "$(status_kib "$pid" VmRSS)")"
            else
                FAILED+=("$bin (load run: wrk on $rpath)")
            fi
        else
            log "$bin: GET $rpath answered $code: no read route measured"
            read_cell="\`GET $rpath\` answered $code: skipped"
        fi
    fi
    hwm="$(status_kib "$pid" VmHWM)"
    MEM_ROWS+=("| \`$bin\` | $(mib "$rss_start") | $health_cell | $(mib "$rss_health") | $read_cell | $rss_read | **$(mib "$hwm")** |")
    log "$bin: RSS $(mib "$rss_start") MiB after start, peak $(mib "$hwm") MiB"
    stop_pid "$pid"
done

# --------------------------------------------------------------------------- report

commit="$(git_commit)"
cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
RESULT="$WORK/result.md"
{
    echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores${cpu:+ ($cpu)}, Linux $(uname -r), commit $commit"
    echo "(binaries built $(date -u -r "$RELEASE/local" +%Y-%m-%dT%H:%MZ));"
    echo "release binaries, \`RUST_LOG=warn\`, against the local stack (PostgreSQL, Redis, moto on the same cores;"
    echo "CPU ${BUSY_BEFORE} % busy just before the run, from other processes)."
    echo
    echo "Exec → first HTTP 200 on the health route ($STARTUP_RUNS runs; each run starts the process on a free"
    echo "port, polls every millisecond, then stops it). The first answer includes connecting to"
    echo "PostgreSQL, Redis and DynamoDB (moto):"
    echo
    echo "| binary | health route | median (ms) | min (ms) | max (ms) | runs | binary size (MiB) |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    printf '%s\n' "${STARTUP_ROWS[@]}"
    echo
    echo "Memory of one more process per binary: wrk (1 thread, $STARTUP_CONNECTIONS connections) sends"
    echo "$STARTUP_REQUESTS requests to the health route, then $STARTUP_REQUESTS to a read route (as a signed-in customer"
    echo "where it needs one; the cart holds one line). RSS is VmRSS, the peak is VmHWM from /proc/<pid>/status, in MiB:"
    echo
    echo "| binary | RSS after start | health requests | RSS after them | read requests | RSS after them | peak RSS |"
    echo "|---|---:|---|---:|---|---:|---:|"
    printf '%s\n' "${MEM_ROWS[@]}"
    if ((${#RAW_ROWS[@]})); then
        echo
        echo "Every startup run (ms, in order):"
        echo
        echo "| binary | runs |"
        echo "|---|---|"
        printf '%s\n' "${RAW_ROWS[@]}"
    fi
    if ((${#FAILED[@]})); then
        echo
        echo "**Failed:** ${FAILED[*]}"
    fi
} >"$RESULT"

cat "$RESULT"

if [[ -n "$BENCH_OUT" ]]; then
    write_between_markers "$BENCH_OUT" "$RESULT" '<!-- bench_startup:begin (written by scripts/bench/startup.sh) -->' '<!-- bench_startup:end -->' "Startup and memory benchmark"
    log "wrote $BENCH_OUT"
fi

if ((${#FAILED[@]})); then
    die "failed: ${FAILED[*]}"
fi
