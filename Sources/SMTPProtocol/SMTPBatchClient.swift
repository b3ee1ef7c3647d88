import MailMessage

/// Several messages over one session (issue 12 §4): one greeting, EHLO, STARTTLS and AUTH, then one transaction
/// per message, as a value-type state machine like ``SMTPClient`` (which it runs for the steps before the first
/// transaction, with the goal `.authenticate`, so those steps and their policy are the single send's).
///
/// How the transactions go, by what the server offers (inside TLS when TLS is used):
/// - **PIPELINING and CHUNKING**: whole transactions back to back without waiting for replies — `MAIL`, `RCPT`,
///   `BDAT n LAST` and the content for a message of one recipient — at most `maximumInFlight` transactions
///   whose replies are not all read. A refused BDAT leaves the server's state undetermined until `RSET` (RFC
///   1830 §4, kept by RFC 3030), and the next transaction is already on its way when that refusal arrives, so
///   every transaction after the first starts with `RSET` (a no-op after a delivered message).
/// - **PIPELINING alone**: the next message's `MAIL`, `RCPT` (and `DATA` for one recipient) go in the same write as
///   the previous message's end of data (RFC 2920 §3.1), so each message costs one round trip; `RSET` goes
///   before a `MAIL` only after a transaction that ended with a sender held (a refused recipient or DATA).
/// - **Neither**: one command at a time, `RSET` likewise only when needed.
///
/// A message of several recipients never has its content pipelined: its `RCPT` replies are read first and its
/// content goes only when all were accepted (DESIGN §3.9, all or nothing); otherwise it is settled as refused,
/// nothing of it sent, and the batch goes on. A message refused at `MAIL`, at a recipient, at `DATA`, at a chunk
/// or at its end of data is settled (`.settle`) and the batch goes on; a message the server lacks an extension
/// or room for is settled before anything of it is sent. Replies are matched in order with the commands
/// written. What ends the session (a reply that makes no sense, a `354` after a refusal) settles the message it
/// concerns; messages not settled when the session ends are the driver's to call "not sent" (or "delivery
/// unknown" when their final dot or `LAST` chunk was written).
public struct SMTPBatchClient: Sendable {
  /// One message's envelope.
  public struct Envelope: Sendable, Hashable {
    /// Without angle brackets; `""` is the null reverse-path.
    public var reversePath: String
    /// Without angle brackets; at least one.
    public var recipients: [String]
    /// An address is UTF-8 (RFC 6531 §3.3): SMTPUTF8 whatever the content.
    public var needsSMTPUTF8: Bool

    public init(reversePath: String, recipients: [String], needsSMTPUTF8: Bool = false) {
      self.reversePath = reversePath
      self.recipients = recipients
      self.needsSMTPUTF8 = needsSMTPUTF8
    }
  }

  /// What the driver must do next.
  public enum Action: Sendable, Hashable {
    /// Read the next reply and pass it to `received(_:)`.
    case readReply
    /// Write these commands in one write, then go on with `next()`.
    case send([SMTPCommand])
    /// As ``SMTPClient/Action/startTLS``; then call `tlsEstablished()`.
    case startTLS
    /// Read message `index` as written for `offer` (its check pass), then call `contentExamined(_:)`.
    case examineContent(index: Int, ContentOffer)
    /// Stream message `index` through `DataEncoder` (the final ".\r\n" included), then `then` in the same write;
    /// then go on with `next()`.
    case sendData(index: Int, then: [SMTPCommand])
    /// Write `prefix`, message `index` as BDAT chunks (the last with LAST), then `then`, in as few writes as
    /// possible; then call `chunksSent(_:)` with the number of BDAT commands written.
    case sendChunks(index: Int, prefix: [SMTPCommand], then: [SMTPCommand])
    /// Message `index` is settled: delivered (`result.isDelivered`) or refused; then go on with `next()`.
    case settle(index: Int, SMTPResult)
    /// The session is over: `result` is its own (a failure before the first transaction, or what ended it);
    /// close as `then` says.
    case finish(SMTPResult, then: SMTPClient.Closing)
  }

  /// Transactions whose replies are not all read, at most (back-to-back BDAT): their replies (a few hundred
  /// octets each) always fit the socket buffers, so neither side blocks writing while the other does.
  public static let maximumInFlight = 32

  private enum Mode: Sendable {
    case sequential, pipelinedData, chunks
  }

  /// A reply the client waits for, in the order the commands were written.
  private enum Expected: Sendable {
    case rset
    case mail(Int)
    case rcpt(Int, recipient: Int)
    case data(Int)
    case dataEnd(Int)
    case chunk(Int, last: Bool)
  }

  /// A message from its MAIL to its settlement.
  private struct Transaction: Sendable {
    var configuration: SMTPClientConfiguration
    var mailAccepted = false
    var mailRejection: SMTPReply?
    var refused: [RefusedRecipient] = []
    var chunkRejection: SMTPReply?
    /// DATA was pipelined with MAIL and RCPT (one recipient, without CHUNKING).
    var dataPipelined = false
  }

  private var session: SMTPClient
  private let base: SMTPClientConfiguration
  private let envelopes: [Envelope]
  private var mode = Mode.sequential
  private var started = false
  private var finished = false
  /// The next message to examine.
  private var nextIndex = 0
  /// Examined and accepted before MAIL, waiting to be written (pipelined DATA: with the previous end of data).
  private var examined: Int?
  private var awaitingExamination: Int?
  private var awaitingChunkCount: (index: Int, prefix: [Expected])?
  private var transactions: [Int: Transaction] = [:]
  private var expected: [Expected] = []
  private var expectedHead = 0
  private var ready: [(Int, SMTPResult)] = []
  /// The server may hold a sender from a transaction that ended before its end of data.
  private var needsReset = false
  private var quitSent = false
  /// Transactions whose MAIL was written.
  private var transactionsWritten = 0
  /// The end of the session, once the messages settled with it have been reported.
  private var pendingFinish: Action?
  /// A message whose 354 came and whose content has not been written yet.
  private var contentDue: Int?
  /// Messages settled so far.
  public private(set) var settledCount = 0

  /// A machine for `envelopes`, one transaction each, over the session `configuration` describes (its own
  /// envelope, goal and content fields are not used; `requireTLS` applies to every message).
  public init(configuration: SMTPClientConfiguration, envelopes: [Envelope]) {
    var setup = configuration
    setup.goal = .authenticate
    setup.reversePath = ""
    setup.recipients = []
    setup.examinesContent = false
    setup.dsn = nil
    session = SMTPClient(configuration: setup)
    var base = configuration
    base.goal = .deliver
    base.dsn = nil
    base.examinesContent = false
    self.base = base
    self.envelopes = envelopes
  }

  /// Inside TLS (implicit, or after `tlsEstablished()`).
  public var isInsideTLS: Bool { session.isInsideTLS }
  /// The server's current capability list.
  public var capabilities: Capabilities? { session.capabilities }
  /// The step of the session before the transactions (for failures there).
  public var setupStage: SMTPClient.Stage { session.stage }
  /// The transactions have begun: the session is past AUTH.
  public var inTransactions: Bool { started }

  /// The recipient (message index, address) whose RCPT reply is read next.
  public var pendingRecipient: (index: Int, address: String)? {
    guard started, expectedHead < expected.count,
      case .rcpt(let index, let recipient) = expected[expectedHead],
      let transaction = transactions[index]
    else { return nil }
    return (index, transaction.configuration.recipients[recipient])
  }

  /// The message whose reply is read next, when it is one of a message.
  public var pendingMessage: Int? {
    guard started, expectedHead < expected.count else { return nil }
    switch expected[expectedHead] {
    case .rset: return nil
    case .mail(let index), .rcpt(let index, _), .data(let index), .dataEnd(let index), .chunk(let index, _):
      return index
    }
  }

  /// Whether message `index` uses SMTPUTF8 (its commands may carry UTF-8 addresses).
  public func usesSMTPUTF8(_ index: Int) -> Bool {
    transactions[index]?.configuration.messageNeedsSMTPUTF8 ?? envelopes[index].needsSMTPUTF8
  }

  /// Begins the session once connected: read the greeting.
  public mutating func start() -> Action {
    translate(session.start())
  }

  /// As ``SMTPClient/tlsEstablished()``.
  public mutating func tlsEstablished() -> Action {
    translate(session.tlsEstablished())
  }

  /// Feeds one complete reply.
  public mutating func received(_ reply: SMTPReply) -> Action {
    precondition(awaitingExamination == nil && awaitingChunkCount == nil, "received(_:) out of turn")
    guard started else { return translate(session.received(reply)) }
    guard expectedHead < expected.count else {
      preconditionFailure("received(_:) while no reply was asked for")
    }
    let head = expected[expectedHead]
    expectedHead += 1
    if expectedHead == expected.count {
      expected.removeAll(keepingCapacity: true)
      expectedHead = 0
    }
    switch head {
    case .rset:
      // RFC 5321 §4.1.1.5: RSET always succeeds with 250.
      guard reply.code == 250 else { return end(.unexpectedReply(reply), at: .mail, of: nil) }
    case .mail(let index):
      if reply.code == 250 {
        transactions[index]?.mailAccepted = true
      } else if reply.isTransient || reply.isPermanent {
        transactions[index]?.mailRejection = reply
      } else {
        return end(.unexpectedReply(reply), at: .mail, of: index)
      }
      if mode == .sequential {
        if reply.code == 250 {
          return advance(sending: [rcpt(index, 0)], expecting: [.rcpt(index, recipient: 0)])
        }
        return settleRefused(index)
      }
    case .rcpt(let index, let recipient):
      guard var transaction = transactions[index] else { break }
      if reply.isTransient || reply.isPermanent {
        if transaction.mailRejection == nil {
          transaction.refused.append(
            RefusedRecipient(address: transaction.configuration.recipients[recipient], reply: reply))
        }
      } else if reply.code != 250 && reply.code != 251 {
        return end(.unexpectedReply(reply), at: .rcpt, of: index)
      }
      transactions[index] = transaction
      let isLast = recipient == transaction.configuration.recipients.count - 1
      if mode == .sequential && !isLast {
        return advance(
          sending: [rcpt(index, recipient + 1)], expecting: [.rcpt(index, recipient: recipient + 1)])
      }
      if isLast && !transaction.dataPipelined
        && !(mode == .chunks && transaction.configuration.recipients.count == 1)
      {
        // Every RCPT reply is in and no content is on its way: all or nothing (DESIGN §3.9).
        guard transaction.mailRejection == nil, transaction.refused.isEmpty else {
          return settleRefused(index)
        }
        if mode == .chunks {
          awaitingChunkCount = (index, [])
          return .sendChunks(index: index, prefix: [], then: trailer(after: index))
        }
        return advance(sending: [.data], expecting: [.data(index)])
      }
    case .data(let index):
      guard let transaction = transactions[index] else { break }
      if reply.code == 354 {
        // After a 354 the server reads content: ending it in any way could deliver, so after a refusal the
        // connection is closed without a word (RFC 2920 §3.1, DESIGN §3.9).
        if let rejection = transaction.mailRejection {
          return end(.rejected(rejection), at: .mail, of: index, closing: .abort)
        }
        if !transaction.refused.isEmpty {
          return end(.recipientsRefused(transaction.refused), at: .rcpt, of: index, closing: .abort)
        }
        contentDue = index
        return next()
      }
      if reply.isTransient || reply.isPermanent {
        if transaction.mailRejection != nil || !transaction.refused.isEmpty { return settleRefused(index) }
        needsReset = true
        return settle(index, failure: .rejected(reply), at: .data)
      }
      return end(
        .unexpectedReply(reply), at: .data, of: index, closing: reply.isIntermediate ? .abort : .close)
    case .dataEnd(let index):
      // RFC 5321 §4.1.1.4: only the reply to the end of data says whether the message was accepted; the
      // transaction is over either way.
      if reply.isPositive {
        return settle(index, result: SMTPResult(finalReply: reply, failure: nil))
      }
      if reply.isTransient || reply.isPermanent {
        return settle(index, failure: .rejected(reply), at: .dataEnd)
      }
      return end(.unexpectedReply(reply), at: .dataEnd, of: index)
    case .chunk(let index, let last):
      guard let transaction = transactions[index] else { break }
      if !last {
        if reply.isTransient || reply.isPermanent {
          if transactions[index]?.chunkRejection == nil { transactions[index]?.chunkRejection = reply }
        } else if reply.code != 250 {
          return end(.unexpectedReply(reply), at: .bdat, of: index)
        }
        break
      }
      if let rejection = transaction.mailRejection {
        return settle(index, failure: .rejected(rejection), at: .mail)
      }
      if !transaction.refused.isEmpty {
        return settle(index, failure: .recipientsRefused(transaction.refused), at: .rcpt)
      }
      if let rejection = transaction.chunkRejection {
        // RFC 3030 §2: a refused chunk fails the transaction; a 2xx for the whole after it contradicts that.
        if reply.isPositive { return end(.unexpectedReply(reply), at: .dataEnd, of: index) }
        return settle(index, failure: .rejected(rejection), at: .bdat)
      }
      if reply.isPositive { return settle(index, result: SMTPResult(finalReply: reply, failure: nil)) }
      if reply.isTransient || reply.isPermanent {
        return settle(index, failure: .rejected(reply), at: .dataEnd)
      }
      return end(.unexpectedReply(reply), at: .dataEnd, of: index)
    }
    return next()
  }

  /// After `.examineContent`: what message `index` needs and its size. It is refused before anything of it is
  /// sent when the server lacks what it needs; otherwise its transaction is written when its turn comes.
  public mutating func contentExamined(_ needs: ContentNeeds) -> Action {
    guard let index = awaitingExamination else {
      preconditionFailure("contentExamined(_:) without an .examineContent action")
    }
    awaitingExamination = nil
    var configuration = base
    let envelope = envelopes[index]
    configuration.reversePath = envelope.reversePath
    configuration.recipients = envelope.recipients
    configuration.messageNeeds8BitMIME = needs.eightBitMIME
    configuration.messageNeedsSMTPUTF8 = envelope.needsSMTPUTF8 || needs.smtpUTF8
    configuration.messageSize = needs.size
    do {
      try configuration.validate()
    } catch {
      return settle(index, failure: .invalidCommand(error), at: .mail)
    }
    if let refusal = SMTPClient.refusalBeforeMail(
      configuration, capabilities: capabilities ?? .none, isInsideTLS: isInsideTLS)
    {
      return settle(index, failure: refusal, at: .mail)
    }
    transactions[index] = Transaction(configuration: configuration)
    examined = index
    return next()
  }

  /// After `.examineContent`: the message could not be read (the driver reports why). Nothing of it is sent;
  /// the batch goes on.
  public mutating func contentSkipped() -> Action {
    guard awaitingExamination != nil else {
      preconditionFailure("contentSkipped() without an .examineContent action")
    }
    awaitingExamination = nil
    settledCount += 1
    return next()
  }

  /// After `.sendChunks`: `count` BDAT commands were written.
  public mutating func chunksSent(_ count: Int) -> Action {
    guard let (index, prefix) = awaitingChunkCount, count >= 1 else {
      preconditionFailure("chunksSent(\(count)) without a .sendChunks action")
    }
    awaitingChunkCount = nil
    expected += prefix
    for chunk in 0..<count { expected.append(.chunk(index, last: chunk == count - 1)) }
    return next()
  }

  /// The next step after `.send`, `.sendData` or `.settle` (and the transactions' own replies).
  public mutating func next() -> Action {
    // Before the transactions every command written is answered before the next (SMTPClient's steps).
    guard started else { return .readReply }
    if !ready.isEmpty {
      let (index, result) = ready.removeFirst()
      settledCount += 1
      return .settle(index: index, result)
    }
    if let action = pendingFinish {
      pendingFinish = nil
      return action
    }
    if finished { preconditionFailure("next() after .finish") }
    // Content whose 354 came goes with the next message's envelope (or QUIT); without PIPELINING alone.
    if let index = contentDue, mode == .sequential {
      contentDue = nil
      expected.append(.dataEnd(index))
      return .sendData(index: index, then: [])
    }
    if let index = contentDue {
      if let upcoming = examined {
        examined = nil
        contentDue = nil
        let (commands, replies) = opening(upcoming)
        expected.append(.dataEnd(index))
        expected += replies
        return .sendData(index: index, then: commands)
      }
      if nextIndex < envelopes.count { return examine() }
      contentDue = nil
      quitSent = true
      expected.append(.dataEnd(index))
      return .sendData(index: index, then: [.quit])
    }
    let inFlight = transactions.count
    if let upcoming = examined {
      // Without BDAT one transaction at a time is on the wire: the next one's envelope waits for this one's end
      // of data.
      if mode != .chunks && (inFlight > 1 || expectedHead < expected.count) { return .readReply }
      if mode == .sequential && needsReset {
        // Without PIPELINING, RSET goes alone (RFC 5321 §4.1.1.5).
        needsReset = false
        expected.append(.rset)
        return .send([.rset])
      }
      examined = nil
      let (commands, replies) = opening(upcoming)
      if mode == .chunks && envelopes[upcoming].recipients.count == 1 {
        awaitingChunkCount = (upcoming, replies)
        return .sendChunks(index: upcoming, prefix: commands, then: trailer(after: upcoming))
      }
      expected += replies
      return .send(commands)
    }
    if expectedHead < expected.count {
      // Back to back: examine the next message while the window has room and nothing must be waited for.
      if mode == .chunks && nextIndex < envelopes.count && inFlight < Self.maximumInFlight
        && !waitingForRecipients
      {
        return examine()
      }
      return .readReply
    }
    if nextIndex < envelopes.count { return examine() }
    finished = true
    return .finish(SMTPResult(finalReply: nil, failure: nil), then: quitSent ? .close : .quit)
  }

  // MARK: - Steps

  private mutating func translate(_ action: SMTPClient.Action) -> Action {
    switch action {
    case .readReply: return .readReply
    case .send(let commands): return .send(commands)
    case .startTLS: return .startTLS
    case .finish(let result, let closing):
      if result.failure != nil {
        finished = true
        return .finish(result, then: closing)
      }
      // Past AUTH (or the last EHLO without credentials): the transactions begin.
      started = true
      let current = capabilities ?? .none
      mode = current.pipelining ? (current.chunking ? .chunks : .pipelinedData) : .sequential
      return next()
    case .examineContent, .sendData, .sendChunks:
      preconditionFailure("the session set-up asked for content")
    }
  }

  private mutating func examine() -> Action {
    let index = nextIndex
    nextIndex += 1
    awaitingExamination = index
    let current = capabilities ?? .none
    return .examineContent(
      index: index, ContentOffer(eightBitMIME: current.eightBitMIME, smtpUTF8: current.smtpUTF8))
  }

  /// A message of several recipients sent over BDAT waits for its RCPT replies before its chunks.
  private var waitingForRecipients: Bool {
    expected[expectedHead...].contains {
      if case .rcpt(let index, _) = $0 {
        return (transactions[index]?.configuration.recipients.count ?? 1) > 1
      }
      return false
    }
  }

  /// The commands that open message `index` (with RSET before them when needed) and the replies they bring.
  private mutating func opening(_ index: Int) -> ([SMTPCommand], [Expected]) {
    guard var transaction = transactions[index] else { preconditionFailure("no transaction \(index)") }
    var commands: [SMTPCommand] = []
    var replies: [Expected] = []
    // Back-to-back BDAT: the previous transaction's outcome is not known when this one goes (see the type).
    if needsReset || (mode == .chunks && transactionsWritten > 0) {
      commands.append(.rset)
      replies.append(.rset)
      needsReset = false
    }
    transactionsWritten += 1
    let configuration = transaction.configuration
    commands.append(
      .mail(
        reversePath: configuration.reversePath,
        parameters: configuration.mailParameters(sizeExtension: capabilities?.sizeExtension ?? false)))
    replies.append(.mail(index))
    if mode == .sequential { return (commands, replies) }
    for recipient in configuration.recipients.indices {
      commands.append(rcpt(index, recipient))
      replies.append(.rcpt(index, recipient: recipient))
    }
    if mode == .pipelinedData && configuration.recipients.count == 1 {
      commands.append(.data)
      replies.append(.data(index))
      transaction.dataPipelined = true
    }
    transactions[index] = transaction
    return (commands, replies)
  }

  /// What follows the content of message `index` in its write: QUIT after the last message.
  private mutating func trailer(after index: Int) -> [SMTPCommand] {
    guard nextIndex >= envelopes.count, examined == nil, index == nextIndex - 1 else { return [] }
    quitSent = true
    return [.quit]
  }

  private mutating func advance(sending commands: [SMTPCommand], expecting replies: [Expected]) -> Action {
    expected += replies
    return .send(commands)
  }

  private func rcpt(_ index: Int, _ recipient: Int) -> SMTPCommand {
    let configuration = transactions[index]?.configuration ?? base
    let address = configuration.recipients[recipient]
    return .rcpt(forwardPath: address, parameters: configuration.rcptParameters(forwardPath: address))
  }

  /// The transaction of `index` failed before its end of data (MAIL or recipients refused).
  private mutating func settleRefused(_ index: Int) -> Action {
    guard let transaction = transactions[index] else { return next() }
    if let rejection = transaction.mailRejection {
      return settle(index, failure: .rejected(rejection), at: .mail)
    }
    // A sender is held: RSET before the next MAIL (RFC 5321 §4.1.1.5).
    needsReset = true
    return settle(index, failure: .recipientsRefused(transaction.refused), at: .rcpt)
  }

  private mutating func settle(_ index: Int, failure: SMTPFailure.Kind, at stage: SMTPClient.Stage) -> Action
  {
    settle(index, result: SMTPResult(finalReply: nil, failure: SMTPFailure(kind: failure, stage: stage)))
  }

  private mutating func settle(_ index: Int, result: SMTPResult) -> Action {
    transactions[index] = nil
    ready.append((index, result))
    return next()
  }

  /// Ends the session: the message concerned (if any) is settled with the failure first.
  private mutating func end(
    _ kind: SMTPFailure.Kind, at stage: SMTPClient.Stage, of index: Int?, closing: SMTPClient.Closing = .close
  ) -> Action {
    let result = SMTPResult(finalReply: nil, failure: SMTPFailure(kind: kind, stage: stage))
    if let index {
      transactions[index] = nil
      ready.append((index, result))
    }
    pendingFinish = .finish(result, then: closing)
    finished = true
    return next()
  }
}
