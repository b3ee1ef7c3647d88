import MailMessage
import Testing

@Suite struct MailboxTests {
  struct Accepted: Sendable, CustomTestStringConvertible {
    var input: String
    var displayName: String?
    var address: String
    var headerValue: String
    var requiresSMTPUTF8 = false
    var testDescription: String { input }
  }

  static let accepted: [Accepted] = [
    Accepted(input: "a@example.org", address: "a@example.org", headerValue: "a@example.org"),
    Accepted(input: "<a@example.org>", address: "a@example.org", headerValue: "a@example.org"),
    Accepted(input: "  a@example.org  ", address: "a@example.org", headerValue: "a@example.org"),
    Accepted(input: "\"\" <a@example.org>", address: "a@example.org", headerValue: "a@example.org"),
    Accepted(
      input: "Zoë <z@example.org>", displayName: "Zoë", address: "z@example.org",
      headerValue: "=?UTF-8?B?Wm/Dqw==?= <z@example.org>"),
    Accepted(
      input: "\"Doe, Jane\" <j@example.org>", displayName: "Doe, Jane", address: "j@example.org",
      headerValue: "\"Doe, Jane\" <j@example.org>"),
    Accepted(
      input: "Jane Doe <jane.doe@example.org>", displayName: "Jane Doe", address: "jane.doe@example.org",
      headerValue: "Jane Doe <jane.doe@example.org>"),
    Accepted(
      input: "Jane Doe<jane@example.org>", displayName: "Jane Doe", address: "jane@example.org",
      headerValue: "Jane Doe <jane@example.org>"),
    Accepted(
      input: "J. Doe <j@example.org>", displayName: "J. Doe", address: "j@example.org",
      headerValue: "\"J. Doe\" <j@example.org>"),
    Accepted(
      input: #""A \"quoted\" \\ name" <q@example.org>"#, displayName: #"A "quoted" \ name"#,
      address: "q@example.org", headerValue: #""A \"quoted\" \\ name" <q@example.org>"#),
    Accepted(
      input: "\"Jane\" Doe <j@example.org>", displayName: "Jane Doe", address: "j@example.org",
      headerValue: "Jane Doe <j@example.org>"),
    Accepted(
      input: "\"Jane@Home\" <j@example.org>", displayName: "Jane@Home", address: "j@example.org",
      headerValue: "\"Jane@Home\" <j@example.org>"),
    // An ASCII name that a decoder would read as an encoded word is itself encoded (RFC 2047 §5).
    Accepted(
      input: "=?UTF-8?B?Wm/Dqw==?= <z@example.org>", displayName: "=?UTF-8?B?Wm/Dqw==?=",
      address: "z@example.org", headerValue: "=?UTF-8?B?PT9VVEYtOD9CP1dtL0Rxdz09Pz0=?= <z@example.org>"),
    Accepted(
      input: "Jörg Müller <jm@example.de>", displayName: "Jörg Müller", address: "jm@example.de",
      headerValue: "=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <jm@example.de>"),
    Accepted(
      input: "first.last+tag@sub.example.co.uk", address: "first.last+tag@sub.example.co.uk",
      headerValue: "first.last+tag@sub.example.co.uk"),
    Accepted(input: "o'hara@example.org", address: "o'hara@example.org", headerValue: "o'hara@example.org"),
    Accepted(input: "user@[192.0.2.1]", address: "user@[192.0.2.1]", headerValue: "user@[192.0.2.1]"),
    Accepted(
      input: "<user@[IPv6:2001:db8::1]>", address: "user@[IPv6:2001:db8::1]",
      headerValue: "user@[IPv6:2001:db8::1]"),
    Accepted(
      input: "\"odd..local\"@example.org", address: "\"odd..local\"@example.org",
      headerValue: "\"odd..local\"@example.org"),
    Accepted(
      input: "Odd <\"a,b\"@example.org>", displayName: "Odd", address: "\"a,b\"@example.org",
      headerValue: "Odd <\"a,b\"@example.org>"),
    Accepted(
      input: "用户@例子.广告", address: "用户@例子.广告", headerValue: "用户@例子.广告", requiresSMTPUTF8: true),
    Accepted(
      input: "用户 <用户@example.org>", displayName: "用户", address: "用户@example.org",
      headerValue: "=?UTF-8?B?55So5oi3?= <用户@example.org>", requiresSMTPUTF8: true),
    Accepted(
      input: String(repeating: "l", count: 64) + "@example.org",
      address: String(repeating: "l", count: 64) + "@example.org",
      headerValue: String(repeating: "l", count: 64) + "@example.org"),
    // 64 + 1 + 63 + 1 + 63 + 1 + 61 = 254 octets.
    Accepted(
      input: longAddress(lastLabel: 61), address: longAddress(lastLabel: 61),
      headerValue: longAddress(lastLabel: 61)),
  ]

  static func longAddress(lastLabel: Int) -> String {
    String(repeating: "l", count: 64) + "@" + String(repeating: "a", count: 63) + "."
      + String(repeating: "b", count: 63) + "." + String(repeating: "c", count: lastLabel)
  }

  @Test(arguments: accepted)
  func parsesMailbox(_ row: Accepted) throws {
    let mailbox = try Mailbox(parsing: row.input)
    #expect(mailbox.displayName == row.displayName)
    #expect(mailbox.address == row.address)
    #expect(mailbox.headerValue == row.headerValue)
    #expect(mailbox.requiresSMTPUTF8 == row.requiresSMTPUTF8)
  }

  static let refused: [(input: String, reason: String)] = [
    // CR/LF injection into the envelope or the header.
    ("a@example.org\r\nRCPT TO:<x@evil>", "carriage return"),
    ("a@example.org\nRCPT TO:<x@evil>", "line feed"),
    ("Eve <e@example.org>\r\nBcc: x@evil.example", "carriage return"),
    ("Eve\r\n <e@example.org>", "carriage return"),
    ("a@exa\u{0}mple.org", "NUL"),
    ("a@example.org\t", "tab"),
    ("Zoë\u{7F} <z@example.org>", "U+007F"),
    ("\u{1B}[31mred <r@example.org>", "U+001B"),
    ("\u{85}a@example.org", "U+0085"),
    ("a@exa\u{202E}mple.org", "bidirectional"),
    // Issue 7: invisible, format and separator characters make two addresses look alike or break a line.
    ("a@exa\u{200B}mple.org", "invisible character (U+200B)"),
    ("a@example.org\u{2028}", "line separator (U+2028)"),
    ("a@exa\u{2029}mple.org", "paragraph separator (U+2029)"),
    ("a@exa\u{200E}mple.org", "bidirectional control (U+200E)"),
    ("a@exa\u{200F}mple.org", "bidirectional control (U+200F)"),
    ("a@exa\u{061C}mple.org", "bidirectional control (U+061C)"),
    ("a@\u{FEFF}example.org", "invisible character (U+FEFF)"),
    ("a@exam\u{00AD}ple.org", "invisible character (U+00AD)"),
    ("a@exa\u{2060}mple.org", "invisible character (U+2060)"),
    ("a@exa\u{180E}mple.org", "invisible character (U+180E)"),
    ("a@exa\u{3164}mple.org", "invisible character (U+3164)"),
    ("a@exa\u{00A0}mple.org", "space character (U+00A0)"),
    ("a@exa\u{3000}mple.org", "space character (U+3000)"),
    ("a\u{200D}b@example.org", "invisible character (U+200D)"),
    ("Jane <j@b\u{200B}.org>", "invisible character (U+200B)"),
    ("a@exa\u{E000}mple.org", "U+E000, which is not a character a domain name holds"),
    ("", "empty"),
    ("   ", "empty"),
    ("<>", "empty"),
    ("@example.org", "local part"),
    ("Jane <@example.org>", "local part"),
    ("a@", "domain (after '@') is empty"),
    ("example.org", "no '@'"),
    ("a b@example.org", "spaces"),
    ("Jane <a b@example.org>", "spaces"),
    ("\"a b\"@example.org", "spaces"),
    ("\"Jane <j@example.org>", "unbalanced '\"'"),
    ("a\"b@example.org", "unbalanced '\"'"),
    ("Jane <j@example.org", "unbalanced '<'"),
    ("Jane j@example.org>", "unbalanced '>'"),
    ("Jane <j@example.org>>", "unbalanced '>'"),
    ("Jane <j@example.org> x", "text after '>'"),
    ("a@example.org, b@example.org", "one mailbox per flag"),
    ("a@example.org,b@example.org", "one mailbox per flag"),
    ("Doe, Jane <j@example.org>", "one mailbox per flag"),
    ("<a@example.org> <b@example.org>", "more than one '<'"),
    ("team: a@example.org;", "one mailbox per flag"),
    ("a@example.org;", "one mailbox per flag"),
    ("a@b@example.org", "more than one '@'"),
    ("Jane@Home <j@example.org>", "display name contains '@'"),
    ("Jane (work) <j@example.org>", "display name contains '('"),
    ("(comment)a@example.org", "'('"),
    ("a@exa_mple.org", "'_'"),
    ("a@example.org:25", "':'"),
    ("a@-example.org", "'-'"),
    ("a@example-.org", "'-'"),
    ("a@example..org", "empty label"),
    ("a@example.org.", "empty label"),
    ("a@.example.org", "empty label"),
    ("a..b@example.org", "empty atom"),
    (".a@example.org", "empty atom"),
    ("a.@example.org", "empty atom"),
    ("a@[192.0.2.256]", "domain literal"),
    ("a@[192.0.2]", "domain literal"),
    ("a@[192.0.02.1]", "domain literal"),
    ("a@[IPv6:zz::1]", "domain literal"),
    ("a@[IPv6:fe80::1%eth0]", "domain literal"),
    ("a@[tag:foo]", "domain literal"),
    ("a@[192.0.2.1", "closing ']'"),
    ("a@" + String(repeating: "x", count: 64) + ".org", "longer than 63"),
    (String(repeating: "l", count: 65) + "@example.org", "longer than 64 octets"),
    (String(repeating: "ü", count: 33) + "@example.org", "longer than 64 octets"),
    (longAddress(lastLabel: 62), "longer than 254 octets"),
  ]

  @Test(arguments: refused)
  func refusesMailbox(input: String, reason: String) throws {
    let error = try #require(throws: MessageError.self) { try Mailbox(parsing: input) }
    #expect(error.kind == .invalidData)
    #expect(error.message.contains(reason), "\(error.message)")
    // The input is named, escaped: no raw control character reaches the terminal.
    #expect(error.message.contains("invalid mailbox \""))
    let unsafe = error.message.unicodeScalars.filter { scalar in
      scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{202E}"
        || scalar.properties.generalCategory == .format || scalar.properties.isDefaultIgnorableCodePoint
        || [.lineSeparator, .paragraphSeparator].contains(scalar.properties.generalCategory)
    }
    #expect(unsafe.isEmpty)
  }

  @Test func errorQuotesTheInjectedTextEscaped() throws {
    let error = try #require(throws: MessageError.self) {
      try Mailbox(parsing: "a@example.org\r\nRCPT TO:<x@evil>")
    }
    #expect(
      error.message
        == "invalid mailbox \"a@example.org\\u{000D}\\u{000A}RCPT TO:<x@evil>\": it contains a carriage return (U+000D)"
    )
  }

  @Test func partsOfAnAddress() throws {
    let mailbox = try Mailbox(parsing: "Odd <\"a@b\"@example.org>")
    #expect(mailbox.localPart == "\"a@b\"")
    #expect(mailbox.domain == "example.org")
    let literal = try Mailbox(parsing: "user@[IPv6:2001:db8::1]")
    #expect(literal.domain == "[IPv6:2001:db8::1]")
  }

  @Test func buildsFromParts() throws {
    let mailbox = try Mailbox(displayName: "Doe, Jane", address: "j@example.org")
    #expect(mailbox == (try Mailbox(parsing: "\"Doe, Jane\" <j@example.org>")))
    #expect(try Mailbox(displayName: "", address: "j@example.org").displayName == nil)
    #expect(throws: MessageError.self) { try Mailbox(displayName: nil, address: "j@example.org\r\n") }
    #expect(throws: MessageError.self) { try Mailbox(displayName: "Eve\nBcc: x", address: "e@example.org") }
    #expect(throws: MessageError.self) { try Mailbox(displayName: nil, address: "Jane <j@example.org>") }
  }

  /// RFC 5321 §2.4: the domain is case-insensitive, the local part is not. One mailbox spelled twice is one
  /// recipient (one RCPT TO, one encrypted copy), kept as first spelled; two local parts stay two.
  @Test func theEnvelopeComparesTheDomainInAnyCaseAndTheLocalPartExactly() throws {
    let mailboxes = try [
      "Bob@Example.org", "Bob <Bob@example.ORG>", "bob@example.org", "\"B@X\"@EXAMPLE.org",
      "\"B@X\"@example.org",
      "carol@[IPv6:2001:DB8::1]", "carol@[IPv6:2001:db8::1]",
    ].map { try Mailbox(parsing: $0) }
    #expect(
      Mailbox.envelope(mailboxes).map(\.address) == [
        "Bob@Example.org", "bob@example.org", "\"B@X\"@EXAMPLE.org", "carol@[IPv6:2001:DB8::1]",
      ])
    #expect(Mailbox.envelope(mailboxes).first?.displayName == nil, "the first spelling is kept")
    #expect(
      Mailbox.unique(["a@EXAMPLE.org", "a@example.org", "A@example.org"]) == [
        "a@EXAMPLE.org", "A@example.org",
      ])
    #expect(Mailbox.sameAddress("zoë@Example.ORG", "zoë@example.org"))
    #expect(!Mailbox.sameAddress("Zoë@example.org", "zoë@example.org"))
    // IDN: the identity folds only ASCII letters; the comparison takes the A-label the envelope sends, which
    // IDNA lowercases (both go as `a@xn--bcher-kva.example`), and nothing traps.
    #expect(Mailbox.identity(of: "a@BÜCHER.Example") == "a@bÜcher.example")
    #expect(Mailbox.sameAddress("a@bücher.example", "a@BÜCHER.example"))
    #expect(Mailbox.sameAddress("a@Bücher.example", "a@bücher.EXAMPLE"))
    #expect(Mailbox.identity(of: "no-at-sign") == "no-at-sign")
    #expect(Mailbox.identity(of: "x@") == "x@")
  }

  /// Red-team: `--to 'b\u{F6}b@x.org' --to 'bo\u{308}b@x.org'` gave one RCPT TO, because `String` equality is
  /// canonical equivalence. Local parts are compared by their bytes; a domain by its A-label, as the envelope
  /// sends it, so a U-label and its A-label are one mailbox (they were two identical RCPT TO lines).
  @Test func addressesAreComparedByTheirBytesAndDomainsByTheirALabels() throws {
    let composed = "b\u{F6}b@x.org"
    let decomposed = "bo\u{308}b@x.org"
    #expect(composed == decomposed, "Swift calls them equal: the comparison must not")
    #expect(!Mailbox.sameAddress(composed, decomposed))
    #expect(
      Mailbox.unique([composed, decomposed]).map { Array($0.utf8) } == [
        Array(composed.utf8), Array(decomposed.utf8),
      ])
    let mailboxes = try [composed, decomposed].map { try Mailbox(parsing: $0) }
    #expect(Mailbox.envelope(mailboxes).count == 2)
    // The domain: U-label, its A-label, and the decomposed U-label are one mailbox.
    let unicode = "bob@ex\u{E4}mple.org"
    #expect(Mailbox.sameAddress(unicode, "bob@xn--exmple-cua.org"))
    #expect(Mailbox.sameAddress("bob@exa\u{308}mple.org", "bob@XN--EXMPLE-CUA.org"))
    #expect(Mailbox.unique([unicode, "bob@xn--exmple-cua.org", "Bob@xn--exmple-cua.org"]).count == 2)
    // A domain IDNA refuses is compared as written, without a trap.
    let long = "a@" + String(repeating: "\u{E4}", count: 80) + ".org"
    #expect(Mailbox.sameAddress(long, long))
    #expect(!Mailbox.sameAddress(long, "a@x.org"))
  }
}
