import SMTPProtocol
import Testing

// Scripted conversations: each step is what happens (start, a server reply as wire text, the TLS handshake
// finishing) and the action the machine must answer with, written by hand. The runner also writes what a
// driver would send, so whole client transcripts can be compared byte for byte (as Go's smtp_test does).

enum Input: Sendable {
  case start
  case reply(String)
  case tlsEstablished
}

typealias Step = (Input, SMTPClient.Action)

let plainIR = Secret("AGFsaWNlAHNlY3JldA==")  // base64("\0alice\0secret")
let alice = SMTPClientConfiguration.Authentication(user: "alice", password: Secret("secret"))
/// "Subject: t\n\n.hi\n." as the DATA encoder must send it.
let message = "Subject: t\n\n.hi\n."
let messageWire = "Subject: t\r\n\r\n..hi\r\n..\r\n.\r\n"

func configuration(
  _ security: TransportSecurity = .implicitTLS,
  authentication: SMTPClientConfiguration.Authentication? = nil,
  plaintextAuthAllowed: Bool = false,
  heloFallbackAllowed: Bool = false,
  recipients: [String] = ["bob@example.net"],
  needs8Bit: Bool = false,
  needsUTF8: Bool = false,
  size: Int? = nil
) -> SMTPClientConfiguration {
  SMTPClientConfiguration(
    security: security, ehloName: "client.example", authentication: authentication,
    plaintextAuthAllowed: plaintextAuthAllowed, heloFallbackAllowed: heloFallbackAllowed,
    reversePath: "alice@example.org", recipients: recipients, messageNeeds8BitMIME: needs8Bit,
    messageNeedsSMTPUTF8: needsUTF8, messageSize: size)
}

func reply(_ code: Int, _ texts: String...) -> SMTPReply { SMTPReply(code: code, texts: texts) }

func failed(
  _ kind: SMTPFailure.Kind, at stage: SMTPClient.Stage, then closing: SMTPClient.Closing
) -> SMTPClient.Action {
  .finish(SMTPResult(finalReply: nil, failure: SMTPFailure(kind: kind, stage: stage)), then: closing)
}

func delivered(_ reply: SMTPReply, then closing: SMTPClient.Closing) -> SMTPClient.Action {
  .finish(SMTPResult(finalReply: reply, failure: nil), then: closing)
}

let ehlo = SMTPClient.Action.send([.ehlo("client.example")])
let mail = SMTPCommand.mail(reversePath: "alice@example.org", parameters: [])
let bob = SMTPCommand.rcpt(forwardPath: "bob@example.net", parameters: [])
let carol = SMTPCommand.rcpt(forwardPath: "carol@example.net", parameters: [])

/// Runs `steps` against a fresh machine. Checks every action, that `isAwaitingFinalReply` is true exactly
/// after `.sendData` until the next reply, and that the conversation ends exactly at `.finish`. Returns the
/// machine and the bytes a driver would have written (QUIT included when closing with `.quit`).
///
/// For `.sendChunks` the message goes in `chunks` BDAT chunks (split as evenly as possible, the last with LAST),
/// then QUIT, and `chunksSent(_:)` is called; from then on `isAwaitingFinalReply` must hold until `.finish` or a
/// 4xx or 5xx reply (a refusal means the transaction failed: nothing can be delivered after it).
@discardableResult
func converse(
  _ configuration: SMTPClientConfiguration, chunks: Int = 1, _ steps: [Step],
  sourceLocation: SourceLocation = #_sourceLocation
) throws -> (client: SMTPClient, wire: String) {
  var client = SMTPClient(configuration: configuration)
  var wire: [UInt8] = []
  var finished = false
  var contentSent = false
  var transactionFailed = false
  for (number, (input, expected)) in steps.enumerated() {
    #expect(!finished, "step \(number) after .finish", sourceLocation: sourceLocation)
    let action: SMTPClient.Action
    switch input {
    case .start: action = client.start()
    case .reply(let text): action = client.received(try parsedReply(text, sourceLocation: sourceLocation))
    case .tlsEstablished: action = client.tlsEstablished()
    }
    #expect(action == expected, "step \(number)", sourceLocation: sourceLocation)
    // After the LAST chunk, until the server refuses something (then nothing can have been delivered).
    if contentSent, case .reply(let text) = input, let code = text.first, code == "4" || code == "5" {
      transactionFailed = true
    }
    var awaitingFinal = contentSent && !transactionFailed
    switch action {
    case .readReply, .startTLS, .examineContent: break
    case .send(let commands):
      for command in commands { wire += try command.encoded(utf8Paths: configuration.messageNeedsSMTPUTF8) }
    case .sendData(let thenQuit):
      var encoder = DataEncoder()
      encoder.encode(Array(message.utf8), into: &wire)
      encoder.finish(into: &wire)
      if thenQuit { wire += Array("QUIT\r\n".utf8) }
      awaitingFinal = true
    case .sendChunks(let prefix):
      for command in prefix { wire += try command.encoded(utf8Paths: configuration.messageNeedsSMTPUTF8) }
      var encoder = DataEncoder(framing: .chunked)
      var content: [UInt8] = []
      encoder.encode(Array(message.utf8), into: &content)
      encoder.finish(into: &content)
      var start = 0
      for index in 0..<chunks {
        let end = start + (content.count - start) / (chunks - index)
        wire += try SMTPCommand.bdat(size: end - start, last: index == chunks - 1).encoded()
        wire += content[start..<end]
        start = end
      }
      wire += Array("QUIT\r\n".utf8)
      #expect(client.chunksSent(chunks) == .readReply, "step \(number)", sourceLocation: sourceLocation)
      contentSent = true
      awaitingFinal = true
    case .finish(_, let closing):
      if closing == .quit { wire += Array("QUIT\r\n".utf8) }
      finished = true
      awaitingFinal = false
    }
    #expect(client.isAwaitingFinalReply == awaitingFinal, "step \(number)", sourceLocation: sourceLocation)
  }
  #expect(finished, "conversation did not finish", sourceLocation: sourceLocation)
  return (client, String(decoding: wire, as: UTF8.self))
}

@Suite struct SMTPClientTests {
  // MARK: Happy paths

  @Test func implicitTLSPipeliningAuthPlain() throws {
    let final = reply(250, "2.0.0 Ok: queued as 4F2A1")
    let (client, wire) = try converse(
      configuration(authentication: alice, recipients: ["bob@example.net", "carol@example.net"]),
      [
        (.start, .readReply),
        (.reply("220 mx.example.net ESMTP\r\n"), ehlo),
        (
          .reply("250-mx.example.net\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"),
          .send([.auth(mechanism: "PLAIN", initialResponse: plainIR)])
        ),
        (.reply("235 2.7.0 Authentication successful\r\n"), .send([mail, bob, carol, .data])),
        (.reply("250 2.1.0 Ok\r\n"), .readReply),
        (.reply("250 2.1.5 Ok\r\n"), .readReply),
        (.reply("251 2.1.5 Ok, will forward\r\n"), .readReply),
        (.reply("354 End data with <CR><LF>.<CR><LF>\r\n"), .sendData(thenQuit: true)),
        (.reply("250 2.0.0 Ok: queued as 4F2A1\r\n"), delivered(final, then: .close)),
      ])
    #expect(
      wire
        == "EHLO client.example\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"
        + "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\nDATA\r\n"
        + messageWire + "QUIT\r\n")
    #expect(client.isInsideTLS)
    #expect(client.stage == .dataEnd)
    #expect(client.capabilities?.pipelining == true)
  }

  @Test func startTLSThenAuthWithoutPipelining() throws {
    var client = SMTPClient(configuration: configuration(.startTLS, authentication: alice, size: 900))
    #expect(!client.isInsideTLS)
    #expect(client.start() == .readReply)
    #expect(client.received(try parsedReply("220 mx ESMTP\r\n")) == ehlo)
    #expect(
      client.received(try parsedReply("250-mx\r\n250-STARTTLS\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n"))
        == .send([.startTLS]))
    #expect(client.capabilities?.pipelining == true)
    #expect(client.stage == .startTLS)
    #expect(client.received(try parsedReply("220 2.0.0 Ready to start TLS\r\n")) == .startTLS)
    #expect(client.tlsEstablished() == ehlo)
    #expect(client.isInsideTLS)
    #expect(client.capabilities == nil)

    // The post-TLS list lacks PIPELINING: one command at a time.
    let final = reply(250, "2.0.0 Ok")
    let (_, wire) = try converse(
      configuration(.startTLS, authentication: alice, size: 900),
      [
        (.start, .readReply),
        (.reply("220 mx ESMTP\r\n"), ehlo),
        (.reply("250-mx\r\n250-STARTTLS\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n"), .send([.startTLS])),
        (.reply("220 2.0.0 Ready to start TLS\r\n"), .startTLS),
        (.tlsEstablished, ehlo),
        (
          .reply("250-mx\r\n250-AUTH PLAIN\r\n250 SIZE 1000\r\n"),
          .send([.auth(mechanism: "PLAIN", initialResponse: plainIR)])
        ),
        (
          .reply("235 2.7.0 Ok\r\n"),
          .send([.mail(reversePath: "alice@example.org", parameters: ["SIZE=900"])])
        ),
        (.reply("250 2.1.0 Ok\r\n"), .send([bob])),
        (.reply("250 2.1.5 Ok\r\n"), .send([.data])),
        (.reply("354 go ahead\r\n"), .sendData(thenQuit: false)),
        (.reply("250 2.0.0 Ok\r\n"), delivered(final, then: .quit)),
      ])
    #expect(
      wire
        == "EHLO client.example\r\nSTARTTLS\r\nEHLO client.example\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"
        + "MAIL FROM:<alice@example.org> SIZE=900\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n" + messageWire
        + "QUIT\r\n")
  }

  @Test func plaintextWithoutAuth() throws {
    let (_, wire) = try converse(
      configuration(.plaintext),
      [
        (.start, .readReply),
        (.reply("220 localhost\r\n"), ehlo),
        (.reply("250-localhost\r\n250 PIPELINING\r\n"), .send([mail, bob, .data])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("354 go\r\n"), .sendData(thenQuit: true)),
        (.reply("250 queued\r\n"), delivered(reply(250, "queued"), then: .close)),
      ])
    #expect(
      wire
        == "EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"
        + messageWire + "QUIT\r\n")
  }

  // MARK: STARTTLS (DESIGN §3.3)

  @Test func capabilitiesFromBeforeTLSAreForgotten() throws {
    let (client, wire) = try converse(
      configuration(.startTLS, authentication: alice),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250-mx\r\n250-STARTTLS\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n"), .send([.startTLS])),
        (.reply("220 Ready\r\n"), .startTLS),
        (.tlsEstablished, ehlo),
        (.reply("250-mx\r\n250 8BITMIME\r\n"), failed(.authUnavailable(offered: []), at: .auth, then: .quit)),
      ])
    #expect(client.capabilities?.authMechanisms == [])
    #expect(client.capabilities?.pipelining == false)
    #expect(wire == "EHLO client.example\r\nSTARTTLS\r\nEHLO client.example\r\nQUIT\r\n")

    // Without AUTH: PIPELINING seen only before TLS is not used.
    try converse(
      configuration(.startTLS),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250-mx\r\n250-STARTTLS\r\n250 PIPELINING\r\n"), .send([.startTLS])),
        (.reply("220 Ready\r\n"), .startTLS),
        (.tlsEstablished, ehlo),
        (.reply("250-mx\r\n250 STARTTLS\r\n"), .send([mail])),
        (.reply("250 ok\r\n"), .send([bob])),
        (
          .reply("550 5.1.1 unknown\r\n"),
          failed(
            .recipientsRefused([
              RefusedRecipient(address: "bob@example.net", reply: reply(550, "5.1.1 unknown"))
            ]),
            at: .rcpt, then: .quit)
        ),
      ])
  }

  @Test func startTLSNotOffered() throws {
    let (_, wire) = try converse(
      configuration(.startTLS, authentication: alice),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (
          .reply("250-mx\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n"),
          failed(.startTLSNotOffered, at: .startTLS, then: .quit)
        ),
      ])
    #expect(wire == "EHLO client.example\r\nQUIT\r\n")
  }

  @Test(arguments: [
    (
      "454 4.7.0 TLS not available due to temporary reason\r\n",
      reply(454, "4.7.0 TLS not available due to temporary reason")
    ),
    ("501 5.5.4 Syntax error\r\n", reply(501, "5.5.4 Syntax error")),
    ("250 OK\r\n", reply(250, "OK")),
    ("221 bye\r\n", reply(221, "bye")),
    ("354 what\r\n", reply(354, "what")),
    ("554 no\r\n", reply(554, "no")),
  ])
  func startTLSAnsweredWithAnythingBut220IsRefused(wire: String, expected: SMTPReply) throws {
    try converse(
      configuration(.startTLS),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250-mx\r\n250 STARTTLS\r\n"), .send([.startTLS])),
        (.reply(wire), failed(.startTLSRefused(expected), at: .startTLS, then: .quit)),
      ])
  }

  @Test func heloBeforeStartTLSMeansNoStartTLS() throws {
    try converse(
      configuration(.startTLS, heloFallbackAllowed: true),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("500 5.5.1 unknown command\r\n"), .send([.helo("client.example")])),
        (.reply("250 mx\r\n"), failed(.startTLSNotOffered, at: .startTLS, then: .quit)),
      ])
  }

  // MARK: AUTH (RFC 4954, DESIGN §3.4)

  @Test func authIsNeverSentOverPlaintextToARemotePeer() throws {
    let (_, wire) = try converse(
      configuration(.plaintext, authentication: alice),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250-mx\r\n250 AUTH PLAIN LOGIN\r\n"), failed(.plaintextAuthRefused, at: .auth, then: .quit)),
      ])
    #expect(wire == "EHLO client.example\r\nQUIT\r\n")

    // Loopback (the facade decides): allowed.
    try converse(
      configuration(.plaintext, authentication: alice, plaintextAuthAllowed: true),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (
          .reply("250-mx\r\n250 AUTH PLAIN LOGIN\r\n"),
          .send([.auth(mechanism: "PLAIN", initialResponse: plainIR)])
        ),
        (.reply("535 5.7.8 bad\r\n"), failed(.authFailed(reply(535, "5.7.8 bad")), at: .auth, then: .quit)),
      ])
  }

  @Test func plaintextAuthIsRefusedEvenWithoutMechanisms() throws {
    try converse(
      configuration(.plaintext, authentication: alice),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250 mx\r\n"), failed(.plaintextAuthRefused, at: .auth, then: .quit)),
      ])
  }

  @Test func login() throws {
    let (_, wire) = try converse(
      configuration(authentication: alice),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (
          .reply("250-mx\r\n250 AUTH LOGIN CRAM-MD5\r\n"),
          .send([.auth(mechanism: "LOGIN", initialResponse: nil)])
        ),
        (.reply("334 VXNlcm5hbWU6\r\n"), .send([.saslResponse(Secret("YWxpY2U="))])),
        (.reply("334 UGFzc3dvcmQ6\r\n"), .send([.saslResponse(Secret("c2VjcmV0"))])),
        (.reply("235 2.7.0 Authentication successful\r\n"), .send([mail])),
        (.reply("250 ok\r\n"), .send([bob])),
        (.reply("250 ok\r\n"), .send([.data])),
        (.reply("354 go\r\n"), .sendData(thenQuit: false)),
        (.reply("250 ok\r\n"), delivered(reply(250, "ok"), then: .quit)),
      ])
    #expect(
      wire
        == "EHLO client.example\r\nAUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\nMAIL FROM:<alice@example.org>\r\n"
        + "RCPT TO:<bob@example.net>\r\nDATA\r\n" + messageWire + "QUIT\r\n")
  }

  @Test func loginWrongPassword() throws {
    try converse(
      configuration(authentication: alice),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250-mx\r\n250 AUTH=LOGIN\r\n"), .send([.auth(mechanism: "LOGIN", initialResponse: nil)])),
        (.reply("334 VXNlcm5hbWU6\r\n"), .send([.saslResponse(Secret("YWxpY2U="))])),
        (.reply("334 UGFzc3dvcmQ6\r\n"), .send([.saslResponse(Secret("c2VjcmV0"))])),
        (
          .reply("535 5.7.8 Error: authentication failed\r\n"),
          failed(.authFailed(reply(535, "5.7.8 Error: authentication failed")), at: .auth, then: .quit)
        ),
      ])
  }

  static let mechanismChoices: [(SMTPClientConfiguration.Mechanism, String, SMTPClient.Action)] = [
    (
      .automatic, "250-mx\r\n250 AUTH LOGIN PLAIN\r\n",
      .send([.auth(mechanism: "PLAIN", initialResponse: plainIR)])
    ),
    (.login, "250-mx\r\n250 AUTH PLAIN LOGIN\r\n", .send([.auth(mechanism: "LOGIN", initialResponse: nil)])),
    (
      .plain, "250-mx\r\n250 AUTH PLAIN LOGIN\r\n",
      .send([.auth(mechanism: "PLAIN", initialResponse: plainIR)])
    ),
    (
      .plain, "250-mx\r\n250 AUTH LOGIN\r\n",
      failed(.authUnavailable(offered: ["LOGIN"]), at: .auth, then: .quit)
    ),
    (
      .login, "250-mx\r\n250 AUTH PLAIN\r\n",
      failed(.authUnavailable(offered: ["PLAIN"]), at: .auth, then: .quit)
    ),
    (
      .automatic, "250-mx\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n",
      failed(.authUnavailable(offered: ["CRAM-MD5", "XOAUTH2"]), at: .auth, then: .quit)
    ),
    (.automatic, "250-mx\r\n250 8BITMIME\r\n", failed(.authUnavailable(offered: []), at: .auth, then: .quit)),
  ]

  @Test(arguments: mechanismChoices)
  func mechanismChoice(
    mechanism: SMTPClientConfiguration.Mechanism, ehloReply: String, expected: SMTPClient.Action
  ) throws {
    let authentication = SMTPClientConfiguration.Authentication(
      user: "alice", password: Secret("secret"), mechanism: mechanism)
    try converse(
      configuration(authentication: authentication),
      [(.start, .readReply), (.reply("220 mx\r\n"), ehlo), (.reply(ehloReply), expected)]
        + (expected == .send([.auth(mechanism: "LOGIN", initialResponse: nil)])
          ? [(.reply("501 no\r\n"), failed(.authFailed(reply(501, "no")), at: .auth, then: .quit))]
          : expected == .send([.auth(mechanism: "PLAIN", initialResponse: plainIR)])
            ? [(.reply("535 no\r\n"), failed(.authFailed(reply(535, "no")), at: .auth, then: .quit))] : []))
  }

  static let plainOutcomes: [([Step], String)] = [
    (
      [(.reply("535 5.7.8 bad\r\n"), failed(.authFailed(reply(535, "5.7.8 bad")), at: .auth, then: .quit))],
      "535"
    ),
    (
      [(.reply("534 5.7.9 weak\r\n"), failed(.authFailed(reply(534, "5.7.9 weak")), at: .auth, then: .quit))],
      "534"
    ),
    (
      [(.reply("454 4.7.0 later\r\n"), failed(.rejected(reply(454, "4.7.0 later")), at: .auth, then: .quit))],
      "454"
    ),
    ([(.reply("250 ok\r\n"), failed(.unexpectedReply(reply(250, "ok")), at: .auth, then: .quit))], "250"),
    ([(.reply("354 ok\r\n"), failed(.unexpectedReply(reply(354, "ok")), at: .auth, then: .quit))], "354"),
    (
      [
        (.reply("334 \r\n"), .send([.saslResponse(plainIR)])),
        (.reply("235 ok\r\n"), .send([mail])),
        (.reply("250 ok\r\n"), .send([bob])),
        (
          .reply("451 4.3.0 later\r\n"),
          failed(
            .recipientsRefused([
              RefusedRecipient(address: "bob@example.net", reply: reply(451, "4.3.0 later"))
            ]),
            at: .rcpt, then: .quit)
        ),
      ], "334 then 235"
    ),
    (
      [
        (.reply("334 \r\n"), .send([.saslResponse(plainIR)])),
        (
          .reply("334 \r\n"),
          failed(
            .unexpectedReply(
              SMTPReply(code: 334, lines: [UntrustedText("334 ")], texts: [UntrustedText("")])),
            at: .auth, then: .quit)
        ),
      ], "334 twice"
    ),
  ]

  @Test(arguments: plainOutcomes)
  func plainOutcome(steps: [Step], label: String) throws {
    try converse(
      configuration(authentication: alice),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (
          .reply("250-mx\r\n250 AUTH PLAIN\r\n"), .send([.auth(mechanism: "PLAIN", initialResponse: plainIR)])
        ),
      ] + steps)
  }

  @Test func loginSuccessBeforeCredentialsIsUnexpected() throws {
    try converse(
      configuration(authentication: alice),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250-mx\r\n250 AUTH LOGIN\r\n"), .send([.auth(mechanism: "LOGIN", initialResponse: nil)])),
        (.reply("235 welcome\r\n"), failed(.unexpectedReply(reply(235, "welcome")), at: .auth, then: .quit)),
      ])
  }

  // MARK: Transaction (RFC 5321 §3.3, RFC 2920 §3.1, DESIGN §3.9)

  static let twoRecipients = ["bob@example.net", "carol@example.net"]
  static let pipeliningEHLO = "250-mx\r\n250 PIPELINING\r\n"
  static let carolRefused = RefusedRecipient(
    address: "carol@example.net", reply: reply(550, "5.1.1 no such user"))

  @Test func oneOfTwoRecipientsRefusedWithPipeliningAborts() throws {
    let (_, wire) = try converse(
      configuration(recipients: Self.twoRecipients),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply(Self.pipeliningEHLO), .send([mail, bob, carol, .data])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("550 5.1.1 no such user\r\n"), .readReply),
        (
          .reply("354 go ahead\r\n"), failed(.recipientsRefused([Self.carolRefused]), at: .rcpt, then: .abort)
        ),
      ])
    // Nothing after DATA: the server is reading content, and "." or QUIT could end it.
    #expect(
      wire
        == "EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n"
        + "RCPT TO:<carol@example.net>\r\nDATA\r\n")
  }

  @Test func oneOfTwoRecipientsRefusedWithPipeliningAndDataRefusedQuits() throws {
    try converse(
      configuration(recipients: Self.twoRecipients),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply(Self.pipeliningEHLO), .send([mail, bob, carol, .data])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("550 5.1.1 no such user\r\n"), .readReply),
        (
          .reply("554 5.5.1 Error: no valid recipients\r\n"),
          failed(.recipientsRefused([Self.carolRefused]), at: .rcpt, then: .quit)
        ),
      ])
  }

  @Test func oneOfTwoRecipientsRefusedWithoutPipeliningNeverSendsData() throws {
    let bobRefused = RefusedRecipient(address: "bob@example.net", reply: reply(550, "5.1.1 no such user"))
    let (_, wire) = try converse(
      configuration(recipients: Self.twoRecipients),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250 mx\r\n"), .send([mail])),
        (.reply("250 ok\r\n"), .send([bob])),
        (.reply("550 5.1.1 no such user\r\n"), .send([carol])),
        (.reply("250 ok\r\n"), failed(.recipientsRefused([bobRefused]), at: .rcpt, then: .quit)),
      ])
    #expect(
      wire
        == "EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n"
        + "RCPT TO:<carol@example.net>\r\nQUIT\r\n")
  }

  @Test func allRecipientsRefused() throws {
    let refused = [
      RefusedRecipient(address: "bob@example.net", reply: reply(550, "5.1.1 unknown")),
      RefusedRecipient(address: "carol@example.net", reply: reply(450, "4.2.0 greylisted")),
    ]
    try converse(
      configuration(recipients: Self.twoRecipients),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply(Self.pipeliningEHLO), .send([mail, bob, carol, .data])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("550 5.1.1 unknown\r\n"), .readReply),
        (.reply("450 4.2.0 greylisted\r\n"), .readReply),
        (
          .reply("554 5.5.1 no valid recipients\r\n"),
          failed(.recipientsRefused(refused), at: .rcpt, then: .quit)
        ),
      ])
    try converse(
      configuration(recipients: Self.twoRecipients),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250 mx\r\n"), .send([mail])),
        (.reply("250 ok\r\n"), .send([bob])),
        (.reply("550 5.1.1 unknown\r\n"), .send([carol])),
        (.reply("450 4.2.0 greylisted\r\n"), failed(.recipientsRefused(refused), at: .rcpt, then: .quit)),
      ])
  }

  @Test func mailRefused() throws {
    let refusal = failed(.rejected(reply(451, "4.3.0 try later")), at: .mail, then: .quit)
    try converse(
      configuration(),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250 mx\r\n"), .send([mail])),
        (.reply("451 4.3.0 try later\r\n"), refusal),
      ])
    // Pipelined: the RCPT and DATA replies after it are read and ignored.
    try converse(
      configuration(),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply(Self.pipeliningEHLO), .send([mail, bob, .data])),
        (.reply("451 4.3.0 try later\r\n"), .readReply),
        (.reply("503 5.5.1 need MAIL\r\n"), .readReply),
        (.reply("503 5.5.1 need RCPT\r\n"), refusal),
      ])
    // A server that answers the pipelined DATA with 354 anyway: close without a word.
    try converse(
      configuration(),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply(Self.pipeliningEHLO), .send([mail, bob, .data])),
        (.reply("451 4.3.0 try later\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("354 go\r\n"), failed(.rejected(reply(451, "4.3.0 try later")), at: .mail, then: .abort)),
      ])
  }

  static let dataReplies: [(String, SMTPClient.Action)] = [
    ("250 ok\r\n", failed(.unexpectedReply(reply(250, "ok")), at: .data, then: .quit)),
    ("334 what\r\n", failed(.unexpectedReply(reply(334, "what")), at: .data, then: .abort)),
    ("451 4.3.0 later\r\n", failed(.rejected(reply(451, "4.3.0 later")), at: .data, then: .quit)),
    ("554 5.5.1 no\r\n", failed(.rejected(reply(554, "5.5.1 no")), at: .data, then: .quit)),
    ("354 go\r\n", .sendData(thenQuit: false)),
  ]

  @Test(arguments: dataReplies)
  func dataReply(wire: String, expected: SMTPClient.Action) throws {
    var steps: [Step] = [
      (.start, .readReply),
      (.reply("220 mx\r\n"), ehlo),
      (.reply("250 mx\r\n"), .send([mail])),
      (.reply("250 ok\r\n"), .send([bob])),
      (.reply("250 ok\r\n"), .send([.data])),
      (.reply(wire), expected),
    ]
    if expected == .sendData(thenQuit: false) {
      steps.append((.reply("250 ok\r\n"), delivered(reply(250, "ok"), then: .quit)))
    }
    try converse(configuration(), steps)
  }

  static let finalReplies: [(String, Bool, SMTPClient.Action)] = [
    ("250 2.0.0 queued\r\n", false, delivered(reply(250, "2.0.0 queued"), then: .quit)),
    ("250 2.0.0 queued\r\n", true, delivered(reply(250, "2.0.0 queued"), then: .close)),
    ("451 4.3.0 later\r\n", false, failed(.rejected(reply(451, "4.3.0 later")), at: .dataEnd, then: .quit)),
    ("451 4.3.0 later\r\n", true, failed(.rejected(reply(451, "4.3.0 later")), at: .dataEnd, then: .close)),
    ("554 5.7.1 spam\r\n", false, failed(.rejected(reply(554, "5.7.1 spam")), at: .dataEnd, then: .quit)),
    ("354 again\r\n", false, failed(.unexpectedReply(reply(354, "again")), at: .dataEnd, then: .quit)),
  ]

  @Test(arguments: finalReplies)
  func finalReply(wire: String, pipelining: Bool, expected: SMTPClient.Action) throws {
    let steps: [Step] =
      pipelining
      ? [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply(Self.pipeliningEHLO), .send([mail, bob, .data])),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("250 ok\r\n"), .readReply),
        (.reply("354 go\r\n"), .sendData(thenQuit: true)),
        (.reply(wire), expected),
      ]
      : [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250 mx\r\n"), .send([mail])),
        (.reply("250 ok\r\n"), .send([bob])),
        (.reply("250 ok\r\n"), .send([.data])),
        (.reply("354 go\r\n"), .sendData(thenQuit: false)),
        (.reply(wire), expected),
      ]
    let (client, _) = try converse(configuration(), steps)
    #expect(client.stage == .dataEnd)
  }

  @Test func isAwaitingFinalReplyExactlyBetweenDataAndFinalReply() throws {
    var client = SMTPClient(configuration: configuration())
    var seen: [Bool] = [client.isAwaitingFinalReply]
    _ = client.start()
    for wire in ["220 mx\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n"] {
      seen.append(client.isAwaitingFinalReply)
      _ = client.received(try parsedReply(wire))
    }
    seen.append(client.isAwaitingFinalReply)
    #expect(seen == [false, false, false, false, false, false, true, false])
  }

  @Test func unexpectedRepliesInTheTransaction() throws {
    try converse(
      configuration(),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply(Self.pipeliningEHLO), .send([mail, bob, .data])),
        (.reply("354 go\r\n"), failed(.unexpectedReply(reply(354, "go")), at: .mail, then: .abort)),
      ])
    try converse(
      configuration(),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply(Self.pipeliningEHLO), .send([mail, bob, .data])),
        (.reply("250 ok\r\n"), .readReply),
        (
          .reply("220 hello again\r\n"),
          failed(.unexpectedReply(reply(220, "hello again")), at: .rcpt, then: .abort)
        ),
      ])
    try converse(
      configuration(),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("250 mx\r\n"), .send([mail])),
        (.reply("235 what\r\n"), failed(.unexpectedReply(reply(235, "what")), at: .mail, then: .quit)),
      ])
  }

  // MARK: Greeting and EHLO/HELO

  static let greetings: [(String, SMTPClient.Action)] = [
    ("554 5.7.1 go away\r\n", failed(.rejected(reply(554, "5.7.1 go away")), at: .greeting, then: .quit)),
    ("421 4.3.2 busy\r\n", failed(.rejected(reply(421, "4.3.2 busy")), at: .greeting, then: .quit)),
    ("250 hello\r\n", failed(.unexpectedReply(reply(250, "hello")), at: .greeting, then: .quit)),
    ("354 what\r\n", failed(.unexpectedReply(reply(354, "what")), at: .greeting, then: .quit)),
  ]

  @Test(arguments: greetings)
  func greeting(wire: String, expected: SMTPClient.Action) throws {
    try converse(configuration(), [(.start, .readReply), (.reply(wire), expected)])
  }

  @Test func secondGreetingIsUnexpected() throws {
    try converse(
      configuration(),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (
          .reply("220 mx again\r\n"), failed(.unexpectedReply(reply(220, "mx again")), at: .ehlo, then: .quit)
        ),
      ])
  }

  @Test func heloFallbackOnlyWhenAllowed() throws {
    let (client, wire) = try converse(
      configuration(heloFallbackAllowed: true),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("502 5.5.2 Error: command not recognized\r\n"), .send([.helo("client.example")])),
        (.reply("250 mx\r\n"), .send([mail])),
        (.reply("250 ok\r\n"), .send([bob])),
        (.reply("250 ok\r\n"), .send([.data])),
        (.reply("354 go\r\n"), .sendData(thenQuit: false)),
        (.reply("250 ok\r\n"), delivered(reply(250, "ok"), then: .quit)),
      ])
    #expect(client.capabilities == Capabilities.none)
    #expect(
      wire
        == "EHLO client.example\r\nHELO client.example\r\nMAIL FROM:<alice@example.org>\r\n"
        + "RCPT TO:<bob@example.net>\r\nDATA\r\n" + messageWire + "QUIT\r\n")

    try converse(
      configuration(),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (
          .reply("502 5.5.2 Error: command not recognized\r\n"),
          failed(.rejected(reply(502, "5.5.2 Error: command not recognized")), at: .ehlo, then: .quit)
        ),
      ])
    // No fallback on a transient failure.
    try converse(
      configuration(heloFallbackAllowed: true),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("421 4.3.0 bye\r\n"), failed(.rejected(reply(421, "4.3.0 bye")), at: .ehlo, then: .quit)),
      ])
    try converse(
      configuration(heloFallbackAllowed: true),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("500 no\r\n"), .send([.helo("client.example")])),
        (.reply("550 no\r\n"), failed(.rejected(reply(550, "no")), at: .helo, then: .quit)),
      ])
  }

  @Test func heloFallbackWithAuthHasNoMechanisms() throws {
    try converse(
      configuration(authentication: alice, heloFallbackAllowed: true),
      [
        (.start, .readReply),
        (.reply("220 mx\r\n"), ehlo),
        (.reply("500 no\r\n"), .send([.helo("client.example")])),
        (.reply("250 mx\r\n"), failed(.authUnavailable(offered: []), at: .auth, then: .quit)),
      ])
  }

  // MARK: Message needs (RFC 6152, RFC 6531, RFC 1870)

  static let needs: [(SMTPClientConfiguration, String, SMTPClient.Action)] = [
    (
      configuration(needs8Bit: true), "250-mx\r\n250 SMTPUTF8\r\n",
      failed(.extensionMissing("8BITMIME"), at: .mail, then: .quit)
    ),
    (
      configuration(needsUTF8: true), "250-mx\r\n250 8BITMIME\r\n",
      failed(.extensionMissing("SMTPUTF8"), at: .mail, then: .quit)
    ),
    (
      configuration(needs8Bit: true, needsUTF8: true, size: 1873),
      "250-mx\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE\r\n",
      .send([.mail(reversePath: "alice@example.org", parameters: ["BODY=8BITMIME", "SMTPUTF8", "SIZE=1873"])])
    ),
    (
      configuration(needs8Bit: true, size: 1873), "250-mx\r\n250 8bitmime\r\n",
      .send([.mail(reversePath: "alice@example.org", parameters: ["BODY=8BITMIME"])])
    ),
    (
      configuration(size: 1001), "250-mx\r\n250 SIZE 1000\r\n",
      failed(.messageTooLarge(limit: 1000), at: .mail, then: .quit)
    ),
    (
      configuration(size: 1000), "250-mx\r\n250 SIZE 1000\r\n",
      .send([.mail(reversePath: "alice@example.org", parameters: ["SIZE=1000"])])
    ),
    (
      configuration(size: 5_000_000), "250-mx\r\n250 SIZE 0\r\n",
      .send([.mail(reversePath: "alice@example.org", parameters: ["SIZE=5000000"])])
    ),
  ]

  @Test(arguments: needs)
  func messageNeeds(configuration: SMTPClientConfiguration, ehloReply: String, expected: SMTPClient.Action)
    throws
  {
    var steps: [Step] = [(.start, .readReply), (.reply("220 mx\r\n"), ehlo), (.reply(ehloReply), expected)]
    if case .send = expected {
      steps.append(
        (
          .reply("550 5.7.1 not you\r\n"),
          failed(.rejected(reply(550, "5.7.1 not you")), at: .mail, then: .quit)
        ))
    }
    try converse(configuration, steps)
  }

  // MARK: Configuration that cannot be encoded (nothing is sent)

  static let invalidConfigurations: [SMTPClientConfiguration] = [
    SMTPClientConfiguration(
      security: .implicitTLS, ehloName: "a\r\nb", reversePath: "a@b", recipients: ["c@d"]),
    SMTPClientConfiguration(security: .implicitTLS, ehloName: "a", reversePath: "a@b\n", recipients: ["c@d"]),
    SMTPClientConfiguration(
      security: .implicitTLS, ehloName: "a", reversePath: "a@b", recipients: ["c@d", "e\0@f"]),
    SMTPClientConfiguration(security: .implicitTLS, ehloName: "a", reversePath: "a@b", recipients: []),
    SMTPClientConfiguration(
      security: .implicitTLS, ehloName: "a",
      authentication: .init(user: "alice", password: Secret("se\0cret")), reversePath: "a@b",
      recipients: ["c@d"]),
    SMTPClientConfiguration(
      security: .implicitTLS, ehloName: "a",
      authentication: .init(user: "al\0ice", password: Secret("secret")), reversePath: "a@b",
      recipients: ["c@d"]),
  ]

  @Test(arguments: invalidConfigurations)
  func invalidConfigurationSendsNothing(configuration: SMTPClientConfiguration) throws {
    #expect(throws: SMTPCommandError.self) { try configuration.validate() }
    var client = SMTPClient(configuration: configuration)
    guard case .finish(let result, then: .close) = client.start(),
      case .invalidCommand = try #require(result.failure).kind
    else {
      Issue.record("expected .finish(.invalidCommand, then: .close)")
      return
    }
    #expect(!result.isDelivered)
  }

  // MARK: Nothing a server sends traps

  /// Every reply code the parser accepts, at every point of a pipelined and an unpipelined session, gives an
  /// action (a trap would crash the test process).
  @Test(arguments: [true, false])
  func everyCodeAtEveryStepGivesAnAction(pipelining: Bool) throws {
    let script =
      pipelining
      ? ["220 mx\r\n", "250-mx\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH LOGIN\r\n", "220 go\r\n"]
      : ["220 mx\r\n", "250-mx\r\n250-STARTTLS\r\n250 AUTH LOGIN\r\n", "220 go\r\n"]
    let afterTLS =
      pipelining
      ? [
        "250-mx\r\n250-PIPELINING\r\n250 AUTH LOGIN\r\n", "334 a\r\n", "334 b\r\n", "235 ok\r\n",
        "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
      ]
      : [
        "250-mx\r\n250 AUTH LOGIN\r\n", "334 a\r\n", "334 b\r\n", "235 ok\r\n", "250 ok\r\n", "250 ok\r\n",
        "354 go\r\n",
      ]
    let prefix = script + afterTLS
    let codes = (200...599).filter { $0 / 10 % 10 <= 5 }
    var finishes = 0
    for depth in 0...prefix.count {
      for code in codes {
        var client = SMTPClient(configuration: configuration(.startTLS, authentication: alice))
        var action = client.start()
        for wire in Array(prefix[..<depth]) + ["\(code) x\r\n"] {
          if case .finish = action { break }
          if case .startTLS = action { action = client.tlsEstablished() }
          action = client.received(try parsedReply(wire))
        }
        if case .finish = action { finishes += 1 }
      }
    }
    #expect(finishes > 0)
  }
}

@Suite struct SMTPFailureTests {
  @Test(arguments: [
    (SMTPFailure(kind: .startTLSNotOffered, stage: .startTLS), "STARTTLS not offered"),
    (
      SMTPFailure(kind: .rejected(reply(451, "4.3.0 \u{1B}[2J later")), stage: .dataEnd),
      "end of data refused: 451 4.3.0 \\u{001B}[2J later"
    ),
    (
      SMTPFailure(kind: .authUnavailable(offered: ["CRAM-MD5", "XOAUTH2"]), stage: .auth),
      "no usable AUTH mechanism; the server offers CRAM-MD5, XOAUTH2"
    ),
    (SMTPFailure(kind: .authUnavailable(offered: []), stage: .auth), "the server offers no AUTH"),
    (
      SMTPFailure(
        kind: .recipientsRefused([
          RefusedRecipient(address: "bob@example.net", reply: reply(550, "5.1.1 unknown"))
        ]),
        stage: .rcpt),
      "recipients refused: <bob@example.net> 550 5.1.1 unknown"
    ),
    (
      SMTPFailure(kind: .unexpectedReply(reply(250, "ok")), stage: .data), "unexpected reply to DATA: 250 ok"
    ),
    (
      SMTPFailure(kind: .messageTooLarge(limit: 1000), stage: .mail),
      "the message is larger than the server's limit of 1000 octets"
    ),
  ])
  func description(failure: SMTPFailure, expected: String) {
    #expect(failure.description == expected)
  }
}
