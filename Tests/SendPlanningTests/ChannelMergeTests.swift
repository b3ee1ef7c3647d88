import Accounts
import Foundation
import MailSender
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Testing

@testable import SendPlanning

/// The one merge of an account with a front end's overrides (issue 8): every override against every account field
/// the README lists, and every refusal, with the words each front end gets.
@Suite struct ChannelMergeTests {
  static let pin = "sha256/" + Data(repeating: 7, count: 32).base64EncodedString()
  static let fingerprint = (0..<32).map { _ in "AB" }.joined(separator: ":")

  /// An account `a` from Sealpost's own config syntax: `host mail.example.org`, `from`, plus `lines`.
  static func account(_ lines: [String]) throws -> Account {
    let text = (["account a", "host mail.example.org", "from a@example.org"] + lines).joined(separator: "\n")
    let config = try AccountsConfig(parsing: text, path: "t.conf", flavor: .sealpost, home: "/nonexistent")
    return try #require(config.account(named: "a"))
  }

  struct Row: Sendable, CustomTestStringConvertible {
    var name: String
    var lines: [String]
    var overrides = ChannelOverrides()
    var expect: @Sendable (ChannelPlan) -> Bool
    var testDescription: String { name }
  }

  static let rows: [Row] = [
    // host
    Row(name: "host from the account", lines: []) { $0.host == "mail.example.org" },
    Row(name: "server overrides host", lines: [], overrides: .init(server: "other.example.org")) {
      $0.host == "other.example.org"
    },
    // port and mode: msmtp's defaults, then the overrides (DESIGN §4, §6)
    Row(name: "tls off: plaintext on 25", lines: []) { $0.security == .plaintext && $0.port == 25 },
    Row(name: "tls on: STARTTLS on 25", lines: ["tls on"]) { $0.security == .startTLS && $0.port == 25 },
    Row(name: "tls_starttls off: implicit on 465", lines: ["tls on", "tls_starttls off"]) {
      $0.security == .implicitTLS && $0.port == 465
    },
    Row(name: "port from the account", lines: ["tls on", "port 2525"]) { $0.port == 2525 },
    Row(name: "port override", lines: ["tls on", "port 2525"], overrides: .init(port: 2600)) {
      $0.port == 2600
    },
    Row(name: "port in server override", lines: ["tls on"], overrides: .init(server: "x.example.org:2700")) {
      $0.port == 2700 && $0.host == "x.example.org"
    },
    Row(name: "tls override: implicit takes 465", lines: ["tls on"], overrides: .init(tls: "implicit")) {
      $0.security == .implicitTLS && $0.port == 465
    },
    Row(
      name: "tls override keeps the account's port", lines: ["tls on", "port 2525"],
      overrides: .init(tls: "implicit")
    ) { $0.security == .implicitTLS && $0.port == 2525 },
    // issue 11: a STARTTLS or plaintext session to 465, where implicit TLS is, waits 10 s for a greeting
    Row(name: "STARTTLS to 465: a short greeting deadline", lines: ["tls on", "port 465"]) {
      $0.security == .startTLS && $0.greetingTimeout == 10
    },
    Row(name: "implicit TLS on 465: the whole step", lines: ["tls on", "tls_starttls off"]) {
      $0.port == 465 && $0.greetingTimeout == nil
    },
    Row(name: "STARTTLS on 587: the whole step", lines: ["tls on", "port 587"]) { $0.greetingTimeout == nil },
    Row(
      name: "a step shorter than the greeting limit stays", lines: ["tls on", "port 465"],
      overrides: .init(timeout: 5)
    ) { $0.greetingTimeout == nil },
    // trust
    Row(name: "system store by default", lines: ["tls on"]) {
      $0.trust == .certificateAuthorities(caFile: nil)
    },
    Row(name: "tls_fingerprint pins the certificate", lines: ["tls on", "tls_fingerprint \(fingerprint)"]) {
      $0.trust == .pins([.certificateSHA256(Array(repeating: 0xAB, count: 32))])
    },
    Row(name: "pin pins the key", lines: ["tls on", "pin \(pin)"]) {
      $0.trust == .pins([.spkiSHA256(Array(repeating: 7, count: 32))])
    },
    Row(
      name: "ca-file override replaces a pin", lines: ["tls on", "pin \(pin)"],
      overrides: .init(caFile: "/ca.pem")
    ) { $0.trust == .certificateAuthorities(caFile: "/ca.pem") },
    Row(name: "pin override replaces the store", lines: ["tls on"], overrides: .init(pins: [pin])) {
      $0.trust == .pins([.spkiSHA256(Array(repeating: 7, count: 32))])
    },
    // login
    Row(name: "no auth: no login", lines: ["tls on", "user alice"]) { $0.user == nil },
    Row(name: "auth on: the account's user", lines: ["tls on", "auth on", "user alice"]) {
      $0.user == "alice" && $0.mechanism == .automatic
    },
    Row(name: "auth plain", lines: ["tls on", "auth plain", "user alice"]) { $0.mechanism == .plain },
    Row(name: "user override", lines: ["tls on", "auth on", "user alice"], overrides: .init(user: "bob")) {
      $0.user == "bob"
    },
    Row(
      name: "auth override", lines: ["tls on", "auth plain", "user alice"], overrides: .init(auth: "login")
    ) {
      $0.mechanism == .login
    },
    // EHLO name and timeout
    Row(name: "domain is the EHLO name", lines: ["tls on", "domain client.example.org"]) {
      $0.ehlo == "client.example.org"
    },
    Row(
      name: "ehlo override", lines: ["tls on", "domain client.example.org"],
      overrides: .init(ehlo: "[192.0.2.7]")
    ) {
      $0.ehlo == "[192.0.2.7]"
    },
    Row(name: "timeout from the account", lines: ["tls on", "timeout 12"]) { $0.timeout == 12 },
    Row(name: "timeout override", lines: ["tls on", "timeout 12"], overrides: .init(timeout: 3.5)) {
      $0.timeout == 3.5
    },
    Row(name: "default timeout 60", lines: ["tls on"]) { $0.timeout == 60 },
    // plaintext permission
    Row(name: "allow_insecure on", lines: ["allow_insecure on"]) {
      $0.allowInsecure && $0.security == .plaintext
    },
    Row(name: "allow-insecure override", lines: [], overrides: .init(allowInsecure: true)) {
      $0.allowInsecure
    },
  ]

  @Test(arguments: rows)
  func merge(_ row: Row) throws {
    let plan = try ChannelPlan(overrides: row.overrides, account: try Self.account(row.lines))
    #expect(row.expect(plan), "\(plan)")
  }

  @Test func withoutAnAccountTheOverridesAreEverything() throws {
    let plan = try ChannelPlan(
      overrides: .init(server: "[::1]:2525", tls: "starttls", user: "u", ehlo: "e.example"), account: nil)
    #expect(plan.host == "::1" && plan.port == 2525 && plan.security == .startTLS)
    #expect(
      plan.user == "u" && plan.ehlo == "e.example" && plan.timeout == 60 && plan.mechanism == .automatic)
  }

  // MARK: - Refusals, worded for each front end

  struct Refusal: Sendable, CustomTestStringConvertible {
    var name: String
    var lines: [String]?
    var overrides: ChannelOverrides
    var category: SendFailure.Category
    /// As the CLI says it (fields as flags).
    var cli: String
    var testDescription: String { name }
  }

  static let refusals: [Refusal] = [
    Refusal(
      name: "no server", lines: nil, overrides: .init(), category: .usage,
      cli: "no server: give --server or --account (there is no MX look-up)"),
    Refusal(
      name: "port out of range", lines: [], overrides: .init(port: 70000), category: .usage,
      cli: "--port takes 1 to 65535"),
    Refusal(
      name: "unknown TLS mode", lines: [], overrides: .init(tls: "maybe"), category: .usage,
      cli: "--tls takes implicit, starttls or none"),
    Refusal(
      name: "allow-insecure with TLS", lines: ["tls on"], overrides: .init(allowInsecure: true),
      category: .usage,
      cli: "--allow-insecure only goes with --tls none"),
    Refusal(
      name: "ca-file without TLS", lines: [], overrides: .init(caFile: "/x"), category: .usage,
      cli: "--ca-file and --pin need TLS; they make no sense with --tls none"),
    Refusal(
      name: "ca-file and pin", lines: ["tls on"], overrides: .init(caFile: "/x", pins: [pin]),
      category: .usage,
      cli: "give --ca-file or --pin, not both: a pin replaces the CA check"),
    Refusal(
      name: "malformed pin", lines: ["tls on"], overrides: .init(pins: ["sha256/short"]), category: .usage,
      cli: "--pin takes sha256/BASE64 (the SHA-256 of the server key's SPKI, 44 characters)"),
    Refusal(
      name: "SHA-1 pin", lines: ["tls on"], overrides: .init(pins: ["sha1/AAAA"]), category: .usage,
      cli: "--pin: SHA-1 and MD5 pins are refused; use sha256/BASE64"),
    Refusal(
      name: "auth without user", lines: ["tls on", "auth on"], overrides: .init(), category: .configuration,
      cli: "t.conf:5: auth: account a has auth on but no user; add user"),
    Refusal(
      name: "unknown mechanism", lines: ["tls on"], overrides: .init(user: "u", auth: "cram-md5"),
      category: .usage,
      cli: "--auth cram-md5 is not supported: use plain or login"),
    Refusal(
      name: "zero timeout", lines: ["tls on"], overrides: .init(timeout: 0), category: .usage,
      cli: "--timeout takes seconds, more than 0 and at most 86400"),
    Refusal(
      name: "user with a control", lines: ["tls on"], overrides: .init(user: "a\u{7}b"), category: .dataError,
      cli: "the user name holds control characters"),
    Refusal(
      name: "EHLO with a space", lines: ["tls on"], overrides: .init(ehlo: "a b"), category: .dataError,
      cli: "--ehlo takes a domain or address literal without spaces or controls"),
    Refusal(
      name: "bad server", lines: nil, overrides: .init(server: "a b"), category: .usage,
      cli: "bad --server a b: spaces or control characters"),
  ]

  @Test(arguments: refusals)
  func refusal(_ refusal: Refusal) throws {
    let account = try refusal.lines.map { lines in try Self.account(lines) }
    let error = #expect(throws: PlanningError.self) {
      try ChannelPlan(overrides: refusal.overrides, account: account)
    }
    #expect(error?.category == refusal.category)
    #expect(error?.failure(naming: CLIFlags.flag).message == refusal.cli)
  }

  /// The composer names the same fields on its own screen: no flag reaches it.
  @Test func theComposerGetsItsOwnWords() {
    let error = #expect(throws: PlanningError.self) {
      try ChannelPlan(overrides: .init(caFile: "/x", pins: [Self.pin]), account: try Self.account(["tls on"]))
    }
    let words = error?.failure(naming: { field in field == .caFile ? "the CA file" : "the pin" }).message
    #expect(words == "give the CA file or the pin, not both: a pin replaces the CA check")
    #expect(error?.text.fields == [.caFile, .pin])
  }

  @Test func plaintextToARemoteHostIsRefusedBeforeConnecting() throws {
    let plan = try ChannelPlan(overrides: .init(), account: try Self.account([]))
    let error = #expect(throws: PlanningError.self) { try plan.checkPlaintext() }
    #expect(error?.category == .security)
  }

  @Test func theAccountSecretIsBoundToItsHostAndPort() throws {
    let account = try Self.account(["tls on", "auth on", "user u", "password p"])
    #expect(try ChannelPlan(overrides: .init(), account: account).isAccountServer)
    #expect(try ChannelPlan(overrides: .init(server: "MAIL.example.org."), account: account).isAccountServer)
    #expect(
      !(try ChannelPlan(overrides: .init(server: "other.example.org"), account: account).isAccountServer))
    #expect(!(try ChannelPlan(overrides: .init(port: 2525), account: account).isAccountServer))
  }
}

/// The CLI's names, written here by hand (the test does not import the executable).
enum CLIFlags {
  @Sendable static func flag(_ field: PlanningField) -> String {
    switch field {
    case .allowInsecure: "--allow-insecure"
    case .caFile: "--ca-file"
    case .passwordCommand: "--password-command"
    case .bodyFile: "--body-file"
    case .maxSize: "--max-size"
    default: "--" + field.rawValue
    }
  }
}
