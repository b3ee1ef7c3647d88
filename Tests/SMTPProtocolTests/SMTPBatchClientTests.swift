import MailMessage
import SMTPProtocol
import Testing

// The batch machine (issue 12 §4), table-tested: each step is what happens (a reply as wire text, a check pass
// done, chunks written, the driver going on) and the action the machine must answer with, written by hand.

private enum BatchInput {
  case start
  case reply(String)
  /// The check pass of the message asked for found this size (7-bit content, ASCII header).
  case examined(size: Int)
  case chunksSent(Int)
  /// The driver did what the last action said (a write, a settlement) and asks what comes next.
  case next
}

private typealias BatchStep = (BatchInput, SMTPBatchClient.Action)

private let plainOffer = ContentOffer(eightBitMIME: false, smtpUTF8: false)

private func envelope(_ to: String...) -> SMTPBatchClient.Envelope {
  SMTPBatchClient.Envelope(reversePath: "alice@example.org", recipients: to)
}

private func batchConfiguration() -> SMTPClientConfiguration {
  SMTPClientConfiguration(
    security: .implicitTLS, ehloName: "client.example", reversePath: "", recipients: [])
}

private func mailFrom() -> SMTPCommand { .mail(reversePath: "alice@example.org", parameters: []) }
private func rcptTo(_ address: String) -> SMTPCommand { .rcpt(forwardPath: address, parameters: []) }

private func settled(_ index: Int, _ reply: SMTPReply) -> SMTPBatchClient.Action {
  .settle(index: index, SMTPResult(finalReply: reply, failure: nil))
}

private func refused(_ index: Int, _ kind: SMTPFailure.Kind, at stage: SMTPClient.Stage)
  -> SMTPBatchClient.Action
{
  .settle(index: index, SMTPResult(finalReply: nil, failure: SMTPFailure(kind: kind, stage: stage)))
}

private let done = SMTPBatchClient.Action.finish(SMTPResult(finalReply: nil, failure: nil), then: .close)

/// The opening of every conversation here: implicit TLS, no AUTH, the EHLO list given.
private func opening(_ keywords: String) -> [BatchStep] {
  [
    (.start, .readReply),
    (.reply("220 mx.example.net ESMTP\r\n"), .send([.ehlo("client.example")])),
    (.reply("250-mx.example.net\r\n" + keywords), .examineContent(index: 0, plainOffer)),
  ]
}

@discardableResult
private func batch(
  _ envelopes: [SMTPBatchClient.Envelope], _ steps: [BatchStep],
  sourceLocation: SourceLocation = #_sourceLocation
) throws -> SMTPBatchClient {
  var client = SMTPBatchClient(configuration: batchConfiguration(), envelopes: envelopes)
  var finished = false
  for (number, (input, expected)) in steps.enumerated() {
    #expect(!finished, "step \(number) after .finish", sourceLocation: sourceLocation)
    let action: SMTPBatchClient.Action
    switch input {
    case .start: action = client.start()
    case .reply(let text): action = client.received(try parsedReply(text, sourceLocation: sourceLocation))
    case .examined(let size):
      action = client.contentExamined(ContentNeeds(eightBitMIME: false, smtpUTF8: false, size: size))
    case .chunksSent(let count): action = client.chunksSent(count)
    case .next: action = client.next()
    }
    #expect(action == expected, "step \(number)", sourceLocation: sourceLocation)
    if case .finish = action { finished = true }
  }
  #expect(finished, "the conversation did not finish", sourceLocation: sourceLocation)
  return client
}

@Suite struct SMTPBatchClientTests {
  static let three = [envelope("b@example.net"), envelope("c@example.net"), envelope("d@example.net")]
  static let ok = SMTPReply(code: 250, texts: ["2.0.0 Ok: queued"])

  /// PIPELINING without CHUNKING: the next message's MAIL, RCPT and DATA go in the write of the previous end of
  /// data (RFC 2920 §3.1), QUIT in the last one.
  @Test func aPipelinedBatchOfThree() throws {
    try batch(
      Self.three,
      opening("250 PIPELINING\r\n") + [
        (.examined(size: 10), .send([mailFrom(), rcptTo("b@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .examineContent(index: 1, plainOffer)),
        (.examined(size: 11), .sendData(index: 0, then: [mailFrom(), rcptTo("c@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(0, Self.ok)),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .examineContent(index: 2, plainOffer)),
        (.examined(size: 12), .sendData(index: 1, then: [mailFrom(), rcptTo("d@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(1, Self.ok)),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .sendData(index: 2, then: [.quit])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(2, Self.ok)),
        (.next, done),
      ])
  }

  /// The second message refused at MAIL, 4xx and 5xx alike: its RCPT and DATA replies are read, it is settled
  /// as refused, no RSET is needed (no sender is held) and the third goes on.
  @Test(arguments: ["451 4.3.0 Try later", "550 5.7.1 Not you"])
  func theSecondRefusedAtMail(reply text: String) throws {
    let rejection = try parsedReply(text + "\r\n")
    try batch(
      Self.three,
      opening("250 PIPELINING\r\n") + [
        (.examined(size: 10), .send([mailFrom(), rcptTo("b@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .examineContent(index: 1, plainOffer)),
        (.examined(size: 11), .sendData(index: 0, then: [mailFrom(), rcptTo("c@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(0, Self.ok)),
        (.next, .readReply),
        (.reply(text + "\r\n"), .readReply),
        (.reply("503 5.5.1 Error: need MAIL command\r\n"), .readReply),
        (.reply("503 5.5.1 Error: need MAIL command\r\n"), refused(1, .rejected(rejection), at: .mail)),
        (.next, .examineContent(index: 2, plainOffer)),
        (.examined(size: 12), .send([mailFrom(), rcptTo("d@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .sendData(index: 2, then: [.quit])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(2, Self.ok)),
        (.next, done),
      ])
  }

  /// The second message's only recipient refused (4xx or 5xx): DATA is refused too (no valid recipients), the
  /// server holds a sender, so RSET goes before the third message's MAIL, in the same write.
  @Test(arguments: ["450 4.2.0 Mailbox busy", "550 5.1.1 No such user"])
  func theSecondRefusedAtRcpt(reply text: String) throws {
    let rejection = try parsedReply(text + "\r\n")
    try batch(
      Self.three,
      opening("250 PIPELINING\r\n") + [
        (.examined(size: 10), .send([mailFrom(), rcptTo("b@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .examineContent(index: 1, plainOffer)),
        (.examined(size: 11), .sendData(index: 0, then: [mailFrom(), rcptTo("c@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(0, Self.ok)),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply(text + "\r\n"), .readReply),
        (
          .reply("554 5.5.1 Error: no valid recipients\r\n"),
          refused(
            1, .recipientsRefused([RefusedRecipient(address: "c@example.net", reply: rejection)]), at: .rcpt)
        ),
        (.next, .examineContent(index: 2, plainOffer)),
        (.examined(size: 12), .send([.rset, mailFrom(), rcptTo("d@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .sendData(index: 2, then: [.quit])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(2, Self.ok)),
        (.next, done),
      ])
  }

  /// The second message refused at its end of data (4xx or 5xx): the transaction is over either way (RFC 5321
  /// §4.1.1.4), the third message's envelope is already on its way and goes on without RSET.
  @Test(arguments: ["452 4.3.1 Insufficient storage", "554 5.7.1 Spam"])
  func theSecondRefusedAtTheEndOfData(reply text: String) throws {
    let rejection = try parsedReply(text + "\r\n")
    try batch(
      Self.three,
      opening("250 PIPELINING\r\n") + [
        (.examined(size: 10), .send([mailFrom(), rcptTo("b@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .examineContent(index: 1, plainOffer)),
        (.examined(size: 11), .sendData(index: 0, then: [mailFrom(), rcptTo("c@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(0, Self.ok)),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .examineContent(index: 2, plainOffer)),
        (.examined(size: 12), .sendData(index: 1, then: [mailFrom(), rcptTo("d@example.net"), .data])),
        (.next, .readReply),
        (.reply(text + "\r\n"), refused(1, .rejected(rejection), at: .dataEnd)),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .sendData(index: 2, then: [.quit])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(2, Self.ok)),
        (.next, done),
      ])
  }

  /// A message of two recipients, one refused: its DATA is never pipelined, so nothing of it is sent (DESIGN
  /// §3.9); RSET, and the next message goes on.
  @Test func aPartlyRefusedMessageSendsNothingAndTheNextGoesOn() throws {
    let rejection = try parsedReply("550 5.1.1 No such user\r\n")
    try batch(
      [envelope("b@example.net", "c@example.net"), envelope("d@example.net")],
      opening("250 PIPELINING\r\n") + [
        (.examined(size: 10), .send([mailFrom(), rcptTo("b@example.net"), rcptTo("c@example.net")])),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (
          .reply("550 5.1.1 No such user\r\n"),
          refused(
            0, .recipientsRefused([RefusedRecipient(address: "c@example.net", reply: rejection)]), at: .rcpt)
        ),
        (.next, .examineContent(index: 1, plainOffer)),
        (.examined(size: 11), .send([.rset, mailFrom(), rcptTo("d@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .sendData(index: 1, then: [.quit])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(1, Self.ok)),
        (.next, done),
      ])
  }

  /// A 354 to a pipelined DATA after a refused recipient: the server reads content, so the connection is closed
  /// without a word; the message is settled refused, the rest are the driver's to call not sent.
  @Test func a354AfterARefusalAbortsTheSession() throws {
    let rejection = try parsedReply("550 5.1.1 No such user\r\n")
    let failure = SMTPResult(
      finalReply: nil,
      failure: SMTPFailure(
        kind: .recipientsRefused([RefusedRecipient(address: "b@example.net", reply: rejection)]), stage: .rcpt
      ))
    try batch(
      Self.three,
      opening("250 PIPELINING\r\n") + [
        (.examined(size: 10), .send([mailFrom(), rcptTo("b@example.net"), .data])),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("550 5.1.1 No such user\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .settle(index: 0, failure)),
        (.next, .finish(failure, then: .abort)),
      ])
  }

  /// PIPELINING and CHUNKING: whole transactions back to back (RSET before each after the first), QUIT after
  /// the last LAST chunk, the replies read in order afterwards.
  @Test func aChunkedBatchGoesBackToBack() throws {
    let client = try batch(
      Self.three,
      opening("250-PIPELINING\r\n250 CHUNKING\r\n") + [
        (
          .examined(size: 10), .sendChunks(index: 0, prefix: [mailFrom(), rcptTo("b@example.net")], then: [])
        ),
        (.chunksSent(1), .examineContent(index: 1, plainOffer)),
        (
          .examined(size: 11),
          .sendChunks(index: 1, prefix: [.rset, mailFrom(), rcptTo("c@example.net")], then: [])
        ),
        (.chunksSent(1), .examineContent(index: 2, plainOffer)),
        (
          .examined(size: 12),
          .sendChunks(index: 2, prefix: [.rset, mailFrom(), rcptTo("d@example.net")], then: [.quit])
        ),
        (.chunksSent(2), .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(0, Self.ok)),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("550 5.1.1 No such user\r\n"), .readReply),
        (
          .reply("554 5.5.1 Error: no valid recipients\r\n"),
          refused(
            1,
            .recipientsRefused([
              RefusedRecipient(address: "c@example.net", reply: try parsedReply("550 5.1.1 No such user\r\n"))
            ]), at: .rcpt)
        ),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("250 2.0.0 Ok: 6 octets\r\n"), .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(2, Self.ok)),
        (.next, done),
      ])
    #expect(client.settledCount == 3)
  }

  /// Back to back, at most `maximumInFlight` transactions wait for replies: then the machine reads before it
  /// writes the next one.
  @Test func backToBackIsBoundedByAWindow() throws {
    let count = SMTPBatchClient.maximumInFlight + 2
    var client = SMTPBatchClient(
      configuration: batchConfiguration(),
      envelopes: (0..<count).map { _ in envelope("b@example.net") })
    _ = client.start()
    _ = client.received(try parsedReply("220 mx\r\n"))
    var action = client.received(try parsedReply("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"))
    var written = 0
    while case .examineContent = action {
      action = client.contentExamined(ContentNeeds(eightBitMIME: false, smtpUTF8: false, size: 5))
      guard case .sendChunks = action else { break }
      written += 1
      action = client.chunksSent(1)
    }
    #expect(written == SMTPBatchClient.maximumInFlight)
    #expect(action == .readReply)
  }

  /// Without PIPELINING: one command at a time; RSET alone after a refused recipient.
  @Test func withoutPipeliningOneCommandAtATime() throws {
    let rejection = try parsedReply("550 5.1.1 No such user\r\n")
    try batch(
      [envelope("b@example.net"), envelope("c@example.net")],
      opening("250 ENHANCEDSTATUSCODES\r\n") + [
        (.examined(size: 10), .send([mailFrom()])),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .send([rcptTo("b@example.net")])),
        (.next, .readReply),
        (
          .reply("550 5.1.1 No such user\r\n"),
          refused(
            0, .recipientsRefused([RefusedRecipient(address: "b@example.net", reply: rejection)]), at: .rcpt)
        ),
        (.next, .examineContent(index: 1, plainOffer)),
        (.examined(size: 11), .send([.rset])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok\r\n"), .send([mailFrom()])),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .send([rcptTo("c@example.net")])),
        (.next, .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .send([.data])),
        (.next, .readReply),
        (.reply("354 go ahead\r\n"), .sendData(index: 1, then: [])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(1, Self.ok)),
        (.next, .finish(SMTPResult(finalReply: nil, failure: nil), then: .quit)),
      ])
  }

  /// A message the server has no room for is settled before anything of it is sent; the batch goes on.
  @Test func aMessageOverTheServersSizeIsSettledBeforeMail() throws {
    try batch(
      [envelope("b@example.net"), envelope("c@example.net")],
      opening("250-PIPELINING\r\n250 SIZE 100\r\n") + [
        (.examined(size: 500), refused(0, .messageTooLarge(limit: 100), at: .mail)),
        (.next, .examineContent(index: 1, plainOffer)),
        (
          .examined(size: 50),
          .send([
            .mail(reversePath: "alice@example.org", parameters: ["SIZE=50"]), rcptTo("c@example.net"), .data,
          ])
        ),
        (.next, .readReply),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("354 go ahead\r\n"), .sendData(index: 1, then: [.quit])),
        (.next, .readReply),
        (.reply("250 2.0.0 Ok: queued\r\n"), settled(1, Self.ok)),
        (.next, done),
      ])
  }

  /// A failure before the first transaction ends the session with it: no message is settled.
  @Test func aRefusedGreetingEndsTheBatch() throws {
    let rejection = try parsedReply("554 5.3.2 Go away\r\n")
    try batch(
      Self.three,
      [
        (.start, .readReply),
        (
          .reply("554 5.3.2 Go away\r\n"),
          .finish(
            SMTPResult(finalReply: nil, failure: SMTPFailure(kind: .rejected(rejection), stage: .greeting)),
            then: .quit)
        ),
      ])
  }
}
