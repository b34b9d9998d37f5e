#!/usr/bin/env bash
# Regenerates scripts/gen/schema.sql, the full schema, from what the migrations produce.
#   scripts/gen/schema.sh            migrate a temporary database on the local stack, dump it
#   scripts/gen/schema.sh --stdout   print instead of writing the file
# DATABASE_URL (optional): dump this already-migrated database instead.
# The dump drops comments, session settings and sqlx's bookkeeping table, so it is stable
# across runs; crates/common/tests/api/schema.rs fails when the file is stale.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
repo="$REPO"
out="$repo/scripts/gen/schema.sql"
[[ "${1:-}" == "--stdout" ]] && out=/dev/stdout

temp_db=""
# shellcheck disable=SC2317 # called at exit
cleanup() {
  if [[ -n "$temp_db" ]]; then
    psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS \"$temp_db\" WITH (FORCE)" >/dev/null
  fi
}
on_exit cleanup

if [[ -z "${DATABASE_URL_TO_DUMP:-}" && -n "${DATABASE_URL:-}" && "${1:-}" == "--stdout" ]]; then
  url="$DATABASE_URL"
else
  load_stack_env || die "the local stack is not up: scripts/dev/stack.sh up"
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
