#!/usr/bin/env bash
# Starts the local stack and the whole platform on one port (default 127.0.0.1:8080, PORT
# overrides): every /v1 route, plus the background workers. Ctrl-C stops the server;
# `scripts/dev/stack.sh down` stops PostgreSQL, Redis and moto.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
repo="$REPO"
cd "$repo"

requested_port="${PORT:-8080}"
"$STACK_SH" up
load_stack_env
cargo build --quiet -p local
export PORT="$requested_port"
base="http://127.0.0.1:$PORT"
# Processed images are served by this server at /images/<key> (CloudFront's stand-in).
export IMAGES_PUBLIC_BASE_URL="$base/images"

cat <<TXT

The platform is starting on $base  (logs: JSON lines on stdout)
The README's walkthrough (scripts/test.sh runs it as printed; jq needed), once the server is up:

TXT
scripts/check/walkthrough.sh --print | sed "s|^B=\${B:-http://127.0.0.1:8080}|B=$base|; s/^/  /"
echo
exec "$TARGET_DIR/debug/local" serve
