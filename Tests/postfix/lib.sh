# Shared setup for a private Postfix on 127.0.0.1, sourced by Tests/postfix/run-postfix-tests.sh and
# Tests/bench/send-latency.sh. Needs root (Postfix's master starts as root), the Debian packages postfix,
# sasl2-bin, libsasl2-modules, openssl and python3. Nothing here touches /etc/postfix or the system's mail:
# configuration, queue, data, log and the Maildirs all live under one temporary folder.
#
#   source Tests/postfix/lib.sh
#   pf_traps            # pf_stop on exit, also on Ctrl-C, SIGTERM and SIGHUP
#   pf_start            # sets the PF_* variables below and starts Postfix
#   pf_stop             # stops Postfix and makes sure none of its processes is left
#
# After pf_start:
#   PF_ROOT             the temporary folder (removed by pf_stop unless PF_KEEP=1)
#   PF_STARTTLS_PORT    smtpd with smtpd_tls_security_level=encrypt and smtpd_tls_auth_only=yes
#   PF_IMPLICIT_PORT    smtpd with smtpd_tls_wrappermode=yes (TLS from the first byte)
#   PF_NOCHUNKING_PORT  the same as PF_IMPLICIT_PORT with CHUNKING hidden (smtpd_discard_ehlo_keywords)
#   PF_MAY_PORT         smtpd with smtpd_tls_security_level=may: STARTTLS offered, mail taken without it too
#   PF_CA               the CA that signed the server certificate (DNS:localhost, IP:127.0.0.1)
#   PF_OTHER_CA         an unrelated CA that signed nothing Postfix serves
#   PF_USER PF_PASSWORD the SASL login (Cyrus sasldb)
#   PF_MAILDIR          Maildir base: $PF_MAILDIR/example.test/{alice,bob,carol}/{new,cur,tmp}
#   PF_LOG              Postfix's log file (maillog_file)

PF_USER=alice@example.test
# A password with characters a shell or SASL encoder could mangle; it must never show up in any output.
PF_PASSWORD='Sesam-9f3c!k7#Zq'
# Owner of the Maildirs: any uid >= 100 will do for virtual(8); it needs no passwd entry.
PF_VMAIL_UID=5000

pf_log() { echo "postfix-setup: $*" >&2; }

# Prints a TCP port on 127.0.0.1 that nothing listens on and that can be bound right now.
pf_free_port() {
  /usr/bin/python3 - "$@" <<'EOF'
import random, socket, sys
avoid = {int(p) for p in sys.argv[1:]}
for _ in range(200):
    port = random.randint(20000, 39999)   # below Linux's ephemeral range (32768+ is shared, but rarely full)
    if port in avoid:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    sys.exit(0)
sys.exit("no free port found")
EOF
}

# Waits until something accepts connections on 127.0.0.1:$1 (at most $2 seconds, default 10).
pf_wait_port() {
  local port=$1 limit=${2:-10} start=$SECONDS
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      pf_log "nothing listens on 127.0.0.1:$port after ${limit}s"
      return 1
    fi
    sleep 0.1
  done
}

# Makes a CA ($1.key/$1.pem, CN $2) in the current folder.
pf_make_ca() {
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 30 \
    -subj "/O=Sealpost Postfix Tests/CN=$2" -keyout "$1.key" -out "$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

pf_make_certificates() {
  local dir=$1
  (
    cd "$dir"
    pf_make_ca ca "Sealpost Postfix Test CA"
    pf_make_ca other-ca "Sealpost Unrelated CA"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
      -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    cat >server.ext <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
EOF
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 \
      -extfile server.ext -out server.pem 2>/dev/null
    chmod 600 server.key ca.key other-ca.key
    openssl verify -CAfile ca.pem -verify_hostname localhost server.pem >/dev/null
  )
}

pf_write_config() {
  local etc=$1
  # main.cf: everything local, nothing from /etc/postfix. Ports are in master.cf.
  cat >"$etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF_ROOT/spool
data_directory = $PF_ROOT/data
mail_owner = postfix
setgid_group = postdrop
# There is no syslog here: without a log file "postfix start" fails silently.
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_ROOT
myhostname = mx.sealpost.test
mydomain = sealpost.test
myorigin = \$myhostname
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
biff = no
# No local delivery, so no aliases (the default would look for /etc/aliases.db).
alias_maps =
alias_database =
smtputf8_enable = yes
smtp_host_lookup = native
# No relaying for anyone, authenticated or not: unknown.invalid is refused at RCPT (554 Relay access denied).
smtpd_relay_restrictions = reject_unauth_destination
# The default would let mail for a local domain in without AUTH.
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
message_size_limit = 20480000

# Delivery: a virtual mailbox domain into Maildirs (a map value ending in "/" means Maildir).
virtual_mailbox_domains = example.test
virtual_mailbox_base = $PF_MAILDIR
virtual_mailbox_maps = texthash:$etc/vmailbox
virtual_uid_maps = static:$PF_VMAIL_UID
virtual_gid_maps = static:$PF_VMAIL_UID
virtual_minimum_uid = 100

# TLS (the services in master.cf decide whether it is required or implicit).
smtpd_tls_cert_file = $etc/server.pem
smtpd_tls_key_file = $etc/server.key
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_security_level = may

# Cyrus SASL with a sasldb: no daemon. The services turn it on.
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $etc/sasl
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
broken_sasl_auth_clients = no
EOF

  # master.cf: chroot "n" everywhere (nothing is set up inside a chroot); two submission services on high
  # ports, each with the TLS rules it tests.
  cat >"$etc/master.cf" <<EOF
127.0.0.1:$PF_STARTTLS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/starttls
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
127.0.0.1:$PF_IMPLICIT_PORT inet n - n - - smtpd
  -o syslog_name=postfix/implicit
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
127.0.0.1:$PF_NOCHUNKING_PORT inet n - n - - smtpd
  -o syslog_name=postfix/nochunking
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_discard_ehlo_keywords=chunking
127.0.0.1:$PF_MAY_PORT inet n - n - - smtpd
  -o syslog_name=postfix/may
  -o smtpd_tls_security_level=may
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

  cat >"$etc/vmailbox" <<'EOF'
alice@example.test example.test/alice/
bob@example.test   example.test/bob/
carol@example.test example.test/carol/
EOF

  # SASL: the user is alice in realm example.test; clients log in as alice@example.test.
  mkdir -p "$etc/sasl"
  cat >"$etc/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $etc/sasl/sasldb2
EOF
  printf '%s' "$PF_PASSWORD" | saslpasswd2 -p -c -f "$etc/sasl/sasldb2" -u example.test alice
  chown root:postfix "$etc/sasl/sasldb2"
  chmod 0640 "$etc/sasl/sasldb2"
}

# Creates the folder, the certificates and the configuration, starts Postfix and waits for both ports.
pf_start() {
  local required
  for required in postfix saslpasswd2 openssl /usr/bin/python3; do
    command -v "$required" >/dev/null || { pf_log "missing: $required"; return 1; }
  done
  [ "$(id -u)" = 0 ] || { pf_log "must run as root (Postfix's master starts as root)"; return 1; }

  PF_ROOT=$(mktemp -d /tmp/sealpost-postfix.XXXXXX)
  # Every folder on the way must be traversable by the postfix user.
  chmod 0755 "$PF_ROOT"
  PF_ETC=$PF_ROOT/etc
  PF_LOG=$PF_ROOT/log/postfix.log
  PF_MAILDIR=$PF_ROOT/mail
  mkdir -p "$PF_ETC" "$PF_ROOT/log" "$PF_ROOT/spool" "$PF_ROOT/data" "$PF_MAILDIR"
  chown postfix "$PF_ROOT/data"
  local box
  for box in alice bob carol; do
    mkdir -p "$PF_MAILDIR/example.test/$box"/{new,cur,tmp}
  done
  chown -R "$PF_VMAIL_UID:$PF_VMAIL_UID" "$PF_MAILDIR"

  PF_STARTTLS_PORT=$(pf_free_port)
  PF_IMPLICIT_PORT=$(pf_free_port "$PF_STARTTLS_PORT")
  PF_NOCHUNKING_PORT=$(pf_free_port "$PF_STARTTLS_PORT" "$PF_IMPLICIT_PORT")
  PF_MAY_PORT=$(pf_free_port "$PF_STARTTLS_PORT" "$PF_IMPLICIT_PORT" "$PF_NOCHUNKING_PORT")
  pf_make_certificates "$PF_ETC"
  PF_CA=$PF_ETC/ca.pem
  PF_OTHER_CA=$PF_ETC/other-ca.pem
  pf_write_config "$PF_ETC"

  if ! postfix -c "$PF_ETC" check >>"$PF_ROOT/log/start.out" 2>&1 \
    || ! postfix -c "$PF_ETC" start >>"$PF_ROOT/log/start.out" 2>&1; then
    pf_log "postfix did not start:"
    cat "$PF_ROOT/log/start.out" >&2
    tail -n 20 "$PF_LOG" >&2 2>/dev/null || true
    return 1
  fi
  PF_MASTER_PID=$({ tr -d ' \n' <"$PF_ROOT/spool/pid/master.pid"; } 2>/dev/null || true)
  pf_wait_port "$PF_STARTTLS_PORT" && pf_wait_port "$PF_IMPLICIT_PORT" && pf_wait_port "$PF_NOCHUNKING_PORT" \
    && pf_wait_port "$PF_MAY_PORT" || {
    tail -n 20 "$PF_LOG" >&2 2>/dev/null || true
    return 1
  }
  pf_log "Postfix $(postconf -c "$PF_ETC" -h mail_version) up: STARTTLS on 127.0.0.1:$PF_STARTTLS_PORT," \
    "implicit TLS on 127.0.0.1:$PF_IMPLICIT_PORT (without CHUNKING on $PF_NOCHUNKING_PORT), STARTTLS optional" \
    "on 127.0.0.1:$PF_MAY_PORT, files in $PF_ROOT"
}

# bash runs an EXIT trap when a signal kills it only if the signal is trapped: turn each into an exit.
pf_traps() {
  trap pf_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# Stops Postfix, then checks by process id that the master and every process it started are gone (SIGKILL
# for any left after 10 s). Safe to call twice and when pf_start failed half way.
pf_stop() {
  [ -n "${PF_ROOT:-}" ] || return 0
  local pids=() pid waited=0
  # Killed between "postfix start" and reading the pid file: read it now.
  [ -n "${PF_MASTER_PID:-}" ] || PF_MASTER_PID=$({ tr -d ' \n' <"$PF_ROOT/spool/pid/master.pid"; } 2>/dev/null || true)
  if [ -n "${PF_MASTER_PID:-}" ]; then
    pids=("$PF_MASTER_PID")
    # The master's children (smtpd, qmgr, postlogd, …) by parent id, read from /proc (no procps needed).
    local stat line fields
    for stat in /proc/[0-9]*/stat; do
      { read -r line <"$stat"; } 2>/dev/null || continue # the process may be gone
      read -r -a fields <<<"${line##*) }" # after "pid (comm) ": state, ppid, …
      [ "${fields[1]}" = "$PF_MASTER_PID" ] && pids+=("$(basename "$(dirname "$stat")")")
    done
  fi
  postfix -c "$PF_ETC" stop >/dev/null 2>&1 || true
  while [ ${#pids[@]} -gt 0 ]; do
    local alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    pids=("${alive[@]+"${alive[@]}"}")
    [ ${#pids[@]} -gt 0 ] || break
    if [ "$waited" -ge 100 ]; then
      pf_log "still running after stop, killing: ${pids[*]}"
      kill -KILL "${pids[@]}" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  if [ "${PF_KEEP:-0}" = 1 ]; then
    pf_log "kept $PF_ROOT"
  else
    rm -rf "$PF_ROOT"
  fi
  PF_ROOT=
}
