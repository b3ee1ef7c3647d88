import Foundation
import MailSenderTesting
import SMTPTransport
import Testing

@Suite("STARTTLS, handshake events and certificate details")
struct StartTLSTests {
  @Test("STARTTLS upgrades the same socket after a plaintext exchange; the server sees exactly what was sent")
  func startTLSOverSameSocket() throws {
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    options.credentials = .init(user: "alice", password: "secret")
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: Cancellation())
    defer { connection.close() }
    let reader = LineReader(connection)
    #expect(try reader.reply().first?.hasPrefix("220 ") == true)
    try connection.write(bytes("EHLO [127.0.0.1]\r\n"), deadline: deadline())
    let before = try reader.reply()
    #expect(before.contains("250 STARTTLS"))
    #expect(!before.contains { $0.contains("AUTH") })
    try connection.write(bytes("STARTTLS\r\n"), deadline: deadline())
    #expect(try reader.reply() == ["220 2.0.0 Ready to start TLS"])
    #expect(reader.buffer.isEmpty && !connection.hasPendingInput())

    let summary = try connection.startTLS(
      TLSClientConfiguration(
        serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath)),
      deadline: deadline(), onEvent: { _ in })
    #expect(summary.verdict == .verified(name: "localhost"))
    #expect(connection.isTLS)
    try connection.write(bytes("EHLO [127.0.0.1]\r\n"), deadline: deadline())
    let after = try reader.reply()
    #expect(after.last == "250 AUTH PLAIN LOGIN")
    #expect(!after.contains { $0.contains("STARTTLS") })
    try connection.write(bytes("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n"), deadline: deadline())
    #expect(try reader.reply() == ["235 2.7.0 Authentication successful"])
    #expect(try reader.reply() == ["221 2.0.0 Bye"])
    #expect(try reader.line() == nil)  // orderly end after QUIT, not an error

    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.error == nil)
    #expect(session.receivedPlaintext == bytes("EHLO [127.0.0.1]\r\nSTARTTLS\r\n"))
    #expect(
      session.receivedInsideTLS == bytes("EHLO [127.0.0.1]\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n"))
    #expect(
      session.commands == [
        "EHLO [127.0.0.1]", "STARTTLS", "EHLO [127.0.0.1]", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "QUIT",
      ])
    #expect(session.tlsVersion == "TLSv1.3")
  }

  @Test("a STARTTLS 220 followed by an injected line in the same segment leaves input pending")
  func injectionInSameSegment() throws {
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    options.startTLS = .injectInSameSegment(line: "250 injected")
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: Cancellation())
    defer { connection.close() }
    let reader = LineReader(connection)
    _ = try reader.reply()
    try connection.write(bytes("STARTTLS\r\n"), deadline: deadline())
    // Read exactly the 220 line: the injected line is still in the socket.
    #expect(try connection.read(maxBytes: 14, deadline: deadline()) == bytes("220 go ahead\r\n"))
    #expect(connection.hasPendingInput())
  }

  @Test("after QUIT, a server closing without close_notify is an orderly end")
  func unexpectedEOFAfterQuit() throws {
    let pki = try TestPKI.shared()
    let server = try ScriptedSMTPServer(options: .init(implicitTLS: pki.identity(.valid))) { session in
      try session.send("220 ready")
      _ = try session.readLine()
      try session.send("221 bye")
      session.abort()
    }
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    let reader = LineReader(outcome.connection)
    #expect(try reader.line() == "220 ready")
    try outcome.connection.write(bytes("QUIT\r\n"), deadline: deadline())
    #expect(try reader.line() == "221 bye")
    #expect(try reader.line() == nil)
    outcome.connection.close()
  }

  @Test("TLS 1.3 handshake events: ClientHello … Finished in order, then established")
  func tls13Events() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.valid)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    let summary = try #require(outcome.summary, "\(outcome.result)")
    defer { outcome.connection.close() }
    let messages = outcome.events.compactMap { event -> String? in
      if case .handshakeMessage(let direction, _, let name) = event {
        return (direction == .sent ? "> " : "< ") + name
      }
      return nil
    }
    #expect(
      messages == [
        "> ClientHello", "< ServerHello", "< EncryptedExtensions", "< Certificate", "< CertificateVerify",
        "< Finished", "> Finished",
      ])
    #expect(
      outcome.events.first == .clientHello(serverNameIndication: "localhost", versions: .tls12 ... .tls13))
    #expect(outcome.events.last == .established(summary))
  }

  @Test("TLS 1.2 handshake events include key exchange, session ticket and ChangeCipherSpec")
  func tls12Events() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.valid, versions: .tls12 ... .tls12)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    let summary = try #require(outcome.summary, "\(outcome.result)")
    defer { outcome.connection.close() }
    #expect(summary.version == .tls12)
    #expect(summary.cipher.hasPrefix("TLS_ECDHE_ECDSA_WITH_"))
    let names = outcome.handshakeNames
    #expect(
      names == [
        "ClientHello", "ServerHello", "Certificate", "ServerKeyExchange", "ServerHelloDone",
        "ClientKeyExchange", "Finished", "NewSessionTicket", "Finished",
      ])
    // OpenSSL reports the ChangeCipherSpec it sends (not the one it receives) to the message callback.
    #expect(outcome.events.contains(.changeCipherSpec(direction: .sent)))
    #expect(summary.group == "X25519")
  }

  @Test(
    "fingerprints and SPKI hashes equal what the openssl command prints; dates are exact",
    arguments: [TestIdentityKind.valid, .validRSA, .expired])
  func fingerprints(_ kind: TestIdentityKind) throws {
    let pki = try TestPKI.shared()
    let identity = pki.identity(kind)
    let server = try implicitTLSServer(kind)
    defer { server.stop() }
    let outcome = try handshake(with: server, serverName: "localhost", trust: .pins([]))
    let summary = try #require(outcome.untrustedSummary, "\(outcome.result)")
    let leaf = try #require(summary.chain.first)
    let expectedCertificate = try OpenSSLCLI.certificateSHA256(pki, certificate: identity.certificatePath)
    let expectedSPKI = try OpenSSLCLI.spkiSHA256(pki, certificate: identity.certificatePath)
    #expect(expectedCertificate.count == 32 && expectedSPKI.count == 32)
    #expect(hex(leaf.sha256) == hex(expectedCertificate))
    #expect(hex(leaf.spkiSHA256) == hex(expectedSPKI))
    #expect(summary.verdict == .pinMismatch(spkiSHA256: expectedSPKI))
    if kind == .expired {
      #expect(leaf.notBefore == 1_577_836_800)  // 2020-01-01T00:00:00Z
      #expect(leaf.notAfter == 1_609_459_200)  // 2021-01-01T00:00:00Z
    }
  }
}
