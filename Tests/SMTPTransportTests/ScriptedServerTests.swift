import Foundation
import MailSenderTesting
import SMTPTransport
import Testing

/// The standard script's knobs, seen from a real client connection: other suites rely on them meaning what
/// they say.
@Suite("The scripted server's standard SMTP script and its hostile knobs")
struct ScriptedServerTests {
  /// Connects, reads the greeting, sends EHLO; returns the reader and the EHLO reply.
  func open(_ server: ScriptedSMTPServer) throws -> (SMTPConnection, LineReader, [String]) {
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: Cancellation())
    let reader = LineReader(connection)
    _ = try reader.reply()
    try connection.write(bytes("EHLO [127.0.0.1]\r\n"), deadline: deadline())
    return (connection, reader, try reader.reply())
  }

  @Test("a pipelined transaction: per-recipient replies, DATA, the message as received, final reply")
  func transaction() throws {
    var options = StandardSMTPOptions()
    options.recipientReplies = ["c@example.org": "550 5.1.1 no such user"]
    options.finalReply = "250 2.0.0 Ok: queued as 42"
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let (connection, reader, ehlo) = try open(server)
    defer { connection.close() }
    #expect(ehlo.contains("250-PIPELINING") && !ehlo.contains { $0.contains("STARTTLS") })
    try connection.write(
      bytes("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<C@example.org>\r\nDATA\r\n"),
      deadline: deadline())
    #expect(try reader.reply() == ["250 2.1.0 Ok"])
    #expect(try reader.reply() == ["250 2.1.5 Ok"])
    #expect(try reader.reply() == ["550 5.1.1 no such user"])
    #expect(try reader.reply().first?.hasPrefix("354 ") == true)
    try connection.write(bytes("Subject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n"), deadline: deadline())
    #expect(try reader.reply() == ["250 2.0.0 Ok: queued as 42"])
    #expect(try reader.reply() == ["221 2.0.0 Bye"])
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.messages == [bytes("Subject: x\r\n\r\n..dot\r\n")])
    #expect(session.commands.last == "QUIT")
    #expect(!session.commands.contains("Subject: x"))
  }

  @Test("DATA without an accepted recipient is refused with 554")
  func noRecipients() throws {
    var options = StandardSMTPOptions()
    options.defaultRecipientReply = "550 5.1.1 nobody here"
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let (connection, reader, _) = try open(server)
    defer { connection.close() }
    try connection.write(bytes("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"), deadline: deadline())
    #expect(try reader.reply() == ["250 2.1.0 Ok"])
    #expect(try reader.reply() == ["550 5.1.1 nobody here"])
    #expect(try reader.reply() == ["554 5.5.1 Error: no valid recipients"])
  }

  @Test("STARTTLS not advertised is answered 502; refused STARTTLS gets the configured reply")
  func startTLSMissingOrRefused() throws {
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    options.startTLS = .notAdvertised
    let missing = try ScriptedSMTPServer(standard: options)
    defer { missing.stop() }
    let (first, firstReader, ehlo) = try open(missing)
    defer { first.close() }
    #expect(!ehlo.contains { $0.contains("STARTTLS") })
    try first.write(bytes("STARTTLS\r\n"), deadline: deadline())
    #expect(try firstReader.reply().first?.hasPrefix("502 ") == true)

    options.startTLS = .refuse(reply: "454 4.7.0 TLS not available due to local problem")
    let refusing = try ScriptedSMTPServer(standard: options)
    defer { refusing.stop() }
    let (second, secondReader, advertised) = try open(refusing)
    defer { second.close() }
    #expect(advertised.last == "250 STARTTLS")
    try second.write(bytes("STARTTLS\r\n"), deadline: deadline())
    #expect(try secondReader.reply() == ["454 4.7.0 TLS not available due to local problem"])
  }

  @Test("an injected line after the 220, as a second segment, becomes pending input before the handshake")
  func injectionAfterReady() throws {
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    options.startTLS = .injectAfterReady(line: "250 injected", delay: 0.05)
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let (connection, reader, _) = try open(server)
    defer { connection.close() }
    try connection.write(bytes("STARTTLS\r\n"), deadline: deadline())
    #expect(try reader.reply() == ["220 go ahead"])
    let end = ContinuousClock.now + .seconds(3)
    while !connection.hasPendingInput() && ContinuousClock.now < end { usleep(5_000) }
    #expect(connection.hasPendingInput())
    #expect(try reader.line() == "250 injected")
  }

  @Test("a server that says 220 to STARTTLS and stays plaintext fails the handshake")
  func stayPlaintext() throws {
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    options.startTLS = .stayPlaintext
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let (connection, reader, _) = try open(server)
    try connection.write(bytes("STARTTLS\r\n"), deadline: deadline())
    #expect(try reader.reply() == ["220 2.0.0 Ready to start TLS"])
    #expect(reader.buffer.isEmpty)
    // The server still speaks SMTP: its plaintext NOOP reply arrives where the ServerHello should be.
    try connection.write(bytes("NOOP\r\n"), deadline: deadline())
    let error = #expect(throws: TransportError.self) {
      _ = try connection.startTLS(
        TLSClientConfiguration(
          serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath)),
        deadline: deadline(2), onEvent: { _ in })
    }
    #expect(error?.kind == .tlsHandshakeFailed, "\(String(describing: error))")
    #expect(error?.message == "TLS handshake failed: wrong version number")
  }

  @Test("AUTH LOGIN succeeds with the configured credentials; a failed AUTH may echo the blob")
  func authentication() throws {
    var options = StandardSMTPOptions()
    options.credentials = .init(user: "alice", password: "secret")
    options.echoAuthBlobInFailure = true
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let (connection, reader, _) = try open(server)
    defer { connection.close() }
    try connection.write(bytes("AUTH LOGIN\r\n"), deadline: deadline())
    #expect(try reader.reply() == ["334 VXNlcm5hbWU6"])
    try connection.write(bytes("YWxpY2U=\r\n"), deadline: deadline())
    #expect(try reader.reply() == ["334 UGFzc3dvcmQ6"])
    try connection.write(bytes("c2VjcmV0\r\n"), deadline: deadline())
    #expect(try reader.reply() == ["235 2.7.0 Authentication successful"])
    try connection.write(bytes("AUTH PLAIN AGFsaWNlAHdyb25n\r\n"), deadline: deadline())
    #expect(try reader.reply() == ["535 5.7.8 bad AGFsaWNlAHdyb25n"])
  }

  @Test("endless replies keep coming until the client stops reading", arguments: [false, true])
  func endlessGreeting(multiline: Bool) throws {
    var options = StandardSMTPOptions()
    options.endlessGreeting = multiline ? .multiline : .singleLine
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: Cancellation())
    var received: [UInt8] = []
    while received.count < 200_000 {
      received += try connection.read(maxBytes: 65_536, deadline: deadline())
    }
    connection.close()
    #expect(received.starts(with: bytes(multiline ? "220-xxx" : "220 xxx")))
    #expect(received.contains(10) == multiline)
  }

  @Test("stalls: after the final dot the reply deadline passes; mid-handshake the handshake deadline does")
  func stalls() throws {
    var options = StandardSMTPOptions()
    options.stall = .afterFinalDot(seconds: 5)
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let (connection, reader, _) = try open(server)
    defer { connection.close() }
    try connection.write(bytes("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"), deadline: deadline())
    for _ in 0..<3 { _ = try reader.reply() }
    try connection.write(bytes("x\r\n.\r\n"), deadline: deadline())
    let afterDot = #expect(throws: TransportError.self) { _ = try reader.reply(deadline: deadline(0.3)) }
    #expect(afterDot?.kind == .timedOut)

    let pki = try TestPKI.shared()
    var tlsOptions = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    tlsOptions.stall = .midHandshake(seconds: 5)
    let tlsServer = try ScriptedSMTPServer(standard: tlsOptions)
    defer { tlsServer.stop() }
    let (tlsConnection, tlsReader, _) = try open(tlsServer)
    try tlsConnection.write(bytes("STARTTLS\r\n"), deadline: deadline())
    #expect(try tlsReader.reply() == ["220 2.0.0 Ready to start TLS"])
    let midHandshake = #expect(throws: TransportError.self) {
      _ = try tlsConnection.startTLS(
        TLSClientConfiguration(
          serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath)),
        deadline: deadline(0.3), onEvent: { _ in })
    }
    #expect(midHandshake?.kind == .timedOut)
  }
}
