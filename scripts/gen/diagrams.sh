#!/usr/bin/env bash
# Renders the two diagrams at the repository root from their sources:
#
#   architecture.png         <- docs/architecture.dot
#   database_rds_schema.png  <- the schema of a database migrated with migrations/*.sql
#                               (scripts/gen/schema_to_dot.py reads pg_catalog)
#
#   scripts/gen/diagrams.sh            render both PNGs in place
#   scripts/gen/diagrams.sh --check    render into a temporary directory and fail if either differs
#                                  byte for byte from the committed PNG
#
# The schema comes from, in this order:
#   PG_ADMIN_URL   a role with CREATEDB (the local stack's, e.g. postgres://shop:shop@127.0.0.1:55432/postgres):
#                  a temporary database is created, migrations/*.sql applied in order with psql,
#                  the schema read, and the database dropped again;
#   $STACK_DIR/stack.env (default /var/tmp/shop-stack), which exports PG_ADMIN_URL when the stack is up;
#   SCHEMA_DATABASE_URL   an already migrated database, used as is.
# With none reachable the schema diagram is skipped (said on stderr; exit 0) unless
# REQUIRE_SCHEMA=1. Rendering is deterministic: fixed fonts (DejaVu Sans) and dpi in the DOT,
# same Graphviz version => same bytes.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
STACK_DIR="${STACK_DIR:-/var/tmp/shop-stack}"
REQUIRE_SCHEMA="${REQUIRE_SCHEMA:-0}"
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-3}"

check=0
case "${1:-}" in
    --check) check=1 ;;
    "") ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (use --check)" ;;
esac

command -v dot >/dev/null || die "graphviz (dot) is not installed: apt-get install graphviz"
command -v psql >/dev/null || die "psql is not installed: apt-get install postgresql-client"

work="$(mktemp -d)"
tmpdb=""
admin_url=""
cleanup() {
    if [[ -n "$tmpdb" && -n "$admin_url" ]]; then
        psql "$admin_url" -X -q -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS \"$tmpdb\" WITH (FORCE)" >/dev/null 2>&1 ||
            log "warning: could not drop the temporary database $tmpdb"
    fi
    rm -rf "$work"
}
on_exit cleanup

render() { # render DOT_FILE PNG_FILE
    dot -Tpng "$1" -o "$2"
}

reachable() { psql "$1" -X -q -A -t -c 'SELECT 1' >/dev/null 2>&1; }

# Replace the database of a postgres:// URL (keeping any ?query).
with_database() { # with_database URL DBNAME
    local url="$1" db="$2" base query=""
    base="${url%%\?*}"
    [[ "$url" == *\?* ]] && query="?${url#*\?}"
    printf '%s/%s%s' "${base%/*}" "$db" "$query"
}

schema_url() { # sets url to a migrated database, or leaves it empty (no subshell: cleanup needs tmpdb)
    if [[ -z "${PG_ADMIN_URL:-}" && -f "$STACK_DIR/stack.env" ]]; then
        # shellcheck disable=SC1091
        PG_ADMIN_URL="$(set +u; source "$STACK_DIR/stack.env" >/dev/null 2>&1; printf '%s' "${PG_ADMIN_URL:-}")"
    fi
    if [[ -n "${PG_ADMIN_URL:-}" ]] && reachable "$PG_ADMIN_URL"; then
        local files=()
        mapfile -t files < <(find "$REPO/migrations" -maxdepth 1 -type f -name '*.sql' ! -name '*.down.sql' 2>/dev/null | LC_ALL=C sort)
        [[ ${#files[@]} -gt 0 ]] || die "migrations/ has no .sql files"
        admin_url="$PG_ADMIN_URL"
        tmpdb="diagrams_$$_${RANDOM}"
        psql "$admin_url" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$tmpdb\"" >/dev/null
        url="$(with_database "$admin_url" "$tmpdb")"
        local f
        for f in "${files[@]}"; do
            log "applying ${f#"$REPO"/}"
            psql "$url" -X -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null
        done
        return
    fi
    if [[ -n "${SCHEMA_DATABASE_URL:-}" ]] && reachable "$SCHEMA_DATABASE_URL"; then
        url="$SCHEMA_DATABASE_URL"
    fi
}

out="$REPO"
[[ $check == 1 ]] && out="$work/out" && mkdir -p "$out"

render "$REPO/docs/architecture.dot" "$out/architecture.png"

schema_done=0
url=""
schema_url
if [[ -n "$url" ]]; then
    python3 "$REPO/scripts/gen/schema_to_dot.py" "$url" >"$work/schema.dot"
    render "$work/schema.dot" "$out/database_rds_schema.png"
    schema_done=1
elif [[ "$REQUIRE_SCHEMA" == 1 ]]; then
    die "no database reachable for the schema diagram (set PG_ADMIN_URL or start the local stack)"
else
    log "SKIPPED database_rds_schema.png: no database reachable (set PG_ADMIN_URL, or scripts/dev/stack.sh up)"
fi

if [[ $check == 0 ]]; then
    log "rendered architecture.png$([[ $schema_done == 1 ]] && printf ' and database_rds_schema.png')"
    exit 0
fi

status=0
names=(architecture.png)
[[ $schema_done == 1 ]] && names+=(database_rds_schema.png)
for name in "${names[@]}"; do
    if [[ ! -f "$REPO/$name" ]]; then
        log "FAIL $name is missing: run scripts/gen/diagrams.sh"
        status=1
    elif ! cmp -s "$out/$name" "$REPO/$name"; then
        log "FAIL $name differs from its source: run scripts/gen/diagrams.sh and commit the PNG"
        status=1
    else
        log "ok   $name matches its source"
    fi
done
exit $status
