#!/usr/bin/env bash
# Checks that `.sqlx/`, the query metadata the SQL macros (`sqlx::query!` …) compile against
# offline, is what the migrations give today (docs/sql.md):
#   scripts/check/sqlx_prepare.sh         fail when `.sqlx/` is stale (a query changed, or a
#                                         migration changed what a query reads or writes)
#   scripts/check/sqlx_prepare.sh --fix   rewrite `.sqlx/`
# It migrates a scratch database on the local stack's PostgreSQL from migrations/*.sql (with
# psql: the project's own `migrate` command would need the very build this checks), compiles
# the workspace with the macros online against it, writing their metadata into a temporary
# directory, compares that with `.sqlx/` and drops the database. A query that no longer fits
# the schema fails the compile here, with the compiler's message. Needs the stack up
# (scripts/dev/stack.sh up); uses CARGO_TARGET_DIR as given.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

fix=0
case "${1:-}" in
  "") ;;
  --fix) fix=1 ;;
  *) echo "usage: $0 [--fix]" >&2; exit 2 ;;
esac

if [[ -z "${PG_ADMIN_URL:-}" ]]; then
  # shellcheck disable=SC1090
  source "$(scripts/dev/stack.sh env)"
fi
: "${PG_ADMIN_URL:?PG_ADMIN_URL is not set: start the stack (scripts/dev/stack.sh up)}"

db="sqlx_check_$$_$RANDOM"
out="$(mktemp -d)"
cleanup() {
  rm -rf "$out"
  psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

psql "$PG_ADMIN_URL" -qAtc "CREATE DATABASE \"$db\"" >/dev/null
url="${PG_ADMIN_URL%/*}/$db"
for migration in migrations/*.sql; do
  # One transaction per file, as sqlx's migrator runs them.
  psql "$url" -q -v ON_ERROR_STOP=1 --single-transaction -f "$migration" >/dev/null
done

# The macros run only when their crate compiles: touching the crates that use them makes cargo
# compile them again (and nothing else), now online, each query writing its file into $out.
mapfile -t users < <(grep -rlE --include='*.rs' 'sqlx::query(_as|_scalar)?!' crates/*/src services/*/src \
  | sed -E 's#^((crates|services)/[^/]+)/.*#\1#' | sort -u)
if [[ ${#users[@]} -eq 0 ]]; then
  echo "sqlx_prepare: no crate uses the SQL macros: nothing to check" >&2
  exit 1
fi
for crate in "${users[@]}"; do
  for root in "$crate/src/lib.rs" "$crate/src/main.rs"; do
    [[ -f "$root" ]] && touch "$root"
  done
done
if ! SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" DATABASE_URL="$url" \
    cargo check --workspace --all-targets --locked --quiet; then
  echo "sqlx_prepare: the workspace does not compile with the SQL macros checking against the" >&2
  echo "migrated schema (see the errors above: a query that no longer fits the migrations, or any" >&2
  echo "other compile error)." >&2
  exit 1
fi

mkdir -p .sqlx
if [[ $fix -eq 1 ]]; then
  find .sqlx -maxdepth 1 -name 'query-*.json' -delete
  cp "$out"/query-*.json .sqlx/ 2>/dev/null || true
  echo "sqlx_prepare: wrote $(find .sqlx -name 'query-*.json' | wc -l) query files to .sqlx/"
  exit 0
fi

if ! diff -r -q "$out" .sqlx >/dev/null; then
  echo "sqlx_prepare: .sqlx/ does not match the queries and the migrations:" >&2
  diff -r -q "$out" .sqlx | sed -e "s#$out#(fresh)#g" -e 's/^/  /' >&2 || true
  echo "run scripts/check/sqlx_prepare.sh --fix and commit .sqlx/" >&2
  exit 1
fi
echo "sqlx_prepare: .sqlx/ is up to date ($(find .sqlx -name 'query-*.json' | wc -l) queries)"
