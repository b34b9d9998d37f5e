#!/usr/bin/env bash
# Lambda-mode benchmark: every function's release binary started the way Lambda starts it, under
# a minimal Runtime API stand-in on loopback, beside a hello-world `lambda_http` function built
# with the same release profile in the same run.
#
#   scripts/bench/lambda.sh
#
# Each function's binary starts with no argument and `_HANDLER` set as the Lambda base image's
# entrypoint would (Terraform's `image_config.command` in terraform/modules/lambdas/main.tf, else
# the Dockerfile's CMD), `AWS_LAMBDA_RUNTIME_API` pointing at the stand-in (scripts/bench/lambda.py)
# and the local stack's env (`stack.sh env`), `RUST_LOG=warn`. Per function, BENCH_COLD cold
# starts (after one discarded), interleaved with the hello-world function's: init (exec → first
# GET /next), the first invoke, BENCH_EVENTS warm invokes (p50/p99; BENCH_WORKER_EVENTS for the
# checkout worker) and peak RSS (VmHWM from /proc/<pid>/status). Events: API Gateway v2 events
# (users GET /v1/users/me, products GET /v1/products/{id} of an existing product (cached), cart
# GET /v1/cart with one line, orders GET /v1/orders, with the customer's claims in
# requestContext.authorizer.jwt.claims as API Gateway's JWT authorizer passes them), and for the
# orders worker one SQS batch holding a checkout task message whose task token no workflow waits
# for; products also answers a cached listing (GET /v1/products?limit=20), and the image
# processor one SQS batch per new upload of a generated 12 MP JPEG (BENCH_IMAGE_EVENTS warm
# ones; each upload — a presigned PUT from products, the photo sent to moto — is made while the
# function waits for its next event, and every upload must end processed). The customer, the
# product and the cart line are created first through the `users`,
# `products` and `cart` functions themselves (one customer and one product per run, in the local
# database and the emulated Cognito pool).
#
# Prints markdown tables and writes them (date, commit, command) between the markers of BENCH_OUT
# (default docs/benchmarks/lambda.md; empty: print only).
#
# It runs `scripts/dev/stack.sh up` (and `down` at the end only if no part of the stack was running
# before) and builds, with `nice -n 19`, the release binaries
# (`cargo build --release -p users -p products -p cart -p orders -p image_processor`, and the
# imaging example that generates the photo) and the hello-world function
# (scripts/bench/hello_lambda, not a workspace member: `--manifest-path`, same target dir).
#
# Environment (defaults): BENCH_COLD=5 BENCH_EVENTS=2000 BENCH_WORKER_EVENTS=200
# BENCH_IMAGE_EVENTS=10 BENCH_FUNCTIONS="users products listing cart orders worker images"
# BENCH_TIMEOUT=30 (seconds per wait)
# BENCH_OUT=docs/benchmarks/lambda.md BENCH_SKIP_BUILD=0 (1: use the binaries already built)
set -euo pipefail

LOG_NAME=bench_lambda
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO"

BENCH_COLD="${BENCH_COLD:-5}"
BENCH_EVENTS="${BENCH_EVENTS:-2000}"
BENCH_WORKER_EVENTS="${BENCH_WORKER_EVENTS:-200}"
BENCH_IMAGE_EVENTS="${BENCH_IMAGE_EVENTS:-10}"
BENCH_FUNCTIONS="${BENCH_FUNCTIONS:-users products listing cart orders worker images}"
BENCH_TIMEOUT="${BENCH_TIMEOUT:-30}"
BENCH_OUT="${BENCH_OUT-docs/benchmarks/lambda.md}"
BENCH_SKIP_BUILD="${BENCH_SKIP_BUILD:-0}"
RELEASE="$TARGET_DIR/release"
HELLO_MANIFEST="$REPO/scripts/bench/hello_lambda/Cargo.toml"

WORK="$(mktemp -d /tmp/bench_lambda.XXXXXX)"
on_exit 'rm -rf "$WORK"'

command -v python3 >/dev/null || die "python3 is required"

if [[ "$BENCH_SKIP_BUILD" != 1 ]]; then
    log "building the release binaries (nice -n 19 cargo build --release -p users -p products -p cart -p orders -p image_processor, and the imaging example that makes the photo)"
    started=$SECONDS
    nice -n 19 cargo build --release -p users -p products -p cart -p orders -p image_processor >&2
    nice -n 19 cargo build --release -p imaging --example thumbnail >&2
    log "building the hello-world function (scripts/bench/hello_lambda, same profile, same target dir)"
    CARGO_TARGET_DIR="$TARGET_DIR" nice -n 19 cargo build --release --manifest-path "$HELLO_MANIFEST" >&2
    log "builds took $((SECONDS - started)) s"
fi
for bin in users products cart orders image_processor hello_lambda examples/thumbnail; do
    [[ -x "$RELEASE/$bin" ]] || die "missing $RELEASE/$bin (build it, or unset BENCH_SKIP_BUILD)"
done

# The image processor's photo: a generated 4000×3000 photo-like JPEG (q90), as thumbnails.sh's.
"$RELEASE/examples/thumbnail" gen "$WORK" >&2
[[ -s "$WORK/photo.jpg" ]] || die "the imaging example made no $WORK/photo.jpg"

stack_up
STACK_ENV="$("$STACK_SH" env)"

command_line="scripts/bench/lambda.sh"
for var in BENCH_COLD BENCH_EVENTS BENCH_WORKER_EVENTS BENCH_IMAGE_EVENTS BENCH_FUNCTIONS; do
    default_value=""
    case "$var" in
        BENCH_COLD) default_value=5 ;;
        BENCH_EVENTS) default_value=2000 ;;
        BENCH_WORKER_EVENTS) default_value=200 ;;
        BENCH_IMAGE_EVENTS) default_value=10 ;;
        BENCH_FUNCTIONS) default_value="users products listing cart orders worker images" ;;
    esac
    [[ "${!var}" == "$default_value" ]] || command_line="$var=\"${!var}\" $command_line"
done

python3 scripts/bench/lambda.py \
    --repo "$REPO" --release "$RELEASE" --hello "$RELEASE/hello_lambda" \
    --stack-env "$STACK_ENV" --out "$BENCH_OUT" --work "$WORK" \
    --functions "$BENCH_FUNCTIONS" --cold "$BENCH_COLD" --events "$BENCH_EVENTS" \
    --worker-events "$BENCH_WORKER_EVENTS" --image-events "$BENCH_IMAGE_EVENTS" --jpeg "$WORK/photo.jpg" \
    --timeout "$BENCH_TIMEOUT" --command "$command_line" ||
    {
        [[ -s "$WORK/stderr.log" ]] && {
            log "last lines of the functions' stderr:"
            tail -n 30 "$WORK/stderr.log" >&2
        }
        die "the benchmark failed"
    }
