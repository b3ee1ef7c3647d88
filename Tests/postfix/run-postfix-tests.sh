#!/usr/bin/env bash
# `sealpost send` against a real Postfix (DESIGN §8): a private instance on two free loopback ports — STARTTLS
# required (smtpd_tls_security_level=encrypt, smtpd_tls_auth_only=yes) and implicit TLS (wrappermode) —, Cyrus
# SASL from a sasldb, delivery into Maildirs that Python's `email` package reads back (maildir_check.py).
#
# Run as root (Tests/run.sh does, after `swift test`). The binary is .build/debug/sealpost unless SEALPOST=path.
# PF_KEEP=1 keeps the temporary folder (configuration, log, Maildirs, each scenario's output) for a look.
# Ends with "postfix: N passed, M failed"; exits 1 if any scenario failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
SEALPOST=${SEALPOST:-.build/debug/sealpost}
SEALPOST=$(realpath "$SEALPOST")
[ -x "$SEALPOST" ] || { echo "postfix: no sealpost binary at $SEALPOST (swift build first)" >&2; exit 1; }
CHECK=(/usr/bin/python3 "$here/maildir_check.py")

source "$here/lib.sh"
pf_traps
pf_start

work=$PF_ROOT/scenarios
mkdir -p "$work"
boxes=("$PF_MAILDIR"/example.test/{alice,bob,carol})
box() { echo "$PF_MAILDIR/example.test/$1"; }
password_command="printf %s '$PF_PASSWORD'"
# What must never appear in any output: the password, and its base64 forms in AUTH PLAIN and AUTH LOGIN.
secrets=("$PF_PASSWORD" "$(printf '%s' "$PF_PASSWORD" | base64 -w0)"
  "$(printf '\0%s\0%s' "$PF_USER" "$PF_PASSWORD" | base64 -w0)")

passed=0
failed=0

# --- scenario machinery -----------------------------------------------------------------------------------
# A scenario: `begin NAME`, then `sealpost STDIN-FILE ARGS…` (sets $rc, output in $out/$err), checks with
# `expect`/`fail`, then `finish`. The Maildirs are emptied at `begin` and `finish` (what was delivered is moved
# to $work/SCENARIO/delivered, anything there before to $work/SCENARIO/before), and the log is read from the
# offset it had at `begin`, so each scenario sees only its own session.

# Moves every message out of the Maildirs into the folder $1.
clear_maildirs() {
  local b
  mkdir -p "$1"
  for b in "${boxes[@]}"; do
    find "$b/new" "$b/cur" -type f -exec mv -t "$1" {} +
  done
}

begin() {
  scenario=$1
  problems=()
  echo "== $scenario"
  mkdir -p "$work/$scenario"
  clear_maildirs "$work/$scenario/before"
  log_offset=$(stat -c %s "$PF_LOG")
  out=$work/$scenario/stdout
  err=$work/$scenario/stderr
}

fail() {
  problems+=("$*")
  echo "  FAIL: $*"
}

# expect DESCRIPTION COMMAND…: runs the command; a failure is a failed check, never the end of the script.
expect() {
  local what=$1
  shift
  if "$@"; then echo "  ok: $what"; else fail "$what"; fi
}

sealpost() {
  local input=$1
  shift
  set +e
  timeout 60 "$SEALPOST" send "$@" <"$input" >"$out" 2>"$err"
  rc=$?
  set -e
  echo "  sealpost exit $rc: $(tail -n 1 "$err")"
}

# The log written since `begin`.
new_log() { tail -c +$((log_offset + 1)) "$PF_LOG"; }

# Waits until Postfix has logged the end of $1 sessions (default 1) since `begin`.
wait_for_disconnect() {
  local want=${1:-1} tries=0
  until [ "$(new_log | grep -c ': disconnect from ')" -ge "$want" ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || { fail "Postfix logged no end of session within 10 s"; return 0; }
    sleep 0.1
  done
}

# The `disconnect from … ehlo=2 starttls=1 auth=1 mail=1 …` line of the session: Postfix's count of the
# commands it received, the best witness of what the client sent.
session_commands() { new_log | grep ': disconnect from ' | tail -n 1 | sed 's/.*\]//'; }

count_messages() { "${CHECK[@]}" count "$@"; }

# Waits for $2 messages in the Maildir $1 (10 s at most), then a little longer in case more arrive.
wait_for_delivery() {
  local tries=0
  until [ "$(count_messages "$1")" -ge "$2" ] || [ "$tries" -ge 100 ]; do
    sleep 0.1
    tries=$((tries + 1))
  done
  sleep 0.2
}

# Nothing may be delivered: after the session ended, no message in any Maildir, nothing left in the queue,
# and no sign in the log that the cleanup daemon received message content or anything was delivered.
expect_nothing_delivered() {
  wait_for_disconnect
  sleep 0.5
  local count
  count=$(count_messages "${boxes[@]}")
  [ "$count" = 0 ] && echo "  ok: no message in any Maildir" || fail "$count message(s) delivered"
  if new_log | grep -E 'cleanup\[[0-9]+\]: [0-9A-F]+: message-id=|status=(sent|deferred|bounced)' >/dev/null; then
    fail "the log shows a message received or delivered: $(new_log | grep -E 'message-id=|status=' | head -n 3)"
  else
    echo "  ok: the log shows no message received"
  fi
  local queued
  queued=$(find "$PF_ROOT/spool"/{incoming,active,deferred,hold,maildrop} -type f 2>/dev/null | wc -l)
  [ "$queued" = 0 ] && echo "  ok: the queue is empty" || fail "$queued file(s) in the queue"
}

expect_rc() {
  local allowed
  for allowed in "$@"; do
    [ "$rc" = "$allowed" ] && { echo "  ok: exit $rc"; return 0; }
  done
  fail "exit $rc, expected ${*// / or }"
}

expect_no_secret() {
  local s hit=0
  for s in "${secrets[@]}" "$@"; do
    if grep -qF -- "$s" "$out" "$err"; then
      fail "a secret appears in the output: $(grep -lF -- "$s" "$out" "$err" | xargs -n1 basename | tr '\n' ' ')"
      hit=1
    fi
  done
  [ "$hit" = 1 ] || echo "  ok: no password (plain or base64) in stdout or stderr"
}

# AUTH, if it was sent at all, went inside TLS (" ~> AUTH"), never as plaintext (" -> AUTH").
expect_no_plaintext_auth() {
  if grep -E '^ -> .*AUTH' "$out" >/dev/null; then fail "AUTH sent in plaintext: $(grep -E '^ -> .*AUTH' "$out")"
  else echo "  ok: no AUTH in plaintext in the transcript"; fi
}

finish() {
  expect_no_secret
  clear_maildirs "$work/$scenario/delivered"
  if [ ${#problems[@]} -eq 0 ]; then
    passed=$((passed + 1))
    echo "  passed"
    return 0
  fi
  failed=$((failed + 1))
  echo "  FAILED: $scenario (${#problems[@]} problem(s))"
  echo "  --- sealpost $SEALPOST exit $rc, stdout:"
  sed 's/^/  | /' "$out"
  echo "  --- stderr:"
  sed 's/^/  | /' "$err"
  echo "  --- Postfix log (this scenario, last 40 lines):"
  new_log | tail -n 40 | sed 's/^/  | /'
}

# --- the scenarios ----------------------------------------------------------------------------------------

# 1. STARTTLS + AUTH, a message built from flags, two recipients, a body that needs care: a lone dot, leading
#    dots, a 1200-character line (forces quoted-printable), trailing blanks, UTF-8, a "From " line.
begin starttls-composed
body=$work/$scenario/body.txt
{
  printf 'Grüße aus Köln, Zoë! — ünïcödé ✓ 日本語\n'
  printf '.a line with a leading dot\n'
  printf '.\n'
  printf '..two dots\n'
  printf 'From the start of a line (mbox would escape this)\n'
  printf '%.0sab€' {1..400}   # "ab€" × 400 = 1200 characters, 2000 octets
  printf '\n'
  printf 'trailing blanks   \n'
  printf 'tab\tinside and = sign and =3D literal\n'
  printf '\n'
  printf 'last line\n'
} >"$body"
subject='Grüße, Zoë'
sealpost "$body" --server localhost --port "$PF_STARTTLS_PORT" --tls starttls --ca-file "$PF_CA" \
  --user "$PF_USER" --password-command "$password_command" \
  --from alice@example.test --to bob@example.test --to carol@example.test --subject "$subject" --body-file -
expect_rc 0
expect_no_plaintext_auth
expect "transcript shows STARTTLS and a verified certificate" \
  grep -qE '^~~ .*TLS = TLS 1\.[23] .*verified localhost' "$out"
wait_for_delivery "$(box bob)" 1
wait_for_delivery "$(box carol)" 1
for who in bob carol; do
  expect "$who: the message read back equals what was sent" \
    "${CHECK[@]}" composed "$(box "$who")" --address "$who@example.test" --from alice@example.test \
    --to bob@example.test --to carol@example.test --subject "$subject" --body "$body"
done
expect "alice (the sender) got nothing" test "$(count_messages "$(box alice)")" = 0
wait_for_disconnect
# Postfix offers CHUNKING and PIPELINING: the content goes in one BDAT chunk (scenario 7 has the rest).
expect "Postfix saw STARTTLS, then AUTH, one MAIL, two RCPT, one BDAT" \
  grep -qE 'starttls=1 auth=1 mail=1 rcpt=2 bdat=1' <<<"$(session_commands)"
finish

# 2. Implicit TLS, a complete message with --message -: a Bcc header that must not arrive, a folded header, an
#    encoded word, leading dots, an 8-bit body. The envelope gets carol from --bcc.
begin implicit-message
message=$work/$scenario/message.eml
message_id="<implicit-$$-$RANDOM@example.test>"
cat >"$message" <<EOF
From: Alice Example <alice@example.test>
To: Bob <bob@example.test>
Bcc: Carol Hidden <carol@example.test>
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= over implicit TLS
Date: Sat, 28 Nov 2026 12:00:00 +0000
Message-ID: $message_id
X-Sealpost-Test: a header folded
 over two lines
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hello Bob, Grüße from Zoë.
.leading dot
.
..two dots
 a line starting with a blank

last line
EOF
sealpost "$message" --server localhost --port "$PF_IMPLICIT_PORT" --tls implicit --ca-file "$PF_CA" \
  --user "$PF_USER" --password-command "$password_command" \
  --from alice@example.test --to bob@example.test --bcc carol@example.test --message -
expect_rc 0
expect_no_plaintext_auth
expect "transcript: TLS from the first byte (no STARTTLS)" bash -c "! grep -q 'STARTTLS' '$out'"
wait_for_delivery "$(box bob)" 1
wait_for_delivery "$(box carol)" 1
expect "bob: headers and body as sent, Bcc gone" "${CHECK[@]}" supplied "$(box bob)" --address bob@example.test \
  --original "$message" --absent "Carol Hidden" --absent "Bcc:"
expect "carol (Bcc): the same message, no Bcc header" "${CHECK[@]}" supplied "$(box carol)" \
  --address carol@example.test --original "$message" --absent "Carol Hidden" --absent "Bcc:"
wait_for_disconnect
expect "Postfix saw AUTH, one MAIL, two RCPT, one BDAT, no STARTTLS" \
  grep -qE '^ ehlo=1 auth=1 mail=1 rcpt=2 bdat=1' <<<"$(session_commands)"
finish

# 3. Wrong password: 77, nothing delivered, neither password anywhere in the output.
begin wrong-password
wrong='Wr0ng-pa55!word'
sealpost /dev/null --server localhost --port "$PF_STARTTLS_PORT" --tls starttls --ca-file "$PF_CA" \
  --user "$PF_USER" --password-command "printf %s '$wrong'" \
  --from alice@example.test --to bob@example.test --subject 'wrong password' --body 'must not arrive'
expect_rc 77
expect "the verdict says authentication failed" grep -qiE 'auth' "$err"
expect_no_secret "$wrong" "$(printf '%s' "$wrong" | base64 -w0)" \
  "$(printf '\0%s\0%s' "$PF_USER" "$wrong" | base64 -w0)"
expect_no_plaintext_auth
expect_nothing_delivered
expect "Postfix saw one failed AUTH and no MAIL" \
  bash -c "grep -q 'auth=0/1' <<<'$(session_commands)' && ! grep -q 'mail=' <<<'$(session_commands)'"
finish

# 4. STARTTLS with a CA that did not sign the server's certificate: 77 before anything but the handshake.
begin untrusted-ca
sealpost /dev/null --server localhost --port "$PF_STARTTLS_PORT" --tls starttls --ca-file "$PF_OTHER_CA" \
  --user "$PF_USER" --password-command "$password_command" \
  --from alice@example.test --to bob@example.test --subject 'untrusted' --body 'must not arrive'
expect_rc 77
expect "the verdict names the certificate" grep -qi 'certificate' "$err"
expect_nothing_delivered
expect "Postfix saw no AUTH and no MAIL from the client ($(session_commands))" \
  bash -c "! grep -qE 'auth=|mail=' <<<'$(session_commands)'"
finish

# 5a. Plaintext to the port that requires STARTTLS, with --user. Postfix offers AUTH only inside TLS
#     (smtpd_tls_auth_only); sealpost must not send AUTH and must not send the mail unauthenticated: 77.
#     (--ca-file is a usage error with --tls none, so it is not given.)
begin plaintext-with-user
sealpost /dev/null --server localhost --port "$PF_STARTTLS_PORT" --tls none \
  --user "$PF_USER" --password-command "$password_command" \
  --from alice@example.test --to bob@example.test --subject 'plaintext' --body 'must not arrive'
expect_rc 77
expect "the verdict says AUTH is missing without TLS and points to STARTTLS" \
  grep -q 'cannot authenticate: without TLS localhost offers no AUTH at all (it offers STARTTLS' "$err"
expect_no_plaintext_auth
expect_nothing_delivered
expect "Postfix saw no AUTH and no MAIL ($(session_commands))" \
  bash -c "! grep -qE 'auth=|mail=' <<<'$(session_commands)'"
finish

# 5b. Plaintext to the same port without --user: Postfix answers MAIL with 530 (STARTTLS first): 69, with the
#     server's reason in the verdict.
begin plaintext-530
sealpost /dev/null --server localhost --port "$PF_STARTTLS_PORT" --tls none \
  --from alice@example.test --to bob@example.test --subject 'plaintext' --body 'must not arrive'
expect_rc 69
expect "the verdict quotes Postfix's 530 and STARTTLS" grep -qE '530.*STARTTLS' "$err"
expect "the transcript marks the session as plaintext" grep -q '^!! .*plaintext' "$out"
expect_nothing_delivered
finish

# 6. One refused recipient among valid ones (Postfix refuses relaying to unknown.invalid at RCPT): all or
#    nothing — the valid recipient gets nothing; 69 for a 5xx refusal, 75 for 4xx; the address on stderr.
begin refused-recipient
sealpost /dev/null --server localhost --port "$PF_STARTTLS_PORT" --tls starttls --ca-file "$PF_CA" \
  --user "$PF_USER" --password-command "$password_command" \
  --from alice@example.test --to bob@example.test --to nobody@unknown.invalid --to carol@example.test \
  --subject 'partly refused' --body 'must not arrive'
wait_for_disconnect
reply=$(new_log | grep -oE 'reject: RCPT from [^:]+: [0-9]{3}' | grep -oE '[0-9]{3}$' | head -n 1 || true)
expect "Postfix refused RCPT TO:<nobody@unknown.invalid> (reply ${reply:-none})" \
  grep -q 'reject: RCPT.*<nobody@unknown.invalid>' <<<"$(new_log)"
case "$reply" in
  5*) expect_rc 69 ;;
  4*) expect_rc 75 ;;
  *) fail "no RCPT refusal in the Postfix log" ;;
esac
expect "stderr names the refused address" grep -qF 'nobody@unknown.invalid' "$err"
expect "stderr does not blame the accepted ones" bash -c "! grep -qE 'bob@|carol@' '$err'"
expect_nothing_delivered
finish

# 7. CHUNKING (RFC 3030): Postfix offers it, so a send with PIPELINING uses BDAT — no dot-stuffing, CRLF line
#    ends, the last chunk with LAST. 7a: one recipient and a small message (MAIL, RCPT, BDAT LAST and QUIT in one
#    write); 7b: two recipients (every RCPT accepted before the first chunk) and a 3.8 MB body with a dot at the
#    start of every line and bare LF line ends, which goes in several chunks. 7c: the same message to a port
#    that hides CHUNKING (smtpd_discard_ehlo_keywords): DATA. Each read back with the `email` package: headers
#    and body as sent (line ends aside), leading dots intact, no defects.
chunk_message() {
  local lines=$1 i
  printf 'From: Alice Example <alice@example.test>\n'
  printf 'To: Bob <bob@example.test>\n'
  printf 'Subject: chunks of %s lines\n' "$lines"
  printf 'Date: Sat, 28 Nov 2026 12:00:00 +0000\n'
  printf 'Message-ID: <chunking-%s-%s-%s@example.test>\n' "$lines" "$$" "$RANDOM"
  printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
  printf '.first line starts with a dot\n..and this one with two\n.\n'
  for ((i = 0; i < lines; i++)); do
    printf '.%06d a line that starts with a dot, long enough to make the message big, padded to 96\n' "$i"
  done
  printf 'last line\n'
}

begin chunking-one-recipient
message=$work/$scenario/message.eml
chunk_message 3 >"$message"
sealpost "$message" --server localhost --port "$PF_IMPLICIT_PORT" --tls implicit --ca-file "$PF_CA" \
  --user "$PF_USER" --password-command "$password_command" \
  --from alice@example.test --to bob@example.test --message -
expect_rc 0
expect "the transcript shows one BDAT … LAST and no DATA" \
  bash -c "[ \"\$(grep -cE '^ ~> +\S+ BDAT [0-9]+ LAST\$' '$out')\" = 1 ] && ! grep -qE '^ ~> +\S+ DATA\$' '$out'"
wait_for_delivery "$(box bob)" 1
expect "bob: headers and body as sent, dots intact" "${CHECK[@]}" supplied "$(box bob)" \
  --address bob@example.test --original "$message"
wait_for_disconnect
expect "Postfix saw one MAIL, one RCPT, one BDAT, no DATA ($(session_commands))" \
  grep -qE '^ ehlo=1 auth=1 mail=1 rcpt=1 bdat=1 quit=1' <<<"$(session_commands)"
finish

begin chunking-several-chunks
message=$work/$scenario/message.eml
chunk_message 40000 >"$message"
sealpost "$message" --server localhost --port "$PF_IMPLICIT_PORT" --tls implicit --ca-file "$PF_CA" \
  --user "$PF_USER" --password-command "$password_command" \
  --from alice@example.test --to bob@example.test --to carol@example.test --message -
expect_rc 0
chunks=$(grep -cE '^ ~> +\S+ BDAT [0-9]+( LAST)?$' "$out" || true)
expect "the transcript shows several BDAT chunks ($chunks), only the last with LAST" \
  bash -c "[ '$chunks' -ge 3 ] && [ \"\$(grep -cE '^ ~> +\S+ BDAT [0-9]+ LAST\$' '$out')\" = 1 ] && grep -E '^ ~> +\S+ BDAT ' '$out' | tail -n 1 | grep -q ' LAST\$'"
wait_for_delivery "$(box bob)" 1
wait_for_delivery "$(box carol)" 1
for who in bob carol; do
  expect "$who: headers and the 3.8 MB body as sent, dots intact" "${CHECK[@]}" supplied "$(box "$who")" \
    --address "$who@example.test" --original "$message"
done
wait_for_disconnect
expect "Postfix saw two RCPT and $chunks BDAT, no DATA ($(session_commands))" \
  grep -qE "^ ehlo=1 auth=1 mail=1 rcpt=2 bdat=$chunks quit=1" <<<"$(session_commands)"
finish

begin chunking-hidden
message=$work/$scenario/message.eml
chunk_message 40000 >"$message"
sealpost "$message" --server localhost --port "$PF_NOCHUNKING_PORT" --tls implicit --ca-file "$PF_CA" \
  --user "$PF_USER" --password-command "$password_command" \
  --from alice@example.test --to bob@example.test --message -
expect_rc 0
expect "CHUNKING is not offered, and the transcript shows DATA and no BDAT" \
  bash -c "! grep -q CHUNKING '$out' && grep -qE '^ ~> +\S+ DATA\$' '$out' && ! grep -q ' BDAT ' '$out'"
wait_for_delivery "$(box bob)" 1
expect "bob: headers and body as sent, dots intact (dot-stuffed on the wire)" "${CHECK[@]}" supplied \
  "$(box bob)" --address bob@example.test --original "$message"
wait_for_disconnect
expect "Postfix saw DATA and no BDAT ($(session_commands))" \
  grep -qE '^ ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1' <<<"$(session_commands)"
finish

# 8. Attachments (issue 10): a UTF-8 subject and display names, a body with 2,000-character lines and lines
#    that start with dots, and three attachments — 5 MB of random bytes made here, a file with a non-ASCII name
#    and a small text file — to two recipients, with CHUNKING offered (STARTTLS port: BDAT) and hidden (DATA).
#    Each read back with the `email` package: headers decode to the text given, the text part equals the body,
#    every attachment is byte-identical under its name, no part has a defect.
rich_files() {
  local folder=$1
  mkdir -p "$folder"
  {
    printf 'Grüße, Bob — 日本語 ✓\n'
    printf '.a line with a leading dot\n'
    printf '.\n'
    printf '..two dots\n'
    printf '%.0s0123456789' {1..200}   # 2,000 characters on one line
    printf '\n'
    printf '%.0sé' {1..2000}            # 2,000 characters, 4,000 octets
    printf '\n'
    printf 'last line\n'
  } >"$folder/body.txt"
  head -c 5242880 /dev/urandom >"$folder/random.bin"
  printf 'Inhalt mit Umlauten: äöü\n' >"$folder/Grüße – résumé.txt"
  printf 'plain text\r\nwith CRLF\r\n' >"$folder/notes.txt"
}
rich_subject='Grüße aus Köln — Anhänge 📎'
rich_from='Zoë Ünal <alice@example.test>'
rich_to=('Bob Müller <bob@example.test>' '"Carol, C." <carol@example.test>')

for variant in chunking nochunking; do
  begin "attachments-$variant"
  files=$work/$scenario/files
  rich_files "$files"
  if [ "$variant" = chunking ]; then
    port=(--port "$PF_STARTTLS_PORT" --tls starttls)
  else
    port=(--port "$PF_NOCHUNKING_PORT" --tls implicit)
  fi
  sealpost /dev/null --server localhost "${port[@]}" --ca-file "$PF_CA" \
    --user "$PF_USER" --password-command "$password_command" \
    --from "$rich_from" --to "${rich_to[0]}" --to "${rich_to[1]}" --subject "$rich_subject" \
    --body-file "$files/body.txt" --attach "$files/random.bin" --attach "$files/Grüße – résumé.txt" \
    --attach "$files/notes.txt"
  expect_rc 0
  expect_no_plaintext_auth
  if [ "$variant" = chunking ]; then
    expect "the transcript shows BDAT and no DATA" \
      bash -c "grep -qE '^ ~> +\S+ BDAT [0-9]+ LAST\$' '$out' && ! grep -qE '^ ~> +\S+ DATA\$' '$out'"
  else
    expect "the transcript shows DATA and no BDAT" \
      bash -c "grep -qE '^ ~> +\S+ DATA\$' '$out' && ! grep -q ' BDAT ' '$out'"
  fi
  wait_for_delivery "$(box bob)" 1
  wait_for_delivery "$(box carol)" 1
  for who in bob carol; do
    expect "$who: headers, text and every attachment as sent" \
      "${CHECK[@]}" attachments "$(box "$who")" --address "$who@example.test" --from "$rich_from" \
      --to "${rich_to[0]}" --to "${rich_to[1]}" --subject "$rich_subject" --body "$files/body.txt" \
      --attach "$files/random.bin" --attach "$files/Grüße – résumé.txt" --attach "$files/notes.txt"
  done
  wait_for_disconnect
  finish
done

# 11. `probe` tells the two STARTTLS policies apart (issue 15): before STARTTLS it sends MAIL FROM:<> and RSET.
#     smtpd_tls_security_level=encrypt answers 530 (mail refused without TLS: exit 0, no warning);
#     = may answers 250 (a warning, exit still 0). In text and in the JSON document, which the schema accepts.
probe() {
  set +e
  timeout 60 "$SEALPOST" probe "$@" </dev/null >"$out" 2>"$err"
  rc=$?
  set -e
  echo "  sealpost probe exit $rc: $(tail -n 1 "$err")"
}
schema=$PWD/Sources/MailSender/Schemas/probe.schema.json
# probe_json FIELD EXPECTED: the JSON document's plaintext_mail.FIELD (reply.code as "code") is EXPECTED, and
# the document validates against the schema.
probe_json() {
  /usr/bin/python3 - "$out" "$schema" "$1" "$2" <<'PY'
import json, sys, jsonschema
document = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator(json.load(open(sys.argv[2]))).validate(document)
check = document["plaintext_mail"]
value = check["reply"]["code"] if sys.argv[3] == "code" else check[sys.argv[3]]
sys.exit(0 if str(value) == sys.argv[4] else f"{sys.argv[3]} is {value}, expected {sys.argv[4]}")
PY
}
for policy in encrypt may; do
  begin "probe-$policy"
  port=$PF_STARTTLS_PORT
  [ "$policy" = may ] && port=$PF_MAY_PORT
  probe "localhost:$port" --tls starttls --ca-file "$PF_CA"
  expect_rc 0
  expect "MAIL FROM:<> and RSET before STARTTLS, in plaintext" \
    bash -c "grep -qE '^ -> +\S+ MAIL FROM:<>\$' '$out' && grep -qE '^ -> +\S+ RSET\$' '$out' \
      && ! grep -qE '^ ~> +\S+ (MAIL|RSET)' '$out'"
  if [ "$policy" = encrypt ]; then
    expect "the text says the server refuses mail without TLS (530)" \
      grep -qE '^=== +\S+ the server refuses mail without TLS: MAIL FROM:<> before STARTTLS was answered 530 ' "$out"
    expect "no warning about mail before TLS" bash -c "! grep -q 'accepts mail without TLS' '$out' '$err'"
    expect "the verdict has no warning" bash -c "! grep -q 'warning' '$err'"
  else
    expect "the text warns that the server accepts mail without TLS (250)" \
      grep -qE '^!! +\S+ this server accepts mail without TLS: MAIL FROM:<> before STARTTLS was answered 250 ' "$out"
    expect "the verdict counts the warning" grep -q '; 1 warning — nothing was sent' "$err"
  fi
  wait_for_disconnect
  commands=$(session_commands)
  # With encrypt Postfix refuses RSET before STARTTLS too (530): the probe notes it and goes on.
  mail_count='mail=1' rset_count='rset=1'
  if [ "$policy" = encrypt ]; then
    mail_count='mail=0/1' rset_count='rset=0/1'
    expect "the refused RSET is noted, and the probe went on" grep -qE '^=== +\S+ RSET was refused \(530 ' "$out"
  fi
  expect "Postfix counted one MAIL ($mail_count), one RSET ($rset_count), STARTTLS, nothing else of a transaction" \
    bash -c "grep -qE '(^| )$mail_count( |\$)' <<<'$commands' && grep -qE '(^| )$rset_count( |\$)' <<<'$commands' \
      && grep -qE '(^| )starttls=1( |\$)' <<<'$commands' && ! grep -qE 'rcpt=|data=|bdat=|auth=' <<<'$commands'"
  probe "localhost:$port" --tls starttls --ca-file "$PF_CA" --json
  expect_rc 0
  if [ "$policy" = encrypt ]; then
    expect "JSON: refuses_without_tls, 530" bash -c "$(declare -f probe_json); out='$out' schema='$schema'; \
      probe_json result refuses_without_tls && probe_json code 530"
  else
    expect "JSON: accepts_without_tls, 250" bash -c "$(declare -f probe_json); out='$out' schema='$schema'; \
      probe_json result accepts_without_tls && probe_json code 250"
  fi
  expect_nothing_delivered
  finish
done

# 12. S/MIME (issue 15): a signed message (a body that needs care: UTF-8, leading dots, a lone dot, a 1200-octet
#    line, a "From " line) goes through Postfix into bob's Maildir and still verifies there with `openssl cms`
#    (Maildir stores LF line ends; the signed part was 7-bit, so nothing else changed). Then signed and encrypted
#    to bob with carol as Bcc: two sessions; bob's copy opens with bob's key only, carol's with carol's, and each
#    verifies as alice's. Certificates are made here (RSA CA, leaves with an rfc822Name, emailProtection).
smime_pki() {
  local dir=$1 name
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 30 \
    -subj "/CN=Sealpost Postfix SMIME CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  for name in alice bob carol; do
    openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$name" \
      2>/dev/null
    printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
      'extendedKeyUsage=emailProtection' "subjectAltName=email:$name@example.test" >"$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
      -out "$dir/$name.pem" -days 30 -extfile "$dir/$name.ext" 2>/dev/null
    chmod 600 "$dir/$name.key"
  done
}
# The delivered file of the Maildir $1 (the only one).
delivered() { find "$1/new" "$1/cur" -type f | head -n 1; }

begin smime-signed
pki=$work/$scenario/pki
smime_pki "$pki"
config=$work/$scenario/config
printf '%s\n' 'account smime' 'host localhost' "port $PF_STARTTLS_PORT" 'tls on' 'tls_starttls on' \
  "tls_trust_file $PF_CA" 'from alice@example.test' "smime_cert $pki/alice.pem" "smime_key $pki/alice.key" \
  "smime_ca_file $pki/ca.pem" >"$config"
chmod 600 "$config"
smime_body=$work/$scenario/body.txt
{
  printf 'Grüße aus Köln — signed ✓\n'
  printf '.a line with a leading dot\n.\n..two dots\n'
  printf 'From the start of a line (mbox would escape this)\n'
  printf '%.0sab€' {1..400}
  printf '\ntrailing blanks   \nlast line\n'
} >"$smime_body"
sealpost "$smime_body" --config "$config" --account smime --user "$PF_USER" \
  --password-command "$password_command" --sign --to bob@example.test --subject 'Signed' --body-file -
expect_rc 0
expect "the data line says signed by alice" grep -q 'signed by alice@example.test\]' "$out"
wait_for_delivery "$(box bob)" 1
file=$(delivered "$(box bob)")
expect "the delivered message verifies with openssl cms (Maildir round trip)" \
  openssl cms -verify -CAfile "$pki/ca.pem" -in "$file" -out "$work/$scenario/content.txt"
expect "the verified content is the quoted-printable text part" \
  grep -q 'Content-Transfer-Encoding: quoted-printable' "$work/$scenario/content.txt"
expect "Python's email reads it without defects" /usr/bin/python3 -c '
import sys, email, email.policy
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
bad = list(msg.defects) + [d for p in msg.walk() for d in p.defects]
assert msg.get_content_type() == "multipart/signed" and not bad, bad' "$file"
wait_for_disconnect
finish

begin smime-encrypted-bcc
sealpost "$smime_body" --config "$config" --account smime --user "$PF_USER" \
  --password-command "$password_command" --sign --encrypt --to bob@example.test --bcc carol@example.test \
  --recipient-cert "bob@example.test=$pki/bob.pem" --recipient-cert "carol@example.test=$pki/carol.pem" \
  --subject 'Sealed' --body-file -
expect_rc 0
expect "the data lines say encrypted for 2 recipients, twice" \
  test "$(grep -c 'signed by alice@example.test, encrypted for 2 recipients\]' "$out")" = 2
wait_for_delivery "$(box bob)" 1
wait_for_delivery "$(box carol)" 1
for who in bob carol; do
  file=$(delivered "$(box "$who")")
  other=$([ "$who" = bob ] && echo carol || echo bob)
  expect "$who decrypts their copy and it verifies as alice's" bash -c "openssl cms -decrypt \
    -recip '$pki/$who.pem' -inkey '$pki/$who.key' -in '$file' | openssl cms -verify -CAfile '$pki/ca.pem' -out /dev/null"
  expect "$other cannot decrypt $who's copy" bash -c "! openssl cms -decrypt -recip '$pki/$other.pem' \
    -inkey '$pki/$other.key' -in '$file' -out /dev/null 2>/dev/null"
done
wait_for_disconnect 2
finish

echo "postfix: $passed passed, $failed failed"
[ "$failed" = 0 ]
