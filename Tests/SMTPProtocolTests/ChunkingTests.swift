import SMTPProtocol
import Testing

// CHUNKING/BDAT (RFC 3030), DSN (RFC 3461) and REQUIRETLS (RFC 8689) conversations, written by hand. The
// message is `message` of SMTPClientTests; as BDAT content (no dot-stuffing, CRLF kept) it is these 22 octets.
let chunkedMessageWire = "Subject: t\r\n\r\n.hi\r\n.\r\n"

private let greeting = "220 mx.example.net ESMTP\r\n"
private let chunkingEHLO = "250-mx.example.net\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 AUTH PLAIN\r\n"
private let authPlain = SMTPClient.Action.send([.auth(mechanism: "PLAIN", initialResponse: plainIR)])
private let envelopeWire =
  "EHLO client.example\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<alice@example.org>\r\n"

private func dsnConfiguration(
  _ dsn: DSNRequest?, recipients: [String] = ["bob@example.net"], requireTLS: Bool = false,
  security: TransportSecurity = .implicitTLS
) -> SMTPClientConfiguration {
  var result = configuration(security, authentication: alice, recipients: recipients)
  result.dsn = dsn
  result.requireTLS = requireTLS
  return result
}

@Suite struct ChunkingTests {
  // MARK: BDAT

  @Test func oneRecipientGoesInOneWriteWithTheChunkAndQuit() throws {
    let final = reply(250, "2.0.0 Ok: 22 octets queued")
    let (_, wire) = try converse(
      configuration(authentication: alice),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 2.7.0 ok\r\n"), .sendChunks(prefix: [mail, bob])),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("250 2.0.0 Ok: 22 octets queued\r\n"), delivered(final, then: .close)),
      ])
    #expect(
      wire
        == envelopeWire + "RCPT TO:<bob@example.net>\r\nBDAT 22 LAST\r\n" + chunkedMessageWire + "QUIT\r\n")
  }

  @Test func oneRecipientByteByByteAndSplitAnywhere() throws {
    try verifyConversation(
      configuration(authentication: alice),
      plaintext: greeting + chunkingEHLO + "235 ok\r\n250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n",
      expected: [
        .readReply, ehlo, authPlain, .sendChunks(prefix: [mail, bob]), .readReply, .readReply,
        delivered(reply(250, "2.0.0 queued"), then: .close),
      ])
  }

  @Test func withoutPipeliningDataIsKept() throws {
    let (_, wire) = try converse(
      configuration(authentication: alice),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply("250-mx.example.net\r\n250-CHUNKING\r\n250 AUTH PLAIN\r\n"), authPlain),
        (.reply("235 ok\r\n"), .send([mail])),
        (.reply("250 ok\r\n"), .send([bob])),
        (.reply("250 ok\r\n"), .send([.data])),
        (.reply("354 go\r\n"), .sendData(thenQuit: false)),
        (.reply("250 queued\r\n"), delivered(reply(250, "queued"), then: .quit)),
      ])
    #expect(!wire.contains("BDAT"))
    #expect(wire.hasSuffix("DATA\r\n" + messageWire + "QUIT\r\n"))
  }

  @Test func severalRecipientsWaitForEveryRcptReplyBeforeTheChunks() throws {
    let (_, wire) = try converse(
      configuration(authentication: alice, recipients: ["bob@example.net", "carol@example.net"]),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 ok\r\n"), .send([mail, bob, carol])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("251 ok, forwarding\r\n"), .sendChunks(prefix: [])),
        (.reply("250 2.0.0 queued\r\n"), delivered(reply(250, "2.0.0 queued"), then: .close)),
      ])
    #expect(
      wire
        == envelopeWire + "RCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\n"
        + "BDAT 22 LAST\r\n" + chunkedMessageWire + "QUIT\r\n")
  }

  @Test func aRefusedRecipientOfSeveralMeansNoChunkAtAll() throws {
    let refusal = reply(550, "5.1.1 no such user")
    let (_, wire) = try converse(
      configuration(authentication: alice, recipients: ["bob@example.net", "carol@example.net"]),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 ok\r\n"), .send([mail, bob, carol])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (
          .reply("550 5.1.1 no such user\r\n"),
          failed(
            .recipientsRefused([RefusedRecipient(address: "carol@example.net", reply: refusal)]), at: .rcpt,
            then: .quit)
        ),
      ])
    #expect(!wire.contains("BDAT"))
    #expect(wire.hasSuffix("RCPT TO:<carol@example.net>\r\nQUIT\r\n"))
  }

  @Test func aRefusedSingleRecipientIsReportedAfterTheChunkReply() throws {
    let refusal = reply(550, "5.1.1 no such user")
    try converse(
      configuration(authentication: alice),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 ok\r\n"), .sendChunks(prefix: [mail, bob])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("550 5.1.1 no such user\r\n"), .readReply),
        (
          .reply("554 5.5.1 no valid recipients\r\n"),
          failed(
            .recipientsRefused([RefusedRecipient(address: "bob@example.net", reply: refusal)]), at: .rcpt,
            then: .close)
        ),
      ])
  }

  @Test func aRefusedMailIsReportedAfterTheOtherReplies() throws {
    try converse(
      configuration(authentication: alice),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 ok\r\n"), .sendChunks(prefix: [mail, bob])),
        (.reply("553 5.7.1 sender rejected\r\n"), .readReply),
        (.reply("503 5.5.1 need MAIL\r\n"), .readReply),
        (
          .reply("503 5.5.1 need MAIL\r\n"),
          failed(.rejected(reply(553, "5.7.1 sender rejected")), at: .mail, then: .close)
        ),
      ])
  }

  @Test func chunksAreSentAndEachGetsItsReply() throws {
    let (_, wire) = try converse(
      configuration(authentication: alice), chunks: 3,
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 ok\r\n"), .sendChunks(prefix: [mail, bob])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 2.0.0 7 octets\r\n"), .readReply),
        (.reply("250 2.0.0 7 octets\r\n"), .readReply),
        (.reply("250 2.0.0 queued\r\n"), delivered(reply(250, "2.0.0 queued"), then: .close)),
      ])
    #expect(
      wire.hasSuffix(
        "BDAT 7\r\nSubjectBDAT 7\r\n: t\r\n\r\nBDAT 8 LAST\r\n.hi\r\n.\r\nQUIT\r\n"))
  }

  @Test func aFailedChunkBeforeTheLastMeansNothingWasDelivered() throws {
    try converse(
      configuration(authentication: alice), chunks: 2,
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 ok\r\n"), .sendChunks(prefix: [mail, bob])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("452 4.3.1 insufficient storage\r\n"), .readReply),
        (
          .reply("503 5.5.1 transaction failed\r\n"),
          failed(.rejected(reply(452, "4.3.1 insufficient storage")), at: .bdat, then: .close)
        ),
      ])
  }

  @Test func aFailedChunkFollowedBySuccessIsAProtocolViolation() throws {
    let (client, _) = try converse(
      configuration(authentication: alice), chunks: 2,
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 ok\r\n"), .sendChunks(prefix: [mail, bob])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("554 5.6.0 bad chunk\r\n"), .readReply),
        (
          .reply("250 2.0.0 queued\r\n"),
          failed(.unexpectedReply(reply(250, "2.0.0 queued")), at: .dataEnd, then: .close)
        ),
      ])
    #expect(client.stage == .dataEnd)
  }

  @Test(arguments: [
    ("554 5.7.1 spam\r\n", failed(.rejected(reply(554, "5.7.1 spam")), at: .dataEnd, then: .close)),
    ("451 4.3.0 later\r\n", failed(.rejected(reply(451, "4.3.0 later")), at: .dataEnd, then: .close)),
    ("354 what\r\n", failed(.unexpectedReply(reply(354, "what")), at: .dataEnd, then: .close)),
  ])
  func theLastChunkReplyIsTheFinalReply(text: String, expected: SMTPClient.Action) throws {
    try converse(
      configuration(authentication: alice),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 ok\r\n"), .sendChunks(prefix: [mail, bob])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply(text), expected),
      ])
  }

  @Test func anOddChunkReplyEndsAtOnce() throws {
    try converse(
      configuration(authentication: alice), chunks: 2,
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 ok\r\n"), .sendChunks(prefix: [mail, bob])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("354 go on\r\n"), failed(.unexpectedReply(reply(354, "go on")), at: .bdat, then: .close)),
      ])
  }

  // MARK: DSN

  @Test func dsnParametersGoWithMailAndEachRcpt() throws {
    let dsn = DSNRequest(
      notify: .on([.failure, .success]), returnContent: .headers, envelopeID: "<a+b=c d@x>")
    let (_, wire) = try converse(
      dsnConfiguration(dsn, recipients: ["bob@example.net", "carol@example.net"]),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply("250-mx.example.net\r\n250-PIPELINING\r\n250-DSN\r\n250 AUTH PLAIN\r\n"), authPlain),
        (
          .reply("235 ok\r\n"),
          .send([
            .mail(reversePath: "alice@example.org", parameters: ["RET=HDRS", "ENVID=<a+2Bb+3Dc+20d@x>"]),
            .rcpt(
              forwardPath: "bob@example.net",
              parameters: ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;bob@example.net"]),
            .rcpt(
              forwardPath: "carol@example.net",
              parameters: ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;carol@example.net"]),
            .data,
          ])
        ),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("354 go\r\n"), .sendData(thenQuit: true)),
        (.reply("250 queued\r\n"), delivered(reply(250, "queued"), then: .close)),
      ])
    #expect(
      wire.contains(
        "MAIL FROM:<alice@example.org> RET=HDRS ENVID=<a+2Bb+3Dc+20d@x>\r\n"
          + "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.net\r\n"))
  }

  @Test func notifyNeverAndNoReturn() throws {
    try converse(
      dsnConfiguration(DSNRequest(notify: .never)),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply("250-mx.example.net\r\n250-DSN\r\n250 AUTH PLAIN\r\n"), authPlain),
        (.reply("235 ok\r\n"), .send([mail])),
        (
          .reply("250 ok\r\n"),
          .send([
            .rcpt(
              forwardPath: "bob@example.net", parameters: ["NOTIFY=NEVER", "ORCPT=rfc822;bob@example.net"])
          ])
        ),
        (.reply("250 ok\r\n"), .send([.data])),
        (.reply("354 go\r\n"), .sendData(thenQuit: false)),
        (.reply("250 queued\r\n"), delivered(reply(250, "queued"), then: .quit)),
      ])
  }

  @Test func dsnWithoutTheExtensionStopsBeforeMail() throws {
    let (_, wire) = try converse(
      dsnConfiguration(DSNRequest(notify: .on([.delay]))),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 ok\r\n"), failed(.extensionMissing("DSN"), at: .mail, then: .quit)),
      ])
    #expect(!wire.contains("MAIL"))
  }

  @Test func noORCPTForAUTF8Address() throws {
    var utf8 = dsnConfiguration(DSNRequest(notify: .never), recipients: ["zoë@example.net"])
    utf8.messageNeedsSMTPUTF8 = true
    try converse(
      utf8,
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply("250-mx.example.net\r\n250-DSN\r\n250-SMTPUTF8\r\n250 AUTH PLAIN\r\n"), authPlain),
        (.reply("235 ok\r\n"), .send([.mail(reversePath: "alice@example.org", parameters: ["SMTPUTF8"])])),
        (.reply("250 ok\r\n"), .send([.rcpt(forwardPath: "zoë@example.net", parameters: ["NOTIFY=NEVER"])])),
        (.reply("250 ok\r\n"), .send([.data])),
        (.reply("354 go\r\n"), .sendData(thenQuit: false)),
        (.reply("250 queued\r\n"), delivered(reply(250, "queued"), then: .quit)),
      ])
  }

  @Test func xtext() {
    #expect(DSNRequest.xtext("a+b=c d\u{7F}é!~") == "a+2Bb+3Dc+20d+7F+C3+A9!~")
    #expect(DSNRequest.xtext("") == "")
  }

  @Test func invalidDSNRequestsSendNothing() throws {
    var client = SMTPClient(configuration: dsnConfiguration(DSNRequest(notify: .on([]))))
    guard case .finish(let result, .close) = client.start() else {
      Issue.record("an empty NOTIFY was accepted")
      return
    }
    #expect(result.failure?.stage == .greeting)
    let long = String(repeating: "x", count: 98) + "+"
    client = SMTPClient(configuration: dsnConfiguration(DSNRequest(envelopeID: long)))
    guard case .finish(_, .close) = client.start() else {
      Issue.record("an ENVID over 100 xtext characters was accepted")
      return
    }
    client = SMTPClient(
      configuration: dsnConfiguration(DSNRequest(envelopeID: String(repeating: "x", count: 100))))
    #expect(client.start() == .readReply)
  }

  // MARK: REQUIRETLS

  @Test func requireTLSGoesWithMail() throws {
    try converse(
      dsnConfiguration(nil, requireTLS: true),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply("250-mx.example.net\r\n250-REQUIRETLS\r\n250 AUTH PLAIN\r\n"), authPlain),
        (.reply("235 ok\r\n"), .send([.mail(reversePath: "alice@example.org", parameters: ["REQUIRETLS"])])),
        (.reply("250 ok\r\n"), .send([bob])),
        (.reply("250 ok\r\n"), .send([.data])),
        (.reply("354 go\r\n"), .sendData(thenQuit: false)),
        (.reply("250 queued\r\n"), delivered(reply(250, "queued"), then: .quit)),
      ])
  }

  @Test func requireTLSMissingStopsBeforeMail() throws {
    try converse(
      dsnConfiguration(nil, requireTLS: true),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply(chunkingEHLO), authPlain),
        (.reply("235 ok\r\n"), failed(.extensionMissing("REQUIRETLS"), at: .mail, then: .quit)),
      ])
  }

  @Test func requireTLSOfferedBeforeTLSOnlyDoesNotCount() throws {
    try converse(
      dsnConfiguration(nil, requireTLS: true, security: .startTLS),
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (.reply("250-mx.example.net\r\n250-REQUIRETLS\r\n250 STARTTLS\r\n"), .send([.startTLS])),
        (.reply("220 go\r\n"), .startTLS),
        (.tlsEstablished, ehlo),
        (.reply("250-mx.example.net\r\n250 AUTH PLAIN\r\n"), authPlain),
        (.reply("235 ok\r\n"), failed(.extensionMissing("REQUIRETLS"), at: .mail, then: .quit)),
      ])
  }

  @Test func requireTLSOverPlaintextStopsBeforeMailEvenIfOffered() throws {
    var plaintext = configuration(.plaintext)
    plaintext.requireTLS = true
    try converse(
      plaintext,
      [
        (.start, .readReply),
        (.reply(greeting), ehlo),
        (
          .reply("250-mx.example.net\r\n250 REQUIRETLS\r\n"),
          failed(.extensionMissing("REQUIRETLS"), at: .mail, then: .quit)
        ),
      ])
  }
}

@Suite struct ChunkedEncoderTests {
  // (content, exact BDAT content) — written by hand: CRLF normalised, a last line ended, dots untouched.
  static let cases: [(String, String)] = [
    ("", ""),
    ("a\r\nb\r\n", "a\r\nb\r\n"),
    ("\n.\n", "\r\n.\r\n"),
    ("..\r\n.", "..\r\n.\r\n"),
    ("a\rb", "a\r\nb\r\n"),
    ("a\r", "a\r\n"),
    ("\r\r\n", "\r\n\r\n"),
    (".", ".\r\n"),
  ]

  @Test(arguments: cases)
  func wholeByteByByteAndSplitAnywhere(content: String, wire: String) {
    let input = Array(content.utf8)
    let expected = Array(wire.utf8)
    var splits: [[[UInt8]]] = [[input], input.map { [$0] }]
    for offset in 0...input.count { splits.append([Array(input[..<offset]), Array(input[offset...])]) }
    for chunks in splits {
      var encoder = DataEncoder(framing: .chunked)
      var output: [UInt8] = []
      for chunk in chunks { encoder.encode(chunk, into: &output) }
      encoder.finish(into: &output)
      #expect(output == expected, "\(chunks)")
      #expect(encoder.byteCount == expected.count)
    }
  }

  @Test func bdatCommand() throws {
    #expect(try SMTPCommand.bdat(size: 0, last: true).encoded() == Array("BDAT 0 LAST\r\n".utf8))
    #expect(try SMTPCommand.bdat(size: 1_048_576, last: false).encoded() == Array("BDAT 1048576\r\n".utf8))
    #expect(SMTPCommand.bdat(size: 22, last: true).transcriptText == "BDAT 22 LAST")
    #expect(throws: SMTPCommandError.self) { try SMTPCommand.bdat(size: -1, last: false).encoded() }
  }
}
