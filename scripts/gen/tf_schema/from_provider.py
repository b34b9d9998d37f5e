#!/usr/bin/env python3
"""Rewrite tests/infra/aws_provider_schema.json from the real provider binary's schema
(`terraform providers schema -json` of a directory initialised from the Terraform mirror),
trimmed to the resource, data and ephemeral types used under terraform/. The file keeps the
shape extract_aws_schema.py (the offline cdktf route) writes, so tests/infra/test_provider_schema.py
reads either.

    terraform -chdir=DIR providers schema -json > schema.json
    python3 scripts/gen/tf_schema/from_provider.py --schema schema.json --version 5.100.0 \
        --out tests/infra/aws_provider_schema.json

scripts/gen/tf_schema/regenerate.sh --mirror does both steps with the mirror's provider.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract_aws_schema import dump, types_in_use  # noqa: E402

KINDS = {"resource": "resource_schemas", "data": "data_source_schemas", "ephemeral": "ephemeral_resource_schemas"}


def convert_block(block: dict) -> dict:
    out: dict = {"attributes": {}, "blocks": {}}
    for name, spec in block.get("attributes", {}).items():
        out["attributes"][name] = {"required": bool(spec.get("required"))}
    for name, nested in block.get("block_types", {}).items():
        out["blocks"][name] = {
            "required": nested.get("min_items", 0) >= 1,
            "nesting": nested.get("nesting_mode", "list"),
            **convert_block(nested.get("block", {})),
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schema", type=Path, required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--terraform", type=Path, default=Path(__file__).resolve().parents[3] / "terraform")
    args = ap.parse_args()

    providers = json.loads(args.schema.read_text())["provider_schemas"]
    (aws,) = [v for k, v in providers.items() if k.endswith("hashicorp/aws")]
    used = types_in_use(args.terraform)
    doc: dict = {
        "_comment": "Trimmed schema of hashicorp/aws " + args.version + ", from the provider binary of the "
        "Terraform mirror (`terraform providers schema -json`) by scripts/gen/tf_schema/from_provider.py "
        "(regenerate with scripts/gen/tf_schema/regenerate.sh --mirror). Checked by tests/infra/test_provider_schema.py.",
        "provider": "hashicorp/aws",
        "provider_version": args.version,
        "source": f"terraform-provider-aws_v{args.version} (filesystem mirror)",
    }
    missing = []
    for kind, key in KINDS.items():
        wanted = used.get(kind, set())
        doc[kind] = {t: convert_block(aws[key][t]["block"]) for t in sorted(wanted) if t in aws.get(key, {})}
        missing += [f"{kind} {t}" for t in sorted(wanted) if t not in aws.get(key, {})]
    if missing:
        print("unknown to the provider: " + ", ".join(missing), file=sys.stderr)
        return 1
    args.out.write_text(dump(doc))
    print(f"wrote {args.out} ({', '.join(f'{len(doc[k])} {k}' for k in KINDS)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
