#!/usr/bin/env bash
# HTTP benchmark of the all-in-one server against a bare axum handler, in one run on one machine.
#
#   scripts/bench/http.sh
#
# Measures requests/s and p50/p99 latency (wrk, keep-alive, default 2 threads x 64 connections
# x 10 s after a 3 s warm-up) of:
#   bare   GET /                      services/local/examples/bare_axum.rs (the baseline)
#   item   GET /v1/products/{id}      warm from the Redis cache
#   list   GET /v1/products?limit=20  warm from the Redis cache
#   cart   GET /v1/cart               a customer's cart of 10 lines (UserCart in DynamoDB, priced
#                                     from the catalogue in one batched read, warm in Redis)
# once per RUST_LOG level in BENCH_LOG_LEVELS (default "warn info"; `info` writes a JSON line per
# request, sent to /dev/null), prints a markdown table and writes it, with the date, the machine
# and the commit, between the markers of docs/benchmarks/http.md (the rest of that file is kept).
# bare, item and list run BENCH_ROUNDS times (default 3) in turn, so that each round's ratio to
# the bare handler compares runs a few seconds apart: on a shared host a slow spell of a few
# seconds moves one row by 15 %. A row shows the medians over the rounds (requests/s, p50, p99,
# the ratio of each round), every round's ratio and every round's p99; the verdicts use the
# medians. cart runs once.
# Each row also shows the Redis keyspace hits/misses during the run (the reads must be hits), the
# CPU PostgreSQL (the benchmark database's backends) and moto took meanwhile (the cart read goes
# through both), and the CPU other processes took (wrk, the servers, Redis, PostgreSQL and moto
# share the machine's cores; more than 0.1 core from anything else, or stolen by the hypervisor,
# marks the row as disturbed, and the verdict lines say so).
#
# It installs wrk (apt) if missing, runs `scripts/dev/stack.sh up` (and `down` at the end only if no
# part of the stack was running before), builds the release binaries in the default target dir
# (CARGO_TARGET_DIR is honoured) and stops the servers it started. It writes to the local
# database: one product per run (a unique SKU) and, once, enough `BENCH-FILL-…` products to fill
# the listing's first page of 20; and one customer per run (a unique `bench-…@example.com`, signed
# up through POST /v1/users/register) whose cart holds 10 products of that page.
#
# Environment (defaults): BENCH_PORT=18080 BARE_PORT=18081 (the next free ports from there are
# used) BENCH_THREADS=2 BENCH_CONNECTIONS=64 BENCH_DURATION=10s BENCH_WARMUP=3s BENCH_ROUNDS=3
# BENCH_LOG_LEVELS="warn info" BENCH_OUT=docs/benchmarks/http.md (empty: print only)
# BENCH_SKIP_BUILD=0 (1: use the binaries already built) BENCH_KEEP_RAW=<dir> (keep wrk outputs)
# BENCH_BIN_DIR=<target dir>/release (where `local` and `examples/bare_axum` are, e.g. a copy made
# after the build so that another release build cannot replace them; implies BENCH_SKIP_BUILD=1).
set -euo pipefail

LOG_NAME=bench
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO"

BENCH_PORT="${BENCH_PORT:-18080}"
BARE_PORT="${BARE_PORT:-18081}"
BENCH_THREADS="${BENCH_THREADS:-2}"
BENCH_CONNECTIONS="${BENCH_CONNECTIONS:-64}"
BENCH_DURATION="${BENCH_DURATION:-10s}"
BENCH_ROUNDS="${BENCH_ROUNDS:-3}"
BENCH_WARMUP="${BENCH_WARMUP:-3s}"
BENCH_LOG_LEVELS="${BENCH_LOG_LEVELS:-warn info}"
BENCH_OUT="${BENCH_OUT-docs/benchmarks/http.md}"
BENCH_SKIP_BUILD="${BENCH_SKIP_BUILD:-0}"
BENCH_KEEP_RAW="${BENCH_KEEP_RAW:-}"
BENCH_BIN_DIR="${BENCH_BIN_DIR:-}"
LOCAL_BIN="${BENCH_BIN_DIR:-$TARGET_DIR/release}/local"
BARE_BIN="${BENCH_BIN_DIR:-$TARGET_DIR/release}/examples/bare_axum"
# The targets of issue 13: the cached item read at >= 80 % and the cached listing at >= 50 % of
# the bare handler's requests/s, both with a p99 under 5 ms.
TARGET_RATIO=0.80
TARGET_LIST_RATIO=0.50
TARGET_P99_MS=5

# target_verdict RATIO P99 TARGET: "meets throughput (…), MISSES p99 (…)".
target_verdict() {
    awk -v r="$1" -v p="$2" -v tr="$3" -v tp="$TARGET_P99_MS" 'BEGIN {
        printf "%s throughput (%.0f %% of bare, target >= %.0f %%), %s p99 (%s ms, target < %s ms)",
            (r >= tr ? "meets" : "MISSES"), r * 100, tr * 100, (p < tp ? "meets" : "MISSES"), p, tp }'
}
WORK="$(mktemp -d /tmp/bench_http.XXXXXX)"
# shellcheck disable=SC2317 # called at exit
keep_raw() {
    if [[ -n "$BENCH_KEEP_RAW" ]]; then
        mkdir -p "$BENCH_KEEP_RAW"
        cp -f "$WORK"/*.txt "$WORK"/*.log "$BENCH_KEEP_RAW"/ 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
on_exit keep_raw

# to_ms VALUE: a wrk duration (850.00us, 1.23ms, 1.02s, 1.5m) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.2f", n
    }'
}

# redis_stat FIELD: a counter of INFO stats of the stack's Redis.
redis_stat() {
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" INFO stats 2>/dev/null |
        tr -d '\r' | awk -F: -v f="$1" '$1 == f { print $2 }'
}

# --------------------------------------------------------------------------- prerequisites

apt_install wrk
# The stack: start what is missing; stop it at the end only if nothing of it was running.
# Migrations are applied below by the release binary (`local migrate`), so `stack.sh up` does
# not need a debug build for them.
SKIP_MIGRATIONS=1 stack_up

if [[ "$BENCH_SKIP_BUILD" != 1 && -z "$BENCH_BIN_DIR" ]]; then
    log "building the release binaries (cargo build --release -p local --bin local --example bare_axum)"
    build_started=$SECONDS
    cargo build --release -p local --bin local --example bare_axum >&2
    log "build took $((SECONDS - build_started)) s"
fi
[[ -x "$LOCAL_BIN" && -x "$BARE_BIN" ]] || die "missing $LOCAL_BIN or $BARE_BIN (build them)"

APP_ENV=local RUST_LOG=warn "$LOCAL_BIN" migrate >"$WORK/migrate.log" 2>&1 ||
    {
        tail -n 20 "$WORK/migrate.log" >&2
        grep -q VersionMissing "$WORK/migrate.log" &&
            log "the database holds a migration the binaries do not know: rebuild them from the current tree"
        die "migrations failed"
    }

busy_before low

# --------------------------------------------------------------------------- servers

BARE_PORT="$(free_port "$BARE_PORT")"
"$BARE_BIN" "$BARE_PORT" >"$WORK/bare.log" 2>&1 &
BARE_PID=$!
on_exit "stop_pid $BARE_PID"
wait_http "http://127.0.0.1:$BARE_PORT/" "$BARE_PID" 30 || die "bare_axum did not start (see $WORK/bare.log)"
log "bare_axum on 127.0.0.1:$BARE_PORT (pid $BARE_PID)"

LOCAL_PID=""
BASE=""

# start_local LEVEL: the release `local serve` with RUST_LOG=LEVEL on a free port. Its stdout
# (the JSON log lines) goes to a file at warn and to /dev/null at any other level.
start_local() {
    local level="$1" port out
    port="$(free_port "$BENCH_PORT" "$BARE_PORT")"
    out=/dev/null
    [[ "$level" == warn ]] && out="$WORK/local-$level.log"
    env APP_ENV=local RUST_LOG="$level" HOST=127.0.0.1 PORT="$port" \
        "$LOCAL_BIN" serve >"$out" 2>"$WORK/local-$level.stderr.log" &
    LOCAL_PID=$!
    on_exit "stop_pid $LOCAL_PID 100"
    BASE="http://127.0.0.1:$port"
    wait_http "$BASE/v1/products/health" "$LOCAL_PID" 60 ||
        {
            tail -n 20 "$WORK/local-$level.stderr.log" "$out" >&2 2>/dev/null || true
            die "local serve did not become healthy on $BASE"
        }
    log "local serve (RUST_LOG=$level) on $BASE (pid $LOCAL_PID)"
}

stop_local() {
    stop_pid "$LOCAL_PID" 100
    LOCAL_PID=""
}

# An admin token and a product of our own (a unique SKU), created through the first server.
setup_product() {
    local token body sku
    body="$(jq -nc --arg e "$LOCAL_ADMIN_EMAIL" --arg p "$LOCAL_ADMIN_PASSWORD" '{email: $e, password: $p}')"
    token="$(curl -fsS -X POST "$BASE/v1/users/login" -H 'content-type: application/json' \
        -d "$body" | jq -r .access_token)"
    [[ -n "$token" && "$token" != null ]] || die "login as $LOCAL_ADMIN_EMAIL failed"
    sku="BENCH-$(date +%s)-$$-$RANDOM"
    body="$(jq -nc --arg s "$sku" '{sku: $s, name: "Benchmark product", price: "12.50", stock: 10}')"
    PRODUCT_ID="$(curl -fsS -X POST "$BASE/v1/products" -H "authorization: Bearer $token" \
        -H 'content-type: application/json' -d "$body" | jq -r .product_id)"
    [[ "$PRODUCT_ID" =~ ^[0-9]+$ ]] || die "creating the benchmark product failed"
    log "product $PRODUCT_ID (SKU $sku)"
    # A full first page, so that the listing measures 20 items whatever the database holds
    # (the fill products stay, and later runs reuse them).
    local have need i
    have="$(curl -fsS "$BASE/v1/products?limit=20" | jq '.items | length')"
    need=$((20 - have))
    for ((i = 1; i <= need; i++)); do
        body="$(jq -nc --arg s "BENCH-FILL-$(date +%s)-$$-$i" \
            '{sku: $s, name: "Benchmark filler", price: "9.99", stock: 100}')"
        curl -fsS -o /dev/null -X POST "$BASE/v1/products" -H "authorization: Bearer $token" \
            -H 'content-type: application/json' -d "$body" || die "creating a filler product failed"
    done
    ((need <= 0)) || log "created $need filler products for a full listing page"
}

# A customer of our own (signed up through the API, a unique email) with 10 lines in their cart:
# 10 products of the listing's first page that are in stock, quantity 1 each. Sets
# CUSTOMER_TOKEN.
setup_cart() {
    local email password body ids id lines
    email="bench-$(date +%s)-$$-$RANDOM@example.com"
    password="Bench-Passw0rd!"
    body="$(jq -nc --arg e "$email" --arg p "$password" '{name: "Bench Customer", email: $e, password: $p}')"
    curl -fsS -o /dev/null -X POST "$BASE/v1/users/register" -H 'content-type: application/json' \
        -d "$body" || die "signing up $email failed"
    body="$(jq -nc --arg e "$email" --arg p "$password" '{email: $e, password: $p}')"
    CUSTOMER_TOKEN="$(curl -fsS -X POST "$BASE/v1/users/login" -H 'content-type: application/json' \
        -d "$body" | jq -r .access_token)"
    [[ -n "$CUSTOMER_TOKEN" && "$CUSTOMER_TOKEN" != null ]] || die "login as $email failed"
    ids="$(curl -fsS "$BASE/v1/products?limit=20" |
        jq -r '[.items[] | select((.stock.available // .stock_available // 0) >= 1) | .product_id][:10][]')"
    (($(wc -w <<<"$ids") == 10)) || die "fewer than 10 products in stock on the listing's first page"
    for id in $ids; do
        body="$(jq -nc --argjson id "$id" '{product_id: $id, quantity: 1}')"
        curl -fsS -o /dev/null -X POST "$BASE/v1/cart/items" -H "authorization: Bearer $CUSTOMER_TOKEN" \
            -H 'content-type: application/json' -d "$body" || die "adding product $id to the cart failed"
    done
    lines="$(curl -fsS "$BASE/v1/cart" -H "authorization: Bearer $CUSTOMER_TOKEN" | jq '.items | length')"
    ((lines == 10)) || die "the benchmark cart holds $lines lines, not 10"
    log "customer $email with 10 lines in their cart"
}

# warm URL [HEADER]: a few GETs, each must be 200 (the first one fills the cache).
# The listing must hold 20 items (see setup_product).
warm() {
    local code hdr=()
    [[ -z "${2:-}" ]] || hdr=(-H "$2")
    for _ in 1 2 3 4 5; do
        code="$(curl -s -o /dev/null -w '%{http_code}' "${hdr[@]}" "$1")"
        [[ "$code" == 200 ]] || die "GET $1 answered $code"
    done
}

# --------------------------------------------------------------------------- measuring

ROWS=()   # markdown rows
SUMMARY=() # one line per level: the cached read against the targets
DISTURBED=() # runs during which other processes or other guests (steal) took CPU

# disturbed_note NAME...: " (disturbed: …)" when any of those runs was disturbed, for a verdict.
disturbed_note() {
    local name hit=()
    for name in "$@"; do
        [[ " ${DISTURBED[*]} " != *" $name "* ]] || hit+=("$name")
    done
    ((${#hit[@]} == 0)) || printf ' (disturbed: %s; repeat the run)' "${hit[*]}"
}

HZ="$(getconf CLK_TCK)"
REDIS_SERVER_PID="$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" INFO server 2>/dev/null |
    tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }')"

# CPU ticks (user + system) of a process, 0 if there is none.
proc_ticks() {
    if [[ -n "$1" && -r "/proc/$1/stat" ]]; then
        awk '{ print $14 + $15 }' "/proc/$1/stat"
    else
        echo 0
    fi
}

MOTO_SERVER_PID="$(head -n 1 "$STACK_DIR/moto.pid" 2>/dev/null || true)"

BENCH_DB="${DATABASE_URL##*/}"
BENCH_DB="${BENCH_DB%%\?*}"

# STACK_TICKS: CPU ticks of the moto server and of the PostgreSQL backends connected to the
# benchmark's database (not the tests' databases on the same cluster): the cart row's request
# path goes through them (the caller's users row, the UserCart item). Bash builtins only, so
# that it costs next to nothing and no child process.
stack_ticks() {
    local f pid comm cmd st t=0
    for f in /proc/[0-9]*/comm; do
        read -r comm 2>/dev/null <"$f" || continue
        [[ "$comm" == postgres ]] || continue
        pid="${f#/proc/}"
        pid="${pid%/comm}"
        IFS= read -r -d '' cmd 2>/dev/null <"/proc/$pid/cmdline" || true
        [[ "$cmd" == "postgres: "*" $BENCH_DB "* ]] || continue
        read -r -a st 2>/dev/null <"/proc/$pid/stat" || continue
        t=$((t + st[13] + st[14]))
    done
    if [[ -n "$MOTO_SERVER_PID" && -r "/proc/$MOTO_SERVER_PID/stat" ]]; then
        read -r -a st <"/proc/$MOTO_SERVER_PID/stat"
        t=$((t + st[13] + st[14]))
    fi
    STACK_TICKS="$t"
}

# CHILD_TICKS: CPU ticks of this shell's finished children (wrk, curl, redis-cli), from
# `times` (which must run in this shell: in a subshell it reads zero).
child_ticks() {
    times >"$WORK/times"
    CHILD_TICKS="$(awk -v hz="$HZ" 'NR == 2 {
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
        printf "%.0f", t * hz }' "$WORK/times")"
}

# Machine-wide busy ticks (user + nice + system + irq + softirq: a process's own ticks include the
# interrupts served in its context) and steal ticks.
machine_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat
}

# run_wrk NAME URL SERVER_PID [HEADER]: warm-up, then the measured run (HEADER, e.g.
# "Authorization: Bearer …", on every request); sets RPS P50 P99 ERRS HITS, STACK (CPU, in cores,
# of PostgreSQL and moto during the run) and OTHER (CPU, in cores, used during the run by anything
# but wrk, the server, Redis, PostgreSQL and moto; > 0.1 means the numbers were disturbed).
run_wrk() {
    local name="$1" url="$2" spid="$3" out="$WORK/wrk-$1.txt" hits0 miss0 hits1 miss1 non2xx sockerr
    local m0 m1 s0 s1 r0 r1 c0 c1 t0 t1 p0 p1 hdr=()
    [[ -z "${4:-}" ]] || hdr=(-H "$4")
    wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"$BENCH_WARMUP" "${hdr[@]}" "$url" >/dev/null
    hits0="$(redis_stat keyspace_hits)"
    miss0="$(redis_stat keyspace_misses)"
    stack_ticks
    p0="$STACK_TICKS"
    m0="$(machine_ticks)" s0="$(proc_ticks "$spid")" r0="$(proc_ticks "$REDIS_SERVER_PID")"
    child_ticks
    c0="$CHILD_TICKS"
    t0="$(date +%s.%N)"
    wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"$BENCH_DURATION" --latency "${hdr[@]}" "$url" >"$out"
    t1="$(date +%s.%N)"
    m1="$(machine_ticks)" s1="$(proc_ticks "$spid")" r1="$(proc_ticks "$REDIS_SERVER_PID")"
    stack_ticks
    p1="$STACK_TICKS"
    child_ticks
    c1="$CHILD_TICKS"
    hits1="$(redis_stat keyspace_hits)"
    miss1="$(redis_stat keyspace_misses)"
    STACK="$(awk -v p="$((p1 - p0))" -v t0="$t0" -v t1="$t1" -v hz="$HZ" 'BEGIN {
        v = p / ((t1 - t0) * hz); if (v < 0) v = 0; printf "%.2f", v }')"
    OTHER="$(awk -v m0="$m0" -v m1="$m1" -v s="$((s1 - s0))" -v r="$((r1 - r0))" -v c="$((c1 - c0))" \
        -v p="$((p1 - p0))" -v t0="$t0" -v t1="$t1" -v hz="$HZ" 'BEGIN {
        split(m0, a, " "); split(m1, b, " "); secs = (t1 - t0) * hz
        other = (b[1] - a[1] - s - r - c - p) / secs; if (other < 0) other = 0
        printf "%.2f", other; steal = (b[2] - a[2]) / secs; if (steal >= 0.05) printf " (steal %.2f)", steal }')"
    RPS="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")"
    P50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")"
    P99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
    sockerr="$(awk -F'Socket errors: ' 'NF > 1 { print $2 }' "$out")"
    ERRS="${non2xx:-0} non-2xx${sockerr:+; socket errors: $sockerr}"
    [[ -n "$RPS" && -n "$P50" && -n "$P99" ]] || {
        cat "$out" >&2
        die "could not parse wrk's output for $name"
    }
    # Redis keyspace hits/misses during the run (the whole Redis: other clients count too).
    HITS="$((hits1 - hits0)) / $((miss1 - miss0))"
    log "$name: $RPS req/s, p50 $P50 ms, p99 $P99 ms, $ERRS, redis hits/misses $HITS, PostgreSQL + moto CPU $STACK cores, other CPU $OTHER cores"
    # Disturbed: more than 0.1 core went to other processes, or to other guests of the host
    # (steal: the hypervisor ran someone else on our cores).
    local steal_now="0"
    if [[ "$OTHER" == *steal* ]]; then
        steal_now="${OTHER##*steal }"
        steal_now="${steal_now%)}"
    fi
    if awk -v o="${OTHER%% *}" -v st="$steal_now" 'BEGIN { exit !(o > 0.1 || st > 0.1) }'; then
        DISTURBED+=("$name")
    fi
    cat "$out" >&2
}

# ratio A B: A / B with two decimals (three below 0.01, so that a small ratio does not read 0.00).
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else if (a / b < 0.01) printf "%.3f", a / b
        else printf "%.2f", a / b }'
}

# median VALUES...: the middle value (the mean of the two middle ones for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# measure_rounds LEVEL: bare, item and list in turn, BENCH_ROUNDS times; appends their rows.
measure_rounds() {
    local level="$1" round kind rps p50 p99 ratios bare_rps=""
    local -A url=([bare]="http://127.0.0.1:$BARE_PORT/" [item]="$item_url" [list]="$list_url")
    local -A pid=([bare]="$BARE_PID" [item]="$LOCAL_PID" [list]="$LOCAL_PID")
    # shellcheck disable=SC2016 # backquotes are markdown here
    local -A label=([bare]='bare axum `GET /` (baseline)' [item]='`GET /v1/products/{id}` (cached)'
        [list]='`GET /v1/products?limit=20` (cached, 20 items)')
    local -A rps_of p50_of p99_of errs_of other_of hits_of stack_of ratio_of names_of
    for ((round = 1; round <= BENCH_ROUNDS; round++)); do
        for kind in bare item list; do
            run_wrk "$kind-$level-$round" "${url[$kind]}" "${pid[$kind]}"
            rps_of[$kind]+="$RPS "
            p50_of[$kind]+="$P50 "
            p99_of[$kind]+="$P99 "
            errs_of[$kind]+="${errs_of[$kind]:+; }$ERRS"
            other_of[$kind]+="${other_of[$kind]:+; }$OTHER"
            hits_of[$kind]+="${hits_of[$kind]:+; }$HITS"
            stack_of[$kind]+="${stack_of[$kind]:+; }$STACK"
            names_of[$kind]+="$kind-$level-$round "
            [[ "$kind" == bare ]] && bare_rps="$RPS"
            ratio_of[$kind]+="$(ratio "$RPS" "$bare_rps") "
        done
    done
    for kind in bare item list; do
        # shellcheck disable=SC2086 # word splitting of the collected values is intended
        {
            rps=$(median ${rps_of[$kind]})
            p50=$(median ${p50_of[$kind]})
            p99=$(median ${p99_of[$kind]})
            ratios=$(median ${ratio_of[$kind]})
        }
        if [[ "$kind" == bare ]]; then BARE_MEDIAN="$rps"; fi
        local shown="$ratios"
        [[ "$kind" == bare ]] || shown="**$ratios**"
        local lvl="\`$level\`"
        [[ "$kind" == bare ]] && lvl="–"
        ROWS+=("| ${label[$kind]} | $lvl | $(printf '%.0f' "$rps") | $p50 | $p99 | $shown | ${ratio_of[$kind]% } | ${p99_of[$kind]% } | ${errs_of[$kind]} | ${hits_of[$kind]} | ${stack_of[$kind]} | ${other_of[$kind]} |")
        # shellcheck disable=SC2086 # one run name per word
        case "$kind" in
            item) SUMMARY+=("- \`RUST_LOG=$level\`: the cached single-product read $(target_verdict "$ratios" "$p99" "$TARGET_RATIO")$(disturbed_note ${names_of[bare]} ${names_of[item]}).") ;;
            list) SUMMARY+=("- \`RUST_LOG=$level\`: the cached listing $(target_verdict "$ratios" "$p99" "$TARGET_LIST_RATIO")$(disturbed_note ${names_of[bare]} ${names_of[list]}).") ;;
        esac
    done
}

PRODUCT_ID=""
CUSTOMER_TOKEN=""
BARE_MEDIAN=""
for level in $BENCH_LOG_LEVELS; do
    start_local "$level"
    [[ -n "$PRODUCT_ID" ]] || setup_product
    [[ -n "$CUSTOMER_TOKEN" ]] || setup_cart
    item_url="$BASE/v1/products/$PRODUCT_ID"
    list_url="$BASE/v1/products?limit=20"
    cart_url="$BASE/v1/cart"
    cart_auth="Authorization: Bearer $CUSTOMER_TOKEN"
    warm "$item_url"
    warm "$list_url"
    warm "$cart_url" "$cart_auth"
    items="$(curl -fsS "$list_url" | jq '.items | length')"
    ((items == 20)) || log "WARNING: the listing holds $items items, not 20"

    measure_rounds "$level"

    run_wrk "cart-$level" "$cart_url" "$LOCAL_PID" "$cart_auth"
    ROWS+=("| \`GET /v1/cart\` (10 lines) | \`$level\` | $RPS | $P50 | $P99 | $(ratio "$RPS" "$BARE_MEDIAN") | (one run) | (one run) | $ERRS | $HITS | $STACK | $OTHER |")

    stop_local
done

# --------------------------------------------------------------------------- report

commit="$(git_commit)"
cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
RESULT="$WORK/result.md"
{
    echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores${cpu:+ ($cpu)}, Linux $(uname -r), commit $commit"
    echo "(release binary built $(date -u -r "$LOCAL_BIN" +%Y-%m-%dT%H:%MZ))."
    echo "wrk $BENCH_THREADS threads, $BENCH_CONNECTIONS connections, $BENCH_DURATION per run after a $BENCH_WARMUP warm-up;"
    echo "bare, item and list ran $BENCH_ROUNDS times in turn: each row shows the medians, and each round's ratio to the"
    echo "bare handler's run of the same round (cart ran once, after them);"
    echo "wrk, the servers, Redis, PostgreSQL and moto all share the same $(nproc) cores"
    echo "(CPU ${BUSY_BEFORE} % busy just before the run, from other processes)."
    echo
    echo "| Endpoint | RUST_LOG | Requests/s | p50 (ms) | p99 (ms) | × bare req/s | × bare per round | p99 per round (ms) | Errors | Redis hits / misses | PostgreSQL + moto CPU (cores) | Other CPU (cores) |"
    echo "|---|---|---:|---:|---:|---:|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    printf '%s\n' "${SUMMARY[@]}"
    if ((${#DISTURBED[@]})); then
        echo
        echo "**Disturbed:** other processes or other guests of the host (steal) took more than 0.1 core during ${DISTURBED[*]}: run it again on a quiet machine."
    fi
} >"$RESULT"

cat "$RESULT"

if [[ -n "$BENCH_OUT" ]]; then
    write_between_markers "$BENCH_OUT" "$RESULT" '<!-- bench_http:begin (written by scripts/bench/http.sh) -->' '<!-- bench_http:end -->' "HTTP benchmark"
    log "wrote $BENCH_OUT"
fi
