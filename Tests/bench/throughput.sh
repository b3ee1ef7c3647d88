#!/usr/bin/env bash
# Benchmark (issue 10): throughput and peak RSS of `sealpost send` with a 100 MB message, beside
# `curl --upload-file` sending the same file in the same run, to a local server over implicit TLS that discards
# what it receives (Tests/bench/discard-smtp.py). A script for a human, not part of CI; it needs python3, curl,
# openssl and /usr/bin/time (Debian: apt-get install -y python3 curl openssl time).
#
#   swift build -c release --product sealpost
#   bash Tests/bench/throughput.sh [MODE…]      # modes below; default: message message-bdat
#
# Modes (one line each in `mode_arguments`): how sealpost is given the content, and whether the server offers
# CHUNKING. curl always sends the encoded file with DATA (it has no BDAT).
#   message       --message FILE (already encoded), server without CHUNKING: DATA, dot-stuffed
#   message-bdat  --message FILE, server with CHUNKING: BDAT chunks
#   attachment    --attach RAW (SIZE_MB of random bytes, base64-encoded by sealpost as it sends), server
#                 without CHUNKING; curl sends the same message already encoded (a Python-built MIME file)
#   attachment-bdat  the same, server with CHUNKING
#   body          --body-file TEXT (SIZE_MB of ASCII text in lines of 76 characters and LF, written as 7bit by
#                 sealpost's MIME writer as it reads it), server without CHUNKING; curl sends the same message
#                 already built (a Python-built file with CRLF line ends)
#   body-stdin    the same text piped to --body-file - (spooled by sealpost to an unlinked file in $TMPDIR)
#   body-bdat     --body-file TEXT, server with CHUNKING
#
# RUNS=N runs per tool and mode (default 3; the median is printed), SIZE_MB=N the message size (default 100),
# SEALPOST=path the binary (default .build/release/sealpost). Figures depend on the machine: say which when
# you quote them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
runs=${RUNS:-3}
size_mb=${SIZE_MB:-100}
SEALPOST=$(realpath "${SEALPOST:-.build/release/sealpost}")
[ -x "$SEALPOST" ] || { echo "bench: no sealpost binary at $SEALPOST (swift build -c release)" >&2; exit 1; }
for tool in python3 curl openssl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(message message-bdat)

work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# A certificate for 127.0.0.1, given to sealpost as its CA file (a self-signed certificate there is a trust
# anchor) and ignored by curl (-k).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# The message: headers, then base64 of random bytes in 76-column CRLF lines, as a MIME writer encodes an
# attachment.
message=$work/message.eml
python3 - "$message" "$size_mb" <<'PY'
import base64, os, sys
path, megabytes = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as out:
    out.write(b"From: a@example.test\r\nTo: b@example.test\r\nSubject: throughput\r\n"
              b"Message-ID: <bench@example.test>\r\nDate: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
              b"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\n")
    raw = os.urandom(57 * 1024)
    line_block = b"".join(base64.b64encode(raw[i:i + 57]) + b"\r\n" for i in range(0, len(raw), 57))
    target = megabytes * 1000 * 1000
    while out.tell() < target:
        out.write(line_block)
PY
# For the attachment modes: the raw file, and for curl the message that carries it, encoded by Python's own
# base64 at 76 columns (the same shape Sealpost's MIME writer gives; throughput counts the encoded octets).
raw=$work/attachment.bin
attach_message=$work/attachment.eml
if printf '%s\n' "${modes[@]}" | grep -q '^attachment'; then
  python3 - "$raw" "$attach_message" "$size_mb" <<'PY'
import base64, os, sys
raw_path, message_path, megabytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
block = os.urandom(57 * 1024)
with open(raw_path, "wb") as raw:
    for _ in range(megabytes * 1000 * 1000 // len(block)):
        raw.write(block)
with open(raw_path, "rb") as raw, open(message_path, "wb") as out:
    out.write(b"From: a@example.test\r\nTo: b@example.test\r\nSubject: throughput\r\n"
              b"Message-ID: <bench@example.test>\r\nDate: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
              b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n"
              b"--=_b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nbench\r\n"
              b"--=_b\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Disposition: attachment; filename=\"attachment.bin\"\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\n")
    while chunk := raw.read(57 * 1024):
        out.write(b"".join(base64.b64encode(chunk[i:i + 57]) + b"\r\n" for i in range(0, len(chunk), 57)))
    out.write(b"--=_b--\r\n")
PY
fi

# For the body modes: the text, and for curl the message that carries it as the MIME writer builds it.
text=$work/body.txt
text_message=$work/body.eml
if printf '%s\n' "${modes[@]}" | grep -q '^body'; then
  python3 - "$text" "$text_message" "$size_mb" <<'PY'
import sys
text_path, message_path, megabytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
words = b"the quick brown fox jumps over the lazy dog and sends a long letter home "
line = (words * 2)[:76] + b"\n"
block = line * 1024
with open(text_path, "wb") as out:
    for _ in range(megabytes * 1000 * 1000 // len(block)):
        out.write(block)
with open(text_path, "rb") as text, open(message_path, "wb") as out:
    out.write(b"From: a@example.test\r\nTo: b@example.test\r\nSubject: throughput\r\n"
              b"Message-ID: <bench@example.test>\r\nDate: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
              b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
              b"Content-Transfer-Encoding: 7bit\r\n\r\n")
    while chunk := text.read(1 << 20):
        out.write(chunk.replace(b"\n", b"\r\n"))
PY
fi

# The sealpost arguments that give the content, per mode.
mode_arguments() {
  case $1 in
    message | message-bdat) echo "--message $message" ;;
    attachment | attachment-bdat) echo "--body bench --attach $raw" ;;
    body | body-bdat) echo "--body-file $text" ;;
    body-stdin) echo "--body-file -" ;;
    *) return 1 ;;
  esac
}
# What is piped to sealpost's standard input, per mode (nothing: /dev/null).
mode_stdin() { case $1 in body-stdin) echo "$text" ;; *) echo /dev/null ;; esac; }
mode_chunking() { case $1 in *-bdat) echo --chunking ;; *) echo ;; esac; }

start_server() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -f "$work/port"
  # shellcheck disable=SC2046
  python3 "$here/discard-smtp.py" "$work/cert.pem" "$work/key.pem" "$work/port" $(mode_chunking "$1") &
  server_pid=$!
  for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
  port=$(cat "$work/port")
}

# Runs "$@" under /usr/bin/time -v with $input piped to it (through cat, so it is a pipe); prints
# "wall_seconds cpu_seconds peak_kib exit".
measure() {
  local log=$work/time.log status=0
  cat "${input:-/dev/null}" | /usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$work/stderr" || status=$?
  awk -F': ' -v status="$status" '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
    /User time \(seconds\)/ { c += $2 }
    /System time \(seconds\)/ { c += $2 }
    /Maximum resident set size/ { r = $2 }
    END { print w, c, r, status }' "$log"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

run_tool() {
  local tool=$1 mode=$2 args
  args=$(mode_arguments "$mode")
  if [ "$tool" = sealpost ]; then
    # shellcheck disable=SC2086
    input=$(mode_stdin "$mode") measure "$SEALPOST" send --server "127.0.0.1:$port" --tls implicit --ca-file "$work/cert.pem" \
      --from a@example.test --to b@example.test --transcript none --max-size 1G $args
  else
    local file=$message
    case $mode in attachment*) file=$attach_message ;; body*) file=$text_message ;; esac
    measure curl -sS "smtps://127.0.0.1:$port" --mail-from a@example.test --mail-rcpt b@example.test \
      --upload-file "$file" -k
  fi
}

printf 'message: %s octets; %s runs per tool and mode, sealpost and curl in turn; %s\n' "$(stat -c %s "$message")" "$runs" \
  "$(uname -srm)"
printf '%-14s %-9s %9s %8s %9s %13s\n' mode tool seconds MB/s 'cpu s' 'peak RSS MiB'
for mode in "${modes[@]}"; do
  mode_arguments "$mode" >/dev/null || { echo "bench: unknown mode $mode" >&2; exit 64; }
  start_server "$mode"
  for tool in sealpost curl; do : >"$work/$tool"; done
  for _ in $(seq "$runs"); do
    # In turn, so a machine whose load drifts weighs on both alike.
    for tool in sealpost curl; do
      read -r wall cpu rss status < <(run_tool "$tool" "$mode")
      if [ "$status" != 0 ]; then
        echo "bench: $tool ($mode) exited $status: $(cat "$work/stderr")" >&2
        exit 1
      fi
      echo "$wall $cpu $rss" >>"$work/$tool"
    done
  done
  for tool in sealpost curl; do
    wall=$(cut -d' ' -f1 "$work/$tool" | median)
    cpu=$(cut -d' ' -f2 "$work/$tool" | median)
    rss=$(cut -d' ' -f3 "$work/$tool" | median)
    bytes=$(stat -c %s "$message")
    case $mode in attachment*) bytes=$(stat -c %s "$attach_message") ;; body*) bytes=$(stat -c %s "$text_message") ;; esac
    awk -v m="$mode" -v t="$tool" -v w="$wall" -v c="$cpu" -v r="$rss" -v b="$bytes" \
      'BEGIN { printf "%-14s %-9s %9.2f %8.0f %9.2f %13.1f\n", m, t, w, b / w / 1e6, c, r / 1024 }'
  done
done
