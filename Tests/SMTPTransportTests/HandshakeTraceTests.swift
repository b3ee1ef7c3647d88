import Foundation
import MailSenderTesting
import SMTPTransport
import Testing

/// The complete handshake trace (issue 3): received ChangeCipherSpec, TLS 1.3 tickets after the handshake, the
/// peer's signature algorithm at every version.
@Suite("handshake trace")
struct HandshakeTraceTests {
  static func trace(_ events: [TLSEvent]) -> [String] {
    events.compactMap { event in
      switch event {
      case .handshakeMessage(let direction, _, let name): (direction == .sent ? "> " : "< ") + name
      case .changeCipherSpec(let direction): (direction == .sent ? "> " : "< ") + "ChangeCipherSpec"
      case .alert(let direction, let level, let description):
        (direction == .sent ? "> " : "< ") + "alert \(level) \(description)"
      case .clientHello, .established: nil
      }
    }
  }

  @Test("TLS 1.3: both ChangeCipherSpecs in place; the tickets come with the first read, in order")
  func tls13TraceAndTickets() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.valid, versions: .tls13 ... .tls13)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    defer { outcome.connection.close() }
    _ = try #require(outcome.summary, "\(outcome.result)")
    #expect(
      Self.trace(outcome.events) == [
        "> ClientHello", "< ServerHello", "< ChangeCipherSpec", "< EncryptedExtensions", "< Certificate",
        "< CertificateVerify", "< Finished", "> ChangeCipherSpec", "> Finished",
      ])
    var later: [TLSEvent] = []
    let greeting = try outcome.connection.read(maxBytes: 4096, deadline: deadline()) { later.append($0) }
    #expect(text(greeting) == "220 tls ok\r\n")
    #expect(Self.trace(later) == ["< NewSessionTicket", "< NewSessionTicket"])
  }

  @Test("TLS 1.3: a read without a handler reports nothing and loses no data")
  func readWithoutHandler() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.valid, versions: .tls13 ... .tls13)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    defer { outcome.connection.close() }
    #expect(text(try outcome.connection.read(maxBytes: 4096, deadline: deadline())) == "220 tls ok\r\n")
    try outcome.connection.write(bytes("QUIT\r\n"), deadline: deadline())
    var later: [TLSEvent] = []
    // The server reads one line and closes with close_notify: an alert, reported with its description.
    let end = try outcome.connection.read(maxBytes: 4096, deadline: deadline()) { later.append($0) }
    #expect(end.isEmpty)
    #expect(Self.trace(later) == ["< alert warning close notify"])
  }

  @Test("a server flooding tickets after the handshake gets at most 8 reported; the data arrives intact")
  func ticketFlood() throws {
    let pki = try TestPKI.shared()
    let server = try ScriptedSMTPServer(
      options: .init(implicitTLS: pki.identity(.valid), versions: .tls13 ... .tls13, timeout: 3)
    ) { session in
      try session.queueSessionTickets(50)
      try session.send("220 flooded")
      _ = try session.readLine()
    }
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    defer { outcome.connection.close() }
    var later: [TLSEvent] = []
    var received: [UInt8] = []
    while !received.contains(10) {
      let chunk = try outcome.connection.read(maxBytes: 4096, deadline: deadline()) { later.append($0) }
      if chunk.isEmpty { break }
      received += chunk
    }
    #expect(text(received) == "220 flooded\r\n")
    #expect(Self.trace(later) == Array(repeating: "< NewSessionTicket", count: 8))
  }

  @Test("TLS 1.2: the server's ChangeCipherSpec sits between its ticket and its Finished")
  func tls12Trace() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.valid, versions: .tls12 ... .tls12)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    defer { outcome.connection.close() }
    _ = try #require(outcome.summary, "\(outcome.result)")
    #expect(
      Self.trace(outcome.events) == [
        "> ClientHello", "< ServerHello", "< Certificate", "< ServerKeyExchange", "< ServerHelloDone",
        "> ClientKeyExchange", "> ChangeCipherSpec", "> Finished", "< NewSessionTicket", "< ChangeCipherSpec",
        "< Finished",
      ])
  }

  struct SignatureCase: Sendable, CustomTestStringConvertible {
    var kind: TestIdentityKind
    var version: ServerTLSVersion
    var client: ClosedRange<TLSVersion>
    /// TLS SignatureScheme names (RFC 8446 §4.2.3); before TLS 1.2 RSA signs MD5+SHA-1 and ECDSA SHA-1.
    var expected: String
    var testDescription: String { "\(kind) \(version)" }
  }

  @Test(
    "the peer's signature algorithm is named at every version",
    arguments: [
      SignatureCase(
        kind: .valid, version: .tls13, client: .tls12 ... .tls13, expected: "ecdsa_secp256r1_sha256"),
      SignatureCase(
        kind: .valid, version: .tls12, client: .tls12 ... .tls13, expected: "ecdsa_secp256r1_sha256"),
      SignatureCase(kind: .valid, version: .tls11, client: .tls11 ... .tls11, expected: "ecdsa_sha1"),
      SignatureCase(kind: .valid, version: .tls10, client: .tls10 ... .tls10, expected: "ecdsa_sha1"),
      SignatureCase(
        kind: .validRSA, version: .tls13, client: .tls12 ... .tls13, expected: "rsa_pss_rsae_sha256"),
      SignatureCase(
        kind: .validRSA, version: .tls12, client: .tls12 ... .tls13, expected: "rsa_pss_rsae_sha256"),
      SignatureCase(
        kind: .validRSA, version: .tls11, client: .tls11 ... .tls11, expected: "rsa_pkcs1_md5_sha1"),
      SignatureCase(
        kind: .validRSA, version: .tls10, client: .tls10 ... .tls10, expected: "rsa_pkcs1_md5_sha1"),
    ])
  func peerSignatureAlgorithm(_ testCase: SignatureCase) throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(testCase.kind, versions: testCase.version...testCase.version)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath),
      versions: testCase.client)
    defer { outcome.connection.close() }
    let summary = try #require(outcome.summary, "\(outcome.result)")
    #expect(summary.version.rawValue == testCase.version.rawValue)
    #expect(summary.peerSignatureAlgorithm == testCase.expected)
  }

  @Test("an old-version attempt that the server refuses says which version was refused")
  func refusedOldVersionAttempt() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.valid, versions: .tls12 ... .tls13)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath),
      versions: .tls10 ... .tls10)
    #expect(outcome.error?.kind == .tlsHandshakeFailed)
    #expect(
      outcome.error?.message
        == "TLS handshake failed: the server does not accept TLS 1.0 (alert protocol version)")
    #expect(Self.trace(outcome.events) == ["> ClientHello", "< alert fatal protocol version"])
  }
}
