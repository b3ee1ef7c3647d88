import SMTPProtocol
import Testing

@Suite struct SMTPCommandTests {
  static let wireForms: [(SMTPCommand, String, String)] = [
    (.ehlo("[192.0.2.7]"), "EHLO [192.0.2.7]\r\n", "EHLO [192.0.2.7]"),
    (.helo("client.example.org"), "HELO client.example.org\r\n", "HELO client.example.org"),
    (.startTLS, "STARTTLS\r\n", "STARTTLS"),
    (
      .auth(mechanism: "PLAIN", initialResponse: Secret("AGFsaWNlAHNlY3JldA==")),
      "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "AUTH PLAIN <redacted>"
    ),
    (.auth(mechanism: "PLAIN", initialResponse: Secret("")), "AUTH PLAIN =\r\n", "AUTH PLAIN <redacted>"),
    (.auth(mechanism: "LOGIN", initialResponse: nil), "AUTH LOGIN\r\n", "AUTH LOGIN"),
    (.saslResponse(Secret("YWxpY2U=")), "YWxpY2U=\r\n", "<redacted>"),
    (.saslResponse(Secret("")), "\r\n", "<redacted>"),
    (.mail(reversePath: "a@b", parameters: []), "MAIL FROM:<a@b>\r\n", "MAIL FROM:<a@b>"),
    (
      .mail(reversePath: "a@b", parameters: ["BODY=8BITMIME", "SIZE=1873"]),
      "MAIL FROM:<a@b> BODY=8BITMIME SIZE=1873\r\n", "MAIL FROM:<a@b> BODY=8BITMIME SIZE=1873"
    ),
    (.mail(reversePath: "", parameters: []), "MAIL FROM:<>\r\n", "MAIL FROM:<>"),
    (
      .mail(reversePath: "zoë@example.org", parameters: ["SMTPUTF8"]),
      "MAIL FROM:<zoë@example.org> SMTPUTF8\r\n",
      "MAIL FROM:<zoë@example.org> SMTPUTF8"
    ),
    (.rcpt(forwardPath: "c@d", parameters: []), "RCPT TO:<c@d>\r\n", "RCPT TO:<c@d>"),
    (
      .rcpt(forwardPath: "c@d", parameters: ["NOTIFY=NEVER"]), "RCPT TO:<c@d> NOTIFY=NEVER\r\n",
      "RCPT TO:<c@d> NOTIFY=NEVER"
    ),
    (.data, "DATA\r\n", "DATA"),
    (.rset, "RSET\r\n", "RSET"),
    (.noop, "NOOP\r\n", "NOOP"),
    (.quit, "QUIT\r\n", "QUIT"),
  ]

  @Test(arguments: wireForms)
  func wireBytes(command: SMTPCommand, wire: String, transcript: String) throws {
    #expect(try command.encoded(utf8Paths: !wire.utf8.allSatisfy { $0 < 0x80 }) == Array(wire.utf8))
    #expect(command.transcriptText == transcript)
    #expect("\(command)" == transcript)
  }

  /// Issue 8: a UTF-8 envelope needs a session that uses SMTPUTF8; no caller can send one by mistake.
  @Test(arguments: [
    SMTPCommand.mail(reversePath: "zoë@example.org", parameters: []),
    .rcpt(forwardPath: "用户@例子.广告", parameters: []),
    .mail(reversePath: "a@b", parameters: ["X=é"]),
    .ehlo("é.example"),
  ])
  func eightBitIsRefusedWithoutSMTPUTF8(command: SMTPCommand) {
    #expect(throws: SMTPCommandError.self) { try command.encoded() }
  }

  @Test func utf8PathsOnlyForAddresses() throws {
    #expect(throws: SMTPCommandError.self) { try SMTPCommand.ehlo("é.example").encoded(utf8Paths: true) }
    #expect(
      try SMTPCommand.rcpt(forwardPath: "用户@例子.广告", parameters: []).encoded(utf8Paths: true)
        == Array("RCPT TO:<用户@例子.广告>\r\n".utf8))
  }

  static let injections: [String] = ["\r", "\n", "\0", "\r\nRCPT TO:<evil@x>", "\t", "\u{7F}", "\u{1B}"]

  static func commands(carrying bad: String) -> [SMTPCommand] {
    [
      .ehlo("client\(bad)example"),
      .helo("client\(bad)example"),
      .auth(mechanism: "PLAIN\(bad)", initialResponse: nil),
      .auth(mechanism: "PLAIN", initialResponse: Secret("AGFs\(bad)aWNl")),
      .saslResponse(Secret("YWxp\(bad)Y2U=")),
      .mail(reversePath: "a\(bad)@b", parameters: []),
      .mail(reversePath: "a@b", parameters: ["BODY=8BITMIME\(bad)"]),
      .mail(reversePath: "a@b", parameters: ["SIZE=1", "X\(bad)"]),
      .rcpt(forwardPath: "c@d\(bad)", parameters: []),
      .rcpt(forwardPath: "c@d", parameters: ["NOTIFY=\(bad)NEVER"]),
    ]
  }

  @Test(arguments: injections)
  func controlCharactersAreRejectedInEveryArgument(bad: String) {
    for command in Self.commands(carrying: bad) {
      #expect(throws: SMTPCommandError.self, "\(command)") { try command.encoded() }
    }
  }

  @Test(arguments: [
    SMTPCommand.ehlo(""), .ehlo("two words"), .helo("a b"),
    .mail(reversePath: "<a@b>", parameters: []), .mail(reversePath: "a@b> X", parameters: []),
    .mail(reversePath: "a b@c", parameters: []), .mail(reversePath: "a@b", parameters: ["A B"]),
    .mail(reversePath: "a@b", parameters: [""]), .rcpt(forwardPath: "", parameters: []),
    .rcpt(forwardPath: "c@d>", parameters: []), .rcpt(forwardPath: "<c@d", parameters: []),
    .rcpt(forwardPath: "c@d", parameters: ["X Y"]), .auth(mechanism: "", initialResponse: nil),
    .auth(mechanism: "PLAIN X", initialResponse: nil),
    .auth(mechanism: "PLAIN", initialResponse: Secret("a b")),
    .saslResponse(Secret("a b")),
  ])
  func malformedArgumentsAreRejected(command: SMTPCommand) {
    #expect(throws: SMTPCommandError.self) { try command.encoded() }
  }

  @Test func lineLengthLimits() throws {
    // "RCPT TO:<" + 500 + ">" + CRLF = 512 octets: the limit (RFC 5321 §4.5.3.1.4).
    let longest = String(repeating: "x", count: 500)
    #expect(try SMTPCommand.rcpt(forwardPath: longest, parameters: []).encoded().count == 512)
    #expect(throws: SMTPCommandError.self) {
      try SMTPCommand.rcpt(forwardPath: longest + "x", parameters: []).encoded()
    }
    #expect(throws: SMTPCommandError.self) {
      try SMTPCommand.ehlo(String(repeating: "h", count: 508)).encoded()
    }
    // AUTH lines may be up to 12,288 octets: "AUTH PLAIN " + 12275 + CRLF.
    let blob = String(repeating: "A", count: 12_275)
    #expect(try SMTPCommand.auth(mechanism: "PLAIN", initialResponse: Secret(blob)).encoded().count == 12_288)
    #expect(throws: SMTPCommandError.self) {
      try SMTPCommand.auth(mechanism: "PLAIN", initialResponse: Secret(blob + "A")).encoded()
    }
    #expect(
      try SMTPCommand.saslResponse(Secret(String(repeating: "B", count: 12_286))).encoded().count == 12_288)
    #expect(throws: SMTPCommandError.self) {
      try SMTPCommand.saslResponse(Secret(String(repeating: "B", count: 12_287))).encoded()
    }
  }

  @Test func errorsDoNotQuoteSecrets() {
    let secret = Secret("c2Vj\rcmV0")
    do {
      _ = try SMTPCommand.saslResponse(secret).encoded()
      Issue.record("expected an error")
    } catch {
      #expect(!error.message.contains("c2Vj"))
      #expect(!error.message.contains("cmV0"))
    }
  }

  @Test func errorsEscapeTheArgument() {
    do {
      _ = try SMTPCommand.mail(reversePath: "a@b\r\nRSET", parameters: []).encoded()
      Issue.record("expected an error")
    } catch {
      #expect(!error.message.contains("\r"))
      #expect(!error.message.contains("\n"))
      #expect(error.message.contains("\\u{000D}"))
    }
  }

  @Test func transcriptTextEscapesControls() {
    #expect(SMTPCommand.ehlo("a\u{1B}b").transcriptText == "EHLO a\\u{001B}b")
  }
}

@Suite struct SecretTests {
  static let password = "hunter2-\u{E9}t\u{E9}"

  @Test func neverShowsItsBytes() {
    let secret = Secret(Self.password)
    var dumped = ""
    dump(secret, to: &dumped)
    let renderings = [
      String(describing: secret), "\(secret)", String(reflecting: secret), dumped,
      String(describing: Optional(secret)), "\([secret])", String(reflecting: [secret]),
    ]
    for rendering in renderings {
      #expect(!rendering.contains("hunter2"), "\(rendering)")
      #expect(rendering.contains("<redacted>"), "\(rendering)")
    }
    #expect(Mirror(reflecting: secret).children.isEmpty)
    #expect(secret.bytes == Array(Self.password.utf8))
  }

  @Test func commandsCarryingSecretsNeverShowThem() {
    let commands: [SMTPCommand] = [
      .auth(mechanism: "PLAIN", initialResponse: Secret("AGFsaWNlAHNlY3JldA==")),
      .saslResponse(Secret("AGFsaWNlAHNlY3JldA==")),
    ]
    for command in commands {
      var dumped = ""
      dump(command, to: &dumped)
      for rendering in [String(describing: command), String(reflecting: command), dumped, "\([command])"] {
        #expect(!rendering.contains("AGFsaWNl"), "\(rendering)")
      }
    }
  }
}

@Suite struct SASLTests {
  @Test func plainInitialResponse() throws {
    #expect(
      try SASL.plainInitialResponse(user: "alice", password: Secret("secret")).bytes
        == Array("AGFsaWNlAHNlY3JldA==".utf8))
    #expect(
      try SASL.plainInitialResponse(user: "user@example.org", password: Secret("päss w0rd")).bytes
        == Array("AHVzZXJAZXhhbXBsZS5vcmcAcMOkc3MgdzByZA==".utf8))
  }

  @Test func nulInCredentialsIsRejected() {
    #expect(throws: SMTPCommandError.self) {
      try SASL.plainInitialResponse(user: "ali\0ce", password: Secret("secret"))
    }
    #expect(throws: SMTPCommandError.self) {
      try SASL.plainInitialResponse(user: "alice", password: Secret("sec\0ret"))
    }
    #expect(throws: SMTPCommandError.self) { try SASL.loginResponses(user: "a\0", password: Secret("x")) }
    #expect(throws: SMTPCommandError.self) { try SASL.loginResponses(user: "a", password: Secret([0x00])) }
  }

  /// Issue 7: a 64 KiB password was reported as "command line is 87405 octets". The error says which secret is
  /// too long and the limit, never any part of it.
  @Test func tooLongCredentialsSayWhichAndTheLimitWithoutTheSecret() throws {
    let password = Secret(Array(String(repeating: "Hunter2", count: 65536 / 7).utf8))
    let expected =
      "the password is too long: with the user name it may hold at most 9202 octets (9197 for the password), "
      + "to fit an AUTH line (RFC 4954 §4)"
    let plain = try #require(throws: SMTPCommandError.self) {
      try SASL.plainInitialResponse(user: "alice", password: password)
    }
    #expect(plain.message == expected)
    let login = try #require(throws: SMTPCommandError.self) {
      try SASL.loginResponses(user: "alice", password: password)
    }
    #expect(login.message == expected)
    #expect(!plain.message.contains("Hunter"))
    let user = String(repeating: "u", count: 9203)
    let error = try #require(throws: SMTPCommandError.self) {
      try SASL.plainInitialResponse(user: user, password: Secret("x"))
    }
    #expect(error.message == "the user name is too long: at most 9202 octets fit an AUTH line (RFC 4954 §4)")
  }

  /// The limit is exact: the longest credentials accepted make an AUTH PLAIN line of at most 12,288 octets.
  @Test func theLongestCredentialsFitTheAuthLine() throws {
    let user = "alice"
    let longest = Secret(
      Array(repeating: UInt8(ascii: "p"), count: SASL.maximumCredentialOctets - user.utf8.count))
    let response = try SASL.plainInitialResponse(user: user, password: longest)
    let line = try SMTPCommand.auth(mechanism: "PLAIN", initialResponse: response).encoded()
    #expect(line.count <= SMTPCommand.maximumAuthLineOctets)
    #expect(line.count > SMTPCommand.maximumAuthLineOctets - 4)
    let login = try SASL.loginResponses(user: user, password: longest)
    #expect(try SMTPCommand.saslResponse(login.password).encoded().count <= SMTPCommand.maximumAuthLineOctets)
    #expect(throws: SMTPCommandError.self) {
      try SASL.plainInitialResponse(user: user, password: Secret(longest.bytes + [UInt8(ascii: "p")]))
    }
  }

  @Test func loginResponses() throws {
    let responses = try SASL.loginResponses(user: "alice", password: Secret("secret"))
    #expect(responses.user.bytes == Array("YWxpY2U=".utf8))
    #expect(responses.password.bytes == Array("c2VjcmV0".utf8))
  }

  @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg==")])
  func base64RoundTrip(plain: String, encoded: String) {
    #expect(SASL.base64(Array(plain.utf8)) == Array(encoded.utf8))
    #expect(SASL.base64Decode(Array(encoded.utf8)) == Array(plain.utf8))
  }

  @Test func base64OfEveryByte() {
    let all = (0...255).map { UInt8($0) }
    #expect(SASL.base64Decode(SASL.base64(all)) == all)
    #expect(
      SASL.base64([0xFB, 0xFF, 0xBF]) == Array("+/+/".utf8))
  }

  @Test(arguments: ["Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zg==Zg==", "Zm 9", "Zm9v\r\n", "Zm-v", "=Zm9"])
  func base64DecodeRejects(text: String) {
    #expect(SASL.base64Decode(Array(text.utf8)) == nil)
  }
}
