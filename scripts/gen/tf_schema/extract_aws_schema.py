#!/usr/bin/env python3
"""Regenerate tests/infra/aws_provider_schema.json, the trimmed schema of the aws provider
that tests/infra/test_provider_schema.py checks every resource and data block against.

The schema comes offline from a registry package: the PyPI wheel cdktf-cdktf-provider-aws
(19.65.1 was generated from hashicorp/aws 5.99.1, the version terraform/versions.tf pins). Its
jsii tarball holds, per resource, lib/<name>/index.js (`X.tfResourceType = "aws_..."`; every
argument and nested block in `synthesizeHclAttributes()` and the nested `...ToHclTerraform`
functions, with an `isBlock` flag) and lib/<name>/index.d.ts (required arguments are the
properties declared without `?`).

    scripts/gen/tf_schema/regenerate.sh            # download the wheel (pip) and rewrite the JSON
    python3 extract_aws_schema.py --wheel W.whl --out OUT.json [--all] [TYPE ...]

Only the types used under terraform/ (or named on the command line) are written, unless --all.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path

PROVIDER_VERSION = "5.99.1"
WHEEL_VERSION = "19.65.1"

ATTR_RE = re.compile(
    r"^\s*(?P<name>\w+): \{\s*\n\s*value: (?P<value>.*?),\s*\n\s*isBlock: (?P<block>true|false),\s*\n\s*type: \"(?P<type>\w+)\"",
    re.M,
)
FUNC_RE = re.compile(r"^function (\w+)\(struct\) \{$", re.M)
IFACE_RE = re.compile(r"^export interface (\w+)(?: extends [\w.]+)? \{$", re.M)
PROP_RE = re.compile(r"^\s+readonly (\w+)(\??): ", re.M)


def _section(text: str, start: int, end_marker: str) -> str:
    end = text.find(end_marker, start)
    return text[start:end if end >= 0 else len(text)]


def _interfaces(dts: str) -> dict[str, dict[str, bool]]:
    """interface name -> {camelCaseProperty: required}."""
    out: dict[str, dict[str, bool]] = {}
    for m in IFACE_RE.finditer(dts):
        body = _section(dts, m.end(), "\n}")
        out[m.group(1)] = {p.group(1): p.group(2) != "?" for p in PROP_RE.finditer(body)}
    return out


def _camel(value_expr: str) -> str | None:
    m = re.search(r"(?:this\._|struct!?\.)(\w+)", value_expr)
    return m.group(1) if m else None


def _block_function(value_expr: str) -> str | None:
    for name in re.findall(r"(?<![\w.])(\w+ToHclTerraform)\b", value_expr):
        return name
    return None


def _parse_attrs(js: str, body: str, props: dict[str, bool], funcs: dict[str, str], ifaces, depth=0) -> dict:
    schema: dict = {"attributes": {}, "blocks": {}}
    for m in ATTR_RE.finditer(body):
        name, value, is_block, typ = m.group("name"), m.group("value"), m.group("block") == "true", m.group("type")
        camel = _camel(value)
        required = bool(camel and props.get(camel, False))
        if not is_block:
            schema["attributes"][name] = {"required": required}
            if "anyToHclTerraform" in value:
                # cdktf collapses blocks nested too deep (wafv2 rule statements) to `any`: the
                # shape below is not known, block or argument syntax are both accepted.
                schema["attributes"][name]["any"] = True
            continue
        fn = _block_function(value)
        nested: dict = {"attributes": {}, "blocks": {}}
        if fn and fn in funcs and depth < 12:
            iface = fn[0].upper() + fn[1:-len("ToHclTerraform")]
            nested = _parse_attrs(js, funcs[fn], ifaces.get(iface, {}), funcs, ifaces, depth + 1)
        schema["blocks"][name] = {"required": required, "nesting": typ, **nested}
    return schema


def parse_resource(js: str, dts: str) -> tuple[str, dict] | None:
    m = re.search(r"^(\w+)\.tfResourceType = \"(\w+)\";", js, re.M)
    if not m:
        return None
    cls, tf_type = m.group(1), m.group(2)
    start = js.find("synthesizeHclAttributes() {")
    if start < 0:
        return None
    body = _section(js, start, "return Object.fromEntries")
    funcs = {}
    for f in FUNC_RE.finditer(js):
        funcs[f.group(1)] = _section(js, f.end(), "return Object.fromEntries")
    ifaces = _interfaces(dts)
    return tf_type, _parse_attrs(js, body, ifaces.get(f"{cls}Config", {}), funcs, ifaces)


def extract(wheel: Path) -> dict:
    out: dict = {"resource": {}, "data": {}}
    with zipfile.ZipFile(wheel) as zf:
        (tgz_name,) = [n for n in zf.namelist() if n.endswith(".jsii.tgz")]
        tgz = io.BytesIO(zf.read(tgz_name))
    files: dict[str, dict[str, str]] = {}
    with tarfile.open(fileobj=tgz, mode="r:gz") as tf:
        for member in tf:
            m = re.fullmatch(r"package/lib/([\w-]+)/index\.(js|d\.ts)", member.name)
            if m and member.isfile():
                files.setdefault(m.group(1), {})[m.group(2)] = tf.extractfile(member).read().decode()
    for directory, pair in sorted(files.items()):
        if "js" not in pair or "d.ts" not in pair:
            continue
        parsed = parse_resource(pair["js"], pair["d.ts"])
        if parsed is None:
            continue
        tf_type, schema = parsed
        kind = "data" if directory.startswith("data-aws-") else "resource"
        out[kind][tf_type] = schema
    return out


def types_in_use(tf_root: Path) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {"resource": set(), "data": set(), "ephemeral": set()}
    for path in tf_root.rglob("*.tf"):
        if ".terraform" in path.parts:
            continue
        for kind, rtype in re.findall(r'^(resource|data|ephemeral)\s+"(aws_\w+)"', path.read_text(), re.M):
            used[kind].add(rtype)
    return used


def dump(doc: dict) -> str:
    """JSON with one resource type per line: small, and diffs name the types that changed."""
    lines = ["{"]
    scalars = [k for k in doc if not isinstance(doc[k], dict)]
    for k in sorted(scalars):
        lines.append(f" {json.dumps(k)}: {json.dumps(doc[k])},")
    kinds = [k for k in ("data", "ephemeral", "resource") if k in doc]
    for i, kind in enumerate(kinds):
        lines.append(f" {json.dumps(kind)}: {{")
        types = sorted(doc[kind])
        for j, t in enumerate(types):
            comma = "," if j < len(types) - 1 else ""
            lines.append(f"  {json.dumps(t)}: {json.dumps(doc[kind][t], sort_keys=True, separators=(',', ':'))}{comma}")
        lines.append(" }" + ("," if i < len(kinds) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--terraform", type=Path, default=Path(__file__).resolve().parents[3] / "terraform")
    ap.add_argument("--all", action="store_true", help="write every resource type, not only those in use")
    ap.add_argument("types", nargs="*", help="extra resource/data types to keep")
    args = ap.parse_args()

    full = extract(args.wheel)
    print(f"extracted {len(full['resource'])} resources and {len(full['data'])} data sources", file=sys.stderr)
    if not args.all:
        used = types_in_use(args.terraform)
        for t in args.types:
            used["resource" if t in full["resource"] else "data"].add(t)
        missing = [f"{k} {t}" for k in used for t in sorted(used[k]) if t not in full[k]]
        if missing:
            print("unknown to the provider: " + ", ".join(missing), file=sys.stderr)
        full = {k: {t: full[k][t] for t in sorted(used[k]) if t in full[k]} for k in ("resource", "data")}  # no ephemeral types in the cdktf wheel
    doc = {
        "_comment": "Trimmed schema of hashicorp/aws " + PROVIDER_VERSION + ", extracted from the PyPI wheel "
        "cdktf-cdktf-provider-aws==" + WHEEL_VERSION + " by scripts/gen/tf_schema/extract_aws_schema.py "
        "(regenerate with scripts/gen/tf_schema/regenerate.sh). Checked by tests/infra/test_provider_schema.py.",
        "provider": "hashicorp/aws",
        "provider_version": PROVIDER_VERSION,
        "source": f"cdktf-cdktf-provider-aws=={WHEEL_VERSION}",
        **full,
    }
    args.out.write_text(dump(doc))
    print(f"wrote {args.out} ({len(full['resource'])} resources, {len(full['data'])} data sources)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
