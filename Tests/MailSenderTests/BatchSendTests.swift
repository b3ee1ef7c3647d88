import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Synchronization
import Testing

@testable import MailSender

/// `MailSender.startBatch` (issue 12 §4) against the scripted server: one connection, a result per message, the
/// hook before each final write (§3), round trips, drops.
@Suite struct BatchSendTests {
  typealias H = SendHarness

  static func message(_ number: Int, body: String = "Hello.\r\n") -> BatchMessage {
    BatchMessage(
      reversePath: "a@example.org", recipients: ["r\(number)@example.org"],
      message: MessageContent(
        bytes: Array(
          "From: a@example.org\r\nTo: r\(number)@example.org\r\nSubject: \(number)\r\n\r\n\(body)".utf8)))
  }

  struct Outcome {
    var report: BatchReport
    var events: [SendEvent]
    var sessions: [RecordedSession]
    var hooked: [Int]
    var commands: [String] { sessions.flatMap(\.commands) }
  }

  static func run(
    _ messages: [BatchMessage], server standard: StandardSMTPOptions, implicitTLS: Bool = true,
    hook: (@Sendable (Int) throws(SendFailure) -> Void)? = nil
  ) throws -> Outcome {
    var serverOptions = ScriptedSMTPServer.Options()
    if implicitTLS { serverOptions.implicitTLS = try TestPKI.shared().identity(.valid) }
    let server = try ScriptedSMTPServer(standard: standard, options: serverOptions)
    defer { server.stop() }
    let channel = try H.request(port: server.port, security: implicitTLS ? .implicitTLS : .startTLS)
    var request = BatchRequest(channel: channel, messages: messages)
    let hooked = Mutex<[Int]>([])
    request.beforeFinalWrite = { (index) throws(SendFailure) in
      hooked.withLock { $0.append(index) }
      try hook?(index)
    }
    let handle = MailSender.startBatch(request)
    var events: [SendEvent] = []
    while let event = handle.nextEvent() { events.append(event) }
    let report = handle.wait()
    return Outcome(
      report: report, events: events, sessions: server.waitForFinishedSessions(1),
      hooked: hooked.withLock { $0 })
  }

  static func verbs(_ outcome: Outcome) -> [String] {
    outcome.commands.map { String($0.prefix { $0 != " " && $0 != ":" }).uppercased() }
  }

  @Test(arguments: [false, true])
  func threeMessagesOverOneConnection(chunking: Bool) throws {
    let messages = (1...3).map { Self.message($0) }
    let outcome = try Self.run(messages, server: try ChunkingSendTests.server(chunking: chunking))
    #expect(outcome.report.exitCode == 0, "\(outcome.report.summary)")
    #expect(outcome.report.messages.allSatisfy { $0.failure == nil })
    #expect(outcome.sessions.count == 1)
    #expect(outcome.sessions.first?.messages == messages.map { $0.message.bytes })
    #expect(Self.verbs(outcome).filter { $0 == "EHLO" }.count == 1)
    #expect(Self.verbs(outcome).filter { $0 == "AUTH" }.count == 1)
    #expect(outcome.hooked == [0, 1, 2])
    // Round trips (TCP handshake included): back to back with BDAT, the transactions take one; with DATA each
    // message takes one, plus the first envelope.
    #expect(outcome.report.session.roundTrips == (chunking ? 6 : 6 + messages.count))
    // The transcript: each message's envelope and its one summary line.
    let data = outcome.events.compactMap { event -> String? in
      if case .data(let text) = event.payload { return text }
      return nil
    }
    #expect(data.count == 3)
    #expect(data.first?.hasPrefix("[message 1 of 3: ") == true, "\(data)")
    guard case .outcome(let record) = outcome.events.last?.payload else {
      Issue.record("no outcome last")
      return
    }
    #expect(record.verdict == "3 messages: 3 sent")
    #expect(record.exitCode == 0)
  }

  /// Red team: a server that answers DATA with "354" and at once a "250" for content it never read must not
  /// get that message counted as sent (DESIGN §3.9: only the final reply after the end of data): the batch
  /// stops as a protocol violation (76) before the content, and nothing is reported delivered.
  @Test(arguments: [false, true])
  func aFinalReplyBeforeTheContentIsReplyInjection(pipelining: Bool) throws {
    var standard = try ChunkingSendTests.server(chunking: false)
    standard.dataReply = "354 go\r\n250 2.0.0 fake, before the content"
    if !pipelining { standard.capabilitiesAfterTLS.removeAll { $0 == "PIPELINING" } }
    let outcome = try Self.run((1...2).map { Self.message($0) }, server: standard)
    #expect(outcome.report.exitCode == 76, "\(outcome.report.summary)")
    #expect(outcome.report.messages.allSatisfy { $0.failure != nil }, "\(outcome.report.summary)")
    #expect(outcome.hooked.isEmpty, "no final dot was written")
    #expect(outcome.sessions.first?.messages.isEmpty == true)
  }

  /// The count with a proxy in the middle (BDAT only, as `RoundTripProxyTests` explains).
  @Test func theBatchRoundTripsAgreeWithAProxy() throws {
    let standard = try ChunkingSendTests.server(chunking: true)
    let server = try ScriptedSMTPServer(
      standard: standard, options: .init(implicitTLS: try TestPKI.shared().identity(.valid)))
    defer { server.stop() }
    let proxy = try TurnCountingProxy(target: server.port)
    let channel = try H.request(port: proxy.port, security: .implicitTLS)
    let handle = MailSender.startBatch(
      BatchRequest(channel: channel, messages: (1...5).map { Self.message($0) }))
    while handle.nextEvent() != nil {}
    let report = handle.wait()
    #expect(report.exitCode == 0, "\(report.summary)")
    #expect(report.session.roundTrips == 6)
    #expect(proxy.turns() == 6)
  }

  /// A refused message gets its own result and the others go on: the second message's recipient refused
  /// (RSET before the third), then at the end of data (by size: the server refuses the big one).
  @Test(arguments: [false, true])
  func aRefusedMessageDoesNotStopTheOthers(chunking: Bool) throws {
    let messages = (1...3).map { Self.message($0) }
    let outcome = try Self.run(
      messages,
      server: try ChunkingSendTests.server(chunking: chunking) {
        $0.recipientReplies["r2@example.org"] = "550 5.1.1 No such user"
      })
    #expect(outcome.report.exitCode == 69)
    #expect(outcome.report.messages.map { $0.failure == nil } == [true, false, true])
    #expect(outcome.report.messages[1].failure?.reason == .recipientsRefused)
    #expect(outcome.sessions.first?.messages == [messages[0], messages[2]].map { $0.message.bytes })
    #expect(Self.verbs(outcome).contains("RSET"))
    #expect(outcome.report.summary == "3 messages: 2 sent, 1 failed")
  }

  /// The hook refuses the second message: its final dot never goes, it is not sent, nor is the third; the
  /// first is sent.
  @Test func aRefusingHookHoldsTheMessageBack() throws {
    let messages = (1...3).map { Self.message($0) }
    let outcome = try Self.run(
      messages, server: try ChunkingSendTests.server(chunking: false),
      hook: { (index) throws(SendFailure) in
        if index == 1 { throw SendFailure(.temporary, "the outbox is full", reason: .localError) }
      })
    #expect(outcome.report.messages[0].failure == nil)
    #expect(outcome.report.messages[1].failure?.message == "the outbox is full")
    #expect(outcome.report.messages[2].failure?.reason == .notSent)
    #expect(outcome.sessions.first?.messages == [messages[0].message.bytes])
    #expect(outcome.report.exitCode == 75)
  }

  /// The connection drops after the second message's final dot, before its reply: the first is sent, the
  /// second "delivery unknown", the third not sent.
  @Test func aDropAfterTheSecondDot() throws {
    let identity = try TestPKI.shared().identity(.valid)
    let server = try ScriptedSMTPServer(options: .init(implicitTLS: identity)) { session in
      try session.send("220 mx ESMTP")
      var messages = 0
      while let line = try session.readLine() {
        let verb = String(decoding: line, as: UTF8.self).prefix { $0 != " " && $0 != ":" }.uppercased()
        switch verb {
        case "EHLO": try session.send("250-mx\r\n250-PIPELINING\r\n250 AUTH PLAIN")
        case "AUTH": try session.send("235 2.7.0 ok")
        case "MAIL", "RCPT": try session.send("250 ok")
        case "DATA":
          try session.send("354 go")
          _ = try session.readData()
          messages += 1
          if messages == 2 {
            session.abort()
            return
          }
          try session.send("250 2.0.0 queued")
        default: try session.send("221 bye")
        }
      }
    }
    defer { server.stop() }
    let channel = try H.request(port: server.port, security: .implicitTLS)
    let handle = MailSender.startBatch(
      BatchRequest(channel: channel, messages: (1...3).map { Self.message($0) }))
    while handle.nextEvent() != nil {}
    let report = handle.wait()
    #expect(report.messages[0].failure == nil)
    #expect(report.messages[1].failure?.category == .deliveryUnknown)
    #expect(report.messages[2].failure?.reason == .notSent)
    #expect(report.messages[2].failure?.category == .temporary)
    #expect(report.exitCode == 75)
    #expect(report.summary == "3 messages: 1 sent, 1 delivery unknown, 1 not sent")
  }

  /// A failure before the first transaction (here the certificate) is every message's: nothing was sent.
  @Test func aFailureBeforeTheTransactionsIsEveryMessages() throws {
    var serverOptions = ScriptedSMTPServer.Options()
    serverOptions.implicitTLS = try TestPKI.shared().identity(.expired)
    let server = try ScriptedSMTPServer(standard: try H.standard(), options: serverOptions)
    defer { server.stop() }
    let channel = try H.request(port: server.port, security: .implicitTLS)
    let handle = MailSender.startBatch(
      BatchRequest(channel: channel, messages: (1...2).map { Self.message($0) }))
    while handle.nextEvent() != nil {}
    let report = handle.wait()
    #expect(report.exitCode == 77)
    #expect(report.messages.allSatisfy { $0.failure?.category == .security })
  }
}
