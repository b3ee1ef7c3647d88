#!/usr/bin/env bash
# Benchmark (issue 12 §4): many small messages over one connection. `sealpost send --batch DIR` beside Python's
# smtplib (SMTP_SSL, one connection, sendmail() per message) sending the same files in the same run, to a local
# server over implicit TLS that discards what it receives (Tests/bench/discard-smtp.py). Prints messages per
# second, CPU time (user + system) and peak RSS of each, the median of RUNS runs. A script for a human, not part
# of CI; it needs python3, openssl and /usr/bin/time (Debian: apt-get install -y python3 openssl time).
#
#   swift build -c release --static-swift-stdlib --disable-local-rpath --product sealpost
#   bash Tests/bench/batch.sh [MODE…]      # modes: bdat (server offers CHUNKING) and data; default both
#
# N=5000 messages (default), RUNS=3 runs per tool and mode, SEALPOST=path (default .build/release/sealpost).
# Both clients verify the server's certificate. Figures depend on the machine: say which when you quote them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
runs=${RUNS:-3}
count=${N:-5000}
SEALPOST=$(realpath "${SEALPOST:-.build/release/sealpost}")
[ -x "$SEALPOST" ] || { echo "bench: no sealpost binary at $SEALPOST (swift build -c release)" >&2; exit 1; }
for tool in python3 openssl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(bdat data)

work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# N small messages (about 600 octets each: a header as a mail client writes it and a few lines of text), one
# file each, named so that they sort in order.
mkdir "$work/batch"
python3 - "$work/batch" "$count" <<'PY'
import sys
folder, count = sys.argv[1], int(sys.argv[2])
body = "".join(f"Line {i} of a short message sent in a batch benchmark, nothing more.\n" for i in range(6))
for n in range(count):
    with open(f"{folder}/{n:06d}.eml", "w") as out:
        out.write(f"From: Alice <alice@example.test>\nTo: Bob <bob{n % 50}@example.test>\n"
                  f"Subject: batch message {n}\nDate: Tue, 01 Dec 2026 12:00:00 +0000\n"
                  f"Message-ID: <batch-{n}@example.test>\nMIME-Version: 1.0\n"
                  f"Content-Type: text/plain; charset=us-ascii\n\n{body}")
PY

# The smtplib client: every file of the folder, in the same order, over one SMTP_SSL connection, envelope from
# the headers as sealpost takes it (the From's address, the To's).
cat >"$work/smtplib_batch.py" <<'PY'
import email.utils, os, smtplib, ssl, sys
folder, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=cafile)
with smtplib.SMTP_SSL("localhost", port, context=context) as client:
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            raw = f.read()
        header = raw.split(b"\n\n", 1)[0].decode()
        fields = dict(line.split(": ", 1) for line in header.split("\n") if ": " in line)
        sender = email.utils.parseaddr(fields["From"])[1]
        recipient = email.utils.parseaddr(fields["To"])[1]
        client.sendmail(sender, [recipient], raw)
PY

start_server() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -f "$work/port"
  local chunking=
  [ "$1" = bdat ] && chunking=--chunking
  # shellcheck disable=SC2086
  python3 "$here/discard-smtp.py" "$work/cert.pem" "$work/key.pem" "$work/port" $chunking &
  server_pid=$!
  for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
  port=$(cat "$work/port")
}

# Runs "$@" under /usr/bin/time -v; prints "wall_seconds cpu_seconds peak_kib exit".
measure() {
  local log=$work/time.log status=0
  /usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$work/stderr" || status=$?
  awk -F': ' -v status="$status" '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
    /User time \(seconds\)/ { c += $2 }
    /System time \(seconds\)/ { c += $2 }
    /Maximum resident set size/ { r = $2 }
    END { print w, c, r, status }' "$log"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

run_tool() {
  if [ "$1" = sealpost ]; then
    measure "$SEALPOST" send --server "localhost:$port" --tls implicit --ca-file "$work/cert.pem" \
      --batch "$work/batch" --transcript none
  else
    measure python3 "$work/smtplib_batch.py" "$work/batch" "$port" "$work/cert.pem"
  fi
}

printf '%s messages of about %s octets; %s runs per tool and mode, sealpost and smtplib in turn; %s, %s cores\n' \
  "$count" "$(stat -c %s "$work/batch/000000.eml")" "$runs" "$(uname -srm)" "$(nproc)"
printf '%-6s %-9s %9s %10s %9s %13s\n' mode tool seconds 'msgs/s' 'cpu s' 'peak RSS MiB'
for mode in "${modes[@]}"; do
  case $mode in bdat | data) ;; *) echo "bench: unknown mode $mode" >&2; exit 64 ;; esac
  start_server "$mode"
  for tool in sealpost smtplib; do : >"$work/$tool"; done
  for _ in $(seq "$runs"); do
    # In turn, so a machine whose load drifts weighs on both alike.
    for tool in sealpost smtplib; do
      read -r wall cpu rss status < <(run_tool "$tool")
      if [ "$status" != 0 ]; then
        echo "bench: $tool ($mode) exited $status: $(tail -3 "$work/stderr")" >&2
        exit 1
      fi
      echo "$wall $cpu $rss" >>"$work/$tool"
    done
  done
  for tool in sealpost smtplib; do
    wall=$(cut -d' ' -f1 "$work/$tool" | median)
    cpu=$(cut -d' ' -f2 "$work/$tool" | median)
    rss=$(cut -d' ' -f3 "$work/$tool" | median)
    awk -v m="$mode" -v t="$tool" -v w="$wall" -v c="$cpu" -v r="$rss" -v n="$count" \
      'BEGIN { printf "%-6s %-9s %9.2f %10.0f %9.2f %13.1f\n", m, t, w, n / w, c, r / 1024 }'
  done
done
