#!/usr/bin/env bash
# Benchmark (issue 14): what one process costs — start-up and one send — for sealpost beside curl and msmtp,
# measured in the same run, turn about (A B A B …), so a machine that speeds up or slows down touches both
# sides of each pair alike. A script for a human, not part of CI. As root on Debian:
#
#   apt-get install -y msmtp curl valgrind       # the other clients and callgrind
#   swift build -c release --static-swift-stdlib --disable-local-rpath
#   bash Tests/bench/startup-send.sh [N]         # N runs of each command (default 15)
#
# It starts the private Postfix of Tests/postfix/lib.sh (loopback, its own CA) and measures:
#   1. cold start: `sealpost --version` against `msmtp --version` (and `curl --version`);
#   2. one send by implicit TLS with AUTH PLAIN, the certificate verified against the test CA: wall time, CPU
#      time (user + system) and peak RSS of the client process, sealpost against `curl smtps://…
#      --upload-file` and against msmtp, each pair's ratio and the median of the ratios;
#   3. the same send trusting the system's CA store (plus the test CA), as a send to a real provider does:
#      sealpost and curl, each taking the extra CA its own way (below);
#   4. the instructions of one send under valgrind's callgrind for each client: a count that does not depend
#      on what else the machine is doing, so a regression shows without a quiet machine.
# Figures come from the kernel's own accounting of each finished child (wait4: ru_utime, ru_stime, ru_maxrss).
# SEALPOST=path picks the binary (default .build/release/sealpost); SEALPOST_BEFORE=path adds an earlier build,
# paired with it the same way (cold start, one send, instructions), for a before/after in one run. PF_KEEP=1 keeps
# the Postfix folder, with
# each client's callgrind profile under bench/ (callgrind_annotate --inclusive=yes FILE shows where the
# instructions go). Say which machine, and how loaded, when you quote the figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
runs=${1:-15}
SEALPOST=$(realpath "${SEALPOST:-.build/release/sealpost}")
[ -x "$SEALPOST" ] || { echo "bench: no sealpost binary at $SEALPOST (swift build -c release --static-swift-stdlib)" >&2; exit 1; }
BEFORE=
if [ -n "${SEALPOST_BEFORE:-}" ]; then
  BEFORE=$(realpath "$SEALPOST_BEFORE")
  [ -x "$BEFORE" ] || { echo "bench: no sealpost binary at $BEFORE (SEALPOST_BEFORE)" >&2; exit 1; }
fi
for tool in curl msmtp; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install -y $tool)" >&2; exit 1; }
done

source "$here/../postfix/lib.sh"
pf_traps
pf_start
out=$PF_ROOT/bench
mkdir -p "$out"

# One small message, the same for every client.
message=$out/message.eml
printf 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: startup benchmark\r\n\r\nA short message.\r\n' >"$message"
# The password reaches each client without a child process (whose CPU time would count as the client's):
# sealpost from SEALPOST_PASSWORD, msmtp from its file, curl from a netrc file; never on a command line.
export SEALPOST_PASSWORD=$PF_PASSWORD
: >"$out/msmtprc"
chmod 600 "$out/msmtprc"
printf 'account bench\nhost localhost\nport %s\ntls on\ntls_starttls off\ntls_trust_file %s\nauth plain\nuser %s\npassword %s\nfrom alice@example.test\n' \
  "$PF_IMPLICIT_PORT" "$PF_CA" "$PF_USER" "$PF_PASSWORD" >"$out/msmtprc"
netrc=$out/netrc
printf 'machine localhost login %s password %s\n' "$PF_USER" "$PF_PASSWORD" >"$netrc"
chmod 600 "$netrc"

# The three senders as argument vectors (one per line, for the runner below). None reads a terminal.
port=$PF_IMPLICIT_PORT
sealpost_send=("$SEALPOST" send --server localhost --port "$port" --tls implicit --ca-file "$PF_CA"
  --user "$PF_USER" --from alice@example.test --to bob@example.test --message "$message" --transcript none)
curl_send=(curl --silent --show-error --ssl-reqd "smtps://localhost:$port" --cacert "$PF_CA" --netrc-file "$netrc"
  --mail-from alice@example.test --mail-rcpt bob@example.test --upload-file "$message")
msmtp_send=(msmtp --file="$out/msmtprc" --account=bench bob@example.test)
before_send=("$BEFORE" "${sealpost_send[@]:1}")

# The same send trusting the system's CA store, as a send to a real provider does, with the test CA added the
# way each client takes an extra CA: for sealpost a copy of the system's store directory (/etc/ssl/certs, its
# links) with the test CA added under its subject-hash name, named by SSL_CERT_DIR (OpenSSL's own variable, which
# replaces the default directory; SSL_CERT_FILE is set to the system bundle, as if unset); for curl the system
# bundle with the test CA appended, as --cacert.
system_bundle=/usr/lib/ssl/cert.pem
store=$out/store
mkdir -p "$store"
find /etc/ssl/certs -maxdepth 1 ! -type d -exec cp -P {} "$store"/ \;
ln -sf "$PF_CA" "$store/$(openssl x509 -hash -noout -in "$PF_CA").0"
bundle=$out/system-and-test-ca.pem
cat "$system_bundle" "$PF_CA" >"$bundle"
sealpost_store=("$SEALPOST" send --server localhost --port "$port" --tls implicit
  --user "$PF_USER" --from alice@example.test --to bob@example.test --message "$message" --transcript none)
curl_store=(curl --silent --show-error --ssl-reqd "smtps://localhost:$port" --cacert "$bundle" --netrc-file "$netrc"
  --mail-from alice@example.test --mail-rcpt bob@example.test --upload-file "$message")
before_store=("$BEFORE" "${sealpost_store[@]:1}")

vector() { printf '%s\n' "$@"; }

# Runs two commands in turn, $runs times each after one warm-up of each, and prints the medians (and
# min–max) of wall, CPU and peak RSS of each, then the median of the A/B ratios pair by pair.
# $1 label, $2 file of A's arguments, $3 file of B's arguments, $4 stdin file for B (or /dev/null).
pair() {
  /usr/bin/python3 - "$runs" "$@" <<'EOF'
import os, statistics, sys, time
runs, label, a_file, b_file, b_stdin = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
argv = [open(f).read().split("\n")[:-1] for f in (a_file, b_file)]
stdins = ["/dev/null", b_stdin]

def run(which):
    start = time.perf_counter()
    with open(stdins[which], "rb") as stdin, open(os.devnull, "wb") as null:
        pid = os.fork()
        if pid == 0:
            os.dup2(stdin.fileno(), 0); os.dup2(null.fileno(), 1); os.dup2(null.fileno(), 2)
            try:
                os.execvp(argv[which][0], argv[which])
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    return dict(wall=wall * 1e3, cpu=(usage.ru_utime + usage.ru_stime) * 1e3, rss=usage.ru_maxrss / 1024, code=code)

results = [[], []]
run(0); run(1)   # warm-up: page cache, Postfix's own first connection
for _ in range(runs):
    for which in (0, 1):
        results[which].append(run(which))
names = [os.path.basename(argv[0][0]), os.path.basename(argv[1][0])]
failed = [sum(r["code"] != 0 for r in rs) for rs in results]
print(f"{label}: {runs} runs each, turn about")
print(f"  {'':10} {'wall ms':>22} {'CPU ms':>22} {'peak RSS MiB':>22}")
for which in (0, 1):
    cells = []
    for key in ("wall", "cpu", "rss"):
        xs = [r[key] for r in results[which]]
        cells.append(f"{statistics.median(xs):7.1f} ({min(xs):.1f}–{max(xs):.1f})")
    note = f"   {failed[which]} runs failed" if failed[which] else ""
    print(f"  {names[which]:10} " + " ".join(f"{c:>22}" for c in cells) + note)
ratios = []
for key in ("wall", "cpu", "rss"):
    rs = [a[key] / b[key] for a, b in zip(*results) if b[key] > 0]
    ratios.append(f"{statistics.median(rs):.2f} ({min(rs):.2f}–{max(rs):.2f})")
print(f"  {'ratio A/B':10} " + " ".join(f"{c:>22}" for c in ratios) + f"   ({names[0]} / {names[1]}, median of the pairs)")
EOF
}

# Instructions of one run under callgrind (valgrind's own count, "Collected").
instructions() { # $1 label, $2 stdin, then the command
  local label=$1 stdin=$2
  shift 2
  local log=$out/callgrind-$label.log
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind-$label.out" "$@" <"$stdin" >/dev/null 2>"$log" ||
    { echo "bench: $label failed under callgrind:" >&2; tail -5 "$log" >&2; }
  local total
  total=$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$log" | tail -1)
  printf '  %-18s %14s instructions\n' "$label" "$(echo "${total:-?}" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')"
}

# Every client must send before anything is timed.
for tool in sealpost curl msmtp ${BEFORE:+before}; do
  declare -n sender="${tool}_send"
  if ! "${sender[@]}" <"$message" >"$out/check-$tool.log" 2>&1; then
    echo "bench: $tool cannot send to the private Postfix:" >&2
    cat "$out/check-$tool.log" >&2
    exit 1
  fi
  unset -n sender
done
for tool in sealpost curl ${BEFORE:+before}; do
  declare -n sender="${tool}_store"
  if ! SSL_CERT_FILE="$system_bundle" SSL_CERT_DIR="$store" "${sender[@]}" </dev/null >"$out/check-store-$tool.log" 2>&1; then
    echo "bench: $tool cannot send trusting the system store and the test CA:" >&2
    cat "$out/check-store-$tool.log" >&2
    exit 1
  fi
  unset -n sender
done

echo "bench: sealpost is $SEALPOST ($(stat -c %s "$SEALPOST") bytes)"
[ -z "$BEFORE" ] || echo "bench: before is $BEFORE ($(stat -c %s "$BEFORE") bytes)"
echo "bench: $(nproc) CPU(s), $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg), Postfix $(postconf -c "$PF_ETC" -h mail_version), $(curl --version | head -1 | cut -d' ' -f1-2), $(msmtp --version | head -1)"
echo

vector "$SEALPOST" --version >"$out/a"
vector msmtp --version >"$out/b"
pair "cold start: sealpost --version (A) vs msmtp --version (B)" "$out/a" "$out/b" /dev/null
vector curl --version >"$out/b"
pair "cold start: sealpost --version (A) vs curl --version (B)" "$out/a" "$out/b" /dev/null
if [ -n "$BEFORE" ]; then
  vector "$BEFORE" --version >"$out/b"
  pair "cold start: sealpost --version (A) vs the build before (B)" "$out/a" "$out/b" /dev/null
fi
echo

vector "${sealpost_send[@]}" >"$out/a"
vector "${curl_send[@]}" >"$out/b"
pair "one send, implicit TLS + AUTH PLAIN: sealpost (A) vs curl (B)" "$out/a" "$out/b" /dev/null
vector "${msmtp_send[@]}" >"$out/b"
pair "one send, implicit TLS + AUTH PLAIN: sealpost (A) vs msmtp (B)" "$out/a" "$out/b" "$message"
if [ -n "$BEFORE" ]; then
  vector "${before_send[@]}" >"$out/b"
  pair "one send, implicit TLS + AUTH PLAIN: sealpost (A) vs the build before (B)" "$out/a" "$out/b" /dev/null
fi
echo

# The variables reach both clients through the runner's environment (an `env` in front would add its own
# start to each figure).
vector "${sealpost_store[@]}" >"$out/a"
vector "${curl_store[@]}" >"$out/b"
SSL_CERT_FILE="$system_bundle" SSL_CERT_DIR="$store" \
  pair "one send trusting the system store (and the test CA): sealpost (A) vs curl (B)" "$out/a" "$out/b" /dev/null
if [ -n "$BEFORE" ]; then
  vector "${before_store[@]}" >"$out/b"
  SSL_CERT_FILE="$system_bundle" SSL_CERT_DIR="$store" \
    pair "one send trusting the system store: sealpost (A) vs the build before (B)" "$out/a" "$out/b" /dev/null
fi
echo

echo "instructions of one send (valgrind --tool=callgrind):"
instructions sealpost /dev/null "${sealpost_send[@]}"
instructions curl /dev/null "${curl_send[@]}"
instructions msmtp "$message" "${msmtp_send[@]}"
[ -z "$BEFORE" ] || instructions before /dev/null "${before_send[@]}"
echo "instructions of one send trusting the system store:"
SSL_CERT_FILE="$system_bundle" SSL_CERT_DIR="$store" instructions sealpost-store /dev/null "${sealpost_store[@]}"
SSL_CERT_FILE="$system_bundle" SSL_CERT_DIR="$store" instructions curl-store /dev/null "${curl_store[@]}"
[ -z "$BEFORE" ] ||
  SSL_CERT_FILE="$system_bundle" SSL_CERT_DIR="$store" instructions before-store /dev/null "${before_store[@]}"
echo "instructions of --version:"
instructions sealpost-version /dev/null "$SEALPOST" --version
instructions msmtp-version /dev/null msmtp --version
[ -z "$BEFORE" ] || instructions before-version /dev/null "$BEFORE" --version
