#!/usr/bin/env bash
# Heap profile of one HTTP binary under load: where its heap is at its peak, by owning crate.
#
#   scripts/bench/heap_profile.sh [BINARY]        # BINARY: local (default), users, products, cart, orders
#
# mimalloc (the binaries' allocator) is invisible to heaptrack, which intercepts malloc; so this
# builds BINARY and `local` with the `profiling` profile (release + line tables) and the
# `common/system-allocator` feature (glibc's malloc, nothing else changed), in the default target
# dir (CARGO_TARGET_DIR honoured; `nice -n 19`). Then, against the local stack (`stack.sh up`;
# `down` at the end only if nothing was running before):
#   1. `local serve` creates the fixtures: a product and a customer (unique email) with that
#      product in their cart;
#   2. BINARY runs under heaptrack while wrk (1 thread, HEAP_CONNECTIONS keep-alive connections,
#      default 64, HEAP_SECONDS default 10) sends its read route: local and products
#      GET /v1/products/{id} (cached), users GET /v1/users/me, cart GET /v1/cart, orders
#      GET /v1/orders (as the customer);
#   3. heaptrack_print lists the peak's allocation sites with their call stacks, and
#      scripts/bench/heap_owners.py sums them by the first crate (from the allocation up) that is not
#      the standard library, `bytes` or a collection crate.
# heaptrack slows every allocation down, so requests/s here mean nothing; the peak is what
# HEAP_CONNECTIONS requests in flight at once hold.
#
# Prints the summary (and keeps heaptrack's file) in HEAP_OUT (default
# /tmp/heap_profile.<binary>.XXXXXX). Installs heaptrack and wrk (apt) if missing.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO"

BINARY="${1:-local}"
HEAP_CONNECTIONS="${HEAP_CONNECTIONS:-64}"
HEAP_SECONDS="${HEAP_SECONDS:-10}"
BIN_DIR="$TARGET_DIR/profiling"
OUT="${HEAP_OUT:-$(mktemp -d "/tmp/heap_profile.$BINARY.XXXXXX")}"
mkdir -p "$OUT"

case "$BINARY" in
    local | products) HEALTH=/v1/products/health ;;
    users | cart | orders) HEALTH="/v1/$BINARY/health" ;;
    *) die "unknown binary $BINARY (local, users, products, cart or orders)" ;;
esac

apt_install heaptrack wrk curl jq python3
stack_up

log "building $BINARY and local (profiling, system allocator)"
nice -n 19 cargo build --profile profiling -p local -p "$BINARY" --features common/system-allocator >&2

port="$(free_port 19280)"
BASE="http://127.0.0.1:$port"
PORT="$port" RUST_LOG=warn "$BIN_DIR/local" serve >"$OUT/fixtures.log" 2>&1 &
FIXTURES=$!
on_exit "stop_pid $FIXTURES"
wait_http "$BASE/v1/products/health" "$FIXTURES" 60 || die "local serve did not start (see $OUT/fixtures.log)"
login() {
    curl -fsS -X POST "$BASE/v1/users/login" -H 'content-type: application/json' \
        -d "$(jq -nc --arg e "$1" --arg p "$2" '{email: $e, password: $p}')" | jq -r .access_token
}
ADMIN_TOKEN="$(login "$LOCAL_ADMIN_EMAIL" "$LOCAL_ADMIN_PASSWORD")"
stamp="$(date +%s)-$$-$RANDOM"
PRODUCT_ID="$(curl -fsS -X POST "$BASE/v1/products" -H "authorization: Bearer $ADMIN_TOKEN" \
    -H 'content-type: application/json' \
    -d "$(jq -nc --arg s "HEAP-$stamp" '{sku: $s, name: "Heap profile product", price: "12.50", stock: 100}')" |
    jq -r .product_id)"
[[ "$PRODUCT_ID" =~ ^[0-9]+$ ]] || die "creating the product failed"
email="heap-$stamp@example.com"
password="Heap-Passw0rd!"
curl -fsS -o /dev/null -X POST "$BASE/v1/users/register" -H 'content-type: application/json' \
    -d "$(jq -nc --arg e "$email" --arg p "$password" '{name: "Heap Profile", email: $e, password: $p}')"
TOKEN="$(login "$email" "$password")"
curl -fsS -o /dev/null -X POST "$BASE/v1/cart/items" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d "$(jq -nc --argjson id "$PRODUCT_ID" '{product_id: $id, quantity: 1}')"
kill "$FIXTURES"
wait "$FIXTURES" 2>/dev/null || true

case "$BINARY" in
    local | products) ROUTE="/v1/products/$PRODUCT_ID" ;;
    users) ROUTE=/v1/users/me ;;
    cart) ROUTE=/v1/cart ;;
    orders) ROUTE=/v1/orders ;;
esac

port="$(free_port "$((port + 1))")"
BASE="http://127.0.0.1:$port"
PORT="$port" RUST_LOG=warn heaptrack -o "$OUT/heap" "$BIN_DIR/$BINARY" serve >"$OUT/serve.log" 2>&1 &
PROFILED=$!
on_exit "stop_pid $PROFILED"
wait_http "$BASE$HEALTH" "$PROFILED" 60 || die "$BINARY did not start under heaptrack (see $OUT/serve.log)"
curl -fsS -o /dev/null -H "authorization: Bearer $TOKEN" "$BASE$ROUTE" || die "GET $ROUTE failed"
log "wrk -t1 -c$HEAP_CONNECTIONS -d${HEAP_SECONDS}s GET $ROUTE under heaptrack"
wrk -t1 -c"$HEAP_CONNECTIONS" -d"${HEAP_SECONDS}s" -H "Authorization: Bearer $TOKEN" "$BASE$ROUTE" >"$OUT/wrk.txt"
# SIGTERM to the binary (heaptrack's child): it shuts down gracefully and heaptrack writes out.
pkill -TERM -f "^$BIN_DIR/$BINARY serve" || true
wait "$PROFILED" 2>/dev/null || true

FILE="$(find "$OUT" -maxdepth 1 -name 'heap*' \( -name '*.zst' -o -name '*.gz' \) | head -n 1)"
[[ -n "$FILE" ]] || die "heaptrack wrote no file in $OUT"
heaptrack_print -f "$FILE" --print-peaks 1 --print-allocators 0 --print-temporary 0 \
    --print-leaks 0 -n 5000 -s 80 >"$OUT/peaks.txt" 2>/dev/null
{
    echo "# $BINARY: GET $ROUTE, $HEAP_CONNECTIONS connections, ${HEAP_SECONDS} s under heaptrack"
    echo "# commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ)"
    grep -E '^(calls to allocation|peak heap memory|peak RSS)' <(heaptrack_print -f "$FILE" 2>/dev/null) || true
    grep -E 'requests in|Non-2xx' "$OUT/wrk.txt" || true
    python3 scripts/bench/heap_owners.py "$OUT/peaks.txt"
} | tee "$OUT/summary.txt"
log "heaptrack file: $FILE (heaptrack_gui or heaptrack_print); summary: $OUT/summary.txt"
