import MailMessage
import SMTPProtocol
import Testing

/// `examinesContent` (issue 10): the client asks for the content's needs once the list that counts is known,
/// and only then decides MAIL's parameters and refusals.
@Suite struct ContentExaminationTests {
  static func client(security: TransportSecurity = .implicitTLS) -> SMTPClient {
    SMTPClient(
      configuration: SMTPClientConfiguration(
        security: security, ehloName: "[127.0.0.1]", reversePath: "a@example.org",
        recipients: ["b@example.org"], examinesContent: true))
  }

  static func afterEHLO(_ ehlo: String, security: TransportSecurity = .implicitTLS) throws -> (
    SMTPClient, SMTPClient.Action
  ) {
    var client = Self.client(security: security)
    _ = client.start()
    _ = client.received(try parsedReply("220 mx ESMTP\r\n"))
    let action = client.received(try parsedReply(ehlo))
    return (client, action)
  }

  @Test(arguments: [
    ("250-mx\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n", ContentOffer(eightBitMIME: true, smtpUTF8: true)),
    ("250-mx\r\n250 8BITMIME\r\n", ContentOffer(eightBitMIME: true, smtpUTF8: false)),
    ("250 mx\r\n", ContentOffer.plain),
  ])
  func theOfferIsTheListThatCounts(ehlo: String, offer: ContentOffer) throws {
    let (_, action) = try Self.afterEHLO(ehlo)
    #expect(action == .examineContent(offer))
  }

  /// After STARTTLS only the list inside TLS counts: 8BITMIME offered before TLS is forgotten.
  @Test func theOfferAfterSTARTTLSIsThePostTLSList() throws {
    var (client, action) = try Self.afterEHLO(
      "250-mx\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 STARTTLS\r\n", security: .startTLS)
    #expect(action == .send([.startTLS]))
    #expect(client.received(try parsedReply("220 go\r\n")) == .startTLS)
    _ = client.tlsEstablished()
    action = client.received(try parsedReply("250 mx\r\n"))
    #expect(action == .examineContent(.plain))
  }

  @Test func theNeedsFoundBecomeMAILParameters() throws {
    var (client, _) = try Self.afterEHLO("250-mx\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 1000\r\n")
    let action = client.contentExamined(ContentNeeds(eightBitMIME: true, smtpUTF8: true, size: 321))
    #expect(
      action
        == .send([.mail(reversePath: "a@example.org", parameters: ["BODY=8BITMIME", "SMTPUTF8", "SIZE=321"])])
    )
    #expect(client.usesSMTPUTF8)
  }

  @Test(arguments: [
    (
      ContentNeeds(eightBitMIME: true, smtpUTF8: false, size: 10),
      SMTPFailure.Kind.extensionMissing("8BITMIME")
    ),
    (ContentNeeds(eightBitMIME: false, smtpUTF8: true, size: 10), .extensionMissing("SMTPUTF8")),
    (ContentNeeds(eightBitMIME: false, smtpUTF8: false, size: 1001), .messageTooLarge(limit: 1000)),
  ])
  func whatTheServerCannotTakeFailsBeforeMAIL(needs: ContentNeeds, kind: SMTPFailure.Kind) throws {
    var (client, _) = try Self.afterEHLO("250-mx\r\n250 SIZE 1000\r\n")
    let action = client.contentExamined(needs)
    #expect(
      action
        == .finish(SMTPResult(finalReply: nil, failure: SMTPFailure(kind: kind, stage: .mail)), then: .quit))
  }
}
