import SMTPProtocol
import Testing

/// DESIGN §8: whole conversations where the server's bytes reach the parser whole, byte by byte and split at
/// every offset, driven as the transport drives the machine. `plaintext` is what arrives before the TLS
/// handshake after STARTTLS, `tls` what arrives after it (empty without STARTTLS).
func driveConversation(
  _ configuration: SMTPClientConfiguration, plaintext: [[UInt8]], tls: [[UInt8]]
) throws -> [SMTPClient.Action] {
  var client = SMTPClient(configuration: configuration)
  var parser = ReplyParser()
  var chunks = plaintext[...]
  var actions = [client.start()]
  while let action = actions.last {
    switch action {
    case .finish:
      return actions
    case .startTLS:
      // The injection check of DESIGN §3.3: nothing buffered, nothing more on the plaintext channel.
      if parser.bufferedByteCount != 0 || chunks.contains(where: { !$0.isEmpty }) {
        Issue.record("bytes after the 220 to STARTTLS")
        return actions
      }
      chunks = tls[...]
      actions.append(client.tlsEstablished())
    case .examineContent:
      // The configurations driven here give the content's needs up front.
      Issue.record("examineContent without examinesContent")
      return actions
    case .readReply, .send, .sendData, .sendChunks:
      if case .sendChunks = action { #expect(client.chunksSent(1) == .readReply) }
      var next = try parser.nextReply()
      while next == nil, let chunk = chunks.popFirst() {
        parser.append(chunk)
        next = try parser.nextReply()
      }
      guard let reply = next else {
        Issue.record("the server script ended before the conversation")
        return actions
      }
      actions.append(client.received(reply))
    }
  }
  return actions
}

/// Runs the conversation whole, byte by byte, and with each channel split in two at every offset.
func verifyConversation(
  _ configuration: SMTPClientConfiguration, plaintext: String, tls: String = "",
  expected: [SMTPClient.Action],
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let plain = Array(plaintext.utf8)
  let secure = Array(tls.utf8)
  var feeds: [(String, [[UInt8]], [[UInt8]])] = [
    ("whole", [plain], [secure]),
    ("byte by byte", plain.map { [$0] }, secure.map { [$0] }),
  ]
  for offset in 0...plain.count {
    feeds.append(
      ("plaintext split at \(offset)", [Array(plain[..<offset]), Array(plain[offset...])], [secure]))
  }
  for offset in 0...secure.count where !secure.isEmpty {
    feeds.append(("TLS split at \(offset)", [plain], [Array(secure[..<offset]), Array(secure[offset...])]))
  }
  for (label, plainChunks, tlsChunks) in feeds {
    let actions = try driveConversation(configuration, plaintext: plainChunks, tls: tlsChunks)
    #expect(actions == expected, "\(label)", sourceLocation: sourceLocation)
  }
}

@Suite struct ConversationStreamTests {
  @Test func implicitTLSPipelinedDelivery() throws {
    try verifyConversation(
      configuration(authentication: alice, recipients: ["bob@example.net", "carol@example.net"]),
      plaintext: "220 mx.example.net ESMTP\r\n"
        + "250-mx.example.net\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n"
        + "235 2.7.0 ok\r\n"
        + "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 unknown\r\n354 go\r\n",
      expected: [
        .readReply,
        ehlo,
        .send([.auth(mechanism: "PLAIN", initialResponse: plainIR)]),
        .send([mail, bob, carol, .data]),
        .readReply, .readReply, .readReply,
        failed(
          .recipientsRefused([
            RefusedRecipient(address: "carol@example.net", reply: reply(550, "5.1.1 unknown"))
          ]), at: .rcpt, then: .abort),
      ])
  }

  @Test func startTLSDelivery() throws {
    try verifyConversation(
      configuration(.startTLS, authentication: alice),
      plaintext: "220 mx ESMTP\r\n250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n220 2.0.0 Ready\r\n",
      tls: "250-mx\r\n250-AUTH LOGIN\r\n250 PIPELINING\r\n334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n"
        + "250 ok\r\n250 ok\r\n354 go\r\n250 2.0.0 queued\r\n",
      expected: [
        .readReply,
        ehlo,
        .send([.startTLS]),
        .startTLS,
        ehlo,
        .send([.auth(mechanism: "LOGIN", initialResponse: nil)]),
        .send([.saslResponse(Secret("YWxpY2U="))]),
        .send([.saslResponse(Secret("c2VjcmV0"))]),
        .send([mail, bob, .data]),
        .readReply, .readReply,
        .sendData(thenQuit: true),
        delivered(reply(250, "2.0.0 queued"), then: .close),
      ])
  }

  @Test func bytesInjectedAfterTheSTARTTLSReadyAreVisible() throws {
    var client = SMTPClient(configuration: configuration(.startTLS))
    var parser = ReplyParser()
    #expect(client.start() == .readReply)
    parser.append(Array("220 mx\r\n250-mx\r\n250 STARTTLS\r\n".utf8))
    #expect(client.received(try #require(try parser.nextReply())) == ehlo)
    #expect(client.received(try #require(try parser.nextReply())) == .send([.startTLS]))
    // A man in the middle appends a fake post-TLS EHLO reply to the 220 in the same segment.
    parser.append(Array("220 Ready\r\n250-mx\r\n250 AUTH PLAIN\r\n".utf8))
    #expect(client.received(try #require(try parser.nextReply())) == .startTLS)
    #expect(parser.bufferedByteCount == 24)
  }
}
