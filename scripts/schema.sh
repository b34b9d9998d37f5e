#!/usr/bin/env bash
# Regenerates scripts/schema.sql, the full schema, from what the migrations produce.
#   scripts/schema.sh            migrate a temporary database on the local stack, dump it
#   scripts/schema.sh --stdout   print instead of writing the file
# DATABASE_URL (optional): dump this already-migrated database instead.
# The dump drops comments, session settings and sqlx's bookkeeping table, so it is stable
# across runs; crates/common/tests/api/schema.rs fails when the file is stale.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$repo/scripts/schema.sql"
[[ "${1:-}" == "--stdout" ]] && out=/dev/stdout

temp_db=""
cleanup() {
  if [[ -n "$temp_db" ]]; then
    psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS \"$temp_db\" WITH (FORCE)" >/dev/null
  fi
}
trap cleanup EXIT

if [[ -z "${DATABASE_URL_TO_DUMP:-}" && -n "${DATABASE_URL:-}" && "${1:-}" == "--stdout" ]]; then
  url="$DATABASE_URL"
else
  # shellcheck disable=SC1090
  source "$("$repo/scripts/dev/stack.sh" env)"
  temp_db="schema_$$_$RANDOM"
  psql "$PG_ADMIN_URL" -qAtc "CREATE DATABASE \"$temp_db\"" >/dev/null
  url="${PG_ADMIN_URL%/*}/$temp_db"
  (cd "$repo" && DATABASE_URL="$url" cargo run --quiet -p local -- migrate >/dev/null)
fi

tmp="$(mktemp)"
pg_dump --schema-only --no-owner --no-privileges --no-comments \
    --exclude-table=public._sqlx_migrations "$url" \
  | grep -v -E '^(--|SET |SELECT pg_catalog\.set_config|\\restrict|\\unrestrict)' \
  | cat -s \
  | sed -e '1{/^$/d}' > "$tmp"
if [[ "$out" == /dev/stdout ]]; then
  cat "$tmp"; rm -f "$tmp"
else
  mv "$tmp" "$out"
  chmod 644 "$out"
  echo "wrote $out"
fi
