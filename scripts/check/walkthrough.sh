#!/usr/bin/env bash
# Runs the README's walkthrough against a real server, exactly as printed, so it cannot rot:
# the fenced block between the "walkthrough:begin" and "walkthrough:end" markers of README.md is
# extracted (not copied) and run by bash with -euo pipefail in a scratch directory holding a
# photo.jpg, against a `local serve` started on a free port ($B is the one variable it reads
# from the environment: `B=${B:-http://127.0.0.1:8080}`). The local stack must be up (run by
# scripts/test.sh after `stack.sh up`).
#
# curl is a shell function around the real one that only watches: it adds --fail-with-body, so
# any answer >= 400 stops the walkthrough, and keeps each answer for the checks after the run:
#   - no id is written into the walkthrough (a number in a /v1 path or as a "product_id"): every
#     id comes from an answer before it, so the walkthrough works on any database, not only on
#     an empty one;
#   - the sample cart printed under `curl -s $B/v1/cart …` has the keys and JSON types of the
#     cart the server answered, and its values (ids and timestamps aside).
#
#   scripts/check/walkthrough.sh [README]     (default: README.md; the server's log is
#                                              target/check_walkthrough.log)
#   scripts/check/walkthrough.sh --print      prints the walkthrough (scripts/run.sh shows it)
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
repo="$REPO"
cd "$repo"
print_only=0
if [[ "${1:-}" == --print ]]; then print_only=1; shift; fi
readme="$(realpath "${1:-README.md}")"

work="$(mktemp -d)"
on_exit 'rm -rf "$work"'
python3 - "$readme" >"$work/walkthrough.sh" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"<!-- walkthrough:begin -->\s*\n```sh\n(.*?)\n```\s*\n<!-- walkthrough:end -->", text, re.S)
if not m:
    sys.exit("check_walkthrough: README has no ```sh block between <!-- walkthrough:begin --> and <!-- walkthrough:end -->")
print(m.group(1))
PY
if [[ $print_only -eq 1 ]]; then
    cat "$work/walkthrough.sh"
    exit 0
fi
command -v jq >/dev/null || { echo "check_walkthrough: jq is missing (apt-get install jq)" >&2; exit 1; }
mkdir "$work/run" "$work/answers"
# A 64x48 JPEG (a gradient drawn on a canvas) for the image upload.
base64 -d >"$work/run/photo.jpg" <<'JPEG'
/9j/4AAQSkZJRgABAQAAAQABAAD/4gHYSUNDX1BST0ZJTEUAAQEAAAHIAAAAAAQwAABtbnRyUkdCIFhZWiAH4AABAAEAAAAAAABhY3NwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAA9tYAAQAAAADTLQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAlkZXNjAAAA8AAAACRyWFlaAAABFAAAABRnWFlaAAABKAAAABRiWFlaAAABPAAAABR3dHB0AAABUAAAABRyVFJDAAABZAAAAChnVFJDAAABZAAAAChiVFJDAAABZAAAAChjcHJ0AAABjAAAADxtbHVjAAAAAAAAAAEAAAAMZW5VUwAAAAgAAAAcAHMAUgBHAEJYWVogAAAAAAAAb6IAADj1AAADkFhZWiAAAAAAAABimQAAt4UAABjaWFlaIAAAAAAAACSgAAAPhAAAts9YWVogAAAAAAAA9tYAAQAAAADTLXBhcmEAAAAAAAQAAAACZmYAAPKnAAANWQAAE9AAAApbAAAAAAAAAABtbHVjAAAAAAAAAAEAAAAMZW5VUwAAACAAAAAcAEcAbwBvAGcAbABlACAASQBuAGMALgAgADIAMAAxADb/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAAwAEADASIAAhEBAxEB/8QAFwABAQEBAAAAAAAAAAAAAAAABAIDB//EABcQAQEBAQAAAAAAAAAAAAAAAAMAMQL/xAAYAQEBAQEBAAAAAAAAAAAAAAACAQMFBv/EABURAQEAAAAAAAAAAAAAAAAAAAAB/9oADAMBAAIRAxEAPwDl4nOHjLMeJwnl7Jxq0HiaJ0Cc4TyKLE5wnlA8ZNE6C0HicJ2YnOE8iNcpE5o8UDxk4eMtGix4nCdAnk4eIjVieThOzHicJ0SrE5wnlAnOE4i5QJzhOgTycPGWjSrE8nDxZic4TiLQTmidAnk4eIisTycJ0Cc0Toj/2Q==
JPEG

start_local_server check_walkthrough 18093
echo "check_walkthrough: running the walkthrough of ${readme#"$repo"/} ($(wc -l <"$work/walkthrough.sh") lines) against $SERVER_BASE"
# shellcheck disable=SC2016
watcher='curl() {
    local answer
    answer="$(mktemp "$WALKTHROUGH_ANSWERS/$(date +%s%N)-XXXXXX")"
    printf "%s\n" "$@" >"$answer.args"
    command curl --fail-with-body "$@" | tee "$answer"
}'
status=0
(cd "$work/run" && B="$SERVER_BASE" WALKTHROUGH_ANSWERS="$work/answers" \
    bash -euo pipefail -c "$watcher"$'\n'"$(cat "$work/walkthrough.sh")") >"$work/output" 2>&1 || status=$?
if [[ $status -ne 0 ]]; then
    sed 's/^/  | /' "$work/output"
    echo "check_walkthrough: FAILED: the walkthrough stopped (exit $status) after the output above" >&2
    for args in $(ls "$work/answers"/*.args 2>/dev/null | tail -n 1); do
        echo "check_walkthrough: its last call: curl $(sed -E 's/Bearer .+/Bearer …/' "$args" | tr '\n' ' ')" >&2
    done
    exit 1
fi
python3 - "$work/walkthrough.sh" "$work/answers" <<'PY'
import json, os, re, sys

script = open(sys.argv[1], encoding="utf-8").read()
problems = []

# 1. No id written in: every one comes from an answer.
code = "\n".join(line.split(" #")[0] for line in script.splitlines() if not line.lstrip().startswith("#"))
for m in re.finditer(r"/v1/[\w/-]*?/\d+\b|\\?\"product_id\\?\"\s*:\s*\d+", code):
    problems.append(f"an id written into the walkthrough instead of taken from an answer: {m.group(0)}")

# 2. The sample cart printed after `curl -s $B/v1/cart …` against the cart the server answered.
lines = script.splitlines()
at = next((i for i, l in enumerate(lines) if re.match(r"curl -s \$B/v1/cart -H", l)), None)
sample = None
if at is None:
    problems.append("the walkthrough reads no cart (curl -s $B/v1/cart -H …)")
else:
    comment = []
    for l in lines[at + 1:]:
        if not l.startswith("#"):
            break
        comment.append(l[1:].strip())
    try:
        sample = json.loads(" ".join(comment))
    except ValueError as e:
        problems.append(f"the sample cart under the cart read is not JSON ({e}): {' '.join(comment)!r}")

answers = sorted(f for f in os.listdir(sys.argv[2]) if not f.endswith(".args"))
carts = []
for f in answers:
    args = open(os.path.join(sys.argv[2], f + ".args")).read().splitlines()
    # The transcript: one line per call, its answer cut short.
    method = args[args.index("-X") + 1] if "-X" in args else "GET"
    url = next((a for a in args if re.match(r"https?://", a)), "?")
    url = re.sub(r"^https?://127\.0\.0\.1:\d+(?=/v1/)", "", re.sub(r"\?.*X-Amz-Signature=.*", "?<presigned>", url))
    body = " ".join(open(os.path.join(sys.argv[2], f), errors="replace").read().split())
    print(f"  {method} {url} → {body[:110] + ('…' if len(body) > 110 else '') or '(empty)'}")
    if any(re.fullmatch(r"https?://[^/]+/v1/cart", a) for a in args) and "-X" not in args:
        carts.append(json.load(open(os.path.join(sys.argv[2], f))))

VARYING = {"product_id", "updated_at"}  # ids and timestamps differ from run to run

def compare(shown, actual, where):
    if type(shown) is not type(actual):
        problems.append(f"{where}: the README shows {json.dumps(shown)} ({type(shown).__name__}), the server answers {json.dumps(actual)} ({type(actual).__name__})")
    elif isinstance(shown, dict):
        if set(shown) != set(actual):
            problems.append(f"{where}: the README shows the keys {sorted(shown)}, the server answers {sorted(actual)}")
        for k in shown.keys() & actual.keys():
            compare(shown[k], actual[k], f"{where}.{k}")
    elif isinstance(shown, list):
        if len(shown) != len(actual):
            problems.append(f"{where}: the README shows {len(shown)} items, the server answers {len(actual)}")
        for i, (s, a) in enumerate(zip(shown, actual)):
            compare(s, a, f"{where}[{i}]")
    elif where.rsplit(".", 1)[-1] not in VARYING and shown != actual:
        problems.append(f"{where}: the README shows {json.dumps(shown)}, the server answers {json.dumps(actual)}")

if sample is not None:
    if not carts:
        problems.append("no cart answer was recorded")
    else:
        compare(sample, carts[0], "cart")

if problems:
    print("check_walkthrough: FAILED:", *problems, sep="\n  - ", file=sys.stderr)
    sys.exit(1)
print(f"check_walkthrough: {len(answers)} calls answered < 400; no id written in; the sample cart matches the server's")
PY
