#!/usr/bin/env bash
# The composer end to end (issue 9, DESIGN §8): the real binary in tmux at 80×24, against the private Postfix of
# Tests/postfix/lib.sh (implicit TLS, then STARTTLS; SASL login through the account's passwordeval). Each
# scenario composes with the documented keys, previews, resizes to 200×60, reviews, sends, checks with
# capture-pane that the screen shows the TLS version and cipher Postfix negotiated and the final 250, that
# Postfix delivered exactly the message composed (read back by Python's `email` package), and that after
# Ctrl-Q the terminal is as it was (cooked mode, echo, the shell's own screen back). The drafts scenario postpones
# a message with Ctrl-S, starts again, continues the draft from the list and sends it.
#
# Run as root (Tests/run.sh does, after the Postfix suite). The binary is .build/debug/sealpost unless
# SEALPOST=path. KEEP=1 keeps the temporary folder. Ends with "composer: N passed, M failed".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
SEALPOST=${SEALPOST:-.build/debug/sealpost}
SEALPOST=$(realpath "$SEALPOST")
[ -x "$SEALPOST" ] || { echo "composer: no sealpost binary at $SEALPOST (swift build first)" >&2; exit 1; }
command -v tmux >/dev/null || { echo "composer: tmux is missing (apt-get install tmux)" >&2; exit 1; }

source Tests/postfix/lib.sh
socket=sealpost-composer-$$
cleanup() {
  tmux -L "$socket" kill-server 2>/dev/null || true
  PF_KEEP=${KEEP:-0} pf_stop
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
pf_start

passed=0
failed=0
problems=()
fail() { problems+=("$*"); }

screen() { tmux -L "$socket" capture-pane -p -t composer; }
# A new 80x24 session running $1. Killing the last session ends the tmux server, and a client that connects
# while it is ending gets "server exited unexpectedly": retried, so the next scenario never races the last one.
new_session() {
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9; do
    tmux -L "$socket" -f /dev/null new-session -d -s composer -x 80 -y 24 "$1" 2>/dev/null && return 0
    sleep 0.3
  done
  tmux -L "$socket" -f /dev/null new-session -d -s composer -x 80 -y 24 "$1"
}

# Waits until the pane shows the extended regular expression $1 (at most $2 seconds, default 15).
wait_for() {
  local pattern=$1 limit=${2:-15} start=$SECONDS
  while ! screen | grep -Eq -- "$pattern"; do
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      fail "the screen never showed /$pattern/ within ${limit}s"
      screen >"$work/timeout-$(date +%s%N).txt"
      return 1
    fi
    sleep 0.2
  done
}

keys() { tmux -L "$socket" send-keys -t composer "$@"; }
text() { tmux -L "$socket" send-keys -t composer -l -- "$1"; }

# scenario NAME PORT STARTTLS(on|off) [SEALPOST-ARGUMENTS…]
# With NOCOLOR=1, NO_COLOR=1 is in sealpost's environment. With ATTACH=1, a small binary file is attached with Ctrl-T (its path completed with Tab), the raw view shows
# its first base64 line, and Postfix must deliver it byte for byte (maildir_check.py attachments).
scenario() {
  local name=$1 port=$2 starttls=$3 attach=${ATTACH:-0}
  shift 3
  local arguments=${*:-}
  problems=()
  work=$PF_ROOT/composer/$name
  local home=$work/home
  mkdir -p "$home/config/sealpost" "$home/state"
  chmod 700 "$home" "$home/config" "$home/config/sealpost"
  printf '%s' "$PF_PASSWORD" >"$home/password"
  chmod 600 "$home/password"
  cat >"$home/config/sealpost/config" <<CONF
account postfix
host localhost
port $port
tls on
tls_starttls $starttls
tls_trust_file $PF_CA
from Alice <$PF_USER>
auth on
user $PF_USER
passwordeval "cat $home/password"
CONF
  chmod 600 "$home/config/sealpost/config"
  find "$PF_MAILDIR/example.test/bob/new" -type f -delete
  echo "== composer: $name (port $port, tls_starttls $starttls${arguments:+, $arguments})"

  local subject="Composer end to end ($name) — Grüße"
  local body1="Hello Bob, this came through the composer."
  local body2="Zweite Zeile: ünïcödé and 漢字."
  # The pane runs a shell that marks the screen, starts sealpost, then shows its status and the terminal
  # modes: after Ctrl-Q the marks must be back and the modes cooked.
  new_session \
    "env -i HOME='$home' XDG_CONFIG_HOME='$home/config' XDG_STATE_HOME='$home/state' PATH=/usr/bin:/bin \
      TERM=tmux-256color LANG=C.UTF-8 ${NOCOLOR:+NO_COLOR=1} sh -c 'echo BEFORE-COMPOSER; stty -a | grep -o \" -\\?icanon \" >\"$work/stty-before\"; \
      \"$SEALPOST\" $arguments; echo \"composer-exit=\$?\"; stty -a | grep -o \" -\\?icanon \" >\"$work/stty-after\"; echo AFTER-COMPOSER; sleep 600'"
  tmux -L "$socket" set-option -t composer -g window-size manual >/dev/null 2>&1 || true

  # One usable account: the picker is skipped and the cursor starts in To.
  wait_for 'To' || true
  text "Bob <bob@example.test>"
  keys Tab Tab Tab
  text "$subject"
  keys Tab
  text "$body1"
  keys Enter
  text "$body2"
  local file=$work/files/chart-$name.bin
  if [ "$attach" = 1 ]; then
    # 3,000 bytes with every byte value (NUL, CR, LF, 0x80–0xFF among them).
    mkdir -p "$work/files"
    /usr/bin/python3 -c 'import sys; sys.stdout.buffer.write(bytes((i * 7 + 3) % 256 for i in range(3000)))' >"$file"
    # The text part as delivered: each line ends with a line end, the last one too.
    printf '%s\n%s\n' "$body1" "$body2" >"$work/files/body.txt"
    keys C-t
    wait_for 'Path:' || true
    # Tab completes the path's last part (the only file that starts so).
    text "${file%-"$name".bin}"
    keys Tab
    wait_for "chart-$name\\.bin" || true
    keys Enter
    wait_for "chart-$name\\.bin \\(2\\.9 KiB\\)" || true
    # q closes the list (an Esc with the next key in the same burst would be Alt with that key).
    keys q
  fi
  keys C-p
  wait_for 'Grüße' || true
  # Mid-way, the terminal grows: every state is kept.
  tmux -L "$socket" resize-window -t composer -x 200 -y 60
  sleep 0.5
  [ "$(screen | wc -l)" -ge 60 ] || fail "the pane did not grow to 60 rows"
  wait_for 'Zweite Zeile' || true
  if [ "$attach" = 1 ]; then
    # The raw view: the message as send --dry-run prints it, the attachment included.
    keys r
    wait_for 'Content-Disposition: attachment' || true
    local base64
    base64=$(head -c 57 "$file" | base64 -w 0)
    sleep 0.3
    screen | grep -qF -- "$base64" || fail "the raw view does not show the attachment's first base64 line"
    keys r
  fi
  keys q
  keys C-x
  wait_for "localhost.*$port|$port.*localhost" || true
  if [ "$starttls" = on ]; then wait_for 'STARTTLS' || true; else wait_for '[Ii]mplicit TLS' || true; fi
  keys y
  wait_for '(^|[^0-9])250[ -]2\.0\.0' 30 || true
  wait_for '[Ss]ent' 30 || true
  local shown
  shown=$(screen)
  echo "$shown" >"$work/screen-sent.txt"
  # What Postfix negotiated, from its log: "Anonymous TLS connection established from …: TLSv1.3 with cipher
  # TLS_AES_256_GCM_SHA384 (256/256 bits)" (or "Trusted/Untrusted").
  local logged version cipher
  logged=$(grep -E 'TLS connection established from localhost' "$PF_LOG" | tail -n 1 || true)
  version=$(sed -nE 's/.*: (TLSv1\.[0-9]) with cipher ([A-Z0-9_-]+).*/\1/p' <<<"$logged")
  cipher=$(sed -nE 's/.*: (TLSv1\.[0-9]) with cipher ([A-Z0-9_-]+).*/\2/p' <<<"$logged")
  if [ -z "$version" ] || [ -z "$cipher" ]; then
    fail "Postfix's log has no TLS line for this session"
  else
    local spaced=${version/TLSv/TLS }
    grep -Eq -- "$version|$spaced" <<<"$shown" || fail "the screen does not show $version"
    grep -q -- "$cipher" <<<"$shown" || fail "the screen does not show the cipher $cipher"
  fi
  grep -q -- "$PF_PASSWORD" <<<"$shown" && fail "the password is on the screen"

  keys C-q
  wait_for 'AFTER-COMPOSER' || true
  local after
  after=$(screen)
  grep -q 'composer-exit=0' <<<"$after" || fail "sealpost did not exit 0 after Ctrl-Q"
  grep -q 'BEFORE-COMPOSER' <<<"$after" || fail "the shell's screen did not come back after Ctrl-Q"
  grep -q -- ' icanon ' "$work/stty-after" 2>/dev/null || fail "the terminal was left out of canonical mode"
  cmp -s "$work/stty-before" "$work/stty-after" || fail "the terminal modes differ after the composer"
  tmux -L "$socket" kill-session -t composer 2>/dev/null || true

  # Exactly the message composed, as Python's email package reads it.
  local message
  if [ "$attach" = 1 ]; then
    /usr/bin/python3 Tests/postfix/maildir_check.py attachments "$PF_MAILDIR/example.test/bob" \
      --address bob@example.test --from "Alice <$PF_USER>" --to "Bob <bob@example.test>" --subject "$subject" \
      --body "$work/files/body.txt" --attach "$file" | sed 's/^/   /' \
      || fail "the delivered message or its attachment differs from the one composed (see above)"
  else
  message=$(find "$PF_MAILDIR/example.test/bob/new" -type f | head -n 2)
  if [ "$(wc -l <<<"$message")" != 1 ] || [ -z "$message" ]; then
    fail "Postfix delivered $(grep -c . <<<"$message") messages to bob, expected 1"
  else
    /usr/bin/python3 - "$message" "$subject" "$body1"$'\n'"$body2" "$PF_USER" <<'PY' || fail "the delivered message differs from the one composed (see above)"
import sys
from email import policy
from email.parser import BytesParser
path, subject, body, sender = sys.argv[1:5]
with open(path, "rb") as f:
    msg = BytesParser(policy=policy.default).parse(f)
problems = []
def check(what, got, want):
    if got != want:
        problems.append(f"{what}: got {got!r}, want {want!r}")
check("Subject", str(msg["Subject"]), subject)
check("To", str(msg["To"]), "Bob <bob@example.test>")
check("From", msg["From"].addresses[0].addr_spec, sender)
check("Cc", msg["Cc"], None)
check("Bcc", msg["Bcc"], None)
for part in msg.walk():
    if part.defects:
        problems.append(f"defects: {part.defects}")
text = msg.get_body(preferencelist=("plain",)).get_content()
check("body", text.rstrip("\n"), body)
for p in problems:
    print("  " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
    fi
  fi
  if [ ${#problems[@]} -eq 0 ]; then
    passed=$((passed + 1))
    echo "   ok"
  else
    failed=$((failed + 1))
    printf '   FAIL: %s\n' "${problems[@]}"
    echo "   (screens and files in $work; KEEP=1 keeps them)"
  fi
}

# The drafts scenario (issue 12): compose, leave with the postpone key (Ctrl-S: the shell then shows where the
# draft is), start again, continue the draft from the list, add a line, send; Postfix must deliver the whole
# message, and the draft must be gone afterwards.
draft_scenario() {
  local name=drafts port=$PF_IMPLICIT_PORT
  problems=()
  work=$PF_ROOT/composer/$name
  local home=$work/home
  mkdir -p "$home/config/sealpost" "$home/state"
  chmod 700 "$home" "$home/config" "$home/config/sealpost"
  printf '%s' "$PF_PASSWORD" >"$home/password"
  chmod 600 "$home/password"
  cat >"$home/config/sealpost/config" <<CONF
account postfix
host localhost
port $port
tls on
tls_starttls off
tls_trust_file $PF_CA
from Alice <$PF_USER>
auth on
user $PF_USER
passwordeval "cat $home/password"
CONF
  chmod 600 "$home/config/sealpost/config"
  find "$PF_MAILDIR/example.test/bob/new" -type f -delete
  echo "== composer: $name (postpone with Ctrl-S, start again, continue the draft, send)"
  local subject="Postponed and continued — Grüße"
  local line1="Written before postponing."
  local line2="Added after continuing the draft."
  local start="env -i HOME='$home' XDG_CONFIG_HOME='$home/config' XDG_STATE_HOME='$home/state' PATH=/usr/bin:/bin \
      TERM=tmux-256color LANG=C.UTF-8 sh -c '\"$SEALPOST\" 2>\"$work/stderr\"; echo \"composer-exit=\$?\"; echo AFTER-COMPOSER; sleep 600'"
  new_session "$start"
  wait_for 'To' || true
  text "Bob <bob@example.test>"
  keys Tab Tab Tab
  text "$subject"
  keys Tab
  text "$line1"
  keys C-s
  wait_for 'AFTER-COMPOSER' || true
  grep -q 'composer-exit=0' <<<"$(screen)" || fail "sealpost did not exit 0 after the postpone key"
  local drafts=$home/state/sealpost/drafts
  local line
  line=$(cat "$work/stderr" 2>/dev/null || true)
  grep -q "^sealpost: postponed: $drafts/[0-9a-f-]*\.eml (sealpost offers it when it starts again)$" <<<"$line" \
    || fail "the postpone line is not on stderr: $line"
  local draft
  draft=$(find "$drafts" -name '*.eml' | head -n 1)
  if [ -z "$draft" ]; then
    fail "no draft in $drafts"
  else
    [ "$(stat -c %a "$draft")" = 600 ] || fail "the draft's mode is $(stat -c %a "$draft"), not 600"
    [ "$(stat -c %a "$drafts")" = 700 ] || fail "the drafts folder's mode is $(stat -c %a "$drafts"), not 700"
    grep -qF "Subject: $subject" "$draft" || fail "the draft does not hold the subject"
    grep -qF "$line1" "$draft" || fail "the draft does not hold the body"
    grep -qF "$PF_PASSWORD" "$draft" && fail "the password is in the draft"
  fi
  tmux -L "$socket" kill-session -t composer 2>/dev/null || true

  new_session "$start"
  wait_for '1 draft kept from earlier' || true
  wait_for 'Postponed and continued' || true
  keys Enter
  wait_for "$line1" || true
  # The cursor is back where it was: at the end of the body.
  keys Enter
  text "$line2"
  keys C-x
  wait_for '[Ii]mplicit TLS' || true
  keys y
  wait_for '(^|[^0-9])250[ -]2\.0\.0' 30 || true
  wait_for '[Ss]ent' 30 || true
  sleep 0.5
  [ -z "$(find "$drafts" -type f)" ] || fail "the draft is still there after the message was sent: $(ls "$drafts")"
  keys C-q
  wait_for 'AFTER-COMPOSER' || true
  tmux -L "$socket" kill-session -t composer 2>/dev/null || true
  local message
  message=$(find "$PF_MAILDIR/example.test/bob/new" -type f | head -n 2)
  if [ "$(wc -l <<<"$message")" != 1 ] || [ -z "$message" ]; then
    fail "Postfix delivered $(grep -c . <<<"$message") messages to bob, expected 1"
  else
    /usr/bin/python3 - "$message" "$subject" "$line1"$'\n'"$line2" <<'PY' || fail "the delivered message differs from the draft continued (see above)"
import sys
from email import policy
from email.parser import BytesParser
path, subject, body = sys.argv[1:4]
with open(path, "rb") as f:
    msg = BytesParser(policy=policy.default).parse(f)
problems = []
if str(msg["Subject"]) != subject:
    problems.append(f"Subject: {msg['Subject']!r}")
if str(msg["To"]) != "Bob <bob@example.test>":
    problems.append(f"To: {msg['To']!r}")
for part in msg.walk():
    if part.defects:
        problems.append(f"defects: {part.defects}")
text = msg.get_body(preferencelist=("plain",)).get_content()
if text.rstrip("\n") != body:
    problems.append(f"body: {text!r}")
for p in problems:
    print("  " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
  fi
  if [ ${#problems[@]} -eq 0 ]; then
    passed=$((passed + 1))
    echo "   ok"
  else
    failed=$((failed + 1))
    printf '   FAIL: %s\n' "${problems[@]}"
    echo "   (screens and files in $work; KEEP=1 keeps them)"
  fi
}

scenario implicit "$PF_IMPLICIT_PORT" off
scenario starttls-monochrome "$PF_STARTTLS_PORT" on --theme monochrome
ATTACH=1 NOCOLOR=1 scenario attachment-nocolor "$PF_IMPLICIT_PORT" off --theme monochrome
draft_scenario

echo "composer: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
