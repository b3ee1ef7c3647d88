import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Synchronization

@testable import MailSender

/// Runs `MailSender.send` against a scripted server on 127.0.0.1 and collects what both sides saw.
struct SendHarness {
  static let user = "alice@example.test"
  static let password = "s3cret-Pa55word"

  struct Outcome {
    var report: SendReport
    var events: [SendEvent]
    var sessions: [RecordedSession]
    var elapsed: Duration

    var transcript: [TranscriptLine] { events.transcriptLines }
    var text: [String] { transcript.map { TranscriptFormat.text.render($0) } }
    /// The transcript lines without the time column, for hand-written goldens.
    var lines: [String] { transcript.map { "\(TranscriptFormat.marker($0)) \($0.line)" } }
    var commands: [String] { sessions.flatMap(\.commands) }
    var allReceived: [UInt8] { sessions.flatMap { $0.receivedPlaintext + $0.receivedInsideTLS } }

    /// Whether the server saw any command that carries mail or credentials.
    var serverSawMailOrAuth: Bool {
      commands.contains { line in
        let verb = line.prefix { $0 != " " && $0 != ":" }.uppercased()
        return ["MAIL", "RCPT", "DATA", "AUTH"].contains(verb)
      }
    }
  }

  static func message(_ body: String = "Hello.\r\n") -> MessageContent {
    MessageContent(
      bytes: Array(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\n\(body)".utf8))
  }

  static func request(
    port: UInt16, security: TransportSecurity, host: String = "localhost", withAuth: Bool = true
  ) throws -> SendRequest {
    SendRequest(
      host: host, port: port, security: security,
      trust: .certificateAuthorities(caFile: try TestPKI.shared().caCertificatePath),
      credentials: withAuth ? Credentials(user: user, password: Secret(password)) : nil,
      timeout: .seconds(5), reversePath: "a@example.org", recipients: ["b@example.org", "c@example.org"],
      message: message())
  }

  static func standard(
    identity: TestIdentityKind = .valid, configure: (inout StandardSMTPOptions) -> Void = { _ in }
  ) throws -> StandardSMTPOptions {
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(identity))
    options.credentials = .init(user: user, password: password)
    configure(&options)
    return options
  }

  static func run(
    server standard: StandardSMTPOptions, serverOptions: ScriptedSMTPServer.Options = .init(),
    security: TransportSecurity = .startTLS, cancelAfter: Double? = nil, stallAt: SendStage? = nil,
    configure: (inout SendRequest) -> Void = { _ in }
  ) throws -> Outcome {
    let server = try ScriptedSMTPServer(standard: standard, options: serverOptions)
    defer { server.stop() }
    var request = try Self.request(port: server.port, security: security)
    configure(&request)
    var events: [SendEvent] = []
    let wall = ContinuousClock()
    let start = wall.now
    // `stallAt`: the session runs on a manual clock, and once it waits in that stage time jumps past the step
    // deadline, so a stall test takes no real time (DESIGN §8).
    let clock = stallAt.map { _ in ManualClock() }
    let handle = clock.map { MailSender.start(request, clock: $0) } ?? MailSender.start(request)
    if let stallAt, let clock {
      while let event = handle.nextEvent() {
        events.append(event)
        if case .stage(stallAt) = event.payload { break }
      }
      usleep(50_000)
      while !handle.isFinished {
        clock.advance(by: request.timeout + .seconds(1))
        usleep(2_000)
      }
    }
    if let cancelAfter {
      Thread.detachNewThread {
        Thread.sleep(forTimeInterval: cancelAfter)
        handle.cancel()
      }
    }
    while let event = handle.nextEvent() { events.append(event) }
    let report = handle.wait()
    let elapsed = wall.now - start
    // Only a send that connected leaves a session to wait for.
    let sessions = report.peer == nil ? [] : server.waitForFinishedSessions(1, timeout: 2)
    server.stop()
    return Outcome(
      report: report, events: events,
      sessions: server.sessions.isEmpty ? sessions : server.sessions,
      elapsed: elapsed)
  }
}

extension [SendEvent] {
  /// The text transcript's lines, as the CLI would print them.
  var transcriptLines: [TranscriptLine] {
    flatMap { $0.transcriptLines(now: Int64(Date().timeIntervalSince1970)) }
  }
}
