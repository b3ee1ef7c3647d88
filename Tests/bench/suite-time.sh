#!/usr/bin/env bash
# Benchmark (issue 8): the wall time of `swift test` now against an earlier commit, on the same machine, in one
# run, turn about. A script for a human, not part of CI:
#
#   bash Tests/bench/suite-time.sh BEFORE [N]     # BEFORE: a commit (default 5a5f861, when issue 8 was filed)
#
# It builds BEFORE's tests in a worktree of its own (debug, as `swift test` builds them) and this checkout's,
# then times, N times each (default 3), taking turns:
#   1. each whole suite (`swift test --skip-build`);
#   2. the tests both have, by identical test id (`swift test list`), through one --filter: the same work then
#      and now, since the suite has grown since BEFORE.
# Figures are wall seconds of the `swift test` process and its CPU (user + system, children included), as
# /usr/bin/time reports them; each line gives the median and the range. Say how loaded the machine was.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
before=${1:-5a5f861}
runs=${2:-3}
export SEALPOST_TEST_PYTHON=${SEALPOST_TEST_PYTHON:-/usr/bin/python3}
work=$(mktemp -d /tmp/sealpost-suite-time.XXXXXX)
cleanup() {
  git -C "$root" worktree remove --force "$work/before" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

git -C "$root" worktree add --detach "$work/before" "$before" >/dev/null
echo "suite-time: building the tests of $before (debug) and of this checkout" >&2
(cd "$work/before" && swift build --build-tests >"$work/before-build.log" 2>&1) ||
  { tail -20 "$work/before-build.log" >&2; exit 1; }
(cd "$root" && swift build --build-tests >"$work/now-build.log" 2>&1) ||
  { tail -20 "$work/now-build.log" >&2; exit 1; }

(cd "$work/before" && swift test list --skip-build 2>/dev/null) | sort -u >"$work/before.list"
(cd "$root" && swift test list --skip-build 2>/dev/null) | sort -u >"$work/now.list"
comm -12 "$work/before.list" "$work/now.list" >"$work/shared.list"
# One regular expression of the shared ids, anchored at the start (an id as matched also carries its source
# location), with the characters that are special in a regular expression escaped.
/usr/bin/python3 - "$work/shared.list" >"$work/shared.regex" <<'EOF'
import sys
ids = [line.strip() for line in open(sys.argv[1]) if line.strip()]
special = set(".()[]?*+^$|{}\\")
print("^(" + "|".join("".join("\\" + c if c in special else c for c in i) for i in ids) + ")")
EOF

echo "suite-time: $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "suite-time: before = $before ($(wc -l <"$work/before.list") tests), now = $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo '+changes') ($(wc -l <"$work/now.list") tests), shared: $(wc -l <"$work/shared.list")"

# $1 label, $2 folder, then swift test's extra arguments; appends "wall cpu status" to $work/$1.
timed() {
  local label=$1 folder=$2
  shift 2
  local status=0
  (cd "$folder" && /usr/bin/time -f "%e %U %S" -o "$work/time" swift test --skip-build "$@" >"$work/$label.log" 2>&1) ||
    status=$?
  awk -v s="$status" '{printf "%s %.2f %s\n", $1, $2 + $3, s}' "$work/time" >>"$work/$label"
}

regex=$(cat "$work/shared.regex")
for _ in $(seq "$runs"); do
  timed before-all "$work/before"
  timed now-all "$root"
  timed before-shared "$work/before" --filter "$regex"
  timed now-shared "$root" --filter "$regex"
done

/usr/bin/python3 - "$work" <<'EOF'
import statistics, sys, os
work = sys.argv[1]
def row(label, what):
    rows = [line.split() for line in open(os.path.join(work, label))]
    wall = [float(r[0]) for r in rows]; cpu = [float(r[1]) for r in rows]
    failed = sum(r[2] != "0" for r in rows)
    note = f"   ({failed} runs failed)" if failed else ""
    print(f"  {what:34} wall {statistics.median(wall):6.1f} s ({min(wall):.1f}–{max(wall):.1f})"
          f"   CPU {statistics.median(cpu):6.1f} s ({min(cpu):.1f}–{max(cpu):.1f}){note}")
print("whole suites:")
row("before-all", "before, its whole suite")
row("now-all", "now, its whole suite")
print("the tests both have:")
row("before-shared", "before")
row("now-shared", "now")
EOF
