import SMTPProtocol
import Testing

/// What a parser produced from a byte stream: replies, then possibly the error that ended it.
enum ParseOutcome: Equatable, CustomStringConvertible {
  case reply(SMTPReply)
  case error(String)

  var description: String {
    switch self {
    case .reply(let reply): return "reply(\(reply.code): \(reply.lines.map(\.escaped)))"
    case .error(let message): return "error(\(message))"
    }
  }
}

/// Feeds `chunks` one at a time, calling `nextReply()` until `nil` after each (as the transport does).
func parse(chunks: [[UInt8]], limits: ReplyLimits = .standard) -> [ParseOutcome] {
  var parser = ReplyParser(limits: limits)
  var outcomes: [ParseOutcome] = []
  for chunk in chunks {
    parser.append(chunk)
    do {
      while let reply = try parser.nextReply() { outcomes.append(.reply(reply)) }
    } catch {
      outcomes.append(.error(error.message))
      return outcomes
    }
  }
  return outcomes
}

/// NIO's ByteToMessageDecoderVerifier idea: the input whole, byte by byte, and split in two at every offset
/// must all give `expected`.
func verifyParser(
  _ input: [UInt8], expected: [ParseOutcome], limits: ReplyLimits = .standard, everySplit: Bool = true,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(parse(chunks: [input], limits: limits) == expected, "whole", sourceLocation: sourceLocation)
  #expect(
    parse(chunks: input.map { [$0] }, limits: limits) == expected, "byte by byte",
    sourceLocation: sourceLocation)
  guard everySplit else { return }
  for offset in 0...input.count {
    let chunks = [Array(input[..<offset]), Array(input[offset...])]
    #expect(
      parse(chunks: chunks, limits: limits) == expected, "split at \(offset)", sourceLocation: sourceLocation)
  }
}

func reply(_ code: Int, _ lines: [String], _ texts: [String]) -> ParseOutcome {
  .reply(
    SMTPReply(code: code, lines: lines.map { UntrustedText($0) }, texts: texts.map { UntrustedText($0) }))
}

@Suite struct ReplyParserTests {
  static let scripts: [(String, [ParseOutcome])] = [
    (
      "220 smtp.example.org ESMTP\r\n",
      [reply(220, ["220 smtp.example.org ESMTP"], ["smtp.example.org ESMTP"])]
    ),
    (
      "250-smtp.example.org\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
      [
        reply(
          250, ["250-smtp.example.org", "250-PIPELINING", "250 STARTTLS"],
          ["smtp.example.org", "PIPELINING", "STARTTLS"])
      ]
    ),
    ("250-a\n250 b\r\n", [reply(250, ["250-a", "250 b"], ["a", "b"])]),
    ("250\r\n", [reply(250, ["250"], [""])]),
    ("250 \r\n", [reply(250, ["250 "], [""])]),
    ("250-\r\n250 x\r\n", [reply(250, ["250-", "250 x"], ["", "x"])]),
    (
      "250 ok\r\n354 go ahead\r\n",
      [reply(250, ["250 ok"], ["ok"]), reply(354, ["354 go ahead"], ["go ahead"])]
    ),
    ("250 a\rb\r\n", [reply(250, ["250 a\rb"], ["a\rb"])]),
    ("250 ok", []),
    ("250-first\r\n", []),
    (
      "250-a\r\n251 b\r\n",
      [.error("multiline reply changes its code from 250 to 251: \"251 b\"")]
    ),
    ("2x0 ok\r\n", [.error("reply line does not start with a 3-digit code: \"2x0 ok\"")]),
    ("ABC\r\n", [.error("reply line does not start with a 3-digit code: \"ABC\"")]),
    ("25\r\n", [.error("reply line does not start with a 3-digit code: \"25\"")]),
    ("\r\n", [.error("reply line does not start with a 3-digit code: \"\"")]),
    ("600 x\r\n", [.error("reply code 600 is out of range: \"600 x\"")]),
    ("199 x\r\n", [.error("reply code 199 is out of range: \"199 x\"")]),
    ("260 x\r\n", [.error("reply code 260 is out of range: \"260 x\"")]),
    ("250x\r\n", [.error("reply code not followed by a space or hyphen: \"250x\"")]),
    (
      "250 ok\r\n999 no\r\n250 never\r\n",
      [reply(250, ["250 ok"], ["ok"]), .error("reply code 999 is out of range: \"999 no\"")]
    ),
    (
      "2\u{1B}[31m\r\n",
      [.error("reply line does not start with a 3-digit code: \"2\\u{001B}[31m\"")]
    ),
  ]

  @Test(arguments: scripts)
  func scriptedStream(input: String, expected: [ParseOutcome]) {
    verifyParser(Array(input.utf8), expected: expected)
  }

  @Test func invalidUTF8AndControlsAreEscapedInErrors() throws {
    let outcome = parse(chunks: [[0x32, 0xFF, 0x30, 0x07, 0x0D, 0x0A]])
    #expect(outcome == [.error("reply line does not start with a 3-digit code: \"2\\xFF0\\u{0007}\"")])
  }

  @Test func errorExcerptIsAtMost40Characters() throws {
    let line = "25" + String(repeating: "\u{7}", count: 300) + "\r\n"
    let outcome = parse(chunks: [Array(line.utf8)])
    guard case .error(let message) = try #require(outcome.first) else {
      Issue.record("expected an error, got \(outcome)")
      return
    }
    let quoted = try #require(
      message.split(separator: "\"", omittingEmptySubsequences: false).dropFirst().first)
    #expect(quoted.count <= 40)
    #expect(quoted.hasSuffix("…"))
    #expect(!message.contains("\u{7}"))
  }

  @Test func errorsAreFinal() {
    var parser = ReplyParser()
    parser.append(Array("xyz\r\n250 ok\r\n".utf8))
    #expect(throws: SMTPProtocolError.self) { try parser.nextReply() }
    #expect(throws: SMTPProtocolError.self) { try parser.nextReply() }
  }

  // MARK: Limits (DESIGN §3.7)

  @Test func lineOfExactly2048OctetsIsAccepted() {
    let text = String(repeating: "a", count: 2048 - 6)
    verifyParser(
      Array("250 \(text)\r\n".utf8), expected: [reply(250, ["250 " + text], [text])], everySplit: false)
    let bareLF = String(repeating: "b", count: 2048 - 5)
    verifyParser(
      Array("250 \(bareLF)\n".utf8), expected: [reply(250, ["250 " + bareLF], [bareLF])], everySplit: false)
  }

  @Test func lineOf2049OctetsIsRejected() {
    let text = String(repeating: "a", count: 2049 - 6)
    let expected: [ParseOutcome] = [
      .error("reply line longer than 2048 octets: \"250 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…\"")
    ]
    verifyParser(Array("250 \(text)\r\n".utf8), expected: expected, everySplit: false)
  }

  @Test func overlongLineIsRejectedBeforeItsLineEnding() throws {
    // The transport appends at most 4096 bytes at a time; the parser must fail on the first such chunk.
    var parser = ReplyParser()
    let endless = Array("250 ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 100_000)
    var appended = 0
    var failed = false
    while appended < endless.count, !failed {
      let chunk = endless[appended..<min(appended + 4096, endless.count)]
      parser.append(chunk)
      appended += chunk.count
      do {
        _ = try parser.nextReply()
      } catch {
        failed = true
      }
    }
    #expect(failed)
    #expect(appended <= 2049 + 4096)
    #expect(parser.bufferedByteCount <= 2049 + 4096)
  }

  @Test func overlongLineFedByteByByteFailsAtTheFirstImpossibleByte() throws {
    var parser = ReplyParser()
    var failedAt: Int?
    for (index, byte) in (Array("250 ".utf8) + [UInt8](repeating: 0x61, count: 5000)).enumerated() {
      parser.append([byte])
      do {
        _ = try parser.nextReply()
      } catch {
        failedAt = index + 1
        break
      }
    }
    // 2048 octets without a line ending cannot become a line of at most 2048 octets.
    #expect(failedAt == 2048)
    #expect(parser.bufferedByteCount == 2048)
  }

  @Test func hundredLinesAreAcceptedButNot101() {
    let hundred = String(repeating: "250-x\r\n", count: 99) + "250 x\r\n"
    let lines = Array(repeating: "250-x", count: 99) + ["250 x"]
    verifyParser(
      Array(hundred.utf8), expected: [reply(250, lines, Array(repeating: "x", count: 100))], everySplit: false
    )

    let hundredOne = String(repeating: "250-x\r\n", count: 100) + "250 x\r\n"
    verifyParser(
      Array(hundredOne.utf8), expected: [.error("reply has more than 100 lines")], everySplit: false)
  }

  @Test func replyOver64KiBIsRejected() {
    // 40 lines of 1,700 octets: 68,000 octets in 40 lines.
    let text = String(repeating: "y", count: 1700 - 6)
    let stream = String(repeating: "250-\(text)\r\n", count: 39) + "250 \(text)\r\n"
    verifyParser(
      Array(stream.utf8), expected: [.error("reply longer than 65536 octets")], everySplit: false)

    // 38 such lines (64,600 octets) are fine.
    let fits = String(repeating: "250-\(text)\r\n", count: 37) + "250 \(text)\r\n"
    let outcome = parse(chunks: [Array(fits.utf8)])
    #expect(outcome.count == 1)
    if case .reply(let reply) = outcome.first {
      #expect(reply.lines.count == 38)
    } else {
      Issue.record("expected a reply, got \(outcome)")
    }
  }

  @Test func customLimitsApply() {
    let limits = ReplyLimits(lineOctets: 10, lines: 2, replyOctets: 16)
    verifyParser(
      Array("250 12345\r\n".utf8),
      expected: [.error("reply line longer than 10 octets: \"250 12345\\u{000D}\"")],
      limits: limits)
    verifyParser(
      Array("250 1234567\r\n".utf8), expected: [.error("reply line longer than 10 octets: \"250 123456\"")],
      limits: limits)
    verifyParser(
      Array("250-1\r\n250-2\r\n250 3\r\n".utf8), expected: [.error("reply has more than 2 lines")],
      limits: limits)
    verifyParser(
      Array("250-123\r\n250 456\r\n".utf8), expected: [.error("reply longer than 16 octets")], limits: limits)
    verifyParser(
      Array("250-12\r\n250 45\r\n".utf8), expected: [reply(250, ["250-12", "250 45"], ["12", "45"])],
      limits: limits)
  }

  // MARK: Injection check (DESIGN §3.3)

  @Test func bufferedByteCountCountsBytesAfterAReturnedReply() throws {
    var parser = ReplyParser()
    parser.append(Array("220 2.0.0 Ready to start TLS\r\n250 injected\r\n".utf8))
    let ready = try #require(try parser.nextReply())
    #expect(ready.code == 220)
    #expect(parser.bufferedByteCount == 14)

    var partial = ReplyParser()
    partial.append(Array("220 go\r\nEHLO".utf8))
    #expect(try partial.nextReply()?.code == 220)
    #expect(try partial.nextReply() == nil)
    #expect(partial.bufferedByteCount == 4)

    var clean = ReplyParser()
    clean.append(Array("220 go\r\n".utf8))
    #expect(try clean.nextReply()?.code == 220)
    #expect(clean.bufferedByteCount == 0)
  }

  @Test func bufferedByteCountIncludesCompleteLinesOfAnUnfinishedReply() throws {
    var parser = ReplyParser()
    parser.append(Array("250-a\r\n250".utf8))
    #expect(try parser.nextReply() == nil)
    #expect(parser.bufferedByteCount == 10)
  }

  // MARK: SMTPReply

  @Test(
    arguments: [
      ("250 2.0.0 Ok", 250, "2.0.0"),
      ("550 5.1.1 <x@y>: unknown", 550, "5.1.1"),
      ("451 4.7.123 later", 451, "4.7.123"),
      ("250 2.0.0", 250, "2.0.0"),
      ("250 5.0.0 class mismatch", 250, nil),
      ("250 2.0.0000 too long", 250, nil),
      ("250 2..0 empty", 250, nil),
      ("250 2.0.0x", 250, nil),
      ("250 Ok", 250, nil),
      ("250", 250, nil),
    ] as [(String, Int, String?)])
  func enhancedStatus(line: String, code: Int, expected: String?) throws {
    var parser = ReplyParser()
    parser.append(Array((line + "\r\n").utf8))
    let reply = try #require(try parser.nextReply())
    #expect(reply.code == code)
    #expect(reply.enhancedStatus == expected)
  }

  @Test(arguments: [
    (220, true, false, false, false), (354, false, true, false, false), (421, false, false, true, false),
    (554, false, false, false, true),
  ])
  func classes(code: Int, positive: Bool, intermediate: Bool, transient: Bool, permanent: Bool) {
    let reply = SMTPReply(code: code, texts: ["x"])
    #expect(reply.isPositive == positive)
    #expect(reply.isIntermediate == intermediate)
    #expect(reply.isTransient == transient)
    #expect(reply.isPermanent == permanent)
  }

  @Test func replyFromTextsLooksLikeTheWire() {
    let reply = SMTPReply(code: 250, texts: ["example.org", "PIPELINING"])
    #expect(reply.lines.map(\.escaped) == ["250-example.org", "250 PIPELINING"])
    #expect(SMTPReply(code: 250, texts: []).lines.map(\.escaped) == ["250"])
  }
}
