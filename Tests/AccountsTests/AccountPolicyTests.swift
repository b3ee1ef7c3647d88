import Testing

@testable import Accounts

/// Accounts Sealpost refuses as written (DESIGN §3.2, §3.4, §6), each with its `file:line`.
@Suite struct AccountPolicyTests {
  static let sha256 = Array(repeating: "AB", count: 32).joined(separator: ":")

  static let problems: [(text: String, expected: [String])] = [
    ("account a\nhost h\ntls on", []),
    (
      "account a\nhost h\ntls on\ntls_certcheck off",
      [
        "t.rc:4: tls_certcheck: tls_certcheck off is refused: Sealpost always verifies the server; for a "
          + "self-signed server pin its certificate instead with tls_fingerprint (SHA-256) or pin sha256/BASE64 "
          + "(`sealpost probe HOST` shows both)"
      ]
    ),
    (
      "defaults\ntls_nocertcheck\naccount a\nhost h",
      [
        "t.rc:2: tls_certcheck: tls_certcheck off is refused: Sealpost always verifies the server; for a "
          + "self-signed server pin its certificate instead with tls_fingerprint (SHA-256) or pin sha256/BASE64 "
          + "(`sealpost probe HOST` shows both)"
      ]
    ),
    (
      "account a\nhost h\ntls_fingerprint " + Array(repeating: "00", count: 20).joined(separator: ":"),
      [
        "t.rc:3: tls_fingerprint: SHA-1 and MD5 fingerprints are refused; expected the SHA-256 fingerprint of the "
          + "certificate (32 hex bytes; `sealpost probe HOST` shows it)"
      ]
    ),
    (
      "account a\nhost h\ntls_fingerprint " + Array(repeating: "00", count: 16).joined(separator: ":"),
      [
        "t.rc:3: tls_fingerprint: SHA-1 and MD5 fingerprints are refused; expected the SHA-256 fingerprint of the "
          + "certificate (32 hex bytes; `sealpost probe HOST` shows it)"
      ]
    ),
    (
      "account a\nhost h\ntls_trust_file /ca.pem\ntls_fingerprint \(sha256)",
      [
        "t.rc:3: tls_trust_file: expected tls_trust_file or a pin (tls_fingerprint, pin), not both: a pin "
          + "replaces the CA check"
      ]
    ),
    (
      "account a\nhost h\nproxy_host 127.0.0.1\nproxy_port 1080",
      [
        "t.rc:3: proxy_host: Sealpost does not implement this msmtp setting, which changes the connection; "
          + "remove it to use this account",
        "t.rc:4: proxy_port: Sealpost does not implement this msmtp setting, which changes the connection; "
          + "remove it to use this account",
      ]
    ),
    ("account a\nhost h\nproxy_host\ntls_force_sslv3 off\nprotocol smtp", []),
    (
      "defaults\nsource_ip 192.0.2.1\naccount a\nhost h",
      [
        "t.rc:2: source_ip: Sealpost does not implement this msmtp setting, which changes the connection; "
          + "remove it to use this account"
      ]
    ),
    (
      "account a\nsocket /run/smtp.sock",
      [
        "t.rc:2: socket: Sealpost does not implement this msmtp setting, which changes the connection; remove it "
          + "to use this account"
      ]
    ),
    (
      "account a\nhost h\ntls on\ntls_cert_file c.pem\ntls_key_file k.pem",
      [
        "t.rc:4: tls_cert_file: Sealpost does not implement this msmtp setting, which changes the connection; "
          + "remove it to use this account",
        "t.rc:5: tls_key_file: Sealpost does not implement this msmtp setting, which changes the connection; "
          + "remove it to use this account",
      ]
    ),
    (
      "account a\nhost h\ntls_priorities NORMAL\ntls_crl_file x\ntls_min_dh_prime_bits 512\ntls_host_override o\n"
        + "tls_force_sslv3 on\neval echo host x",
      [
        "tls_priorities", "tls_crl_file", "tls_min_dh_prime_bits", "tls_host_override", "tls_force_sslv3",
        "eval",
      ]
      .enumerated().map { index, key in
        "t.rc:\(index + 3): \(key): Sealpost does not implement this msmtp setting, which changes the "
          + "connection; remove it to use this account"
      }
    ),
    (
      "account a\nhost h\nprotocol lmtp",
      ["t.rc:3: protocol: Sealpost does not implement LMTP; expected smtp"]
    ),
    (
      "account a\nhost h\nauth cram-md5",
      ["t.rc:3: auth: Sealpost does not implement cram-md5; expected on, plain or login"]
    ),
    (
      "account a\nhost h\nauth xoauth2",
      ["t.rc:3: auth: Sealpost does not implement xoauth2; expected on, plain or login"]
    ),
    (
      "account a\nhost h\nfrobnicate yes",
      [
        "t.rc:3: unknown msmtp key (not shown: a mistyped line may hold a secret): Sealpost cannot tell whether it changes the connection, so this "
          + "account is not used"
      ]
    ),
  ]

  @Test(arguments: problems)
  func accountProblems(text: String, expected: [String]) throws {
    let config = try Support.parse(text)
    let account = try #require(config.accounts.first)
    #expect(account.problems.map(\.description) == expected)
  }

  /// Issue 11: `tls_certcheck off` is a line Sealpost will not use as written, 78 like the others (the README's
  /// table); 77 is for what a server or a connection fails, and for the plaintext policy.
  @Test func aLineSealpostWillNotUseIsAConfigurationProblem() throws {
    let config = try Support.parse("account a\nhost h\ntls_certcheck off\nproxy_host p")
    #expect(config.accounts.first?.problems.map(\.kind) == [.configuration, .configuration])
  }

  @Test func aProblemStaysWithItsAccount() throws {
    let config = try Support.parse("account bad\nhost h\nsocket /s\naccount good\nhost h")
    #expect(config.account(named: "bad")?.problems.count == 1)
    #expect(config.account(named: "good")?.problems.isEmpty == true)
  }

  static let plaintext: [(host: String, authenticates: Bool, allowInsecure: Bool, refused: String?)] = [
    ("127.0.0.1", true, false, nil),
    ("127.1.2.3", false, false, nil),
    ("localhost", true, false, nil),
    ("LOCALHOST.", false, false, nil),
    ("::1", true, false, nil),
    ("[::1]", false, false, nil),
    ("::ffff:127.0.0.1", false, false, nil),
    (
      "mail.example", false, false,
      "t.rc:3: tls: account a has tls off and mail.example is not loopback: plaintext to a remote host needs "
        + "allow_insecure on in Sealpost's config; better, set tls on"
    ),
    ("mail.example", false, true, nil),
    (
      "mail.example", true, true,
      "t.rc:3: tls: account a has tls off and mail.example is not loopback: the password is never sent in "
        + "plaintext to it, and there is no override; set tls on"
    ),
    (
      "10.0.0.1", false, false,
      "t.rc:3: tls: account a has tls off and 10.0.0.1 is not loopback: plaintext to a remote host needs "
        + "allow_insecure on in Sealpost's config; better, set tls on"
    ),
    (
      "localhost.example.org", true, true,
      "t.rc:3: tls: account a has tls off and localhost.example.org is not loopback: the password is never sent "
        + "in plaintext to it, and there is no override; set tls on"
    ),
    (
      "::2", false, false,
      "t.rc:3: tls: account a has tls off and ::2 is not loopback: plaintext to a remote host needs "
        + "allow_insecure on in Sealpost's config; better, set tls on"
    ),
    (
      "128.0.0.1", false, false,
      "t.rc:3: tls: account a has tls off and 128.0.0.1 is not loopback: plaintext to a remote host needs "
        + "allow_insecure on in Sealpost's config; better, set tls on"
    ),
  ]

  @Test(arguments: plaintext)
  func plaintextBeforeConnecting(host: String, authenticates: Bool, allowInsecure: Bool, refused: String?)
    throws
  {
    let config = try Support.parse("account a\nhost \(host)\ntls off")
    let account = try #require(config.accounts.first)
    let problem = account.plaintextProblem(
      host: host, allowInsecure: allowInsecure, authenticates: authenticates)
    #expect(problem?.description == refused)
    #expect(problem.map { $0.kind == .security } ?? true)
  }
}
