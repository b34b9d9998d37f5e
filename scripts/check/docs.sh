#!/usr/bin/env bash
# Checks the interactive documentation in a real headless browser, as a user would use it:
# starts the all-in-one server on a free port (the local stack must be up: run by scripts/test.sh
# after `stack.sh up`) and drives /v1/docs (Swagger UI) with scripts/check/docs.cjs: every
# operation of /v1/openapi.json listed; "Try it out" on POST /v1/users/login; its token in the
# "Authorize" dialog; "Try it out" on GET /v1/products and GET /v1/users/me showing 200; no
# request to another origin (the page works offline).
#
# Chromium is Debian's package (/usr/bin/chromium), driven through playwright-core from npm
# (pinned below, into .node-playwright/; playwright never downloads a browser of its own).
# Both are installed when missing (as root), Node.js and npm from apt too if there is no node;
# a re-run installs nothing. The server's log is target/check_docs.log.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
repo="$REPO"
cd "$repo"

# playwright-core 1.61 is the last release that supports Node.js 18 (Debian 12's nodejs).
PLAYWRIGHT_CORE_VERSION=1.61.1
playwright_dir="$repo/.node-playwright"
started=$SECONDS

[[ -x /usr/bin/chromium ]] || apt_install chromium
apt_install node:nodejs npm
installed="$(node -p "require('$playwright_dir/node_modules/playwright-core/package.json').version" 2>/dev/null || true)"
if [[ "$installed" != "$PLAYWRIGHT_CORE_VERSION" ]]; then
    echo "check_docs: installing playwright-core $PLAYWRIGHT_CORE_VERSION (npm)" >&2
    rm -rf "$playwright_dir"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$playwright_dir" --no-save --no-audit \
        --no-fund --loglevel=error "playwright-core@$PLAYWRIGHT_CORE_VERSION" >/dev/null
fi

start_local_server check_docs 18092
PLAYWRIGHT_DIR="$playwright_dir" CHROMIUM=/usr/bin/chromium timeout 180 node scripts/check/docs.cjs "$SERVER_BASE"
echo "check_docs: done in $((SECONDS - started)) s"
