import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Synchronization
import Testing

@testable import MailSender

/// Servers that speak out of turn or stop reading: cases a scripted conversation states byte by byte.
@Suite struct HostileServerTests {
  /// A minimal plaintext server: the greeting bytes as given, then "250 ok" to every line (354 to DATA,
  /// reading the content), until QUIT.
  static func script(greeting: String, stallAfter354: Double? = nil)
    -> @Sendable (ServerSession) throws -> Void
  {
    { session in
      try session.sendRaw(Array(greeting.utf8))
      while let line = try session.readLine() {
        let verb = String(decoding: line.prefix(4), as: UTF8.self).uppercased()
        switch verb {
        case "QUIT":
          try session.send("221 bye")
          return
        case "DATA":
          try session.send("354 go on")
          if let stallAfter354 {
            try session.stall(stallAfter354)
            return
          }
          _ = try session.readData()
          try session.send("250 queued")
        default:
          try session.send("250 ok")
        }
      }
    }
  }

  static func send(
    _ server: ScriptedSMTPServer, security: TransportSecurity,
    message: MessageContent = SendHarness.message(),
    timeout: Duration = .seconds(5)
  ) throws -> (SendReport, [RecordedSession], Duration) {
    var request = try SendHarness.request(
      port: server.port, security: security, host: "127.0.0.1", withAuth: false)
    request.message = message
    request.timeout = timeout
    let clock = ContinuousClock()
    let start = clock.now
    let report = MailSender.send(request) { _ in }
    let elapsed = clock.now - start
    return (report, report.peer == nil ? [] : server.waitForFinishedSessions(1, timeout: 2), elapsed)
  }

  @Test func aReplyBeforeItsCommandIsAProtocolViolation() throws {
    let server = try ScriptedSMTPServer(script: Self.script(greeting: "220 hi\r\n250 injected\r\n"))
    defer { server.stop() }
    let (report, sessions, _) = try Self.send(server, security: .plaintext)
    #expect(report.exitCode == 76, "\(report.verdictLine)")
    #expect(report.verdictLine.contains("reply injection"))
    #expect(sessions.flatMap(\.commands).isEmpty, "not even EHLO goes out")
  }

  @Test func aReplyBeforeItsCommandBeforeSTARTTLSIsTampering() throws {
    let server = try ScriptedSMTPServer(
      script: Self.script(greeting: "220 hi\r\n250-mx\r\n250 STARTTLS\r\n"))
    defer { server.stop() }
    let (report, sessions, _) = try Self.send(server, security: .startTLS)
    #expect(report.exitCode == 77, "\(report.verdictLine)")
    #expect(report.verdictLine.hasPrefix("refused: STARTTLS tampered"))
    #expect(sessions.flatMap(\.commands).isEmpty)
  }

  /// The outcome is known once MAIL is refused: a server that then ignores QUIT costs at most 2 s, not another
  /// full step (here 10 s).
  @Test func aServerThatIgnoresQUITDoesNotHoldTheVerdict() throws {
    let server = try ScriptedSMTPServer { session in
      try session.send("220 hi")
      while let line = try session.readLine() {
        switch String(decoding: line.prefix(4), as: UTF8.self).uppercased() {
        case "EHLO": try session.send("250 mx")
        case "MAIL": try session.send("550 5.7.1 not you")
        default:
          try session.stall(4)
          return
        }
      }
    }
    defer { server.stop() }
    let (report, _, elapsed) = try Self.send(server, security: .plaintext, timeout: .seconds(10))
    #expect(report.exitCode == 69, "\(report.verdictLine)")
    #expect(elapsed < .seconds(3))
  }

  /// The server stops reading after 354: the content write cannot finish before the deadline, so the final dot
  /// never left — a plain temporary failure, not "delivery unknown".
  @Test func aServerThatStopsReadingDuringDataGetsNothingDelivered() throws {
    // The server holds the connection until the client gives up (a shorter stall lost the race on a loaded
    // machine: building the 24 MiB took longer than the stall, and the server's close came first).
    let server = try ScriptedSMTPServer(script: Self.script(greeting: "220 hi\r\n", stallAfter354: 120))
    defer { server.stop() }
    // More than loopback's socket buffers hold (a few MiB each way), so a write must block.
    var bytes = Array("Subject: big\r\n\r\n".utf8)
    bytes.reserveCapacity(24 << 20)
    let line = Array(repeating: UInt8(ascii: "x"), count: 998) + [13, 10]
    while bytes.count < 24 << 20 { bytes.append(contentsOf: line) }
    var request = try SendHarness.request(
      port: server.port, security: .plaintext, host: "127.0.0.1", withAuth: false)
    request.message = MessageContent(bytes: bytes)
    request.timeout = .seconds(1)
    // The write deadline on a manual clock: once the upload has filled the socket buffers, time jumps past it.
    let clock = ManualClock()
    let handle = MailSender.start(request, clock: clock)
    while let event = handle.nextEvent() {
      if case .stage(.uploading) = event.payload { break }
    }
    usleep(300_000)
    while !handle.isFinished {
      clock.advance(by: .seconds(2))
      usleep(2_000)
    }
    let report = handle.wait()
    #expect(report.failure?.reason == .timedOut(.uploading), "\(report.verdictLine)")
    #expect(report.failure?.category == .temporary, "\(report.verdictLine)")
    #expect(report.verdictLine.hasSuffix("it was not delivered"))
  }
}
