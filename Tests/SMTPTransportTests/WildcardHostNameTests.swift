import MailSenderTesting
import SMTPTransport
import Testing

/// Wildcard certificates through real handshakes (DESIGN §3.2: DNS names against subjectAltName only, no partial
/// wildcards). The client connects to 127.0.0.1 and verifies the name under test, as it would after resolving
/// it, so names that do not resolve here (`foo.x.test`) are checked by the same code as `localhost`.
@Suite("wildcard certificates in real handshakes")
struct WildcardHostNameTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var kind: TestIdentityKind
    var serverName: String
    var accepted: Bool
    var testDescription: String { "\(serverName) \(accepted ? "accepted" : "refused") for \(kind)" }
  }

  static let cases: [Case] = [
    // A whole-label wildcard: exactly one label, which must not be empty.
    Case(kind: .wildcard, serverName: "foo.x.test", accepted: true),
    Case(kind: .wildcard, serverName: "a.b.x.test", accepted: false),
    Case(kind: .wildcard, serverName: "x.test", accepted: false),
    // A partial wildcard is refused outright (no X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS: both would verify).
    Case(kind: .partialWildcard, serverName: "foo.x.test", accepted: false),
    Case(kind: .partialWildcard, serverName: "f.x.test", accepted: false),
    // Two labels never come from wildcards, whether one spans them or two stand for them.
    Case(kind: .multiLabelWildcard, serverName: "a.b.x.test", accepted: false),
    // A wildcard deeper down: one label in front of b.x.test, not b.x.test itself.
    Case(kind: .nestedWildcard, serverName: "a.b.x.test", accepted: true),
    Case(kind: .nestedWildcard, serverName: "b.x.test", accepted: false),
    Case(kind: .nestedWildcard, serverName: "a.a.b.x.test", accepted: false),
    // A wildcard over a single label is no wildcard at all.
    Case(kind: .localhostWildcard, serverName: "localhost", accepted: false),
    Case(kind: .localhostWildcard, serverName: "x.localhost", accepted: false),
  ]

  @Test(arguments: cases)
  func wildcardVerdict(_ testCase: Case) throws {
    let pki = try TestPKI.shared()
    let server = try implicitTLSServer(testCase.kind)
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: testCase.serverName,
      trust: .certificateAuthorities(caFile: pki.caCertificatePath))
    // The SNI is the name under test, whatever the verdict.
    #expect(
      outcome.events.first
        == .clientHello(serverNameIndication: testCase.serverName, versions: .tls12 ... .tls13))
    // One readable line when the verdict is wrong (the outcome itself is pages of chain).
    let verdict = outcome.summary.map { "\($0.verdict)" } ?? outcome.error?.message ?? "no outcome"
    if testCase.accepted {
      guard let summary = outcome.summary else {
        Issue.record("\(testCase.serverName) should verify, but: \(verdict)")
        return
      }
      #expect(summary.verdict == .verified(name: testCase.serverName))
      #expect(outcome.connection.isTLS)
      outcome.connection.close()
      return
    }
    guard let summary = outcome.untrustedSummary else {
      outcome.connection.close()
      Issue.record("\(testCase.serverName) should be refused, but: \(verdict)")
      return
    }
    #expect(summary.verdict == .failed(reason: "hostname mismatch", depth: 0))
    #expect(
      outcome.error?.message
        == "certificate of 127.0.0.1:\(server.port) not trusted for \(testCase.serverName): hostname mismatch"
        + " (certificate 0 of the chain)")
    #expect(!outcome.connection.isTLS)
    // The handshake stopped at the certificate: the server never saw a Finished nor any data.
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.clientHellos == 1)
    #expect(session.tlsVersion == nil)
    #expect(session.receivedInsideTLS.isEmpty)
  }

  @Test("each wildcard certificate holds its pattern as its only subjectAltName")
  func certificatesHoldTheirPatterns() throws {
    let pki = try TestPKI.shared()
    let patterns: [(TestIdentityKind, String)] = [
      (.wildcard, "*.x.test"), (.partialWildcard, "f*.x.test"), (.multiLabelWildcard, "*.*.x.test"),
      (.nestedWildcard, "*.b.x.test"), (.localhostWildcard, "*.localhost"),
    ]
    for (kind, pattern) in patterns {
      let server = try implicitTLSServer(kind)
      defer { server.stop() }
      // Pinned, so the chain is shown whatever the name check says.
      let spki = try OpenSSLCLI.spkiSHA256(pki, certificate: pki.identity(kind).certificatePath)
      let outcome = try handshake(with: server, serverName: "localhost", trust: .pins([.spkiSHA256(spki)]))
      let summary = try #require(outcome.summary, "\(kind): \(outcome.result)")
      let leaf = try #require(summary.chain.first)
      #expect(leaf.subjectAlternativeNames.map { $0.escaped } == ["DNS:\(pattern)"], "\(kind)")
      #expect(leaf.subject.escaped == "CN=\(pattern)", "\(kind)")
      outcome.connection.close()
    }
  }
}
