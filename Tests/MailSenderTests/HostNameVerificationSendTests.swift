import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Synchronization
import Testing

@testable import MailSender

/// Host-name checks through real sends and real probes (DESIGN §3.2: subjectAltName only, never the CN, no
/// wildcard over a single label). Only names that resolve to loopback everywhere can be sent to, so these use
/// `localhost`; the wildcard cases for other names are real handshakes in `WildcardHostNameTests`.
@Suite struct HostNameVerificationSendTests {
  typealias H = SendHarness

  struct Case: Sendable, CustomTestStringConvertible {
    var kind: TestIdentityKind
    var security: TransportSecurity
    /// The certificate's names line as the transcript shows it.
    var names: String
    var testDescription: String { "\(kind) over \(security.rawValue)" }
  }

  static let cases: [Case] = [
    // CN=localhost and no subjectAltName: the CN is never a name (X509_CHECK_FLAG_NEVER_CHECK_SUBJECT).
    Case(
      kind: .commonNameOnly, security: .startTLS,
      names: "~~  TLS cert 0: names (no subjectAltName: matches no host name)"),
    Case(
      kind: .commonNameOnly, security: .implicitTLS,
      names: "~~  TLS cert 0: names (no subjectAltName: matches no host name)"),
    // DNS:*.localhost is not a wildcard for `localhost` (nor for anything: one label is too broad).
    Case(kind: .localhostWildcard, security: .startTLS, names: "~~  TLS cert 0: names DNS:*.localhost"),
    Case(kind: .localhostWildcard, security: .implicitTLS, names: "~~  TLS cert 0: names DNS:*.localhost"),
  ]

  static func serverOptions(_ testCase: Case) throws -> ScriptedSMTPServer.Options {
    guard testCase.security == .implicitTLS else { return .init() }
    return .init(implicitTLS: try TestPKI.shared().identity(testCase.kind), timeout: 3)
  }

  @Test(arguments: cases)
  func sendToLocalhostIsRefused(_ testCase: Case) throws {
    let outcome = try H.run(
      server: try H.standard(identity: testCase.kind), serverOptions: try Self.serverOptions(testCase),
      security: testCase.security)
    let report = outcome.report
    let port = try #require(report.peer?.port)
    #expect(report.exitCode == 77, "\(report.verdictLine)")
    #expect(
      report.verdictLine
        == "refused: certificate of 127.0.0.1:\(port) not trusted for localhost: hostname mismatch"
        + " (certificate 0 of the chain) — nothing was sent")
    #expect(report.tls?.verdict == .failed(reason: "hostname mismatch", depth: 0))
    let lines = outcome.lines
    #expect(lines.contains("~~  TLS > ClientHello (SNI localhost, TLS 1.2–1.3)"), "\(lines)")
    #expect(lines.contains("~~  TLS > alert fatal: bad certificate"), "\(lines)")
    #expect(!lines.contains("~~  TLS > Finished"))
    #expect(lines.contains(testCase.names), "\(lines)")
    // The handshake was reached and stopped there: nothing of the session inside TLS, no login, no mail.
    let session = try #require(outcome.sessions.first)
    #expect(session.clientHellos == 1)
    #expect(session.tlsVersion == nil)
    let bytesInsideTLS = session.receivedInsideTLS.count
    #expect(bytesInsideTLS == 0)
    #expect(!outcome.serverSawMailOrAuth)
  }

  @Test(arguments: cases)
  func probeOfLocalhostIsNotTrustworthy(_ testCase: Case) throws {
    let server = try ScriptedSMTPServer(
      standard: try H.standard(identity: testCase.kind), options: try Self.serverOptions(testCase))
    defer { server.stop() }
    let report = MailSender.probe(
      ProbeRequest(
        host: "localhost", port: server.port, security: testCase.security,
        trust: .certificateAuthorities(caFile: try TestPKI.shared().caCertificatePath), timeout: .seconds(5))
    ) { _ in }
    #expect(report.exitCode == 77, "\(report.verdictLine)")
    #expect(!report.isTrustworthy)
    #expect(
      report.verdictLine
        == "not trustworthy: certificate of 127.0.0.1:\(server.port) not trusted for localhost: hostname"
        + " mismatch (certificate 0 of the chain) — nothing was sent")
    let lines = report.transcript.transcriptLines.map { "\(TranscriptFormat.marker($0)) \($0.line)" }
    #expect(lines.contains(testCase.names), "\(lines)")
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
    #expect(json["trustworthy"] as? Bool == false, "\(report.json())")
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.clientHellos == 1)
    let bytesInsideTLS = session.receivedInsideTLS.count
    #expect(bytesInsideTLS == 0)
  }

  /// Control: the same server with the `valid` identity delivers, so the refusals above are the name's doing.
  @Test(arguments: [TransportSecurity.startTLS, .implicitTLS])
  func theValidIdentityDelivers(security: TransportSecurity) throws {
    let options: ScriptedSMTPServer.Options =
      security == .implicitTLS
      ? .init(implicitTLS: try TestPKI.shared().identity(.valid), timeout: 3) : .init()
    let outcome = try H.run(server: try H.standard(), serverOptions: options, security: security)
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    #expect(outcome.report.tls?.verdict == .verified(name: "localhost"))
  }
}
