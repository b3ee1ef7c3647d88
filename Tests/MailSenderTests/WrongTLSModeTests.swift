import Foundation
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender

/// Issue 11: the wrong TLS mode for the port, recognised instead of a 60 s wait or OpenSSL's "wrong version
/// number".
@Suite struct WrongTLSModeTests {
  typealias H = SendHarness

  /// Implicit TLS to a server that greets in plaintext: the `220` where a ServerHello should be is named.
  @Test func implicitTLSToAPlaintextGreetingIsRecognised() throws {
    let outcome = try H.run(server: try H.standard(), security: .implicitTLS)
    #expect(outcome.report.failure?.reason == .plaintextReplyToTLS)
    #expect(outcome.report.exitCode == 77)
    #expect(
      outcome.report.verdictLine.contains("answered in plaintext, with an SMTP reply where a TLS ServerHello")
    )
    #expect(!outcome.serverSawMailOrAuth)
  }

  /// After STARTTLS the same plaintext bytes are a server that accepted STARTTLS and stayed plaintext: a handshake
  /// failure, never the wrong-mode advice.
  @Test func aServerThatStaysPlaintextAfterSTARTTLSIsAHandshakeFailure() throws {
    let outcome = try H.run(server: try H.standard { $0.startTLS = .stayPlaintext }, security: .startTLS)
    #expect(outcome.report.failure?.reason == .tlsHandshakeFailed)
    #expect(outcome.report.exitCode == 77)
  }

  /// A TLS server that refuses the handshake (only TLS 1.0–1.1 here) stays a handshake failure.
  @Test func aTLSServerThatRefusesTheHandshakeIsNotCalledPlaintext() throws {
    let outcome = try H.run(
      server: try H.standard(),
      serverOptions: .init(implicitTLS: try TestPKI.shared().identity(.valid), versions: .tls10 ... .tls11),
      security: .implicitTLS)
    #expect(outcome.report.failure?.reason == .tlsHandshakeFailed)
  }

  /// A STARTTLS session whose server says nothing (an implicit-TLS port waiting for a ClientHello) ends at the
  /// greeting deadline, not the step's: on the manual clock, 11 s pass while the step allows 60.
  @Test func aSilentServerEndsAtTheGreetingDeadline() throws {
    let server = try ScriptedSMTPServer(standard: try H.standard { $0.stall = .beforeGreeting(seconds: 8) })
    defer { server.stop() }
    var request = try H.request(port: server.port, security: .startTLS)
    request.timeout = .seconds(60)
    request.greetingTimeout = .seconds(10)
    let clock = ManualClock()
    let handle = MailSender.start(request, clock: clock)
    while let event = handle.nextEvent() {
      if case .stage(.greeting) = event.payload { break }
    }
    usleep(50_000)
    clock.advance(by: .seconds(11))
    let wall = ContinuousClock.now
    while !handle.isFinished && ContinuousClock.now - wall < .seconds(3) { usleep(2_000) }
    let finished = handle.isFinished
    while !handle.isFinished {
      clock.advance(by: .seconds(61))
      usleep(2_000)
    }
    let report = handle.wait()
    #expect(finished, "the session still waited after the greeting deadline")
    #expect(report.failure?.reason == .timedOut(.greeting))
    #expect(report.exitCode == 75)
  }
}

/// The probe's session carries the greeting deadline it was given.
@Suite struct ProbeGreetingDeadlineTests {
  @Test func theProbesSessionHasTheGreetingDeadline() {
    var probe = ProbeRequest(host: "localhost", port: 465, security: .startTLS)
    #expect(probe.sendRequest.greetingTimeout == nil)
    probe.greetingTimeout = .seconds(10)
    #expect(probe.sendRequest.greetingTimeout == .seconds(10))
  }
}
