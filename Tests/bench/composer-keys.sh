#!/usr/bin/env bash
# Benchmark: time per keystroke of the terminal composer on its compose screen (update, render into a 200×60 screen
# buffer, diff against the previous frame) on a 10,000-line body, p50 and p99 over a few thousand keys
# (typing, arrows, page moves, Enter, deleting); then the bytes the curses backend writes to a pseudo-terminal
# for one typed character. Release build of the ComposerBench target (not part of the product). Needs no root
# and no network; a script for a human, not part of CI.
#
#   bash Tests/bench/composer-keys.sh [KEYS] [LINES] [RUNS]   # defaults 3000, 10000, 3
#
# Each run prints its figures; quote the median of the runs, and the machine (a loaded machine shows in p99).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
keys=${1:-3000}
lines=${2:-10000}
runs=${3:-3}
swift build -c release --product ComposerBench >/dev/null
bench=$(swift build -c release --show-bin-path)/ComposerBench
echo "bench: $(nproc) CPU(s), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((run = 1; run <= runs; run++)); do
  echo "--- run $run of $runs"
  LANG=C.UTF-8 "$bench" "$keys" "$lines"
done
