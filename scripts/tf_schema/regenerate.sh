#!/usr/bin/env bash
# Rewrites tests/infra/aws_provider_schema.json: the aws provider schema (5.99.1), trimmed to
# the resource and data types used under terraform/, taken offline from the PyPI wheel
# cdktf-cdktf-provider-aws==19.65.1 (generated from that provider version). Run it after
# adding a resource type (the schema check names the missing type) or when changing the
# pinned provider (then change the two versions here, in extract_aws_schema.py and in
# terraform/versions.tf together). Needs python3 with pip; takes ~20 s (a 54 MB download).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WHEEL_VERSION=19.65.1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    "cdktf-cdktf-provider-aws==${WHEEL_VERSION}" -d "$work"
python3 "$REPO/scripts/tf_schema/extract_aws_schema.py" \
    --wheel "$work"/cdktf_cdktf_provider_aws-"${WHEEL_VERSION}"-py3-none-any.whl \
    --out "$REPO/tests/infra/aws_provider_schema.json" "$@"
