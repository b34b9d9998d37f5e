#!/usr/bin/env bash
# Starts the local stack and the whole platform on one port (default 127.0.0.1:8080, PORT
# overrides): every /v1 route, plus the background workers. Ctrl-C stops the server;
# `scripts/stack.sh down` stops PostgreSQL, Redis and moto.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

requested_port="${PORT:-8080}"
scripts/stack.sh up
# shellcheck disable=SC1090
source "$(scripts/stack.sh env)"
cargo build --quiet -p local
export PORT="$requested_port"
base="http://127.0.0.1:$PORT"
# Processed images are served by this server at /images/<key> (CloudFront's stand-in).
export IMAGES_PUBLIC_BASE_URL="$base/images"

cat <<TXT

The platform is starting on $base  (logs: JSON lines on stdout)

  # sign in as the dev admin ($LOCAL_ADMIN_EMAIL)
  TOKEN=\$(curl -s -X POST $base/v1/users/login -H 'content-type: application/json' \\
      -d '{"email":"$LOCAL_ADMIN_EMAIL","password":"$LOCAL_ADMIN_PASSWORD"}' | jq -r .access_token)

  # create a product (admin), then read it back (public)
  curl -s -X POST $base/v1/products -H "authorization: Bearer \$TOKEN" \\
      -H 'content-type: application/json' -H 'idempotency-key: demo-1' \\
      -d '{"sku":"MUG-1","name":"Blue mug","price":"12.50","category":"kitchen","stock":10}'
  curl -s $base/v1/products
  curl -s $base/v1/products/1

  # sign up a customer and sign her in
  curl -s -X POST $base/v1/users/register -H 'content-type: application/json' \\
      -d '{"name":"Ada","email":"ada@example.com","password":"Str0ng-Passw0rd!"}'
  ADA=\$(curl -s -X POST $base/v1/users/login -H 'content-type: application/json' \\
      -d '{"email":"ada@example.com","password":"Str0ng-Passw0rd!"}' | jq -r .access_token)

  # her cart: add 2 mugs (quantities add up), then read it, priced from the catalogue
  curl -s -X POST $base/v1/cart/items -H "authorization: Bearer \$ADA" \\
      -H 'content-type: application/json' -d '{"product_id":1,"quantity":2}'
  curl -s $base/v1/cart -H "authorization: Bearer \$ADA"

  # health and the OpenAPI document
  curl -s $base/v1/products/health
  curl -s $base/v1/openapi.json | jq '.paths | keys'

TXT
exec "${CARGO_TARGET_DIR:-$repo/target}/debug/local" serve
