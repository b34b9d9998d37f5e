#!/usr/bin/env bash
# The whole test suite against the real local stack (PostgreSQL, Redis, moto):
#   scripts/test.sh           hygiene (fmt, clippy), every Rust test, the infrastructure checks
#   scripts/test.sh --quick   only the Rust tests
# Installs what is missing, starts the stack if it is not running, and stops it again at the
# end if it started it. Extra arguments after `--` go to `cargo test`.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO"

quick=0
cargo_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --) shift; cargo_args=("$@"); break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n== %s\n' "$*"; }

if [[ $quick -eq 0 ]]; then
  step "cargo fmt --check"
  cargo fmt --all -- --check
fi

step "starting the local stack"
stack_up

if [[ $quick -eq 0 ]]; then
  step "checked SQL: .sqlx/ against a freshly migrated database"
  scripts/check/sqlx_prepare.sh
  step "cargo clippy --all-targets -- -D warnings"
  cargo clippy --workspace --all-targets --quiet -- -D warnings
fi

step "cargo test"
cargo test --workspace --quiet -- --test-threads "${TEST_THREADS:-8}" "${cargo_args[@]}"

if [[ $quick -eq 0 ]]; then
  step "OpenAPI 3.1 validation"
  scripts/check/openapi.sh
  step "schemathesis against the served document"
  scripts/check/schemathesis.sh
  step "a generated client's journey"
  scripts/check/client.sh
  step "interactive documentation in headless Chromium"
  scripts/check/docs.sh
  step "the README's walkthrough, as printed"
  scripts/check/walkthrough.sh
  step "cargo-lambda: one function built with cargo lambda build, invoked with its sample event"
  scripts/check/cargo_lambda.sh
  step "infrastructure checks"
  scripts/check/infra.sh
fi
step "all tests passed"
