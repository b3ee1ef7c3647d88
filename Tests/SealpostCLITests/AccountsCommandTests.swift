import Foundation
import MailSenderTesting
import Testing

/// `sealpost accounts`, `accounts check` and `send --account`, the built binary end to end (issue 4).
@Suite(.serialized) struct AccountsCommandTests {
  static let user = "u@example.test"
  static let password = "pw-Secr3t!"
  /// base64("\0u@example.test\0pw-Secr3t!"), written by hand from the bytes.
  static let plainBlob = "AHVAZXhhbXBsZS50ZXN0AHB3LVNlY3IzdCE="

  static func server(implicit: Bool = false, tls: Bool = true, echo: Bool = false) throws
    -> ScriptedSMTPServer
  {
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: tls ? pki.identity(.valid) : nil)
    options.credentials = .init(user: user, password: password)
    options.echoAuthBlobInFailure = echo
    return try ScriptedSMTPServer(
      standard: options, options: .init(implicitTLS: implicit ? pki.identity(.valid) : nil))
  }

  /// An account for the scripted server: STARTTLS on localhost, the test CA, the given secret lines.
  static func config(port: UInt16, secret: String, extra: String = "") throws -> String {
    """
    # test account
    defaults
    tls on
    tls_trust_file \(try TestPKI.shared().caCertificatePath)
    timeout 5

    account test
    host localhost
    port \(port)
    from a@example.org
    auth on
    user \(user)
    \(secret)
    \(extra)
    account default : test

    """
  }

  static let send = ["send", "--to", "b@example.org", "--subject", "accounts", "--body", "hi"]

  // MARK: - Listing

  @Test func listsMsmtpsUserExampleUnchanged() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let fixture = try String(contentsOfFile: Self.fixture("msmtprc-user"), encoding: .utf8)
    let path = try sandbox.write(fixture, to: sandbox.home + "/.msmtprc", mode: 0o600)
    let result = try CLIRunner.run(["accounts"], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.isEmpty)
    #expect(
      result.stdout == """
        accounts in \(path) (msmtp's file, read unchanged)
        ACCOUNT               HOST                   PORT  TLS       AUTH            SECRET
        freemail              smtp.freemail.example  587   starttls  on (joe.smith)  passwordeval (\(path):17)
        freemail2 : freemail  smtp.freemail.example  587   starttls  on (joe.smith)  passwordeval (\(path):17)
        isp                   mail.isp.example       587   starttls  on (12345)      secret-tool, else prompt
        default : freemail    smtp.freemail.example  587   starttls  on (joe.smith)  passwordeval (\(path):17)
        recorded pins: no recorded pins (\(sandbox.xdg)/sealpost/pins)

        """)
  }

  @Test func listsTheSystemExampleFromXDGWithNotes() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let fixture = try String(contentsOfFile: Self.fixture("msmtprc-system"), encoding: .utf8)
    let path = try sandbox.write(fixture, to: sandbox.xdg + "/msmtp/config", mode: 0o644)
    let result = try CLIRunner.run(["accounts", "list"], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(
      result.stderr == """
        sealpost: note: \(path):9: syslog: has no effect in Sealpost; ignored
        sealpost: note: \(path):10: aliases: has no effect in Sealpost; ignored

        """)
    #expect(
      result.stdout == """
        accounts in \(path) (msmtp's file, read unchanged)
        ACCOUNT          HOST               PORT  TLS       AUTH  SECRET
        relay            relay.lan.example  465   implicit  off   none (auth off)
        default : relay  relay.lan.example  465   implicit  off   none (auth off)
        recorded pins: no recorded pins (\(sandbox.xdg)/sealpost/pins)

        """)
  }

  @Test func listsSeveralAccountsWithProblemsAndPlaintext() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let fixture = try String(contentsOfFile: Self.fixture("msmtprc-several"), encoding: .utf8)
    let path = try sandbox.write(
      fixture
        + "account old : work\nhost old.example\ntls_certcheck off\naccount plain\nhost mx.example\ntls off\n",
      to: sandbox.root + "/inputs/rc")
    let result = try CLIRunner.run(["accounts", "--config", path], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr == "sealpost: note: \(path):4: logfile: has no effect in Sealpost; ignored\n")
    let p = path
    #expect(
      result.stdout == """
        accounts in \(p)
        ACCOUNT              HOST               PORT  TLS               AUTH                         SECRET
        work                 smtp.work.example  465   implicit          plain (jane doe)             secret-tool, else prompt
        pinned               -                  25    starttls, pinned  off                          none (auth off)
          unusable: \(p):13: host: account pinned has no host; add one
        mixed : work,pinned  smtp.work.example  465   implicit, pinned  plain (jane doe)             secret-tool, else prompt
        bridge               127.0.0.1          1025  none              login (jane@bridge.example)  secret-tool, else prompt
          plaintext to loopback: every line is marked
        default : work       smtp.work.example  465   implicit          plain (jane doe)             secret-tool, else prompt
        old : work           old.example        465   implicit          plain (jane doe)             secret-tool, else prompt
          unusable: \(p):30: tls_certcheck: tls_certcheck off is refused: Sealpost always verifies the server; for a self-signed server pin its certificate instead with tls_fingerprint (SHA-256) or pin sha256/BASE64 (`sealpost probe HOST` shows both)
        plain                mx.example         25    none              off                          none (auth off)
          refused: \(p):33: tls: account plain has tls off and mx.example is not loopback: plaintext to a remote host needs allow_insecure on in Sealpost's config; better, set tls on
        recorded pins: no recorded pins (\(sandbox.xdg)/sealpost/pins)

        """)
  }

  @Test func sealpostsOwnFileComesFirst() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let msmtp = try sandbox.write("account from-msmtp\nhost m.example\n", to: sandbox.home + "/.msmtprc")
    let fixture = try String(contentsOfFile: Self.fixture("sealpost-config"), encoding: .utf8)
    let path = try sandbox.write(fixture, to: sandbox.xdg + "/sealpost/config")
    let result = try CLIRunner.run(["accounts"], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(
      result.stdout == """
        accounts in \(path)
        not read: \(msmtp) (the file above comes first in the read order)
        ACCOUNT             HOST               PORT  TLS               AUTH                  SECRET
        personal            smtp.mail.example  465   implicit, pinned  on (me@mail.example)  secret-tool, else prompt
        lab                 lab.example        25    none              off                   none (auth off)
          plaintext (allow_insecure on): every line is marked; never with a login
        default : personal  smtp.mail.example  465   implicit, pinned  on (me@mail.example)  secret-tool, else prompt
        recorded pins: no recorded pins (\(sandbox.xdg)/sealpost/pins)

        """)
  }

  // Columns are padded to their width in characters, which is how the widths are counted: Foundation's
  // `padding(toLength:)`, used before issue 14, counted UTF-16 units, so a name of emoji was cut in the middle
  // of one (U+FFFD) and a name with combining marks moved the columns after it.
  @Test func namesOutsideTheBasicPlaneAndWithCombiningMarksKeepTheColumns() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let path = try sandbox.write(
      "defaults\nport 465\ntls on\ntls_starttls off\naccount 😀😀😀😀😀😀😀😀\nhost a.example\n"
        + "account e\u{301}te\u{301}\nhost b.example\n",
      to: sandbox.root + "/inputs/rc")
    let result = try CLIRunner.run(["accounts", "--config", path], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(
      result.stdout == """
        accounts in \(path)
        ACCOUNT   HOST       PORT  TLS       AUTH  SECRET
        😀😀😀😀😀😀😀😀  a.example  465   implicit  off   none (auth off)
        e\u{301}te\u{301}       b.example  465   implicit  off   none (auth off)
        recorded pins: no recorded pins (\(sandbox.xdg)/sealpost/pins)

        """)
  }

  @Test func noConfigFileIs78() throws {
    let sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let result = try CLIRunner.run(["accounts"], environment: sandbox.environment)
    #expect(result.status == 78)
    #expect(
      result.stderr
        == "sealpost: configuration: no config file: looked for \(sandbox.xdg)/sealpost/config, "
        + "\(sandbox.home)/.msmtprc, \(sandbox.xdg)/msmtp/config\n")
  }

  static func fixture(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("AccountsTests/Fixtures/\(name)").path
  }

  // MARK: - Sending with an account

  @Test func sendsWithThePasswordFromPasswordEval() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    try sandbox.write(
      try Self.config(port: server.port, secret: "passwordeval printf '%s\\n' '\(Self.password)'"),
      to: sandbox.home + "/.msmtprc", mode: 0o644)
    let result = try CLIRunner.run(Self.send + ["--account", "test"], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr == "sealpost: sent: 250 2.0.0 Ok: queued\n")
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.commands.contains("AUTH PLAIN \(Self.plainBlob)"))
    #expect(
      session.commands.contains(
        "MAIL FROM:<a@example.org> SIZE=\(try #require(session.messages.first).count)"))
    #expect(String(decoding: session.receivedPlaintext, as: UTF8.self) == "EHLO [127.0.0.1]\r\nSTARTTLS\r\n")
    #expect(result.stdout.contains(" AUTH PLAIN <redacted> (user u@example.test)"))
  }

  @Test func theDefaultAccountServesWhenNoServerIsGiven() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    try sandbox.write(
      try Self.config(port: server.port, secret: "password \(Self.password)"),
      to: sandbox.xdg + "/sealpost/config", mode: 0o600)
    let result = try CLIRunner.run(Self.send, environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(
      server.waitForFinishedSessions(1).first?.commands.contains("AUTH PLAIN \(Self.plainBlob)") == true)
  }

  @Test func flagsOverrideAccountFields() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    try sandbox.write(
      try Self.config(
        port: server.port, secret: "password \(Self.password)", extra: "domain account.example"),
      to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(
      Self.send + ["--account", "test", "--from", "Other <o@example.org>", "--ehlo", "flag.example"],
      environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.commands.first == "EHLO flag.example")
    #expect(session.commands.contains { $0.hasPrefix("MAIL FROM:<o@example.org>") })
  }

  @Test func implicitTLSWithAnMsmtpFingerprint() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server(implicit: true)
    defer { server.stop() }
    let pki = try TestPKI.shared()
    let output = try pki.openssl([
      "x509", "-in", pki.identity(.valid).certificatePath, "-noout", "-fingerprint", "-sha256",
    ])
    let line = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let fingerprint = try #require(line.split(separator: "=").last.map(String.init))
    #expect(fingerprint.count == 95)
    // No CA file: only the pin can make this self-made certificate trusted.
    let text = """
      account pinned
      host localhost
      port \(server.port)
      tls on
      tls_starttls off
      tls_fingerprint \(fingerprint)
      auth on
      user \(Self.user)
      passwordeval echo '\(Self.password)'
      from a@example.org
      """
    try sandbox.write(text, to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(Self.send + ["--account", "pinned"], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(server.waitForFinishedSessions(1).first?.receivedPlaintext.isEmpty == true)

    let wrong = text.replacingOccurrences(
      of: fingerprint, with: Array(repeating: "00", count: 32).joined(separator: ":"))
    try sandbox.write(wrong, to: sandbox.home + "/.msmtprc")
    let refused = try CLIRunner.run(Self.send + ["--account", "pinned"], environment: sandbox.environment)
    #expect(refused.status == 77, "\(refused.stderr)")
    #expect(server.waitForFinishedSessions(2).last?.commands.contains { $0.hasPrefix("AUTH") } == false)
  }

  @Test func plaintextToLoopbackIsAllowedAndMarked() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server(tls: false)
    defer { server.stop() }
    try sandbox.write(
      "account dev\nhost 127.0.0.1\nport \(server.port)\nfrom a@example.org\n", to: sandbox.home + "/.msmtprc"
    )
    let result = try CLIRunner.run(Self.send + ["--account", "dev"], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("!!  +"))
    #expect(!result.stdout.contains(" ~> "))
  }

  // MARK: - Permissions

  @Test(arguments: [(0o644, Int32(78)), (0o600, Int32(0))])
  func aPasswordInAReadableFileIsRefused(mode: Int, status: Int32) throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    let path = try sandbox.write(
      try Self.config(port: server.port, secret: "password \(Self.password)"), to: sandbox.home + "/.msmtprc",
      mode: mode)
    let result = try CLIRunner.run(Self.send + ["--account", "test"], environment: sandbox.environment)
    #expect(result.status == status, "\(result.stderr)")
    if status == 78 {
      let problem =
        "\(path):13: password: the file holds a password and group or others may read it (mode 644); expected "
        + "mode 600: run chmod 600 \(path)"
      #expect(result.stderr == "sealpost: configuration: \(problem) — nothing was sent\n")
      #expect(server.sessions.isEmpty)
      // Issue 11: the listing is not blocked; it shows the problem on the account that uses the password.
      let listing = try CLIRunner.run(["accounts"], environment: sandbox.environment)
      #expect(listing.status == 0, "\(listing.stderr)")
      #expect(listing.stdout.contains("\ntest  "))
      #expect(listing.stdout.contains("\n  unusable: \(problem)\n"), "\(listing.stdout)")
      #expect(!listing.stdout.contains(Self.password) && !listing.stderr.contains(Self.password))
    }
  }

  // MARK: - Secret sources, in DESIGN §4 order

  @Test func theKeyringIsAskedWithSecretTool() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    try sandbox.fakeSecretTool(
      """
      [ -z "$SEALPOST_PASSWORD" ] || exit 2
      [ "$*" = "lookup host localhost user \(Self.user)" ] && printf '%s\\n' '\(Self.password)' && exit 0
      exit 1
      """)
    try sandbox.write(try Self.config(port: server.port, secret: ""), to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(Self.send + ["--account", "test"], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(
      server.waitForFinishedSessions(1).first?.commands.contains("AUTH PLAIN \(Self.plainBlob)") == true)
  }

  @Test func noEntryInTheKeyringAndNoTerminalIs78() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    try sandbox.fakeSecretTool("exit 1")
    try sandbox.write(try Self.config(port: server.port, secret: ""), to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(
      Self.send + ["--account", "test"], environment: sandbox.environment, detached: true)
    #expect(result.status == 78, "\(result.stderr)")
    #expect(
      result.stderr
        == "sealpost: configuration: no password source: give --password-command or SEALPOST_PASSWORD (there is "
        + "no terminal to ask on)\n")
    #expect(server.sessions.isEmpty)
  }

  @Test(arguments: [
    // (the account's secret line, extra arguments, extra environment): each must log in with the right password.
    ("passwordeval exit 3", ["--password-command", "printf '%s' '\(password)'"], [String: String]()),
    ("passwordeval exit 3", [], ["SEALPOST_PASSWORD": password]),
    ("password wrong-one", [], ["SEALPOST_PASSWORD": password]),
    ("passwordeval printf '%s' '\(password)'\npassword wrong-one", [], [:]),
  ])
  func higherSourcesWin(secret: String, arguments: [String], environment: [String: String]) throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    try sandbox.write(try Self.config(port: server.port, secret: secret), to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(
      Self.send + ["--account", "test"] + arguments,
      environment: sandbox.environment.merging(environment) { _, new in new })
    #expect(result.status == 0, "\(result.stderr)")
  }

  @Test func aFailingPasswordEvalNamesTheAccountAndHidesItsOutput() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let path = try sandbox.write(
      try Self.config(port: 9, secret: "passwordeval echo leaked-output; echo more >&2; exit 3"),
      to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(Self.send + ["--account", "test"], environment: sandbox.environment)
    #expect(result.status == 78)
    #expect(
      result.stderr.hasSuffix(
        "sealpost: configuration: account test: passwordeval (\(path):13) failed (exit status 3); its output is "
          + "not shown\n"))
    #expect(!result.stdout.contains("leaked-output") && !result.stderr.contains("leaked-output"))
  }

  // MARK: - Policy refusals, before connecting

  static let refusals: [(lines: String, status: Int32, message: String)] = [
    (
      "tls off\nfrom a@example.org", 77,
      "sealpost: refused: RC:3: tls: account a has tls off and mail.example.invalid is not loopback: plaintext to a "
        + "remote host needs allow_insecure on in Sealpost's config; better, set tls on "
        + "— nothing was sent\n"
    ),
    (
      "tls off\nfrom a@example.org\nauth on\nuser u\npassword x", 77,
      "sealpost: refused: RC:3: tls: account a has tls off and mail.example.invalid is not loopback: the password "
        + "is never sent in plaintext to it, and there is no override; set tls on — nothing was sent\n"
    ),
    (
      "tls on\ntls_certcheck off\nfrom a@example.org", 78,
      "sealpost: configuration: RC:4: tls_certcheck: tls_certcheck off is refused: Sealpost always verifies the server; "
        + "for a self-signed server pin its certificate instead with tls_fingerprint (SHA-256) or pin "
        + "sha256/BASE64 (`sealpost probe HOST` shows both) (account a) — nothing was sent\n"
    ),
    (
      "tls on\ntls_fingerprint " + Array(repeating: "0A", count: 20).joined(separator: ":"), 78,
      "sealpost: configuration: RC:4: tls_fingerprint: SHA-1 and MD5 fingerprints are refused; expected the "
        + "SHA-256 fingerprint of the certificate (32 hex bytes; `sealpost probe HOST` shows it) (account a) — "
        + "nothing was sent\n"
    ),
    (
      "tls on\nproxy_host 127.0.0.1", 78,
      "sealpost: configuration: RC:4: proxy_host: Sealpost does not implement this msmtp setting, which changes "
        + "the connection; remove it to use this account (account a) — nothing was sent\n"
    ),
    (
      "tls on\nauth gssapi", 78,
      "sealpost: configuration: RC:4: auth: Sealpost does not implement gssapi; expected on, plain or login "
        + "(account a) — nothing was sent\n"
    ),
    (
      "tls on\nauth on", 78,
      "sealpost: configuration: RC:4: auth: account a has auth on but no user; add user — nothing was sent\n"
    ),
    (
      "tls on\ncolour red", 78,
      "sealpost: configuration: RC:4: unknown key (not shown: a mistyped line may hold a secret); expected an "
        + "msmtp key or one of allow_insecure, display_name, drafts, pin, queue, record, signature, smime_ca_file, "
        + "smime_cert, smime_key, smime_passphrase_eval, smime_sign, theme\n"
    ),
  ]

  @Test(arguments: refusals)
  func refusedBeforeConnecting(lines: String, status: Int32, message: String) throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let path = try sandbox.write(
      "account a\nhost mail.example.invalid\n" + lines + "\n", to: sandbox.xdg + "/sealpost/config")
    let result = try CLIRunner.run(
      Self.send + ["--account", "a", "--from", "a@example.org"], environment: sandbox.environment,
      detached: true)
    #expect(result.status == status, "\(result.stderr)")
    #expect(result.stderr == message.replacingOccurrences(of: "RC", with: path))
    #expect(result.stdout.isEmpty)
  }

  @Test func anUnknownAccountIs78() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let path = try sandbox.write("account a\nhost h\naccount b\nhost h\n", to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(
      Self.send + ["--account", "c", "--from", "x@example.org"], environment: sandbox.environment)
    #expect(result.status == 78)
    #expect(result.stderr == "sealpost: configuration: no account c in \(path) (accounts: a, b)\n")
  }

  // MARK: - DESIGN §3.5: an account's secret goes only to its own server

  @Test(arguments: [["--server", "127.0.0.1"], ["--port", "2"], ["--server", "[::1]"]])
  func anotherServerDoesNotGetTheAccountsSecret(override: [String]) throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    try sandbox.write(
      try Self.config(port: server.port, secret: "passwordeval echo '\(Self.password)'"),
      to: sandbox.home + "/.msmtprc")
    var arguments = Self.send + ["--account", "test"] + override
    if override.first == "--server" { arguments += ["--port", "\(server.port)"] }
    let result = try CLIRunner.run(arguments, environment: sandbox.environment, detached: true)
    #expect(result.status == 78, "\(result.stderr)")
    #expect(
      result.stderr.hasPrefix(
        "sealpost: configuration: account test keeps its password for localhost:\(server.port) only; for "))
    #expect(result.stderr.hasSuffix(" give --password-command or SEALPOST_PASSWORD — nothing was sent\n"))
    #expect(server.sessions.isEmpty)
  }

  @Test func anotherServerWithItsOwnCredentialsIsFine() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    try sandbox.write(
      try Self.config(port: server.port, secret: "passwordeval exit 9"), to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(
      Self.send + ["--account", "test", "--server", "127.0.0.1:\(server.port)"],
      environment: sandbox.environment.merging(["SEALPOST_PASSWORD": Self.password]) { _, new in new })
    #expect(result.status == 0, "\(result.stderr)")
  }

  // MARK: - accounts check

  /// Found trying the product: with `auth` unset msmtp does not log in, and `check` must not claim a login.
  @Test func checkWithoutAuthSaysNoLoginWasTried() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    let text = try Self.config(port: server.port, secret: "").replacingOccurrences(of: "auth on\n", with: "")
    try sandbox.write(text, to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(
      ["accounts", "check", "test", "--transcript", "none"], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("user: is set but auth is off"))
    #expect(
      result.stderr.hasSuffix(
        "sealpost: account test: ok: the channel is trustworthy; no login was tried (no credentials); no mail "
          + "was sent; the server offers AUTH PLAIN LOGIN: if it requires a login to send, set auth on and user "
          + "in the account; whether it takes mail without one is not checked\n"))
    #expect(!server.waitForFinishedSessions(1).flatMap(\.commands).contains { $0.hasPrefix("AUTH") })
  }

  @Test func checkLogsInAndSendsNoMail() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    try sandbox.write(
      try Self.config(port: server.port, secret: "passwordeval echo '\(Self.password)'"),
      to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(["accounts", "check", "test"], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(
      result.stderr
        == "sealpost: account test: ok: the channel is trustworthy and the login works; no mail was sent\n")
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(
      session.commands == [
        "EHLO [127.0.0.1]", "STARTTLS", "EHLO [127.0.0.1]", "AUTH PLAIN \(Self.plainBlob)", "QUIT",
      ])
    #expect(result.stdout.contains(" ~> +"))
    #expect(result.stdout.contains("TLS = TLS 1."))
    #expect(result.stdout.contains(" AUTH PLAIN <redacted> (user u@example.test)"))
  }

  @Test func checkWithAWrongPasswordIs77() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let server = try Self.server()
    defer { server.stop() }
    try sandbox.write(
      try Self.config(port: server.port, secret: "passwordeval echo nope-wrong"),
      to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(["accounts", "check", "test"], environment: sandbox.environment)
    #expect(result.status == 77, "\(result.stderr)")
    #expect(result.stderr.hasPrefix("sealpost: account test: refused: "))
    #expect(server.waitForFinishedSessions(1).first?.commands.contains { $0.hasPrefix("MAIL") } == false)
  }
}
