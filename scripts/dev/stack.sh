#!/usr/bin/env bash
# The local stack: PostgreSQL, Redis and the AWS emulator (moto server) on loopback.
#
#   scripts/dev/stack.sh install        install what is missing (apt packages, the moto venv)
#   scripts/dev/stack.sh up             install, start what is not running, provision, write stack.env, migrate
#   scripts/dev/stack.sh down [--purge] stop what runs (--purge also deletes $STACK_DIR)
#   scripts/dev/stack.sh status         what runs; exit 0 only if all three are up
#   scripts/dev/stack.sh env            print the path of stack.env: source "$(scripts/dev/stack.sh env)"
#
# Environment (defaults): STACK_DIR=/var/tmp/shop-stack PG_PORT=55432 REDIS_PORT=56379
# MOTO_PORT=55000 MOTO_VENV=<repo>/.venv-moto AWS_REGION=us-east-1 RESOURCE_PREFIX=
# DYNAMODB_TABLE_PREFIX=$RESOURCE_PREFIX IMAGES_BUCKET=shop-images-local
# LOCAL_ADMIN_EMAIL=admin@example.com LOCAL_ADMIN_PASSWORD=Admin-Passw0rd! SKIP_MIGRATIONS=0
# WAIT_SECONDS=30 (bound of every wait). Runs as root (apt-get, runuser); no systemd needed.
set -euo pipefail

LOG_NAME=stack
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
STACK_DIR="${STACK_DIR:-/var/tmp/shop-stack}"
PG_PORT="${PG_PORT:-55432}"
REDIS_PORT="${REDIS_PORT:-56379}"
MOTO_PORT="${MOTO_PORT:-55000}"
MOTO_VENV="${MOTO_VENV:-$REPO/.venv-moto}"
AWS_REGION="${AWS_REGION:-us-east-1}"
RESOURCE_PREFIX="${RESOURCE_PREFIX:-}"
DYNAMODB_TABLE_PREFIX="${DYNAMODB_TABLE_PREFIX:-$RESOURCE_PREFIX}"
IMAGES_BUCKET="${IMAGES_BUCKET:-shop-images-local}"
LOCAL_ADMIN_EMAIL="${LOCAL_ADMIN_EMAIL:-admin@example.com}"
LOCAL_ADMIN_PASSWORD="${LOCAL_ADMIN_PASSWORD:-Admin-Passw0rd!}"
SKIP_MIGRATIONS="${SKIP_MIGRATIONS:-0}"
WAIT_SECONDS="${WAIT_SECONDS:-30}"

PG_USER=shop
PG_PASSWORD=shop
PG_DATABASE=shop
PG_DIR="$STACK_DIR/pg"
PG_LOG="$STACK_DIR/postgres.log"
REDIS_PID="$STACK_DIR/redis.pid"
REDIS_LOG="$STACK_DIR/redis.log"
MOTO_PID="$STACK_DIR/moto.pid"
MOTO_LOG="$STACK_DIR/moto.log"
STACK_ENV="$STACK_DIR/stack.env"
REQUIREMENTS="$REPO/scripts/dev/requirements-moto.txt"
MOTO_URL="http://127.0.0.1:$MOTO_PORT"

# Print the tail of a log file (on a failed start).
show_log() {
    if [[ -f "$1" ]]; then
        printf -- '--- last lines of %s ---\n' "$1" >&2
        tail -n 30 "$1" >&2 || true
        printf -- '---\n' >&2
    fi
}

# True when the pid in file $1 is a live process whose command line contains $2.
pid_alive() {
    local file="$1" pattern="$2" pid
    [[ -f "$file" ]] || return 1
    pid="$(head -n 1 "$file" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

# wait_for NAME LOGFILE ALIVE COMMAND...: retry COMMAND for up to WAIT_SECONDS; give up at
# once when the command ALIVE (e.g. a pid check; `true` for none) fails.
wait_for() {
    local name="$1" logfile="$2" alive="$3" deadline
    shift 3
    deadline=$((SECONDS + WAIT_SECONDS))
    until "$@" >/dev/null 2>&1; do
        if ! "$alive"; then
            show_log "$logfile"
            die "$name exited during start-up (log: $logfile)"
        fi
        if ((SECONDS >= deadline)); then
            show_log "$logfile"
            die "$name did not answer within ${WAIT_SECONDS}s (log: $logfile)"
        fi
        sleep 0.2
    done
}

# --------------------------------------------------------------------------- install

pg_bindir() {
    local dir best=""
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] || continue
        if [[ -z "$best" ]] || [[ "$(printf '%s\n%s\n' "$best" "$dir" | sort -V | tail -n 1)" == "$dir" ]]; then
            best="$dir"
        fi
    done
    [[ -n "$best" ]] || return 1
    printf '%s\n' "$best"
}

install_packages() {
    local missing=()
    pg_bindir >/dev/null || missing+=(postgresql)
    command -v psql >/dev/null || missing+=(postgresql-client)
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v redis-cli >/dev/null || missing+=(redis-tools)
    command -v curl >/dev/null || missing+=(curl)
    command -v jq >/dev/null || missing+=(jq)
    if [[ ! -x "$MOTO_VENV/bin/python" ]] && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        missing+=(python3-venv) # Debian's own python3 ships venv separately
    fi
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    if [[ " ${missing[*]} " == *" postgresql "* && ! -f /etc/postgresql-common/createcluster.conf ]]; then
        # No default cluster on 5432: the stack makes its own in $STACK_DIR.
        apt-get install -y -qq --no-install-recommends postgresql-common >/dev/null
        sed -ri 's/^#?\s*create_main_cluster\s*=.*$/create_main_cluster = false/' \
            /etc/postgresql-common/createcluster.conf
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_venv() {
    ensure_venv "$MOTO_VENV" "$REQUIREMENTS" moto_server
}

cmd_install() {
    install_packages
    install_venv
}

# --------------------------------------------------------------------------- PostgreSQL

pg_running() {
    local bindir
    bindir="$(pg_bindir)" || return 1
    [[ -f "$PG_DIR/postmaster.pid" ]] || return 1
    runuser -u postgres -- "$bindir/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1
}

pg_ready() {
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT"
}

psql_admin() {
    # Superuser over the unix socket in the data dir (trust for local connections only).
    psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres "$@"
}

start_postgres() {
    local bindir
    bindir="$(pg_bindir)" || die "PostgreSQL binaries not found (run: $0 install)"
    if pg_running; then
        log "postgres: already running on $PG_PORT"
    else
        if port_open "$PG_PORT"; then
            die "port $PG_PORT is taken by something else than $PG_DIR (set PG_PORT)"
        fi
        if [[ ! -f "$PG_DIR/PG_VERSION" ]]; then
            log "postgres: initdb $PG_DIR"
            rm -rf "$PG_DIR"
            install -d -m 700 -o postgres -g postgres "$PG_DIR"
            # Local socket: trust (the script's superuser access); TCP: password (scram).
            runuser -u postgres -- "$bindir/initdb" -D "$PG_DIR" -U postgres -E UTF8 \
                --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >"$STACK_DIR/initdb.log" 2>&1 ||
                {
                    show_log "$STACK_DIR/initdb.log"
                    die "initdb failed"
                }
        fi
        chown -R postgres:postgres "$PG_DIR"
        touch "$PG_LOG"
        chown postgres:postgres "$PG_LOG"
        log "postgres: starting on 127.0.0.1:$PG_PORT"
        # authentication_timeout: a test that stops mid-handshake (its runtime dropped) leaves a
        # backend in authentication, which stalls every DROP DATABASE (it waits for all backends
        # to absorb a barrier) until the timeout: 5 s instead of 60 s.
        runuser -u postgres -- "$bindir/pg_ctl" -D "$PG_DIR" -l "$PG_LOG" -s \
            -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c max_connections=300 -c authentication_timeout=5s" start ||
            {
                show_log "$PG_LOG"
                die "postgres failed to start (log: $PG_LOG)"
            }
    fi
    wait_for postgres "$PG_LOG" true pg_ready
    # Role and database, if missing (CREATEDB: tests create and drop a database each).
    if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != 1 ]]; then
        psql_admin -c "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
        log "postgres: role $PG_USER created"
    fi
    if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]]; then
        psql_admin -c "CREATE DATABASE $PG_DATABASE OWNER $PG_USER"
        log "postgres: database $PG_DATABASE created"
    fi
}

stop_postgres() {
    local bindir
    if pg_running; then
        bindir="$(pg_bindir)"
        runuser -u postgres -- "$bindir/pg_ctl" -D "$PG_DIR" -m fast -s -w -t "$WAIT_SECONDS" stop ||
            log "postgres: pg_ctl stop failed (see $PG_LOG)"
        log "postgres: stopped"
    fi
}

# --------------------------------------------------------------------------- Redis

redis_running() {
    pid_alive "$REDIS_PID" redis-server
}

redis_ready() {
    [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

start_redis() {
    if redis_running; then
        log "redis: already running on $REDIS_PORT"
    elif redis_ready; then
        log "redis: something already answers on $REDIS_PORT; using it"
        return 0
    else
        if port_open "$REDIS_PORT"; then
            die "port $REDIS_PORT is taken by something that is not redis (set REDIS_PORT)"
        fi
        log "redis: starting on 127.0.0.1:$REDIS_PORT"
        rm -f "$REDIS_PID"
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" --dir "$STACK_DIR" ||
            {
                show_log "$REDIS_LOG"
                die "redis failed to start (log: $REDIS_LOG)"
            }
    fi
    wait_for redis "$REDIS_LOG" true redis_ready
}

stop_redis() {
    if redis_running; then
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 ||
            kill "$(cat "$REDIS_PID")" 2>/dev/null || true
        stop_wait "$REDIS_PID" redis-server
        rm -f "$REDIS_PID"
        log "redis: stopped"
    fi
}

# --------------------------------------------------------------------------- moto

moto_running() {
    pid_alive "$MOTO_PID" moto_server
}

moto_ready() {
    curl -fs -o /dev/null --max-time 2 "$MOTO_URL/moto-api/config"
}

start_moto() {
    if moto_running; then
        log "moto: already running on $MOTO_PORT"
    elif moto_ready; then
        log "moto: something already answers on $MOTO_PORT; using it"
    else
        if port_open "$MOTO_PORT"; then
            die "port $MOTO_PORT is taken by something that is not moto (set MOTO_PORT)"
        fi
        log "moto: starting on 127.0.0.1:$MOTO_PORT"
        # MOTO_PORT must be the server's own port: the Step Functions interpreter calls back on it.
        env MOTO_PORT="$MOTO_PORT" \
            MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY=HASH \
            MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY=HASH \
            AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION="$AWS_REGION" \
            nohup "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" \
            >>"$MOTO_LOG" 2>&1 </dev/null &
        echo "$!" >"$MOTO_PID"
        wait_for moto "$MOTO_LOG" moto_running moto_ready
    fi
    wait_for moto "$MOTO_LOG" true moto_ready
    # Step Functions runs states only with this (a no-op when already set); before provisioning.
    curl -fsS -o /dev/null --max-time 5 -X POST -H 'Content-Type: application/json' \
        -d '{"stepfunctions":{"execute_state_machine":true}}' "$MOTO_URL/moto-api/config" ||
        die "could not configure moto's Step Functions at $MOTO_URL/moto-api/config"
}

stop_moto() {
    if moto_running; then
        kill "$(cat "$MOTO_PID")" 2>/dev/null || true
        stop_wait "$MOTO_PID" moto_server
        rm -f "$MOTO_PID"
        log "moto: stopped"
    fi
}

# stop_wait PIDFILE PATTERN: wait for the process to exit, SIGKILL it after WAIT_SECONDS.
stop_wait() {
    local deadline=$((SECONDS + WAIT_SECONDS))
    while pid_alive "$1" "$2"; do
        if ((SECONDS >= deadline)); then
            kill -9 "$(cat "$1")" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
}

# --------------------------------------------------------------------------- stack.env

# q VALUE: single-quote a value for a shell `export` line.
q() {
    local s="$1"
    printf "'%s'" "${s//\'/\'\\\'\'}"
}

write_stack_env() {
    local json="$1" tmp pool
    pool="$(jq -r .user_pool_id <<<"$json")"
    tmp="$(mktemp "$STACK_DIR/stack.env.XXXXXX")"
    {
        echo "# Written by scripts/dev/stack.sh up on $(date -u +%Y-%m-%dT%H:%M:%SZ); source it: . \"\$(scripts/dev/stack.sh env)\""
        echo "# --- runtime"
        echo "export APP_ENV=$(q local)"
        echo "export PORT=$(q 8080)"
        echo "export RUST_LOG=$(q info)"
        echo "export BODY_LIMIT_BYTES=$(q 65536)"
        echo "# --- PostgreSQL"
        echo "export DATABASE_URL=$(q "postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE")"
        echo "export DATABASE_SECRET_ID=$(q '')"
        echo "export DATABASE_MAX_CONNECTIONS=$(q 5)"
        echo "# the all-in-one server shares one pool between every service: under a parallel test"
        echo "# suite requests queue for it longer than a Lambda ever does (AWS default: 1000 ms)"
        echo "export DATABASE_ACQUIRE_TIMEOUT_MS=$(q 3000)"
        echo "export PG_ADMIN_URL=$(q "postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres")"
        echo "# the same credentials as a Secrets Manager secret (set DATABASE_SECRET_ID to it to use it)"
        echo "export LOCAL_DB_SECRET_ID=$(q "$(jq -r .db_secret_id <<<"$json")")"
        echo "# --- Redis"
        echo "export REDIS_URL=$(q "redis://127.0.0.1:$REDIS_PORT")"
        echo "export CACHE_TTL_SECONDS=$(q 60)"
        echo "export CACHE_KEY_PREFIX=$(q '')"
        echo "# --- AWS (moto)"
        echo "export AWS_REGION=$(q "$AWS_REGION")"
        echo "export AWS_DEFAULT_REGION=$(q "$AWS_REGION")"
        echo "export AWS_ENDPOINT_URL=$(q "$MOTO_URL")"
        echo "export AWS_ACCESS_KEY_ID=$(q testing)"
        echo "export AWS_SECRET_ACCESS_KEY=$(q testing)"
        echo "# moto is one Python process: under a parallel test suite or a load test its answers"
        echo "# can take over a second, so local calls get 3 s (AWS default: 800 ms; see README)"
        echo "export AWS_TIMEOUT_MS=$(q 3000)"
        echo "# one process serves every service against that one emulator: concurrent writes to one"
        echo "# cart take turns in it (AWS default: 2000 ms)"
        echo "export REQUEST_TIMEOUT_MS=$(q 15000)"
        echo "export DYNAMODB_TABLE_PREFIX=$(q "$DYNAMODB_TABLE_PREFIX")"
        echo "export IMAGES_BUCKET=$(q "$(jq -r .images_bucket <<<"$json")")"
        # The all-in-one server serves processed images at /images/<key> to anonymous
        # clients (the local stand-in for CloudFront); run.sh re-derives it from PORT.
        echo "export IMAGES_PUBLIC_BASE_URL=$(q "http://127.0.0.1:8080/images")"
        echo "export IMAGE_QUEUE_URL=$(q "$(jq -r '.queues["image-processing"].url' <<<"$json")")"
        echo "export ORDER_EVENTS_TOPIC_ARN=$(q "$(jq -r '.topics["order-events"]' <<<"$json")")"
        echo "export CHECKOUT_STATE_MACHINE_ARN=$(q "$(jq -r '.state_machines.checkout_workflow.arn' <<<"$json")")"
        echo "export CHECKOUT_TASK_QUEUE_URL=$(q "$(jq -r '.queues["checkout-tasks"].url' <<<"$json")")"
        echo "# extra handles for tests (not read by the services)"
        echo "export IMAGE_UPLOADS_TOPIC_ARN=$(q "$(jq -r '.topics["image-uploads"]' <<<"$json")")"
        echo "export IMAGE_DLQ_URL=$(q "$(jq -r '.queues["image-processing"].dlq_url' <<<"$json")")"
        echo "export FULFILLMENT_QUEUE_URL=$(q "$(jq -r '.queues.fulfillment.url' <<<"$json")")"
        echo "export FULFILLMENT_DLQ_URL=$(q "$(jq -r '.queues.fulfillment.dlq_url' <<<"$json")")"
        echo "export CHECKOUT_TASK_DLQ_URL=$(q "$(jq -r '.queues["checkout-tasks"].dlq_url' <<<"$json")")"
        echo "export CHECKOUT_STATE_MACHINE_PROVISIONED=$(q "$(jq -r '.state_machines.checkout_workflow.provisioned' <<<"$json")")"
        echo "# --- Cognito"
        echo "export COGNITO_USER_POOL_ID=$(q "$pool")"
        echo "export COGNITO_CLIENT_ID=$(q "$(jq -r .client_id <<<"$json")")"
        echo "export COGNITO_ISSUER=$(q "$(jq -r .issuer <<<"$json")")"
        echo "export COGNITO_JWKS_URL=$(q "$(jq -r .jwks_url <<<"$json")")"
        echo "export COGNITO_AUTO_CONFIRM=$(q true)"
        echo "# --- local stack"
        echo "export STACK_DIR=$(q "$STACK_DIR")"
        echo "export PG_PORT=$(q "$PG_PORT")"
        echo "export REDIS_PORT=$(q "$REDIS_PORT")"
        echo "export MOTO_PORT=$(q "$MOTO_PORT")"
        echo "export LOCAL_ADMIN_EMAIL=$(q "$LOCAL_ADMIN_EMAIL")"
        echo "export LOCAL_ADMIN_PASSWORD=$(q "$LOCAL_ADMIN_PASSWORD")"
    } >"$tmp"
    if grep -q "='null'$" "$tmp"; then
        grep "='null'$" "$tmp" >&2
        rm -f "$tmp"
        die "provision.py output lacks some values (see above)"
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$STACK_ENV"
}

# --------------------------------------------------------------------------- commands

provision() {
    MOTO_PORT="$MOTO_PORT" AWS_ENDPOINT_URL="$MOTO_URL" AWS_REGION="$AWS_REGION" \
        RESOURCE_PREFIX="$RESOURCE_PREFIX" DYNAMODB_TABLE_PREFIX="$DYNAMODB_TABLE_PREFIX" \
        IMAGES_BUCKET="$IMAGES_BUCKET" LOCAL_ADMIN_EMAIL="$LOCAL_ADMIN_EMAIL" \
        LOCAL_ADMIN_PASSWORD="$LOCAL_ADMIN_PASSWORD" PG_HOST=127.0.0.1 PG_PORT="$PG_PORT" \
        PG_USER="$PG_USER" PG_PASSWORD="$PG_PASSWORD" PG_DATABASE="$PG_DATABASE" \
        "$MOTO_VENV/bin/python" "$REPO/scripts/dev/provision.py"
}

cmd_up() {
    local json
    cmd_install
    mkdir -p "$STACK_DIR"
    chmod 755 "$STACK_DIR"
    start_postgres
    start_redis
    start_moto
    log "provisioning AWS resources in moto"
    # Provisioning is idempotent: one retry rides out a moto hiccup (its Cognito backend is not
    # thread-safe under concurrent calls).
    json="$(provision)" || {
        log "provisioning failed once; retrying"
        sleep 2
        json="$(provision)"
    } || {
        show_log "$MOTO_LOG"
        die "provisioning failed"
    }
    printf '%s\n' "$json" >"$STACK_DIR/provision.json"
    write_stack_env "$json"
    if [[ "$SKIP_MIGRATIONS" != 1 ]]; then
        log "applying migrations (cargo run -p local -- migrate)"
        (
            cd "$REPO"
            set -a
            # shellcheck source=/dev/null
            . "$STACK_ENV"
            set +a
            cargo run --quiet -p local -- migrate
        ) || die "migrations failed"
    fi
    cat <<EOF
local stack is up ($STACK_DIR)
  postgres  postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE   (log $PG_LOG)
  redis     redis://127.0.0.1:$REDIS_PORT   (log $REDIS_LOG)
  moto      $MOTO_URL   (log $MOTO_LOG)
  cognito   pool $(jq -r .user_pool_id <<<"$json"), client $(jq -r .client_id <<<"$json"), admin $LOCAL_ADMIN_EMAIL
  env       source "$STACK_ENV"
EOF
}

cmd_down() {
    local purge=0
    case "${1:-}" in
    --purge) purge=1 ;;
    "") ;;
    *) die "usage: $0 down [--purge]" ;;
    esac
    stop_moto
    stop_redis
    stop_postgres
    if ((purge)) && [[ -d "$STACK_DIR" ]]; then
        rm -rf "$STACK_DIR"
        log "removed $STACK_DIR"
    fi
    return 0
}

cmd_status() {
    local ok=0 how
    if pg_ready; then
        how="not started by this script"
        pg_running && how="$PG_DIR"
        echo "postgres  up    127.0.0.1:$PG_PORT ($how)"
    else
        echo "postgres  down  (127.0.0.1:$PG_PORT)"
        ok=1
    fi
    if redis_ready; then
        how="not started by this script"
        redis_running && how="pid $(cat "$REDIS_PID")"
        echo "redis     up    127.0.0.1:$REDIS_PORT ($how)"
    else
        echo "redis     down  (127.0.0.1:$REDIS_PORT)"
        ok=1
    fi
    if moto_ready; then
        how="not started by this script"
        moto_running && how="pid $(cat "$MOTO_PID")"
        echo "moto      up    $MOTO_URL ($how)"
    else
        echo "moto      down  ($MOTO_URL)"
        ok=1
    fi
    if [[ -f "$STACK_ENV" ]]; then
        echo "env       $STACK_ENV"
    fi
    return "$ok"
}

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
    local cmd="${1:-}"
    shift || true
    case "$cmd" in
    install) cmd_install ;;
    up) cmd_up ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    env) printf '%s\n' "$STACK_ENV" ;;
    -h | --help | help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"
