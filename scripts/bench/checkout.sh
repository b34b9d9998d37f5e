#!/usr/bin/env bash
# Checkout benchmark: the checkout saga end to end (POST /v1/orders → Step Functions in moto →
# the orders worker through the SQS task queue → CONFIRMED) on the local stack.
#
#   scripts/bench/checkout.sh
#   BASE_URL=http://127.0.0.1:8080 scripts/bench/checkout.sh     # against a running server
#
# 1. throughput: BENCH_BASELINE checkouts one at a time (unloaded latency), then
#    BENCH_CUSTOMERS customers each put one unit of a product with plenty of stock in their
#    cart and check out at once, for up to BENCH_ROUNDS rounds or BENCH_DURATION
#    seconds of rounds; checkouts/s, POST latency and 202 → CONFIRMED (orders polled every
#    BENCH_POLL_MS) as p50/p95/p99/max, per-step timings from OrderEvents, CPU per process.
# 2. contention: BENCH_RACERS customers race for BENCH_UNITS units of a fresh product,
#    BENCH_CONTENTION_ROUNDS times: exactly BENCH_UNITS CONFIRMED, the rest FAILED with
#    insufficient_stock, stock.available 0 (and Postgres' product_inventory agrees).
# The load generator is scripts/bench/checkout.py (python3, standard library only). Prints
# markdown tables and writes them, with the date, machine, commit and binary, between the
# markers of BENCH_OUT (created if missing; the rest of the file is kept).
#
# Without BASE_URL it runs `scripts/dev/stack.sh up` (provisions the state machine; `down` at the
# end only if the stack was not running before), then starts the `local` server on a free port
# from BENCH_PORT: target/release/local if it exists, else target/debug/local (built with
# `nice -n 19 cargo build -p local` when missing); BENCH_BIN overrides. The server is stopped
# at the end. With BASE_URL nothing is started; the stack's env (admin account, DATABASE_URL)
# is read if present.
#
# Exit status: 0 all good; 1 a wrong contention result; 2 throughput orders that did not
# confirm, or a setup failure.
#
# Environment (defaults): BENCH_BASELINE=5 BENCH_CUSTOMERS=20 BENCH_ROUNDS=5 BENCH_DURATION=60
# BENCH_POLL_MS=50 BENCH_RACERS=12 BENCH_UNITS=5 BENCH_CONTENTION_ROUNDS=10 BENCH_STOCK_WAIT=5
# BENCH_ORDER_TIMEOUT=150 BENCH_MAX_SECONDS=900 (bound of the load generator)
# BENCH_PHASES="throughput contention"
# BENCH_PORT=18090 BENCH_RUST_LOG=warn BENCH_OUT=docs/benchmarks/checkout.md (empty: print only)
# BENCH_KEEP_RAW=<dir> (keep the server log and the output) BENCH_SERVER_ENV= (NAME=value words
# added to the server's environment, e.g. "DATABASE_MAX_CONNECTIONS=20").
set -euo pipefail

LOG_NAME=bench DIE_STATUS=2
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO"

BASE_URL="${BASE_URL:-}"
BENCH_PORT="${BENCH_PORT:-18090}"
BENCH_RUST_LOG="${BENCH_RUST_LOG:-warn}"
BENCH_OUT="${BENCH_OUT-docs/benchmarks/checkout.md}"
BENCH_KEEP_RAW="${BENCH_KEEP_RAW:-}"
BENCH_MAX_SECONDS="${BENCH_MAX_SECONDS:-900}"
BENCH_BIN="${BENCH_BIN:-}"
BENCH_SERVER_ENV="${BENCH_SERVER_ENV:-}"
export BENCH_MAX_SECONDS
BEGIN_MARK='<!-- bench_checkout:begin -->'
END_MARK='<!-- bench_checkout:end -->'

WORK="$(mktemp -d /tmp/bench_checkout.XXXXXX)"
# shellcheck disable=SC2317 # called at exit
keep_raw() {
    if [[ -n "$BENCH_KEEP_RAW" ]]; then
        mkdir -p "$BENCH_KEEP_RAW"
        cp -f "$WORK"/* "$BENCH_KEEP_RAW"/ 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
on_exit keep_raw
SERVER_PID=""

binary_kind=""
if [[ -z "$BASE_URL" ]]; then
    command -v curl >/dev/null || die "curl is required"
    # Always `up`: it is idempotent and (re)provisions the checkout state machine. Migrations
    # are left to the server, which applies them at start (APP_ENV=local).
    log "scripts/dev/stack.sh up"
    SKIP_MIGRATIONS=1 STACK_NICE=19 stack_up "$WORK/stack-up.log"
    [[ "${CHECKOUT_STATE_MACHINE_PROVISIONED:-}" == true ]] ||
        die "the checkout state machine is not provisioned (CHECKOUT_STATE_MACHINE_PROVISIONED=${CHECKOUT_STATE_MACHINE_PROVISIONED:-})"

    if [[ -z "$BENCH_BIN" ]]; then
        if [[ -x "$TARGET_DIR/release/local" ]]; then
            BENCH_BIN="$TARGET_DIR/release/local"
        else
            if [[ ! -x "$TARGET_DIR/debug/local" ]]; then
                log "building the debug server (nice -n 19 cargo build -p local)"
                nice -n 19 cargo build --quiet -p local
            fi
            BENCH_BIN="$TARGET_DIR/debug/local"
        fi
    fi
    [[ -x "$BENCH_BIN" ]] || die "no server binary at $BENCH_BIN"
    case "$BENCH_BIN" in
    */release/*) binary_kind="release" ;;
    */debug/*) binary_kind="debug" ;;
    *) binary_kind="custom" ;;
    esac
    binary_kind="$binary_kind (\`${BENCH_BIN#"$REPO"/}\`, built $(date -u -r "$BENCH_BIN" +%Y-%m-%dT%H:%MZ))"
    # The default picks an existing release binary as it is: say so when it predates the code.
    if [[ "$(stat -c %Y "$BENCH_BIN")" -lt "$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || echo 0)" ]]; then
        log "warning: $BENCH_BIN was built before the last commit: rebuild it, or set BENCH_BIN"
        binary_kind="$binary_kind, **built before the last commit**"
    fi

    # Another server on the same stack also polls the checkout task queue and takes some of the
    # saga's tasks: the numbers would then be those of both servers.
    others=""
    for pid in $(pgrep -x local 2>/dev/null || true); do
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null |
            grep -qxF "CHECKOUT_TASK_QUEUE_URL=$CHECKOUT_TASK_QUEUE_URL"; then
            others="$others $pid"
        fi
    done
    if [[ -n "$others" ]]; then
        log "WARNING: other servers poll the same checkout task queue (pids$others)"
    fi

    port="$(free_port "$BENCH_PORT")"
    BASE_URL="http://127.0.0.1:$port"
    # Processed images are served by the server itself at /images/<key> (as run.sh sets it).
    export IMAGES_PUBLIC_BASE_URL="$BASE_URL/images"
    log "starting $BENCH_BIN on $BASE_URL (RUST_LOG=$BENCH_RUST_LOG)"
    # shellcheck disable=SC2086 # BENCH_SERVER_ENV is a list of NAME=value words
    env PORT="$port" HOST=127.0.0.1 RUST_LOG="$BENCH_RUST_LOG" $BENCH_SERVER_ENV \
        "$BENCH_BIN" serve >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    on_exit 'log "stopping the server (pid $SERVER_PID)"; stop_pid "$SERVER_PID" 100'
    if ! wait_http "$BASE_URL/v1/orders/health" "$SERVER_PID" 120; then
        tail -n 30 "$WORK/server.log" >&2
        die "the server did not become healthy on $BASE_URL"
    fi
    export BENCH_SERVER_PID="$SERVER_PID"
else
    load_stack_env || log "no stack env found: using LOCAL_ADMIN_EMAIL/LOCAL_ADMIN_PASSWORD as set"
    binary_kind="server at $BASE_URL (not started by this script)"
fi
export BASE_URL
# moto's pid (its CPU time) and log (one line per request) for the throughput report.
stack_dir="${STACK_DIR:-/var/tmp/shop-stack}"
if [[ -f "$stack_dir/moto.pid" ]]; then
    BENCH_MOTO_PID="$(head -n 1 "$stack_dir/moto.pid")"
    export BENCH_MOTO_PID
fi
if [[ -f "$stack_dir/moto.log" ]]; then
    export BENCH_MOTO_LOG="$stack_dir/moto.log"
fi

started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
status=0
timeout --kill-after=10 "$((BENCH_MAX_SECONDS + 60))" python3 "$REPO/scripts/bench/checkout.py" \
    | tee "$WORK/output.md" || status=${PIPESTATUS[0]}

# What the server logged at warn and above during the run (RUST_LOG=warn: only those).
server_notes=""
if [[ -n "$SERVER_PID" && -s "$WORK/server.log" ]]; then
    server_notes="$(python3 - "$WORK/server.log" <<'PY'
import collections, json, sys
levels, messages = collections.Counter(), collections.Counter()
metrics = collections.defaultdict(list)  # EMF lines: latency per route, TimeToConfirm
for line in open(sys.argv[1], errors="replace"):
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    if "_aws" in rec:
        if "RouteClass" in rec and "Latency" in rec:
            metrics[f"`{rec['RouteClass']}`"].append(float(rec["Latency"]))
        if "TimeToConfirm" in rec:
            metrics["checkout: TimeToConfirm (order placed → CONFIRMED)"].append(
                float(rec["TimeToConfirm"]))
        continue
    level = str(rec.get("level", "?")).upper()
    if level in ("WARN", "ERROR"):
        levels[level] += 1
        fields = rec.get("fields", {}) if isinstance(rec.get("fields"), dict) else {}
        msg = fields.get("message") or rec.get("message") or "?"
        err = fields.get("error") or rec.get("error") or ""
        messages[f"{level} {msg}" + (f": {str(err)[:160]}" if err else "")] += 1
if not levels:
    print("Server log during the run: no WARN or ERROR line.")
else:
    print("Server log during the run: " + ", ".join(f"{v} {k}" for k, v in levels.items()) + ":")
    print()
    for msg, n in messages.most_common(12):
        print(f"- {n} × `{msg}`")
if metrics:
    def pct(v, p):
        v = sorted(v)
        return v[max(0, -(-len(v) * p // 100) - 1)]
    print()
    print("Server-side latency from the server's own metrics (EMF lines, whole run):")
    print()
    print("| metric | n | p50 | p95 | p99 | max |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, v in sorted(metrics.items(), key=lambda kv: -len(kv[1])):
        print(f"| {name} | {len(v)} | " + " | ".join(
            f"{x:,.0f} ms".replace(",", " ") for x in (pct(v, 50), pct(v, 95), pct(v, 99), max(v)))
            + " |")
PY
)"
    printf '\n%s\n' "$server_notes"
fi

if [[ -n "$BENCH_OUT" ]]; then
    block="$WORK/block.md"
    {
        cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
        memory="$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
        commit="$(git rev-parse --short HEAD)"
        git diff --quiet HEAD -- crates services statemachines 2>/dev/null ||
            commit="$commit (with uncommitted changes in crates/, services/ or statemachines/)"
        echo "Measured $started on $(nproc) cores ($cpu_model, $memory), commit \`$commit\`,"
        echo "server: $binary_kind, \`RUST_LOG=$BENCH_RUST_LOG${BENCH_SERVER_ENV:+ $BENCH_SERVER_ENV}\`; the load generator, the server, moto,"
        echo "PostgreSQL and Redis share the machine. Exit status $status."
        echo
        cat "$WORK/output.md"
        if [[ -n "$server_notes" ]]; then
            echo
            echo "$server_notes"
        fi
    } >"$block"
    write_between_markers "$BENCH_OUT" "$block" "$BEGIN_MARK" "$END_MARK" "Checkout benchmark"
    log "results written to $BENCH_OUT"
fi
exit "$status"
