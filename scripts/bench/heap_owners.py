"""Sums heaptrack's peak allocation sites by the crate that owns them (scripts/bench/heap_profile.sh).

    python3 scripts/bench/heap_owners.py PEAKS [TOP]

PEAKS is `heaptrack_print --print-peaks 1 -s 80` output: per site, "<amount> consumed over <n>
calls from:" and the call stack, one "at <file>:<line>" per frame from the allocation up. A
site's owner is the first frame in a crate that is neither the standard library nor `bytes` or a
collection crate (those allocate for whoever calls them); `ours` is the workspace's code. Prints
the total, then each owner's share with its three largest sites.
"""

import collections
import re
import sys

UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
SITE = re.compile(r"^\s*([0-9.]+)([KMG]?)B? consumed over (\d+) calls from:?")
FRAME = re.compile(r"^\s+at (\S+)")
PASS_THROUGH = re.compile(r"/rustc/|/bytes-1|/hashbrown-|/smallvec-|/indexmap-|/library/alloc/")
CRATE = re.compile(r"registry/src/[^/]+/([^/]+?)-\d[^/]*/(src/.*)")


def sites(lines):
    """(bytes, [frame paths]) per allocation site."""
    found, current = [], None
    for line in lines:
        match = SITE.match(line)
        if match:
            current = (float(match.group(1)) * UNITS[match.group(2)], [])
            found.append(current)
            continue
        match = FRAME.match(line)
        if match and current is not None:
            current[1].append(match.group(1))
    return found


def owner(paths):
    """(crate, crate/file:line) of the first frame that is not a pass-through allocator."""
    for path in paths:
        if PASS_THROUGH.search(path):
            continue
        match = CRATE.search(path)
        if match:
            return match.group(1), f"{match.group(1)}/{match.group(2)}"
        if path.startswith(("crates/", "services/")):
            return "ours", path
    return "?", "?"


def main():
    with open(sys.argv[1], encoding="utf-8") as peaks:
        found = sites(peaks)
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    total = sum(amount for amount, _ in found)
    by_owner = collections.Counter()
    by_site = collections.defaultdict(collections.Counter)
    for amount, paths in found:
        crate, site = owner(paths)
        by_owner[crate] += amount
        by_site[crate][site] += amount
    print(f"peak heap in {len(found)} sites: {total / 1024:.0f} KiB")
    print("| owner | KiB | share | largest sites (KiB) |")
    print("| --- | ---: | ---: | --- |")
    for crate, amount in by_owner.most_common(top):
        largest = "; ".join(
            f"`{site.split('/', 1)[-1]}` {size / 1024:.0f}"
            for site, size in by_site[crate].most_common(3)
        )
        print(f"| {crate} | {amount / 1024:.0f} | {100 * amount / total:.1f} % | {largest} |")


if __name__ == "__main__":
    main()
