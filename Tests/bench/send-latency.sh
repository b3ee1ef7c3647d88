#!/usr/bin/env bash
# Benchmark: wall time per message of `sealpost send`, one process per message, against the private Postfix of
# Tests/postfix/lib.sh (loopback, STARTTLS + AUTH and implicit TLS + AUTH, certificate verified against the
# test CA), and the same with msmtp and swaks when they are installed. Also the peak RSS of one send of each.
# A script for a human, not part of CI. As root on Debian:
#
#   apt-get install -y msmtp swaks libnet-ssleay-perl time   # optional: the other clients, /usr/bin/time
#   bash Tests/bench/send-latency.sh [N]                      # N messages per tool and mode (default 50)
#
# SEALPOST=path picks the binary (default: .build/release/sealpost if built, else .build/debug/sealpost).
# Figures depend on the machine: say which when you quote them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
count=${1:-50}
if [ -z "${SEALPOST:-}" ]; then
  SEALPOST=.build/debug/sealpost
  [ -x .build/release/sealpost ] && SEALPOST=.build/release/sealpost
fi
SEALPOST=$(realpath "$SEALPOST")
[ -x "$SEALPOST" ] || { echo "bench: no sealpost binary at $SEALPOST" >&2; exit 1; }

source "$here/../postfix/lib.sh"
pf_traps
pf_start
out=$PF_ROOT/bench
mkdir -p "$out"
bob=$PF_MAILDIR/example.test/bob
password_command="printf %s '$PF_PASSWORD'"

# The same small message for every client (msmtp takes it as is; sealpost and swaks build theirs from it).
message=$out/message.eml
cat >"$message" <<'EOF'
From: alice@example.test
To: bob@example.test
Subject: latency benchmark

A short message for the latency benchmark.
EOF

# Each client as a command line reading nothing but what is given; "$1" is the port. "${timed[@]}" is empty,
# or /usr/bin/time for the RSS measurement.
timed=()
sealpost_starttls() {
  "${timed[@]}" "$SEALPOST" send --server localhost --port "$1" --tls starttls --ca-file "$PF_CA" --user "$PF_USER" \
    --password-command "$password_command" --from alice@example.test --to bob@example.test \
    --subject 'latency benchmark' --body 'A short message for the latency benchmark.' --transcript none
}
sealpost_implicit() {
  "${timed[@]}" "$SEALPOST" send --server localhost --port "$1" --tls implicit --ca-file "$PF_CA" --user "$PF_USER" \
    --password-command "$password_command" --from alice@example.test --to bob@example.test \
    --subject 'latency benchmark' --body 'A short message for the latency benchmark.' --transcript none
}
msmtp_run() { # $1 port, $2 on/off for STARTTLS
  "${timed[@]}" msmtp --file="$out/msmtprc" --host=localhost --port="$1" --tls=on --tls-starttls="$2" \
    --tls-trust-file="$PF_CA" --auth=plain --user="$PF_USER" --passwordeval="$password_command" \
    --from=alice@example.test bob@example.test <"$message"
}
msmtp_starttls() { msmtp_run "$1" on; }
msmtp_implicit() { msmtp_run "$1" off; }
swaks_run() { # $1 port, then -tls or -tlsc
  local port=$1
  shift
  "${timed[@]}" swaks --server localhost --port "$port" "$@" --tls-verify --tls-ca-path "$PF_CA" \
    --auth PLAIN --auth-user "$PF_USER" --auth-password "$PF_PASSWORD" \
    --from alice@example.test --to bob@example.test --header 'Subject: latency benchmark' \
    --body 'A short message for the latency benchmark.' --silent 2
}
swaks_starttls() { swaks_run "$1" -tls; }
swaks_implicit() { swaks_run "$1" -tlsc; }
: >"$out/msmtprc"
chmod 600 "$out/msmtprc"

tools=(sealpost)
command -v msmtp >/dev/null && tools+=(msmtp) || echo "bench: msmtp not installed, skipped" >&2
if command -v swaks >/dev/null && perl -MNet::SSLeay -e 1 2>/dev/null; then tools+=(swaks)
else echo "bench: swaks (with libnet-ssleay-perl) not installed, skipped" >&2; fi

# Prints "median p90 min max" (milliseconds) of the numbers in file $1.
stats() {
  /usr/bin/python3 - "$1" <<'EOF'
import math, statistics, sys
xs = sorted(float(line) for line in open(sys.argv[1]) if line.strip())
p90 = xs[max(0, math.ceil(0.9 * len(xs)) - 1)]   # nearest rank
print(f"{statistics.median(xs):8.1f} {p90:8.1f} {xs[0]:8.1f} {xs[-1]:8.1f}")
EOF
}

echo "bench: $count messages per client and mode, one process each; sealpost is $SEALPOST"
echo "bench: $(nproc) CPU(s), $(uname -r), Postfix $(postconf -c "$PF_ETC" -h mail_version)"
printf '%-20s %8s %8s %8s %8s %6s\n' client median p90 min max errors
printf '%-20s %8s %8s %8s %8s %6s\n' '' ms ms ms ms ''
for tool in "${tools[@]}"; do
  for mode in starttls implicit; do
    port=$PF_STARTTLS_PORT
    [ "$mode" = implicit ] && port=$PF_IMPLICIT_PORT
    times=$out/$tool-$mode.ms
    : >"$times"
    errors=0
    before=$(find "$bob/new" -type f | wc -l)
    "${tool}_$mode" "$port" >"$out/warmup.log" 2>&1 || { echo "bench: $tool $mode fails:" >&2; cat "$out/warmup.log" >&2; }
    for ((i = 0; i < count; i++)); do
      start=$EPOCHREALTIME
      if ! "${tool}_$mode" "$port" >"$out/last.log" 2>&1; then
        errors=$((errors + 1))
        cp "$out/last.log" "$out/$tool-$mode.error.log"
      fi
      end=$EPOCHREALTIME
      # EPOCHREALTIME is seconds.microseconds (always 6 digits): without the dot, integer microseconds.
      us=$((${end/./} - ${start/./}))
      printf '%d.%03d\n' $((us / 1000)) $((us % 1000)) >>"$times"
    done
    printf '%-20s %s %6d\n' "$tool $mode" "$(stats "$times")" "$errors"
    # Sanity: every successful send (plus the warm-up) arrived.
    sleep 0.5
    arrived=$(($(find "$bob/new" -type f | wc -l) - before))
    [ "$arrived" -ge "$((count - errors))" ] || echo "bench: only $arrived of $count $tool $mode messages arrived" >&2
  done
done

# Peak resident set size of one send (STARTTLS), as /usr/bin/time -v reports it.
if [ -x /usr/bin/time ]; then
  echo
  printf '%-20s %s\n' client 'peak RSS (one STARTTLS send)'
  for tool in "${tools[@]}"; do
    timed=(/usr/bin/time -v -o "$out/$tool.time")
    "${tool}_starttls" "$PF_STARTTLS_PORT" >/dev/null 2>&1 || echo "bench: $tool failed under time" >&2
    timed=()
    printf '%-20s %s KiB\n' "$tool" "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/$tool.time")"
  done
else
  echo "bench: /usr/bin/time missing (apt-get install time): no peak RSS" >&2
fi
