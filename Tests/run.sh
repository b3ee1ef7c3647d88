#!/usr/bin/env bash
# Runs every Sealpost test: `swift test` (unit, protocol, real OpenSSL handshakes, the built binary end to end)
# and checks that no test was skipped. As root on Debian it first installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libssl-dev libncurses-dev pkg-config openssl ca-certificates tmux python3 python3-jsonschema strace
  postfix sasl2-bin libsasl2-modules git git-email libmailtools-perl time gpgsm)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null
    # Postfix must install without a configuration: the real-MTA test runs its own instance.
    echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
  else
    echo "Missing Debian packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
# The schema tests use Debian's python3 with python3-jsonschema (a validator nobody here wrote).
export SEALPOST_TEST_PYTHON=/usr/bin/python3

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== swift build"
swift build --build-tests 2>&1 | tail -n 3
# SEALPOST_TEST_RELEASE=1: the tests that run the binary (swift test's CLI tests, Postfix, tmux) run the release
# build the README installs, as users get it, instead of .build/debug/sealpost; a debug build spends over half of
# each run in swift-argument-parser's debug-only self-check. SEALPOST_BINARY=path names a binary built already.
if [ -z "${SEALPOST_BINARY:-}" ] && [ "${SEALPOST_TEST_RELEASE:-0}" = 1 ]; then
  echo "== swift build -c release --static-swift-stdlib --disable-local-rpath"
  swift build -c release --static-swift-stdlib --disable-local-rpath --product sealpost 2>&1 | tail -n 3
  SEALPOST_BINARY=$PWD/.build/release/sealpost
fi
if [ -n "${SEALPOST_BINARY:-}" ]; then
  SEALPOST_BINARY=$(realpath "$SEALPOST_BINARY")
  [ -x "$SEALPOST_BINARY" ] || { echo "no sealpost binary at $SEALPOST_BINARY" >&2; exit 1; }
  echo "== the binary under test: $SEALPOST_BINARY"
  export SEALPOST_BINARY
  export SEALPOST=${SEALPOST:-$SEALPOST_BINARY}
fi
echo "== swift test"
set +e
# Helper servers are stopped with SIGKILL; the outer timeout guards against any hang.
timeout 2400 swift test 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "swift test failed (exit $status)" >&2
  exit "$status"
fi
# A test whose name holds the word is not a skip: leave out the started/passed lines of each test.
if grep -iE 'skipped' "$log" | grep -vE '^(◇|✔) Test .*(started\.|passed after)' \
  | grep -vE 'with 0 tests skipped|[^0-9]0 skipped' | grep -q .; then
  echo "a test was skipped: skipped tests count as failures" >&2
  exit 1
fi
echo "== Postfix: sealpost send against a private Postfix on loopback (TLS, SASL, Maildir)"
bash Tests/postfix/run-postfix-tests.sh
echo "== composer: the real binary in tmux (80x24, then 200x60) against the private Postfix"
bash Tests/composer/run-tmux-tests.sh
echo "== all tests passed"
