import Testing

@testable import Accounts

/// msmtp's syntax: inheritance, defaults, quoting, and every error with its `file:line` (DESIGN §6).
@Suite struct ConfigParserTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var name: String
    var text: String
    var account: String
    var expected: String
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(
      name: "defaults fill every account below",
      text: "defaults\nport 587\ntls on\naccount a\nhost h.example",
      account: "a", expected: "host=h.example port=587 security=starttls"),
    Case(
      name: "msmtp's default port is 25, with tls off", text: "account a\nhost h.example", account: "a",
      expected: "host=h.example port=25 security=none"),
    Case(
      name: "tls on without STARTTLS defaults to 465", text: "account a\nhost h\ntls on\ntls_starttls off",
      account: "a", expected: "host=h port=465 security=implicit"),
    Case(
      name: "STARTTLS keeps msmtp's port 25", text: "account a\nhost h\ntls on", account: "a",
      expected: "host=h port=25 security=starttls"),
    Case(
      name: "an empty argument means on", text: "account a\nhost h\ntls\nauth\nuser u", account: "a",
      expected: "host=h port=25 security=starttls user=u auth=automatic keyring"),
    Case(
      name: "old spelling tls_nostarttls", text: "account a\nhost h\ntls on\ntls_nostarttls", account: "a",
      expected: "host=h port=465 security=implicit"),
    Case(
      name: "connect_timeout is timeout", text: "account a\nhost h\nconnect_timeout 9", account: "a",
      expected: "host=h port=25 security=none timeout=9"),
    Case(
      name: "a later defaults section changes only later accounts",
      text: "defaults\nport 1\naccount a\nhost h\ndefaults\nport 2\naccount b : a", account: "b",
      expected: "host=h port=2 security=none"),
    Case(
      name: "the earlier account keeps the earlier defaults",
      text: "defaults\nport 1\naccount a\nhost h\ndefaults\nport 2\naccount b : a", account: "a",
      expected: "host=h port=1 security=none"),
    Case(
      name: "a parent's settings override defaults",
      text: "defaults\nport 1\naccount a\nport 3\naccount b : a",
      account: "b", expected: "host=- port=3 security=none"),
    Case(
      name: "the account's own lines override its parent",
      text: "account a\nhost one\nuser x\naccount b : a\nhost two", account: "b",
      expected: "host=two port=25 security=none user=x"),
    Case(
      name: "several parents: the later one wins",
      text: "account a\nhost A\naccount b\nhost B\naccount c : a, b",
      account: "c", expected: "host=B port=25 security=none"),
    Case(
      name: "several parents in the other order",
      text: "account a\nhost A\naccount b\nhost B\naccount c : b,a",
      account: "c", expected: "host=A port=25 security=none"),
    Case(
      name: "several parents: each adds what it sets",
      text: "account a\nhost A\naccount b\nport 2525\nuser bee\naccount c : a , b", account: "c",
      expected: "host=A port=2525 security=none user=bee"),
    Case(
      name: "inheritance is transitive", text: "account a\nhost A\naccount b : a\nuser u\naccount c : b",
      account: "c", expected: "host=A port=25 security=none user=u"),
    Case(
      name: "a child sees the parent as it was when the child was defined",
      text: "account a\nhost A\naccount b : a\naccount a2 : a", account: "b",
      expected: "host=A port=25 security=none"),
    Case(
      name: "account default : NAME", text: "account a\nhost A\nfrom a@x\naccount default : a",
      account: "default",
      expected: "host=A port=25 security=none from=a@x"),
    Case(
      name: "a value in double quotes loses them", text: "account a\nhost \"h.example\"\nuser \"jane doe\"",
      account: "a", expected: "host=h.example port=25 security=none user=jane doe"),
    Case(
      name: "escaped quote and backslash inside double quotes",
      text: "account a\nhost h\nauth on\npassword \"p\\\"w\\\\d\"", account: "a",
      expected: "host=h port=25 security=none auth=automatic password(p\"w\\d)@4"),
    Case(
      name: "an unquoted value keeps # and quotes", text: "account a\nhost h\nauth on\npassword a#b\"c",
      account: "a", expected: "host=h port=25 security=none auth=automatic password(a#b\"c)@4"),
    Case(
      name: "a backslash outside quotes is literal", text: "account a\nhost h\nauth on\npassword a\\b",
      account: "a", expected: "host=h port=25 security=none auth=automatic password(a\\b)@4"),
    Case(
      name: "quoted blanks are kept", text: "account a\nhost h\nfrom \"  x  \"", account: "a",
      expected: "host=h port=25 security=none from=  x  "),
    Case(
      name: "blanks and tabs around keys and values", text: "  account\ta \n\thost \t h.example \t",
      account: "a",
      expected: "host=h.example port=25 security=none"),
    Case(
      name: "comments, indented comments and blank lines",
      text: "# top\naccount a\n   # indented\n\n\t\nhost h\n#host other", account: "a",
      expected: "host=h port=25 security=none"),
    Case(
      name: "CRLF line ends", text: "account a\r\nhost h\r\nuser u\r\n", account: "a",
      expected: "host=h port=25 security=none user=u"),
    Case(
      name: "an empty argument unsets",
      text: "account a\nhost h\nuser u\nauth on\npassword x\naccount b : a\nuser\npassword",
      account: "b", expected: "host=h port=25 security=none auth=automatic keyring"),
    Case(
      name: "passwordeval comes before password",
      text: "account a\nhost h\nauth on\npassword x\npasswordeval pass show mail", account: "a",
      expected: "host=h port=25 security=none auth=automatic passwordeval(pass show mail)@5"),
    Case(
      name: "auth off: no secret is used", text: "account a\nhost h\nuser u\npassword x", account: "a",
      expected: "host=h port=25 security=none user=u"),
    Case(
      name: "auth methods Sealpost has", text: "account a\nhost h\nauth login", account: "a",
      expected: "host=h port=25 security=none auth=login keyring"),
    Case(
      name: "~ in file names is the home folder", text: "account a\nhost h\ntls on\ntls_trust_file ~/ca.pem",
      account: "a", expected: "host=h port=25 security=starttls ca=/home/u/ca.pem"),
    Case(
      name: "a SHA-256 fingerprint, lower case and blank-separated",
      text: "account a\nhost h\ntls on\ntls_fingerprint "
        + Array(repeating: "ab", count: 32).joined(separator: " "), account: "a",
      expected: "host=h port=25 security=starttls fingerprints=1"),
    Case(
      name: "timeout off is the default", text: "account a\nhost h\ntimeout 5\naccount b : a\ntimeout off",
      account: "b", expected: "host=h port=25 security=none"),
    Case(
      name: "domain is the EHLO name", text: "account a\nhost h\ndomain client.example", account: "a",
      expected: "host=h port=25 security=none domain=client.example"),
  ]

  @Test(arguments: cases)
  func accountsAreResolved(_ test: Case) throws {
    let config = try Support.parse(test.text)
    let account = try #require(config.account(named: test.account))
    #expect(Support.summary(account) == test.expected)
  }

  @Test func parentsAndLocationsAreKept() throws {
    let config = try Support.parse("# c\naccount a\nhost A\n\naccount b\nport 2\naccount c : a, b\n")
    #expect(config.accounts.map(\.name) == ["a", "b", "c"])
    let c = try #require(config.account(named: "c"))
    #expect(c.parents == ["a", "b"])
    #expect(c.location.description == "t.rc:7")
    #expect(c.location(of: "host").description == "t.rc:3")
    #expect(c.location(of: "port").description == "t.rc:6")
    #expect(c.location(of: "user").description == "t.rc:7")
    #expect(config.defaultAccount == nil)
  }

  @Test func sealpostKeysInSealpostsFile() throws {
    let config = try Support.parse(
      """
      account a
      host h
      display_name "Zoë Example"
      signature ~/sig.txt
      drafts /var/drafts
      record ~/Mail/sent
      theme monochrome
      allow_insecure on
      pin sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=, sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
      """, flavor: .sealpost)
    let account = try #require(config.account(named: "a"))
    #expect(account.displayName == "Zoë Example")
    #expect(account.signature == "/home/u/sig.txt")
    #expect(account.drafts == "/var/drafts")
    #expect(account.record == "/home/u/Mail/sent")
    #expect(account.theme == "monochrome")
    #expect(account.allowInsecure)
    #expect(account.trust.spkiSHA256.count == 2)
    #expect(account.trust.spkiSHA256.first?.first == 0xE3)
    #expect(account.problems.isEmpty)
  }

  static let errors: [(text: String, flavor: ConfigFlavor, message: String)] = [
    ("host h", .msmtp, "t.rc:1: host: expected `account NAME` or `defaults` before the first setting"),
    ("\n# c\nuser u", .msmtp, "t.rc:3: user: expected `account NAME` or `defaults` before the first setting"),
    (
      "defaults now", .msmtp,
      "t.rc:1: defaults: expected no value: defaults starts settings for the accounts below"
    ),
    ("account", .msmtp, "t.rc:1: account: expected an account name"),
    ("account : x", .msmtp, "t.rc:1: account: expected an account name"),
    (
      "account a\naccount b :", .msmtp,
      "t.rc:2: account: expected an account name after the colon and each comma"
    ),
    (
      "account a\naccount b : a,", .msmtp,
      "t.rc:2: account: expected an account name after the colon and each comma"
    ),
    ("account b : a", .msmtp, "t.rc:1: account: expected parent accounts defined above; parent 1 is not"),
    ("account b : b", .msmtp, "t.rc:1: account: expected parent accounts defined above; parent 1 is not"),
    (
      "account a\nhost h\naccount a", .msmtp,
      "t.rc:3: account: expected a new account name; this one is already defined at t.rc:1"
    ),
    ("account a,b", .msmtp, "t.rc:1: account: expected an account name without commas"),
    ("account a\nhost", .msmtp, "t.rc:2: host: expected a value"),
    ("account a\nport abc", .msmtp, "t.rc:2: port: expected a port number from 1 to 65535"),
    ("account a\nport 0", .msmtp, "t.rc:2: port: expected a port number from 1 to 65535"),
    ("account a\nport 65536", .msmtp, "t.rc:2: port: expected a port number from 1 to 65535"),
    ("account a\nport +25", .msmtp, "t.rc:2: port: expected a port number from 1 to 65535"),
    ("account a\nport", .msmtp, "t.rc:2: port: expected a port number from 1 to 65535"),
    ("account a\ntls yes", .msmtp, "t.rc:2: tls: expected on or off"),
    ("account a\ntls_starttls ON", .msmtp, "t.rc:2: tls_starttls: expected on or off"),
    ("defaults\ntls_certcheck maybe", .msmtp, "t.rc:2: tls_certcheck: expected on or off"),
    (
      "account a\ntimeout -1", .msmtp,
      "t.rc:2: timeout: expected off or whole seconds from 1 to 86400"
    ),
    (
      "account a\nconnect_timeout 1.5", .msmtp,
      "t.rc:2: timeout: expected off or whole seconds from 1 to 86400"
    ),
    ("account a\nauth md5", .msmtp, "t.rc:2: auth: expected on, off, plain or login"),
    ("account a\nprotocol http", .msmtp, "t.rc:2: protocol: expected smtp or lmtp"),
    (
      "account a\ntls_fingerprint 00:11", .msmtp,
      "t.rc:2: tls_fingerprint: expected a SHA-256 fingerprint: 32 hex bytes separated by colons (AB:CD:…)"
    ),
    (
      "account a\ntls_fingerprint zz:" + Array(repeating: "00", count: 31).joined(separator: ":"), .msmtp,
      "t.rc:2: tls_fingerprint: expected a SHA-256 fingerprint: 32 hex bytes separated by colons (AB:CD:…)"
    ),
    ("account a\nhost \"h.example", .msmtp, "t.rc:2: host: expected a closing double quote"),
    (
      "account a\nhost \"h\" x", .msmtp,
      "t.rc:2: host: expected the end of the line after the closing double quote"
    ),
    (
      "account a\nhost \"h\\x\"", .msmtp,
      "t.rc:2: host: expected \\\" or \\\\ after a backslash inside double quotes"
    ),
    (
      "account a\nhost \"h\\", .msmtp,
      "t.rc:2: host: expected \\\" or \\\\ after a backslash inside double quotes"
    ),
    (
      "account a\nhost a\u{1}b", .msmtp, "t.rc:2: expected printable text, found the control character U+0001"
    ),
    ("account a\nhost a\rb", .msmtp, "t.rc:2: expected printable text, found the control character U+000D"),
    (
      "account a\nhost a\u{1B}[2Jb", .msmtp,
      "t.rc:2: expected printable text, found the control character U+001B"
    ),
    (
      "account a\nhost h\ncolour red", .sealpost,
      "t.rc:3: unknown key (not shown: a mistyped line may hold a secret); expected an msmtp key or one of allow_insecure, display_name, drafts, pin, "
        + "queue, record, signature, smime_ca_file, smime_cert, smime_key, smime_passphrase_eval, smime_sign, theme"
    ),
    (
      "account a\nhost h\n\u{202E}x y", .sealpost,
      "t.rc:3: unknown key (not shown: a mistyped line may hold a secret); expected an msmtp key or one of allow_insecure, display_name, drafts, pin, "
        + "queue, record, signature, smime_ca_file, smime_cert, smime_key, smime_passphrase_eval, smime_sign, theme"
    ),
    (
      "account a\npin sha1/AAAA", .sealpost,
      "t.rc:2: pin: expected sha256/BASE64 (the SHA-256 of the server key's SPKI), several separated by commas; "
        + "SHA-1 and MD5 pins are refused"
    ),
    (
      "account a\npin sha256/AAAA", .sealpost,
      "t.rc:2: pin: expected sha256/BASE64 (the SHA-256 of the server key's SPKI), several separated by commas; "
        + "SHA-1 and MD5 pins are refused"
    ),
    ("account a\nallow_insecure sure", .sealpost, "t.rc:2: allow_insecure: expected on or off"),
  ]

  @Test(arguments: errors)
  func errorsNameFileLineKeyAndExpectation(text: String, flavor: ConfigFlavor, message: String) {
    #expect(Support.error(text, flavor: flavor) == message)
  }

  @Test func secretValuesAreNeverEchoedInErrors() {
    for text in ["account a\npassword \"hunter2", "account a\npasswordeval \"echo hunter2\" x"] {
      let message = Support.error(text)
      #expect(message != nil)
      #expect(message?.contains("hunter2") == false)
    }
  }

  @Test func sealpostKeysAreUnknownInMsmtpsFile() throws {
    let config = try Support.parse("account a\nhost h\ntheme dark")
    let account = try #require(config.account(named: "a"))
    #expect(
      account.problems.map(\.description) == [
        "t.rc:3: theme: unknown msmtp key: Sealpost cannot tell whether it changes the connection, so this "
          + "account is not used"
      ])
  }

  @Test func harmlessKeysAreNotedOnceEach() throws {
    let config = try Support.parse(
      "defaults\nlogfile ~/log\naccount a\nhost h\nsyslog LOG_MAIL\nlogfile -\naccount b\nhost h\naliases /etc/aliases"
    )
    #expect(
      config.notes.map(\.description) == [
        "t.rc:2: logfile: has no effect in Sealpost; ignored",
        "t.rc:5: syslog: has no effect in Sealpost; ignored",
        "t.rc:9: aliases: has no effect in Sealpost; ignored",
      ])
    #expect(config.accounts.allSatisfy { $0.problems.isEmpty })
  }

  /// msmtp logs in only with `auth`: a `user` without it is noted once per line that sets the user.
  @Test func userWithoutAuthIsNoted() throws {
    let config = try Support.parse(
      "defaults\nuser u\naccount a\nhost h\naccount b\nhost h\naccount c\nhost h\nauth on\naccount d\nhost h\n"
        + "user v\nauth off")
    #expect(
      config.notes.map(\.description) == [
        "t.rc:2: user: is set but auth is off (msmtp's default): like msmtp, Sealpost will not log in; add "
          + "`auth on`",
        "t.rc:12: user: is set but auth is off (msmtp's default): like msmtp, Sealpost will not log in; add "
          + "`auth on`",
      ])
  }

  @Test func passwordLocationIsTheFirstPasswordWithAValue() throws {
    #expect(
      try Support.parse("account a\nhost h\npassword\npassword x\npassword y").passwordLocation?.line == 4)
    #expect(try Support.parse("account a\nhost h\npasswordeval pass x").passwordLocation == nil)
  }
}
