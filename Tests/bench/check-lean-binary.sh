#!/usr/bin/env bash
# Issue 14: the statically linked release binary carries none of classic Foundation, CoreFoundation,
# FoundationInternationalization and ICU (42 of its 84 MB before, ICU's data alone 34 MB). They come in through
# calls, not import lines: a single `CharacterSet.whitespaces`, `DateFormatter`, `String(format:)`, `NSLock` or
# `replacingOccurrences(of:with:)` anywhere in the product links them all again. This looks at the symbols of
# the binary (seconds) and fails naming what it found; the linker map says which call brought it in:
#
#   swift build -c release --static-swift-stdlib --disable-local-rpath --product sealpost -Xlinker -Map=/tmp/map.txt
#   bash Tests/bench/check-lean-binary.sh [BINARY]        (default .build/release/sealpost)
#   grep -n -A1 'libFoundation\.a(\|libCoreFoundation\.a(\|lib_FoundationICU\.a(' /tmp/map.txt | head
#
# In the map's first part ("Archive member included to satisfy reference by file (symbol)") each member pulled
# from an archive is followed by the object file and the symbol that asked for it.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:-.build/release/sealpost}
[[ -f $binary ]] || { echo "no binary at $binary: build it first (swift build -c release --static-swift-stdlib --disable-local-rpath --product sealpost)" >&2; exit 2; }
symbols=$(mktemp)
trap 'rm -f "$symbols"' EXIT
nm --defined-only "$binary" 2>/dev/null | awk '{ print $3 }' > "$symbols" || true
[[ -s $symbols ]] || { echo "$binary has no symbol table (stripped?): check the binary before strip" >&2; exit 2; }

failed=0
check() {  # name, extended regex on symbol names
  local count
  count=$(grep -cE "$2" "$symbols" || true)
  if (( count > 0 )); then
    failed=1
    echo "FAIL $1: $count symbols, for example:"
    grep -m 3 -E "$2" "$symbols" | sed 's/^/       /'
  else
    echo "ok   $1: none"
  fi
}
# Swift symbols of a module start with $s, the length of its name and the name ($s20FoundationEssentials… is
# allowed); CoreFoundation's C symbols are CF…/_CF…/__CF… (FoundationEssentials carries its own copy of the
# __CFUniChar… Unicode bitmaps, which are allowed); the toolchain's ICU is namespaced icu_NN and its data is
# icudtNN_dat.
check "classic Foundation" '^\$s10Foundation'
check "FoundationInternationalization" '^\$s30FoundationInternationalization'
check "CoreFoundation" '^(CF|_CF|__CF[^U]|__CFU[^n])[A-Za-z]'
check "ICU" 'icudt[0-9]+_dat|icu_[0-9]+|^swift_u[a-z]+_'
# No run path: SwiftPM names the binary's own folder ($ORIGIN) unless built with --disable-local-rpath, and the
# loader then looks there first for libssl.so.3, libcrypto.so.3 and the rest — a library someone puts next to
# the binary would be loaded into every send. A static build needs nothing from that folder.
if readelf -d "$binary" | grep -qE '\((RUNPATH|RPATH)\)'; then
  failed=1
  echo "FAIL run path: $(readelf -d "$binary" | grep -E '\((RUNPATH|RPATH)\)' | sed 's/.*: //') (build with --disable-local-rpath)"
else
  echo "ok   run path: none"
fi
echo "$binary: $(stat -c %s "$binary") bytes"
exit $failed
