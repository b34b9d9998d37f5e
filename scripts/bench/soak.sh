#!/usr/bin/env bash
# Fault-injection soak: mixed traffic against the all-in-one server on a PRIVATE local stack
# while Redis, then the AWS emulator (moto), then PostgreSQL are hung (SIGSTOP … SIGCONT), and
# Redis and PostgreSQL are stopped and restarted; then every acknowledged write is checked
# against Postgres and the DynamoDB ProductCatalog projection.
#
#   scripts/bench/soak.sh                         # the whole soak, about 4 minutes
#   scripts/bench/soak.sh --outage 10 --recovery 10 --faults "moto-pause postgres-stop"
#
# Options (environment in brackets):
#   --outage S      seconds each dependency stays hung/stopped              [SOAK_OUTAGE=15]
#   --recovery S    seconds of traffic after each resume/restart            [SOAK_RECOVERY=12]
#   --baseline S    seconds of traffic before the first fault               [SOAK_BASELINE=10]
#   --timeout S     client timeout of every request                         [SOAK_TIMEOUT=5]
#   --settle S      bound of the wait for orders, outbox and projection     [SOAK_SETTLE=150]
#   --retry-wait S  bound of the wait for idempotency leases before the second retry of the
#                   writes that got no answer                               [SOAK_RETRY_WAIT=75]
#   --faults LIST   in order; each DEP-pause (DEP = redis, moto, postgres) or DEP-stop
#                   (redis, postgres) [SOAK_FAULTS="redis-pause moto-pause postgres-pause
#                   redis-stop postgres-stop"]
#   --bin PATH      the server binary [SOAK_BIN; default target/debug/local, built with
#                   `nice -n 19 cargo build -p local`]; --release: target/release/local
#   --no-build      use the binary as it is (no cargo)
#   --port P        first port tried for the server                         [SOAK_PORT=18190]
#   --out FILE      the report goes between the markers of FILE [SOAK_OUT=docs/benchmarks/soak.md;
#                   empty: print only]
#   --keep-stack    leave the private stack running at the end (default: `stack.sh down`)
#   --aws-timeout-ms MS      the server's AWS call budget    [SOAK_AWS_TIMEOUT_MS=800]
#   --request-timeout-ms MS  the server's request deadline   [SOAK_REQUEST_TIMEOUT_MS=2000]
#   --acquire-timeout-ms MS  the server's pool acquire timeout
#                                                            [SOAK_ACQUIRE_TIMEOUT_MS=1000]
#
# The server runs with the PRODUCTION latency settings (the defaults of crates/common/src/
# config.rs), not with the local stack's env, which widens them for the test suite
# (AWS_TIMEOUT_MS=3000, REQUEST_TIMEOUT_MS=15000, DATABASE_ACQUIRE_TIMEOUT_MS=3000): the
# three values above are exported after stack.env is sourced, and go into the report's header.
# The contract checked per outage: every request answered within the deadline + 0.5 s (else
# exit 3), and each request kind's worst latency compared with its baseline p99 + 1 s
# (reported per kind, with the server log's account of the worst request; not an exit status).
#
# The private stack: STACK_DIR=/var/tmp/shop-soak PG_PORT=56432 REDIS_PORT=57379
# MOTO_PORT=56000 (override them all together; the script refuses the shared stack's
# defaults, /var/tmp/shop-stack and 55432/56379/55000, so it never hangs a stack others use).
# Only processes whose pid files are in that STACK_DIR and whose command lines name its ports
# are signalled. Raw records (requests.jsonl, timeline.json, server.log, report.md) are kept in
# $STACK_DIR/runs/<time>/.
#
# Exit status: 0 clean; 1 an acknowledged write is missing, a 500 appeared or the server died;
# 2 setup failure; 3 another breach (a request answered after the deadline + 0.5 s, or not
# at all within the client timeout; an unexpected status; a failed request in the baseline;
# an order that never settled; a dependency that did not recover; an idempotent retry that
# ran a committed request again).
#
#   scripts/bench/soak.sh fault ACTION   (used by scripts/bench/soak.py) ACTION: pause-DEP, resume-DEP,
#                                  stop-redis, start-redis, stop-postgres, start-postgres,
#                                  resume-all
set -euo pipefail

LOG_NAME=soak DIE_STATUS=2
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
export STACK_DIR="${STACK_DIR:-/var/tmp/shop-soak}"
export PG_PORT="${PG_PORT:-56432}"
export REDIS_PORT="${REDIS_PORT:-57379}"
export MOTO_PORT="${MOTO_PORT:-56000}"
MOTO_VENV="${MOTO_VENV:-$REPO/.venv-moto}"
WAIT_SECONDS="${WAIT_SECONDS:-30}"
PG_DIR="$STACK_DIR/pg"

# Never touch the shared stack.
if [[ "$(readlink -m "$STACK_DIR")" == /var/tmp/shop-stack ]] || [[ "$PG_PORT" == 55432 ]] ||
    [[ "$REDIS_PORT" == 56379 ]] || [[ "$MOTO_PORT" == 55000 ]]; then
    die "refusing to run on the shared stack's directory or ports (STACK_DIR=$STACK_DIR PG_PORT=$PG_PORT REDIS_PORT=$REDIS_PORT MOTO_PORT=$MOTO_PORT)"
fi

# --------------------------------------------------------------------------- faults

# pid_of DEP: the pid of the dependency of THIS stack, checked against its command line.
pid_of() {
    local file pattern pid
    case "$1" in
    redis) file="$STACK_DIR/redis.pid" pattern="redis-server .*:$REDIS_PORT" ;;
    moto) file="$STACK_DIR/moto.pid" pattern="moto_server .*-p $MOTO_PORT" ;;
    postgres) file="$PG_DIR/postmaster.pid" pattern="postgres .*-D $PG_DIR" ;;
    *) die "unknown dependency $1" ;;
    esac
    [[ -f "$file" ]] || return 1
    pid="$(head -n 1 "$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -Eq -- "$pattern" || {
        log "pid $pid of $file does not look like $1 of $STACK_DIR; not touching it"
        return 1
    }
    printf '%s\n' "$pid"
}

pg_bindir() {
    local dir
    dir="$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
    [[ -x "$dir/pg_ctl" ]] || die "pg_ctl not found under /usr/lib/postgresql"
    printf '%s\n' "$dir"
}

wait_until() { # SECONDS COMMAND...
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# shellcheck disable=SC2317 # called through wait_until
redis_ready() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }
# shellcheck disable=SC2317
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
# shellcheck disable=SC2317
not_running() { ! pid_of "$1" >/dev/null 2>&1; }

cmd_fault() {
    local action="${1:-}" pid pids
    case "$action" in
    pause-redis | pause-moto)
        pid="$(pid_of "${action#pause-}")" || die "${action#pause-} is not running"
        kill -STOP "$pid"
        ;;
    resume-redis | resume-moto)
        pid="$(pid_of "${action#resume-}")" || die "${action#resume-} is not running"
        kill -CONT "$pid"
        ;;
    pause-postgres)
        # The postmaster first (no new backends), then every process it forked.
        pid="$(pid_of postgres)" || die "postgres is not running"
        kill -STOP "$pid"
        pids="$(pgrep -P "$pid" | tr '\n' ' ' || true)"
        printf '%s %s\n' "$pid" "$pids" >"$STACK_DIR/soak-paused-postgres"
        # shellcheck disable=SC2086
        [[ -z "$pids" ]] || kill -STOP $pids
        ;;
    resume-postgres)
        pid="$(pid_of postgres)" || die "postgres is not running"
        pids="$(pgrep -P "$pid" | tr '\n' ' ' || true)"
        # shellcheck disable=SC2086
        [[ -z "$pids" ]] || kill -CONT $pids 2>/dev/null || true
        kill -CONT "$pid"
        rm -f "$STACK_DIR/soak-paused-postgres"
        ;;
    stop-redis)
        pid="$(pid_of redis)" || die "redis is not running"
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$pid" || true
        wait_until "$WAIT_SECONDS" not_running redis || kill -9 "$pid"
        ;;
    start-redis)
        # As scripts/dev/stack.sh starts it.
        pid_of redis >/dev/null 2>&1 && die "redis is already running"
        rm -f "$STACK_DIR/redis.pid"
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize yes --pidfile "$STACK_DIR/redis.pid" --logfile "$STACK_DIR/redis.log" \
            --dir "$STACK_DIR" >/dev/null
        wait_until "$WAIT_SECONDS" redis_ready || die "redis did not come back"
        ;;
    stop-postgres)
        pid_of postgres >/dev/null || die "postgres is not running"
        runuser -u postgres -- "$(pg_bindir)/pg_ctl" -D "$PG_DIR" -m fast -s -w -t "$WAIT_SECONDS" stop
        ;;
    start-postgres)
        # As scripts/dev/stack.sh starts it (same options).
        pid_of postgres >/dev/null 2>&1 && die "postgres is already running"
        runuser -u postgres -- "$(pg_bindir)/pg_ctl" -D "$PG_DIR" -l "$STACK_DIR/postgres.log" -s -w \
            -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c max_connections=300 -c authentication_timeout=5s" start
        wait_until "$WAIT_SECONDS" pg_ready || die "postgres did not come back"
        ;;
    resume-all)
        # Whatever this script may have paused (safe when nothing is).
        for dep in redis moto; do
            if pid="$(pid_of "$dep" 2>/dev/null)"; then kill -CONT "$pid" 2>/dev/null || true; fi
        done
        if pid="$(pid_of postgres 2>/dev/null)"; then
            pids="$(pgrep -P "$pid" | tr '\n' ' ' || true)"
            # shellcheck disable=SC2086
            [[ -z "$pids" ]] || kill -CONT $pids 2>/dev/null || true
            kill -CONT "$pid" 2>/dev/null || true
        fi
        rm -f "$STACK_DIR/soak-paused-postgres"
        ;;
    *) die "unknown fault action '$action'" ;;
    esac
}

if [[ "${1:-}" == fault ]]; then
    shift
    cmd_fault "$@"
    exit 0
fi

# --------------------------------------------------------------------------- options

SOAK_BIN_FROM_ENV="${SOAK_BIN:-}"
SOAK_BIN="${SOAK_BIN:-}"
BIN_GIVEN=0
SOAK_PORT="${SOAK_PORT:-18190}"
SOAK_OUT="${SOAK_OUT-docs/benchmarks/soak.md}"
BUILD=1
RELEASE=0
KEEP_STACK=0
SOAK_AWS_TIMEOUT_MS="${SOAK_AWS_TIMEOUT_MS:-800}"
SOAK_REQUEST_TIMEOUT_MS="${SOAK_REQUEST_TIMEOUT_MS:-2000}"
SOAK_ACQUIRE_TIMEOUT_MS="${SOAK_ACQUIRE_TIMEOUT_MS:-1000}"
while (($#)); do
    case "$1" in
    --outage) export SOAK_OUTAGE="$2" && shift ;;
    --recovery) export SOAK_RECOVERY="$2" && shift ;;
    --baseline) export SOAK_BASELINE="$2" && shift ;;
    --timeout) export SOAK_TIMEOUT="$2" && shift ;;
    --settle) export SOAK_SETTLE="$2" && shift ;;
    --retry-wait) export SOAK_RETRY_WAIT="$2" && shift ;;
    --faults) export SOAK_FAULTS="$2" && shift ;;
    --bin) SOAK_BIN="$2" BIN_GIVEN=1 && shift ;;
    --release) RELEASE=1 ;;
    --no-build) BUILD=0 ;;
    --port) SOAK_PORT="$2" && shift ;;
    --out) SOAK_OUT="$2" && shift ;;
    --keep-stack) KEEP_STACK=1 ;;
    --aws-timeout-ms) SOAK_AWS_TIMEOUT_MS="$2" && shift ;;
    --request-timeout-ms) SOAK_REQUEST_TIMEOUT_MS="$2" && shift ;;
    --acquire-timeout-ms) SOAK_ACQUIRE_TIMEOUT_MS="$2" && shift ;;
    -h | --help)
        sed -n '2,56p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
export SOAK_OUTAGE="${SOAK_OUTAGE:-15}" SOAK_RECOVERY="${SOAK_RECOVERY:-12}"
export SOAK_BASELINE="${SOAK_BASELINE:-10}" SOAK_TIMEOUT="${SOAK_TIMEOUT:-5}"
export SOAK_SETTLE="${SOAK_SETTLE:-150}" SOAK_RETRY_WAIT="${SOAK_RETRY_WAIT:-75}"
export SOAK_FAULTS="${SOAK_FAULTS:-redis-pause moto-pause postgres-pause redis-stop postgres-stop}"
for v in SOAK_AWS_TIMEOUT_MS SOAK_REQUEST_TIMEOUT_MS SOAK_ACQUIRE_TIMEOUT_MS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a number of milliseconds (got '${!v}')"
done

cd "$REPO"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
if [[ -z "$SOAK_BIN" ]]; then
    if ((RELEASE)); then
        SOAK_BIN="$TARGET_DIR/release/local"
        if ((BUILD)) || [[ ! -x "$SOAK_BIN" ]]; then
            log "building the release server (nice -n 19 cargo build --release -p local)"
            nice -n 19 cargo build --quiet --release -p local
        fi
    else
        SOAK_BIN="$TARGET_DIR/debug/local"
        if ((BUILD)) || [[ ! -x "$SOAK_BIN" ]]; then
            log "building the server (nice -n 19 cargo build -p local)"
            nice -n 19 cargo build --quiet -p local
        fi
    fi
fi
[[ -x "$SOAK_BIN" ]] || die "no server binary at $SOAK_BIN"

RUN_DIR=""
SERVER_PID=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    bash "$REPO/scripts/bench/soak.sh" fault resume-all 2>/dev/null || true
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        log "stopping the server (pid $SERVER_PID)"
        stop_pid "$SERVER_PID" 100
    fi
    SERVER_PID=""
    if ((!KEEP_STACK)); then
        log "stopping the private stack ($STACK_DIR)"
        scripts/dev/stack.sh down >/dev/null 2>&1 || true
    fi
    [[ -z "$RUN_DIR" ]] || rm -f "$RUN_DIR/local"
    [[ -z "$RUN_DIR" ]] || log "raw records in $RUN_DIR"
}
on_exit cleanup

# --------------------------------------------------------------------------- stack + server

log "starting the private stack in $STACK_DIR (postgres $PG_PORT, redis $REDIS_PORT, moto $MOTO_PORT)"
mkdir -p "$STACK_DIR"
# Not niced: the dependencies must not be starved by other work on the machine.
SKIP_MIGRATIONS=1 scripts/dev/stack.sh up >"$STACK_DIR/soak-stack-up.log" 2>&1 || {
    tail -n 30 "$STACK_DIR/soak-stack-up.log" >&2
    die "scripts/dev/stack.sh up failed"
}
set -a
# shellcheck source=/dev/null
. "$STACK_DIR/stack.env"
set +a
[[ "${CHECKOUT_STATE_MACHINE_PROVISIONED:-}" == true ]] || die "the checkout state machine is not provisioned"
# The production latency settings, not the test suite's wider ones from stack.env.
log "stack.env has AWS_TIMEOUT_MS=${AWS_TIMEOUT_MS:-unset} REQUEST_TIMEOUT_MS=${REQUEST_TIMEOUT_MS:-unset} DATABASE_ACQUIRE_TIMEOUT_MS=${DATABASE_ACQUIRE_TIMEOUT_MS:-unset}; the server gets $SOAK_AWS_TIMEOUT_MS/$SOAK_REQUEST_TIMEOUT_MS/$SOAK_ACQUIRE_TIMEOUT_MS"
export AWS_TIMEOUT_MS="$SOAK_AWS_TIMEOUT_MS"
export REQUEST_TIMEOUT_MS="$SOAK_REQUEST_TIMEOUT_MS"
export DATABASE_ACQUIRE_TIMEOUT_MS="$SOAK_ACQUIRE_TIMEOUT_MS"
RUN_DIR="$STACK_DIR/runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"

port="$SOAK_PORT"
while port_open "$port"; do port=$((port + 1)); done
export PORT="$port" HOST=127.0.0.1
export BASE_URL="http://127.0.0.1:$port"
export IMAGES_PUBLIC_BASE_URL="$BASE_URL/images"
export RUST_LOG="${SOAK_RUST_LOG:-info}"
# What the run's server is, recorded now (another session may rebuild target/ meanwhile), and a
# private copy of the binary, so such a rebuild cannot change the server under the soak.
commit="$(git rev-parse --short HEAD)"
dirty=""
git diff --quiet HEAD -- crates services migrations statemachines 2>/dev/null &&
    [[ -z "$(git ls-files --others --exclude-standard -- crates services migrations statemachines)" ]] ||
    dirty=" with uncommitted changes in crates/, services/, migrations/ or statemachines/"
built="$(date -u -r "$SOAK_BIN" +%Y-%m-%dT%H:%M:%SZ)"
cp "$SOAK_BIN" "$RUN_DIR/local"
log "starting $SOAK_BIN (built $built; run as $RUN_DIR/local) on $BASE_URL (migrations applied at start)"
"$RUN_DIR/local" serve >"$RUN_DIR/server.log" 2>&1 &
SERVER_PID=$!
deadline=$((SECONDS + 120))
until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE_URL/v1/products/health" || true)" == 200 ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || {
        tail -n 20 "$RUN_DIR/server.log" >&2
        die "the server exited during start-up"
    }
    ((SECONDS < deadline)) || die "the server did not become healthy on $BASE_URL"
    sleep 0.3
done

# --------------------------------------------------------------------------- the soak

export SOAK_SH="$REPO/scripts/bench/soak.sh" SOAK_RAW_DIR="$RUN_DIR" SOAK_REPORT="$RUN_DIR/report.md"
export SOAK_SERVER_LOG="$RUN_DIR/server.log" SOAK_SERVER_PID="$SERVER_PID"
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
n_faults="$(wc -w <<<"$SOAK_FAULTS")"
bound=$((${SOAK_BASELINE%.*} + n_faults * (${SOAK_OUTAGE%.*} + ${SOAK_RECOVERY%.*} + 40) + ${SOAK_SETTLE%.*} + ${SOAK_RETRY_WAIT%.*} + 180))
status=0
timeout --kill-after=10 "$bound" "$MOTO_VENV/bin/python" "$REPO/scripts/bench/soak.py" || status=$?
[[ -s "$RUN_DIR/report.md" ]] || die "the soak produced no report (exit $status)"

# What the server logged at WARN and ERROR, grouped (evidence for the report).
notes="$(python3 - "$RUN_DIR/server.log" <<'PY'
import collections, json, sys
levels, messages = collections.Counter(), collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    level = str(rec.get("level", "")).upper()
    if level in ("WARN", "ERROR"):
        levels[level] += 1
        fields = rec.get("fields") if isinstance(rec.get("fields"), dict) else rec
        msg = fields.get("message") or "?"
        err = str(fields.get("error") or "")
        messages[f"{level} {msg}" + (f": {err[:140]}" if err else "")] += 1
if levels:
    print("Server log during the run: " + ", ".join(f"{n} {k}" for k, n in levels.items())
          + " lines; the most frequent:")
    print()
    for msg, n in messages.most_common(10):
        print(f"- {n} × `{msg.replace('`', chr(39))}`")
else:
    print("Server log during the run: no WARN or ERROR line.")
PY
)"

if [[ -n "$SOAK_OUT" ]]; then
    begin_mark='<!-- soak:begin (written by scripts/bench/soak.sh) -->'
    end_mark='<!-- soak:end -->'
    block="$RUN_DIR/block.md"
    if ((BIN_GIVEN)) || [[ -n "${SOAK_BIN_FROM_ENV:-}" ]]; then
        server="server \`$SOAK_BIN\` (given; built $built), repository HEAD \`$commit\`$dirty"
    else
        server="server \`${SOAK_BIN#"$REPO"/}\` built $built from the working tree at \`$commit\`$dirty (as the soak started)"
    fi
    {
        echo "Run $started on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"
        echo "$server,"
        echo "\`RUST_LOG=$RUST_LOG\`, \`AWS_TIMEOUT_MS=$AWS_TIMEOUT_MS\`, \`REQUEST_TIMEOUT_MS=$REQUEST_TIMEOUT_MS\`,"
        echo "\`DATABASE_ACQUIRE_TIMEOUT_MS=$DATABASE_ACQUIRE_TIMEOUT_MS\` (production defaults unless given; stack.env's wider test values overridden);"
        echo "faults \`$SOAK_FAULTS\`, outage ${SOAK_OUTAGE} s, recovery ${SOAK_RECOVERY} s,"
        echo "baseline ${SOAK_BASELINE} s, client timeout ${SOAK_TIMEOUT} s. Exit status **$status**."
        echo
        cat "$RUN_DIR/report.md"
        echo
        echo "$notes"
    } >"$block"
    write_between_markers "$SOAK_OUT" "$block" "$begin_mark" "$end_mark" "Fault-injection soak"
    log "report written to $SOAK_OUT"
fi
printf '\n%s\n' "$notes"
exit "$status"
