#!/usr/bin/env bash
# Issue 14: writes Sources/sealpost/symbol-order.txt, the functions of the release binary that one send, one
# sendmail, one probe and `--version` run, for the release link to place side by side (Package.swift passes the
# file to lld's --symbol-ordering-file). The kernel maps a binary's code 64 KiB around each page a process
# touches (fault-around): the 2,400 functions a send runs, about 0.9 MB of code, were spread over 120 such
# blocks of the 11 MB of code, 7.7 MB of the process's peak RSS. Placed together they fill a few blocks.
#
# The order changes no behaviour: a name the binary no longer has is skipped, one missing from the file is
# placed as before. Regenerate it when the code a send runs has changed much (the bench's peak RSS shows it).
# By hand, as root on Debian (Postfix starts as root), with valgrind:
#
#   apt-get install -y valgrind
#   swift build -c release --static-swift-stdlib --disable-local-rpath --product sealpost
#   bash Tests/bench/symbol-order.sh [BINARY]          (default .build/release/sealpost)
#
# then link again in the new order: SwiftPM does not know the link reads the file, so remove the binary first
# (rm .build/release/sealpost; swift build -c release --static-swift-stdlib --disable-local-rpath --product sealpost).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
binary=$(realpath "${1:-.build/release/sealpost}")
[ -x "$binary" ] || { echo "symbol-order: no binary at $binary (swift build -c release --static-swift-stdlib)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "symbol-order: valgrind is not installed (apt-get install -y valgrind)" >&2; exit 1; }
output=Sources/sealpost/symbol-order.txt

source "$here/../postfix/lib.sh"
pf_traps
pf_start
out=$PF_ROOT/order
mkdir -p "$out"

message=$out/message.eml
printf 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: symbol order\r\n\r\nA short message.\r\n' >"$message"
config=$out/config
printf 'account bench\nhost localhost\nport %s\ntls on\ntls_starttls off\ntls_trust_file %s\nauth on\nuser %s\nfrom alice@example.test\naccount default : bench\n' \
  "$PF_IMPLICIT_PORT" "$PF_CA" "$PF_USER" >"$config"
chmod 600 "$config"
export SEALPOST_PASSWORD=$PF_PASSWORD

# One run under callgrind (which sees every function run, however short); $1 names it, $2 is its stdin.
profile() {
  local label=$1 stdin=$2
  shift 2
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$out/$label.out" "$binary" "$@" \
    <"$stdin" >"$out/$label.stdout" 2>"$out/$label.log" ||
    { echo "symbol-order: $label failed under callgrind:" >&2; tail -5 "$out/$label.log" >&2; exit 1; }
}
profile version /dev/null --version
profile send-implicit /dev/null send --server localhost --port "$PF_IMPLICIT_PORT" --tls implicit \
  --ca-file "$PF_CA" --user "$PF_USER" --from alice@example.test --to bob@example.test --message "$message" \
  --transcript none
profile send-starttls /dev/null send --server localhost --port "$PF_STARTTLS_PORT" --tls starttls \
  --ca-file "$PF_CA" --user "$PF_USER" --from alice@example.test --to bob@example.test --subject 'symbol order' \
  --body 'A short message.'
profile sendmail "$message" sendmail --config "$config" -t -i
profile probe /dev/null probe "localhost:$PF_IMPLICIT_PORT" --tls implicit --ca-file "$PF_CA"

# The functions of the binary itself that ran, in the binary's own address order (callgrind's "fn=" entries
# under the binary's "ob="); names the symbol table lacks (local labels) are left out.
/usr/bin/python3 - "$binary" "$output" "$out"/*.out <<'EOF'
import re, subprocess, sys
binary, output, profiles = sys.argv[1], sys.argv[2], sys.argv[3:]
ran = set()
for profile in profiles:
    objects, names, current = {}, {}, None
    for line in open(profile, errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3):
                objects[m.group(2)] = m.group(3)
            if m.group(1) == "ob":
                current = objects[m.group(2)]
            continue
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3):
                names[m.group(2)] = re.sub(r"'\d+$", "", m.group(3))
            if m.group(1) == "fn" and current == binary:
                ran.add(names[m.group(2)])
addresses = {}
symbols = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True)
for line in symbols.stdout.splitlines():
    parts = line.split(None, 2)
    if len(parts) == 3 and parts[1] in "tTwW" and parts[2] in ran:
        addresses.setdefault(parts[2], int(parts[0], 16))
with open(output, "w") as file:
    for name in sorted(addresses, key=lambda name: (addresses[name], name)):
        file.write(name + "\n")
print(f"symbol-order: {len(addresses)} functions of {len(ran)} seen in {len(profiles)} runs -> {output}")
EOF
