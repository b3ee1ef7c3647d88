import SMTPProtocol
import Testing

/// Parses `wire` (a whole reply, CRLF-terminated lines) with the real parser.
func parsedReply(_ wire: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> SMTPReply {
  var parser = ReplyParser()
  parser.append(Array(wire.utf8))
  let reply = try #require(try parser.nextReply(), sourceLocation: sourceLocation)
  #expect(parser.bufferedByteCount == 0, "one reply per script step", sourceLocation: sourceLocation)
  return reply
}

@Suite struct CapabilitiesTests {
  @Test func typicalSubmissionServer() throws {
    let reply = try parsedReply(
      "250-smtp.example.org Hello [192.0.2.7]\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n"
        + "250-AUTH LOGIN PLAIN XOAUTH2\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n"
        + "250 SMTPUTF8\r\n")
    let capabilities = Capabilities(ehloReply: reply)
    #expect(capabilities.greeting == UntrustedText("smtp.example.org Hello [192.0.2.7]"))
    #expect(capabilities.size == 35_882_577)
    #expect(capabilities.sizeExtension)
    #expect(capabilities.eightBitMIME)
    #expect(capabilities.authMechanisms == ["LOGIN", "PLAIN", "XOAUTH2"])
    #expect(capabilities.enhancedStatusCodes)
    #expect(capabilities.pipelining)
    #expect(capabilities.chunking)
    #expect(capabilities.smtpUTF8)
    #expect(!capabilities.startTLS)
    #expect(!capabilities.dsn)
    #expect(!capabilities.requireTLS)
    #expect(
      capabilities.keywords == [
        "SIZE": ["35882577"], "8BITMIME": [], "AUTH": ["LOGIN", "PLAIN", "XOAUTH2"],
        "ENHANCEDSTATUSCODES": [],
        "PIPELINING": [], "CHUNKING": [], "SMTPUTF8": [],
      ])
  }

  @Test func keywordsAreCaseInsensitive() throws {
    let reply = try parsedReply(
      "250-mx\r\n250-starttls\r\n250-Pipelining\r\n250-auth plain login\r\n250-dsn\r\n250 RequireTLS\r\n")
    let capabilities = Capabilities(ehloReply: reply)
    #expect(capabilities.startTLS)
    #expect(capabilities.pipelining)
    #expect(capabilities.authMechanisms == ["PLAIN", "LOGIN"])
    #expect(capabilities.dsn)
    #expect(capabilities.requireTLS)
    #expect(capabilities.has("StartTLS"))
  }

  @Test func oldAuthFormIsMerged() throws {
    let reply = try parsedReply("250-mx\r\n250-AUTH=LOGIN PLAIN\r\n250-AUTH PLAIN CRAM-MD5\r\n250 OK\r\n")
    #expect(Capabilities(ehloReply: reply).authMechanisms == ["LOGIN", "PLAIN", "CRAM-MD5"])

    let onlyOld = try parsedReply("250-mx\r\n250 auth=login\r\n")
    #expect(Capabilities(ehloReply: onlyOld).authMechanisms == ["LOGIN"])
  }

  @Test func greetingLineIsNotAKeyword() throws {
    // A server named STARTTLS does not offer STARTTLS.
    let reply = try parsedReply("250-STARTTLS\r\n250 PIPELINING\r\n")
    let capabilities = Capabilities(ehloReply: reply)
    #expect(!capabilities.startTLS)
    #expect(capabilities.pipelining)
    #expect(!Capabilities(ehloReply: try parsedReply("250 STARTTLS\r\n")).startTLS)
  }

  @Test func invalidKeywordLinesAreIgnored() throws {
    let reply = try parsedReply("250-mx\r\n250-\u{1B}[2JSTARTTLS\r\n250--X\r\n250-\r\n250 8BITMIME\r\n")
    #expect(Capabilities(ehloReply: reply).keywords == ["8BITMIME": []])
  }

  @Test(
    arguments: [
      ("250-mx\r\n250 SIZE 1000\r\n", 1000, true),
      ("250-mx\r\n250 SIZE\r\n", nil, true),
      ("250-mx\r\n250 SIZE 0\r\n", nil, true),
      ("250-mx\r\n250 SIZE -5\r\n", nil, true),
      ("250-mx\r\n250 SIZE 12abc\r\n", nil, true),
      ("250-mx\r\n250 SIZE 99999999999999999999999\r\n", nil, true),
      ("250-mx\r\n250 size 52428800\r\n", 52_428_800, true),
      ("250-mx\r\n250 8BITMIME\r\n", nil, false),
    ] as [(String, Int?, Bool)])
  func size(wire: String, expected: Int?, advertised: Bool) throws {
    let capabilities = Capabilities(ehloReply: try parsedReply(wire))
    #expect(capabilities.size == expected)
    #expect(capabilities.sizeExtension == advertised)
  }

  @Test func noneHasNothing() {
    #expect(Capabilities.none.keywords.isEmpty)
    #expect(!Capabilities.none.startTLS)
    #expect(Capabilities.none.authMechanisms.isEmpty)
    #expect(Capabilities.none.size == nil)
  }
}
