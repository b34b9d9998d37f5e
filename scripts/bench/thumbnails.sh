#!/usr/bin/env bash
# Thumbnail benchmark: crates/imaging vs libvips' vipsthumbnail on the same inputs.
#
# Makes a 1024 px and a 256 px (longest edge) JPEG thumbnail (Q=80) of a generated
# 4000x3000 photo-like JPEG (q90) and of the same image as an RGB PNG, and prints a
# markdown table: wall time per image (one process per image, via hyperfine), our
# in-process time per image, and peak RSS (/usr/bin/time -v "Maximum resident set size").
#
# Usage: scripts/bench/thumbnails.sh [RUNS]        (default 20 hyperfine runs per command)
# Env:   CARGO_TARGET_DIR (default: the workspace's target/), BENCH_DIR (default /tmp/imaging-bench),
#        BUILD_JOBS (default 2)
set -euo pipefail

RUNS="${1:-20}"
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
ROOT="$REPO"
export CARGO_TARGET_DIR="$TARGET_DIR"
DIR="${BENCH_DIR:-/tmp/imaging-bench}"
JOBS="${BUILD_JOBS:-2}"

apt_install vipsthumbnail:libvips-tools hyperfine /usr/bin/time:time

echo "building release example (imaging/thumbnail, -j $JOBS)..." >&2
(cd "$ROOT" && cargo build -p imaging --release --example thumbnail -j "$JOBS" >&2)
BIN="$CARGO_TARGET_DIR/release/examples/thumbnail"

mkdir -p "$DIR/out"
"$BIN" gen "$DIR" >&2

# hyperfine mean in ms of one command.
hf_ms() {
    local json="$DIR/hf.json"
    hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$json" "$1" >/dev/null 2>&1
    python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["mean"]*1000))' "$json"
}
# Peak RSS in MiB of one command.
rss_mib() {
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ {printf "%.1f", $2/1024}'
}

vips_ver="$(vips --version 2>/dev/null | head -1)"
rows=()
for f in photo.jpg photo.png; do
    in="$DIR/$f"
    size_kib=$(( $(stat -c %s "$in") / 1024 ))
    ours_wall=$(hf_ms "$BIN run $in 1")
    ours_inproc=$("$BIN" run "$in" "$RUNS" "$DIR/out" | sed -E 's/.*median=([0-9.]+) ms.*/\1/')
    ours_rss=$(rss_mib "$BIN" run "$in" 1)
    v1024=$(hf_ms "vipsthumbnail $in -s 1024 -o $DIR/out/vips_1024.jpg[Q=80]")
    v256=$(hf_ms "vipsthumbnail $in -s 256 -o $DIR/out/vips_256.jpg[Q=80]")
    vboth=$(python3 -c "print('%.1f' % ($v1024 + $v256))")
    r1=$(rss_mib vipsthumbnail "$in" -s 1024 -o "$DIR/out/vips_1024.jpg[Q=80]")
    r2=$(rss_mib vipsthumbnail "$in" -s 256 -o "$DIR/out/vips_256.jpg[Q=80]")
    vrss=$(python3 -c "print(max($r1, $r2))")
    rows+=("| $f (4000x3000, ${size_kib} KiB) | imaging (1024+256, one process) | $ours_wall | $ours_inproc | $ours_rss |")
    rows+=("| $f (4000x3000, ${size_kib} KiB) | vipsthumbnail -s 1024 + -s 256 ($v1024 + $v256) | $vboth | – | $vrss |")
done

echo
echo "Thumbnails 1024 + 256 px, JPEG Q=80; $(nproc) cores; $vips_ver; $RUNS runs each"
echo
echo "| input | tool | wall ms / image (process) | in-process ms / image (median) | peak RSS MiB |"
echo "| --- | --- | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
