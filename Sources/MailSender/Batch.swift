import MailMessage
import SMTPProtocol
import SMTPTransport

/// One message of a batch: its envelope and its content (read by the core in a check pass and a send pass, as
/// for a single send: BODY=8BITMIME, SMTPUTF8 and SIZE are derived per message).
public struct BatchMessage: Sendable {
  /// Envelope sender, address only.
  public var reversePath: String
  /// Envelope recipients, addresses only; at least one.
  public var recipients: [String]
  public var message: MessageContent

  public init(reversePath: String, recipients: [String], message: MessageContent) {
    self.reversePath = reversePath
    self.recipients = recipients
    self.message = message
  }
}

/// Several messages over one connection (issue 12 §4).
public struct BatchRequest: Sendable {
  /// The channel: server, TLS, trust, login, EHLO name, deadlines, `showData`, `requireTLS` (for every message).
  /// Its own envelope, message, DSN and hook are not used.
  public var channel: SendRequest
  public var messages: [BatchMessage]
  /// Called on the session's thread with a message's index just before the write that carries its final dot or
  /// its LAST chunk (issue 12 §3). A failure it throws ends that message as not sent — the connection is closed
  /// without its end of data — and the messages after it with it.
  public var beforeFinalWrite: (@Sendable (Int) throws(SendFailure) -> Void)?
  /// Called on the session's thread with a message's index and report as soon as its outcome is known (its
  /// final reply read, its refusal, or the end of the session for those it left unsettled), so a caller can
  /// record it before the next message goes (the outbox removes a sent message at once).
  public var settled: (@Sendable (Int, SendReport) -> Void)?

  public init(channel: SendRequest, messages: [BatchMessage]) {
    self.channel = channel
    self.messages = messages
  }
}

/// The result of a batch: the session's own report (connection, TLS, round trips; `failure` is what ended the
/// session early, if anything did) and one report per message, in order.
public struct BatchReport: Sendable {
  public var session: SendReport
  /// One per message: sent (with its final reply), refused, "delivery unknown", or not sent.
  public var messages: [SendReport]

  public init(session: SendReport, messages: [SendReport]) {
    self.session = session
    self.messages = messages
  }

  /// The most serious code among the messages (DESIGN §4's order; a cancel first), 0 when all were sent; the
  /// session's own code when there was no message.
  public var exitCode: Int32 {
    let codes = messages.isEmpty ? [session.exitCode] : messages.map(\.exitCode)
    return Self.mostSerious(codes)
  }

  /// The most serious of `codes` in DESIGN §4's order (a cancel first, then 64 … 69, EX_CANTCREAT, 75).
  public static func mostSerious(_ codes: [Int32]) -> Int32 {
    let order: [Int32] = [130, 143, 64, 65, 66, 68, 77, 78, 76, 69, 73, 75]
    let failing = codes.filter { $0 != 0 }
    return failing.min {
      (order.firstIndex(of: $0) ?? order.count) < (order.firstIndex(of: $1) ?? order.count)
    } ?? 0
  }

  /// "3 sent, 1 refused, 1 not sent" (refused: the server or the message said no; unknown; not sent).
  public var summary: String {
    var sent = 0
    var unknown = 0
    var notSent = 0
    var refused = 0
    for report in messages {
      guard let failure = report.failure else {
        sent += 1
        continue
      }
      switch failure.category {
      case .deliveryUnknown: unknown += 1
      case _ where failure.reason == .notSent || failure.reason == .cancelled: notSent += 1
      default: refused += 1
      }
    }
    var parts = ["\(sent) sent"]
    if refused > 0 { parts.append("\(refused) failed") }
    if unknown > 0 { parts.append("\(unknown) delivery unknown") }
    if notSent > 0 { parts.append("\(notSent) not sent") }
    return "\(messages.count) message\(messages.count == 1 ? "" : "s"): " + parts.joined(separator: ", ")
  }
}

/// A batch in progress.
public typealias BatchHandle = SessionHandle<BatchReport>

extension MailSender {
  /// Starts a batch: one connection, one greeting, TLS and login, then a transaction per message (pipelined as
  /// the server allows; see ``SMTPBatchClient``). The handle's events are the session's (per message: its
  /// commands, replies and one summary line); the last is the outcome of the whole batch.
  public static func startBatch(_ request: BatchRequest, clock: any SessionClock = SystemClock())
    -> BatchHandle
  {
    let cancellation = Cancellation()
    return BatchHandle.start(cancellation: cancellation) { emit in
      var channel = request.channel
      channel.goal = .authenticate
      channel.reversePath = ""
      channel.recipients = []
      channel.dsn = nil
      channel.beforeFinalWrite = nil
      var session = SendSession(request: channel, cancellation: cancellation, clock: clock, sink: emit)
      return session.runBatch(request)
    }
  }
}

extension SendSession {
  /// The batch's session: the same steps, policy and failures as a single send, then the transactions.
  mutating func runBatch(_ batch: BatchRequest) -> BatchReport {
    var results = [SendReport?](repeating: nil, count: batch.messages.count)
    var progress = BatchProgress(count: batch.messages.count)
    var sessionFailure: SendFailure?
    var inTransactions = false
    do {
      try checkRequest()
      // RFC 8689: REQUIRETLS promises TLS on every hop, starting with this one.
      if batch.channel.requireTLS && request.security == .plaintext {
        throw SendFailure(
          .security, "REQUIRETLS was asked for on a plaintext connection — nothing was sent",
          reason: .invalidRequest)
      }
      try resolveCredentials()
      try converseBatch(batch, results: &results, progress: &progress, inTransactions: &inTransactions)
    } catch let failure as SendFailure {
      sessionFailure = scrubbed(failure)
    } catch {
      sessionFailure = SendFailure(.temporary, scrub("\(error)"), reason: .localError)
    }
    var session = SendReport(failure: sessionFailure, goal: .deliver)
    session.roundTrips = connection?.roundTrips
    connection?.close()
    connection = nil
    session.plaintext = request.security == .plaintext
    session.tls = tlsSummary
    session.capabilitiesBeforeTLS = capabilitiesBeforeTLS
    session.capabilitiesAfterTLS = capabilitiesAfterTLS
    session.peer = peer
    // Messages the session ended without settling.
    for index in results.indices where results[index] == nil {
      let failure: SendFailure
      if let own = progress.failures[index] {
        failure = own
      } else if progress.finalWriteStarted.contains(index) {
        failure = deliveryUnknown(sessionFailure?.message ?? "the session ended")
      } else if cancellation.isCancelled {
        failure = cancelled()
      } else if let sessionFailure, !inTransactions {
        // The session never reached the transactions: this failure would have met the message alone too.
        failure = sessionFailure
      } else {
        let why = sessionFailure.map { ": \($0.message)" } ?? ""
        failure = SendFailure(
          .temporary, "not sent: the session ended before this message\(why)", reason: .notSent)
      }
      var report = SendReport(failure: failure)
      report.peer = peer
      results[index] = report
      batch.settled?(index, report)
    }
    let messages = results.map { $0 ?? SendReport(failure: nil) }
    let report = BatchReport(session: session, messages: messages)
    quietTransactions = false
    enter(.done)
    let verdict =
      sessionFailure.map { "\(report.summary) — the session ended: \($0.description)" } ?? report.summary
    let outcome: SendOutcome
    if let failure = session.failure {
      outcome = .failed(failure)
    } else if let worst = messages.compactMap(\.failure).min(by: { rank($0) < rank($1) }) {
      outcome = .failed(worst)
    } else {
      outcome = .sent(finalReply: nil)
    }
    emit(.outcome(OutcomeRecord(outcome: outcome, verdict: verdict, exitCode: report.exitCode)))
    return report
  }

  private func rank(_ failure: SendFailure) -> Int {
    let order: [Int32] = [130, 143, 64, 65, 66, 68, 77, 78, 76, 69, 73, 75]
    return order.firstIndex(of: failure.exitCode) ?? order.count
  }

  /// What the driver knows of each message beyond the machine: the final write started, failures of its own.
  struct BatchProgress {
    var finalWriteStarted: Set<Int> = []
    /// Failures found by the driver (an unreadable message, a hook's refusal, a pass that changed).
    var failures: [Int: SendFailure] = [:]
    let count: Int

    /// A failure while message `index` was written: a drop once its final write started is "delivery unknown"
    /// (and so are the messages before it still awaiting replies); anything else is its own failure.
    mutating func record(_ failure: SendFailure, of index: Int) {
      if failure.category == .deliveryUnknown {
        finalWriteStarted.insert(index)
      } else {
        failures[index] = failure
      }
    }
  }

  private mutating func converseBatch(
    _ batch: BatchRequest, results: inout [SendReport?], progress: inout BatchProgress,
    inTransactions: inout Bool
  ) throws {
    let connection = try openChannel()
    let peer = connection.peer

    var configuration = clientConfiguration(
      ehloName: request.ehloName ?? connection.local.addressLiteral, peerIsLoopback: peer.isLoopback)
    configuration.requireTLS = batch.channel.requireTLS
    let envelopes = batch.messages.map {
      SMTPBatchClient.Envelope(
        reversePath: $0.reversePath, recipients: $0.recipients,
        needsSMTPUTF8: !($0.reversePath.utf8.allSatisfy { $0 < 0x80 })
          || $0.recipients.contains { !$0.utf8.allSatisfy { $0 < 0x80 } })
    }
    var client = SMTPBatchClient(configuration: configuration, envelopes: envelopes)
    batchHook = batch.beforeFinalWrite
    var checked: [Int: CheckedContent] = [:]
    let count = batch.messages.count
    var action = client.start()
    enter(.greeting)
    while true {
      if cancellation.isCancelled { throw cancelled() }
      if client.inTransactions && !inTransactions {
        inTransactions = true
        if client.isInsideTLS {
          capabilitiesAfterTLS = client.capabilities
        } else {
          capabilitiesBeforeTLS = client.capabilities
        }
        enter(.envelope)
        quietTransactions = true
        coalescesWrites = true
      }
      switch action {
      case .readReply:
        do {
          try flushOutput()
        } catch {
          throw failure(from: error, awaitingFinalReply: false)
        }
        let reply = try readReply(awaitingFinalReply: false)
        action = client.received(reply)
      case .send(let commands):
        // Before the transactions every reply asked for has been read (reply injection); inside them, replies
        // to earlier messages may legitimately be on their way while the next one is written.
        if !client.inTransactions { try checkServerWaitedItsTurn(insideTLS: client.isInsideTLS) }
        try send(commands, utf8Paths: client.inTransactions)
        action = client.next()
      case .startTLS:
        capabilitiesBeforeTLS = client.capabilities
        try checkNothingFollowsStartTLS(connection)
        try handshake()
        action = client.tlsEstablished()
      case .examineContent(let index, let offer):
        do {
          let found = try examine(batch.messages[index].message.source, for: offer)
          checked[index] = found
          action = client.contentExamined(found.needs)
        } catch let error as MessageError {
          progress.failures[index] = SendFailure(
            .dataError, "\(error.message) — it was not sent", reason: .messageUnreadable)
          action = client.contentSkipped()
        }
      case .sendData(let index, let following):
        guard let found = checked.removeValue(forKey: index) else {
          preconditionFailure("content not examined")
        }
        batchIndex = index
        do {
          // The 354 was the last reply asked for (DATA ends its pipeline group, RFC 2920 §3.1): anything
          // buffered now answers content not yet sent — a "250" there must never settle this message as sent.
          try checkServerWaitedItsTurn(insideTLS: client.isInsideTLS)
          try sendMessage(
            batch.messages[index].message.source, checked: found, then: following,
            label: "message \(index + 1) of \(count)")
        } catch let failure as SendFailure {
          progress.record(failure, of: index)
          throw failure
        }
        progress.finalWriteStarted.insert(index)
        action = client.next()
      case .sendChunks(let index, let prefix, let following):
        guard let found = checked.removeValue(forKey: index) else {
          preconditionFailure("content not examined")
        }
        batchIndex = index
        let chunks: Int
        do {
          chunks = try sendChunks(
            batch.messages[index].message.source, checked: found, after: prefix,
            utf8Paths: client.usesSMTPUTF8(index), then: following, label: "message \(index + 1) of \(count)")
        } catch let failure as SendFailure {
          progress.record(failure, of: index)
          throw failure
        }
        progress.finalWriteStarted.insert(index)
        action = client.chunksSent(chunks)
      case .settle(let index, let result):
        let report = messageReport(
          result, envelope: envelopes[index], size: checked.removeValue(forKey: index)?.size)
        results[index] = report
        batch.settled?(index, report)
        action = client.next()
      case .finish(let result, let closing):
        // What is kept goes (QUIT after the last chunk) unless the server may be reading content.
        if closing != .abort { try? flushOutput() }
        if !inTransactions {
          if client.isInsideTLS {
            capabilitiesAfterTLS = client.capabilities
          } else {
            capabilitiesBeforeTLS = client.capabilities
          }
        }
        let report = finish(result, closing: closing)
        if let failure = report.failure { throw failure }
        return
      }
    }
  }

  /// A settled message's report: delivered with its final reply, or its refusal as a single send words it.
  private func messageReport(_ result: SMTPResult, envelope: SMTPBatchClient.Envelope, size: Int?)
    -> SendReport
  {
    guard let failure = result.failure else {
      var report = SendReport(failure: nil, finalReply: result.finalReply.map(record))
      report.peer = peer
      return report
    }
    var single = request
    single.goal = .deliver
    single.reversePath = envelope.reversePath
    single.recipients = envelope.recipients
    let mapped = Self.failure(
      from: failure, request: single, insideTLS: insideTLS,
      capabilities: insideTLS ? capabilitiesAfterTLS : capabilitiesBeforeTLS, messageSize: size,
      record: record)
    var report = SendReport(failure: scrubbed(mapped))
    report.peer = peer
    return report
  }
}
