import Foundation
import MailSenderTesting
import SMTPTransport
import Testing

@Suite("TLS verification against a real OpenSSL server on 127.0.0.1")
struct TLSVerificationTests {
  @Test("a chain to the --ca-file root verifies for localhost, with SNI, and carries the session details")
  func validChainForLocalhost() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.valid)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    let summary = try #require(outcome.summary, "\(String(describing: outcome.error))")
    #expect(summary.verdict == .verified(name: "localhost"))
    #expect(summary.chainVerification == .verified(name: "localhost"))
    #expect(outcome.connection.isTLS)
    #expect(summary.version == .tls13)
    #expect(summary.cipher.hasPrefix("TLS_"))
    #expect(summary.group == "X25519")
    #expect(summary.peerSignatureAlgorithm == "ecdsa_secp256r1_sha256")
    #expect(summary.chain.count == 2)
    let leaf = try #require(summary.chain.first)
    #expect(leaf.subject.escaped == "CN=localhost")
    #expect(leaf.issuer.escaped == "CN=Sealpost Test Root CA,O=Sealpost Tests")
    #expect(leaf.subjectAlternativeNames.map(\.escaped) == ["DNS:localhost", "IP:127.0.0.1", "IP:::1"])
    #expect(leaf.publicKey == "EC P-256")
    #expect(leaf.signatureAlgorithm == "ecdsa-with-SHA256")
    let now = Int64(Date().timeIntervalSince1970)
    #expect(leaf.notBefore <= now && now < leaf.notAfter)
    #expect(summary.chain[1].subject.escaped == "CN=Sealpost Test Root CA,O=Sealpost Tests")
    #expect(
      outcome.events.first == .clientHello(serverNameIndication: "localhost", versions: .tls12 ... .tls13))
    #expect(outcome.events.last == .established(summary))

    // Data flows both ways inside TLS, and the server saw the SNI.
    let reader = LineReader(outcome.connection)
    #expect(try reader.line() == "220 tls ok")
    try outcome.connection.write(bytes("EHLO [127.0.0.1]\r\n"), deadline: deadline())
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.receivedInsideTLS == bytes("EHLO [127.0.0.1]\r\n"))
    #expect(session.serverNameIndication == "localhost")
    outcome.connection.close()
  }

  @Test("an IP literal is checked against IP SANs and sends no SNI")
  func ipLiteral() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.valid)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "127.0.0.1", trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    let summary = try #require(outcome.summary, "\(String(describing: outcome.error))")
    #expect(summary.verdict == .verified(name: "127.0.0.1"))
    #expect(outcome.events.first == .clientHello(serverNameIndication: nil, versions: .tls12 ... .tls13))
    outcome.connection.close()
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.tlsVersion == "TLSv1.3")
    #expect(session.serverNameIndication == nil)
  }

  @Test("::1 is verified against the IPv6 SAN over an IPv6 connection")
  func ipv6Literal() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.valid, listenOnIPv6: true)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, host: "::1", port: server.ipv6Port, serverName: "::1",
      trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    #expect(outcome.connection.peer.isIPv6)
    #expect(outcome.summary?.verdict == .verified(name: "::1"))
    outcome.connection.close()
  }

  @Test("an RSA 2048 leaf is described and verified")
  func rsaLeaf() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.validRSA)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    let summary = try #require(outcome.summary, "\(String(describing: outcome.error))")
    #expect(summary.verdict == .verified(name: "localhost"))
    #expect(summary.chain.first?.publicKey == "RSA 2048")
    #expect(summary.chain.first?.signatureAlgorithm == "ecdsa-with-SHA256")  // signed by the EC root
    #expect(summary.peerSignatureAlgorithm == "rsa_pss_rsae_sha256")
    outcome.connection.close()
  }

  struct UntrustedCase: Sendable, CustomTestStringConvertible {
    var kind: TestIdentityKind
    var serverName: String
    var reason: String
    var depth: Int
    var testDescription: String { "\(kind) for \(serverName)" }
  }

  @Test(
    "an untrusted peer closes the connection, throws with OpenSSL's reason, and nothing is written",
    arguments: [
      UntrustedCase(kind: .expired, serverName: "localhost", reason: "certificate has expired", depth: 0),
      UntrustedCase(
        kind: .notYetValid, serverName: "localhost", reason: "certificate is not yet valid", depth: 0),
      UntrustedCase(kind: .wrongHost, serverName: "localhost", reason: "hostname mismatch", depth: 0),
      UntrustedCase(kind: .wrongHost, serverName: "127.0.0.1", reason: "IP address mismatch", depth: 0),
      UntrustedCase(kind: .commonNameOnly, serverName: "localhost", reason: "hostname mismatch", depth: 0),
      UntrustedCase(kind: .selfSigned, serverName: "localhost", reason: "self-signed certificate", depth: 0),
      UntrustedCase(
        kind: .unknownCA, serverName: "localhost", reason: "self-signed certificate in certificate chain",
        depth: 1),
    ])
  func untrusted(_ testCase: UntrustedCase) throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(testCase.kind)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: testCase.serverName,
      trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    let summary = try #require(outcome.untrustedSummary, "\(outcome.result)")
    #expect(summary.verdict == .failed(reason: testCase.reason, depth: testCase.depth))
    #expect(!summary.chain.isEmpty)
    #expect(outcome.events.last == .established(summary))
    #expect(outcome.error?.message.contains(testCase.reason) == true)
    // The connection is closed: nothing can be written, and the server received nothing inside TLS.
    #expect(!outcome.connection.isTLS)
    #expect(throws: TransportError.self) {
      try outcome.connection.write(bytes("QUIT\r\n"), deadline: deadline())
    }
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.isFinished)
    #expect(session.receivedInsideTLS.isEmpty)
  }

  @Test("the system store does not trust the test CA (a --ca-file is what makes it trusted)")
  func systemStoreDoesNotTrustTestCA() throws {
    let server = try implicitTLSServer(.valid)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: nil))
    let summary = try #require(outcome.untrustedSummary, "\(outcome.result)")
    // The server sends its root along: a self-signed certificate nobody here trusts.
    #expect(summary.verdict == .failed(reason: "self-signed certificate in certificate chain", depth: 1))
  }

  @Test("a self-signed certificate given as the CA file is a trust anchor")
  func selfSignedAsAnchor() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.selfSigned)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost",
      trust: .certificateAuthorities(caFile: pki.identity(.selfSigned).certificatePath))
    #expect(outcome.summary?.verdict == .verified(name: "localhost"), "\(outcome.result)")
    outcome.connection.close()
  }

  @Test("a CA file that cannot be read fails the handshake before anything is sent")
  func unreadableCAFile() throws {
    let server = try implicitTLSServer(.valid)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: "/nonexistent/ca.pem"))
    #expect(outcome.error?.kind == .tlsHandshakeFailed)
    #expect(outcome.events.isEmpty)
  }

  @Test("pins: SPKI and certificate SHA-256 trust a self-signed leaf; the chain is still evaluated")
  func pinsMatch() throws {
    let pki = try TestPKI.shared()
    let identity = pki.identity(.selfSigned)
    let spki = try OpenSSLCLI.spkiSHA256(pki, certificate: identity.certificatePath)
    let whole = try OpenSSLCLI.certificateSHA256(pki, certificate: identity.certificatePath)
    let server = try implicitTLSServer(.selfSigned)
    defer { server.stop() }

    for pin in [CertificatePin.spkiSHA256(spki), .certificateSHA256(whole)] {
      let outcome = try handshake(
        with: server, serverName: "localhost", trust: .pins([.spkiSHA256([1, 2, 3]), pin]))
      let summary = try #require(outcome.summary, "\(outcome.result)")
      #expect(summary.verdict == .pinned(pin))
      #expect(summary.chainVerification == .failed(reason: "self-signed certificate", depth: 0))
      #expect(outcome.connection.isTLS)
      outcome.connection.close()
    }
  }

  @Test("pins: a mismatch refuses the peer and reports its actual SPKI hash")
  func pinMismatch() throws {
    let pki = try TestPKI.shared()
    let other = try OpenSSLCLI.spkiSHA256(pki, certificate: pki.identity(.valid).certificatePath)
    let actual = try OpenSSLCLI.spkiSHA256(pki, certificate: pki.identity(.selfSigned).certificatePath)
    let server = try implicitTLSServer(.selfSigned)
    defer { server.stop() }
    let outcome = try handshake(with: server, serverName: "localhost", trust: .pins([.spkiSHA256(other)]))
    let summary = try #require(outcome.untrustedSummary, "\(outcome.result)")
    #expect(summary.verdict == .pinMismatch(spkiSHA256: actual))
    #expect(server.waitForFinishedSessions(1).first?.receivedInsideTLS == [])
  }

  @Test("a server speaking only TLS 1.0–1.1 fails the default client; a client asking for 1.0 gets 1.1")
  func oldVersionsOnly() throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(.valid, versions: .tls10 ... .tls11)
    defer { server.stop() }
    let refused = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    #expect(refused.error?.kind == .tlsHandshakeFailed, "\(refused.result)")
    // OpenSSL's server answers the ClientHello with the alert (no ServerHello): its versions stay unknown.
    #expect(
      refused.error?.message
        == "TLS handshake failed: server offers only versions older than TLS 1.2 (alert protocol version)")
    #expect(
      refused.events.contains(.alert(direction: .received, level: "fatal", description: "protocol version")))

    // Control: the same server works for a client that explicitly allows old versions.
    let old = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath),
      versions: .tls10 ... .tls13)
    #expect(old.summary?.version == .tls11, "\(old.result)")
    #expect(old.summary?.verdict == .verified(name: "localhost"))
    old.connection.close()
  }
}

/// What OpenSSL's own command-line tools say about a certificate.
enum OpenSSLCLI {
  /// `openssl x509 -noout -fingerprint -sha256`, parsed.
  static func certificateSHA256(_ pki: TestPKI, certificate: String) throws -> [UInt8] {
    let output = text(
      Array(try pki.openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", certificate])))
    let value = try #require(output.split(separator: "=").last).trimmingCharacters(
      in: .whitespacesAndNewlines)
    return try value.split(separator: ":").map { try #require(UInt8($0, radix: 16)) }
  }

  /// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary`.
  static func spkiSHA256(_ pki: TestPKI, certificate: String) throws -> [UInt8] {
    let pem = try pki.openssl(["x509", "-pubkey", "-noout", "-in", certificate])
    let der = try pki.openssl(["pkey", "-pubin", "-outform", "der"], input: pem)
    return Array(try pki.openssl(["dgst", "-sha256", "-binary"], input: der))
  }
}
