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

  @Test("a full table drops the entry used least recently; a peek is not a use")
  func tableEvictsTheLeastRecentlyUsed() {
    var table = TLSContextCache.Table<String, Int>(capacity: 3)
    let filling = [table.insert(1, for: "a"), table.insert(2, for: "b"), table.insert(3, for: "c")]
    #expect(filling == [nil, nil, nil])
    let usedA = table.use("a")
    #expect(usedA == 1)
    // Least recently used: b (inserted second, never looked up since).
    let forD = table.insert(4, for: "d")
    #expect(forD == 2)
    let usedB = table.use("b")
    #expect(usedB == nil && table.peek("b") == nil)
    #expect(table.count == 3)
    // Now c is the oldest use (a was looked up after it).
    let forE = table.insert(5, for: "e")
    #expect(forE == 3)
    #expect(table.peek("a") == 1 && table.peek("d") == 4 && table.peek("e") == 5)
    // The peeks above did not refresh a: it goes next.
    let forF = table.insert(6, for: "f")
    #expect(forF == 1)
    #expect(table.peek("a") == nil)
    // Storing a key again replaces its value and evicts nothing.
    let againD = table.insert(7, for: "d")
    #expect(againD == 4)
    #expect(table.count == 3 && table.peek("d") == 7 && table.peek("e") == 5 && table.peek("f") == 6)
  }

  @Test("a context used between others stays in the process-wide table when it is full")
  func contextInUseSurvivesAFullTable() throws {
    let root = try Data(contentsOf: URL(fileURLWithPath: try TestPKI.shared().caCertificatePath))
    // Anchors of this test's own: the root CA followed by blank lines, a different number for each set (PEM
    // readers skip them), so every set is a key of its own.
    func anchors(_ blankLines: Int) -> [UInt8] {
      Array(root) + Array(repeating: UInt8(ascii: "\n"), count: blankLines)
    }
    let kept = anchors(1)
    #expect(CertificateFile.problem(pem: kept) == nil)
    for others in 1...(TLSContextCache.maximumEntries + 4) {
      #expect(CertificateFile.problem(pem: anchors(1 + others)) == nil)
      let present = TLSContextCache.peek(.pem(kept), versions: TLSClientConfiguration.defaultVersions) != nil
      #expect(present, "the context in use was dropped when the table had \(others) other entries")
      guard present else { return }
      // A use, as a second connection to the same server would make.
      #expect(CertificateFile.problem(pem: kept) == nil)
    }
  }

  @Test("a check of bytes that hold no certificate keeps nothing and says why")
  func noCertificate() {
    let bytes = Array("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8)
    #expect(CertificateFile.problem(pem: bytes) == "it holds no PEM certificate")
    #expect(TLSContextCache.peek(.pem(bytes), versions: TLSClientConfiguration.defaultVersions) == nil)
  }
}
