#!/usr/bin/env bash
# Rewrites tests/infra/aws_provider_schema.json: the aws provider schema (5.99.1), trimmed to
# the resource and data types used under terraform/, taken offline from the PyPI wheel
# cdktf-cdktf-provider-aws==19.65.1 (generated from that provider version). Run it after
# adding a resource type (the schema check names the missing type) or when changing the
# pinned provider (then change the two versions here, in extract_aws_schema.py and in
# terraform/versions.tf together). Needs python3 with pip; takes ~20 s (a 54 MB download).
#
# With --mirror it takes the schema from the provider binary of a Terraform filesystem mirror
# instead (scripts/gen/tf_schema/tf_mirror.sh finds it; `terraform providers schema -json` of a
# scratch module pinned to the root module's version): the current way, 5.100.0.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
if [[ "${1:-}" == "--mirror" ]]; then
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    "$REPO/scripts/gen/tf_schema/tf_mirror.sh" "$work/cli.tfrc" >/dev/null || { echo "no Terraform provider mirror found" >&2; exit 1; }
    version="$(sed -n 's/^ *version *= *"\([0-9.]*\)".*/\1/p' "$REPO/terraform/versions.tf" | head -n 1)"
    mkdir "$work/m"
    printf 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = "%s" }\n  }\n}\n' "$version" >"$work/m/main.tf"
    export TF_CLI_CONFIG_FILE="$work/cli.tfrc"
    terraform -chdir="$work/m" init -backend=false -input=false >/dev/null
    terraform -chdir="$work/m" providers schema -json >"$work/schema.json"
    exec python3 "$REPO/scripts/gen/tf_schema/from_provider.py" --schema "$work/schema.json" --version "$version" \
        --out "$REPO/tests/infra/aws_provider_schema.json"
fi
WHEEL_VERSION=19.65.1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    "cdktf-cdktf-provider-aws==${WHEEL_VERSION}" -d "$work"
python3 "$REPO/scripts/gen/tf_schema/extract_aws_schema.py" \
    --wheel "$work"/cdktf_cdktf_provider_aws-"${WHEEL_VERSION}"-py3-none-any.whl \
    --out "$REPO/tests/infra/aws_provider_schema.json" "$@"
