import Foundation
import MailSenderTesting
import Testing

@testable import SMTPTransport

/// Issue 14: the CA file is parsed once (the check before connecting is the load), and the TLS context is made
/// once per process and shared by the connections that trust the same anchors — with every check still made
/// per connection.
@Suite("TLS contexts made once per process")
struct TLSContextCacheTests {
  @Test("the CA file check before connecting loads the context that the handshake then uses")
  func checkIsTheLoad() throws {
    let pki = try TestPKI.shared()
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    // Bytes of this test's own (the root CA twice), so no other test has made this context already.
    let root = try Data(contentsOf: URL(fileURLWithPath: pki.caCertificatePath))
    let path = directory.path + "/ca.pem"
    try (root + root).write(to: URL(fileURLWithPath: path))
    let anchors = TLSContextCache.Anchors.pem(Array(root + root))

    #expect(CertificateFile.problem(atPath: path) == nil)
    let loaded = TLSContextCache.peek(anchors, versions: TLSClientConfiguration.defaultVersions)
    #expect(loaded != nil, "the check kept no context")

    let server = try implicitTLSServer(.valid)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: path))
    #expect(outcome.summary?.verdict == .verified(name: "localhost"))
    #expect(outcome.connection.context == loaded)
    outcome.connection.close()
  }

  @Test("connections that trust the same anchors share one context, and each is verified on its own")
  func sharedContextStillVerifiesEachConnection() throws {
    let pki = try TestPKI.shared()
    let trust = TLSTrust.certificateAuthorities(caFile: pki.caCertificatePath)
    let server = try ScriptedSMTPServer(
      options: .init(implicitTLS: pki.identity(.valid), timeout: 3)
    ) { session in
      try session.send("220 tls ok")
      _ = try session.readLine()
    }
    defer { server.stop() }
    let wrongName = try ScriptedSMTPServer(
      options: .init(implicitTLS: pki.identity(.wrongHost), timeout: 3)
    ) { session in
      try session.send("220 tls ok")
      _ = try session.readLine()
    }
    defer { wrongName.stop() }

    // All open at once: a context freed and made again could come back at the same address.
    let first = try handshake(with: server, serverName: "localhost", trust: trust)
    defer { first.connection.close() }
    let second = try handshake(with: server, serverName: "127.0.0.1", trust: trust)
    defer { second.connection.close() }
    #expect(first.summary?.verdict == .verified(name: "localhost"))
    #expect(second.summary?.verdict == .verified(name: "127.0.0.1"))
    let shared = first.connection.context
    #expect(shared != nil)
    #expect(second.connection.context == shared)

    // The same context, a certificate for another name: refused, as with a context of its own.
    let refused = try handshake(with: wrongName, serverName: "localhost", trust: trust)
    #expect(refused.summary == nil)
    guard case .failed(let reason, _) = refused.untrustedSummary?.verdict else {
      Issue.record(
        "wrong.example's certificate was not refused for localhost: \(String(describing: refused.result))")
      return
    }
    #expect(reason.contains("hostname mismatch"))

    // A name the certificate has, asked for after the refusal on the same context: still verified.
    let third = try handshake(with: server, serverName: "localhost", trust: trust)
    defer { third.connection.close() }
    #expect(third.summary?.verdict == .verified(name: "localhost"))
    #expect(third.connection.context == shared)
  }

  @Test("a CA file that changed between two connections is read again: the old anchors are not reused")
  func changedCAFileIsNotStale() throws {
    let pki = try TestPKI.shared()
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = directory.path + "/ca.pem"
    try FileManager.default.copyItem(atPath: pki.caCertificatePath, toPath: path)
    let server = try ScriptedSMTPServer(
      options: .init(implicitTLS: pki.identity(.valid), timeout: 3)
    ) { session in
      try session.send("220 tls ok")
      _ = try session.readLine()
    }
    defer { server.stop() }

    let trusted = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: path))
    #expect(trusted.summary?.verdict == .verified(name: "localhost"))
    trusted.connection.close()

    // Now the file holds a CA that did not sign the server's certificate.
    try FileManager.default.removeItem(atPath: path)
    try FileManager.default.copyItem(atPath: pki.unknownCACertificatePath, toPath: path)
    let refused = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: path))
    #expect(refused.summary == nil)
    #expect(refused.untrustedSummary?.verdict.isTrusted == false)
    refused.connection.close()
  }

  @Test("a check of bytes that hold no certificate keeps nothing and says why")
  func noCertificate() {
    let bytes = Array("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8)
    #expect(CertificateFile.problem(pem: bytes) == "it holds no PEM certificate")
    #expect(TLSContextCache.peek(.pem(bytes), versions: TLSClientConfiguration.defaultVersions) == nil)
  }
}
