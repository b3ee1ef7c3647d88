import Accounts
import ArgumentParser
import FoundationEssentials
import MailSender
import SMTPProtocol
import SendPlanning
import Synchronization

/// `sealpost outbox`: the messages kept until a server takes them (issue 12 §2).
struct OutboxCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "outbox",
    abstract: "List, send or drop the messages kept in the outbox.",
    discussion: """
      The outbox is $XDG_STATE_HOME/sealpost/outbox (~/.local/state/sealpost/outbox). A message gets there \
      with --queue (send, sendmail) or the account key `queue on` when its send fails for now (4xx, a timeout \
      or a lost connection before the end of data). Only the server's final 2xx after the end of data removes \
      it. A message whose end of data may have reached the server ("delivery unknown") is never resent unless \
      you name it with --include-unknown ID.

      Exit status of flush: 0 when every message it tried was sent (or none was due); otherwise the most \
      serious code among them, in the order of 'sealpost send --help' (64, 65, 66, 68, 77, 78, 76, 69, 75), \
      73 when the outbox cannot be written, 130 and 143 when cancelled by Ctrl-C or SIGTERM.
      """,
    subcommands: [List.self, Flush.self, Drop.self],
    defaultSubcommand: List.self
  )

  static func open() throws(SendFailure) -> Outbox {
    do throws(OutboxError) {
      return try Outbox.standard(environment: Environment.variables)
    } catch {
      throw SendFailure(.configuration, error.message)
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "list",
      abstract: "List the outbox: id, account, recipients, subject, size, attempts, state.")

    func run() throws {
      let outbox: Outbox
      do { outbox = try OutboxCommand.open() } catch { throw Output.refuse(error) }
      let entries = outbox.entries()
      if entries.isEmpty {
        Output.transcript("The outbox is empty (\(UntrustedText(outbox.directory).escaped)).")
        return
      }
      for entry in entries {
        let account = entry.route.account ?? entry.route.server ?? "-"
        Output.transcript(
          "\(entry.id)  \(entry.state.words)  \(UntrustedText(account).escaped)  "
            + "attempts \(entry.attempts)  \(Input.grouped(entry.size)) bytes")
        Output.transcript(
          "    to: " + entry.envelope.recipients.map { UntrustedText($0).escaped }.joined(separator: ", "))
        Output.transcript("    subject: " + UntrustedText(entry.subject ?? "").escaped)
        if let lastError = entry.lastError {
          Output.transcript("    last error: " + UntrustedText(lastError).escaped)
        }
      }
    }
  }

  struct Drop: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "drop", abstract: "Remove a message from the outbox without sending it.")

    @Argument(help: "The id, as 'sealpost outbox' lists it.")
    var id: String

    func run() throws {
      do {
        let outbox = try OutboxCommand.open()
        try OutboxSend.run { () throws(OutboxError) in
          _ = try outbox.load(id)
          guard let lock = try outbox.lock(id) else {
            throw OutboxError(.cannotWrite, "\(id) is being sent by another process now; try again later")
          }
          try outbox.remove(id)
          withExtendedLifetime(lock) {}
        }
        Output.verdict("dropped \(id): it was not sent")
      } catch {
        throw Output.refuse(error)
      }
    }
  }

  struct Flush: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "flush",
      abstract:
        "Send the queued messages (or those named), one connection per account and server, with the transcript."
    )

    @Argument(help: "Only these ids (default: every queued message).")
    var ids: [String] = []
    @Option(
      name: .customLong("include-unknown"),
      help: ArgumentHelp(
        "Resend this message although its delivery is unknown (it may reach the recipients twice).",
        valueName: "id"))
    var includeUnknown: [String] = []
    @Option(
      help: ArgumentHelp("text, jsonl or none.", valueName: "format"), completion: Completion.transcript)
    var transcript: String = "text"

    func run() throws {
      let outbox: Outbox
      let format: TranscriptFormat
      do throws(SendFailure) {
        outbox = try OutboxCommand.open()
        guard let parsed = TranscriptFormat(rawValue: transcript) else {
          throw SendFailure(.usage, "--transcript takes text, jsonl or none")
        }
        format = parsed
        for id in ids + includeUnknown where !Outbox.isValidID(id) {
          throw SendFailure(.usage, "\(UntrustedText(id).escaped) is not an outbox id")
        }
      } catch {
        throw Output.refuse(error)
      }
      let named = Set(ids + includeUnknown)
      let targets: [String]
      if named.isEmpty {
        targets = outbox.entries().map(\.id)
      } else {
        targets = ids + includeUnknown.filter { !ids.contains($0) }
        for id in targets where (try? outbox.load(id)) == nil {
          Output.verdict("\(id): no such message in the outbox")
        }
      }
      var codes: [Int32] = []
      if !named.isEmpty && targets.contains(where: { (try? outbox.load($0)) == nil }) { codes.append(66) }
      // Issue 12 §4: the messages of one account and server go over one connection, in the outbox's order.
      var groups: [(route: OutboxEntry.Route, entries: [OutboxSend.Held])] = []
      for id in targets {
        guard let lock = try? outbox.lock(id) else {
          Output.verdict("\(id): being sent by another process — skipped")
          continue
        }
        guard var entry = try? outbox.load(id) else { continue }
        if entry.state == .sending {
          // Its process died during the session: the end of data may have gone out.
          entry.state = .deliveryUnknown
          try? outbox.save(entry)
        }
        switch entry.state {
        case .deliveryUnknown where !includeUnknown.contains(id):
          Output.verdict(
            "\(id): delivery unknown — not resent (it may have been delivered); to resend it, say "
              + "--include-unknown \(id)")
          continue
        case .failed where !named.contains(id):
          Output.verdict("\(id): failed before (\(entry.lastError ?? "refused")) — not resent unless named")
          continue
        default: break
        }
        let held = OutboxSend.Held(entry: entry, lock: lock)
        if let group = groups.firstIndex(where: { $0.route == entry.route }) {
          groups[group].entries.append(held)
        } else {
          groups.append((entry.route, [held]))
        }
      }
      for group in groups {
        let groupCodes = OutboxSend.flush(group.entries, outbox: outbox, format: format)
        codes += groupCodes
        if groupCodes.contains(130) || groupCodes.contains(143) { break }
      }
      guard let worst = OutboxSend.mostSerious(codes) else { return }
      throw ExitCode(worst)
    }
  }
}

/// Sending through the outbox: the message is written there ("sending") before its session starts and leaves
/// only on the server's final 2xx after the end of data.
enum OutboxSend {
  /// Runs outbox code, turning its errors into the CLI's failures (exit codes of ``OutboxError``).
  static func run<T>(_ body: () throws(OutboxError) -> T) throws(SendFailure) -> T {
    do throws(OutboxError) {
      return try body()
    } catch {
      var failure = SendFailure(error.kind == .usage ? .usage : .configuration, error.message)
      failure.exitCode = error.exitCode
      throw failure
    }
  }

  /// The most serious of `codes`, in DESIGN §4's order (a cancel first, then the outbox's own 73).
  static func mostSerious(_ codes: [Int32]) -> Int32? {
    let order: [Int32] = [130, 143, 64, 65, 66, 68, 77, 78, 76, 69, 73, 75]
    let failing = codes.filter { $0 != 0 }
    guard !failing.isEmpty else { return nil }
    return failing.min {
      (order.firstIndex(of: $0) ?? order.count) < (order.firstIndex(of: $1) ?? order.count)
    }
  }

  /// Sends `request` keeping it in the outbox meanwhile; the report, and the line saying where the message is
  /// kept when it was not sent (nil when sent or not kept).
  static func send(
    _ request: SendRequest, route: OutboxEntry.Route, format: TranscriptFormat
  ) throws(SendFailure) -> (SendReport, kept: OutboxEntry?) {
    let outbox = try OutboxCommand.open()
    let envelope = OutboxEntry.Envelope(reversePath: request.reversePath, recipients: request.recipients)
    var (entry, lock) = try run { () throws(OutboxError) in
      // A message in memory is kept as it is; one that streams is written a piece at a time (a failed read
      // keeps nothing, where reading it whole into memory first had kept an empty message).
      if let bytes = request.message.inMemoryBytes {
        return try outbox.add(message: bytes, envelope: envelope, route: route, state: .queued)
      }
      return try outbox.add(
        source: request.message.source, envelope: envelope, route: route, state: .queued)
    }
    entry.attempts = 1
    try run { () throws(OutboxError) in try outbox.save(entry) }
    // Issue 12 §3: "sending" is written just before the final dot leaves, no sooner: a kill before it leaves the
    // message queued, a kill after it "delivery unknown".
    let ledger = SendingLedger(outbox: outbox, entries: [entry])
    var request = request
    request.beforeFinalWrite = { () throws(SendFailure) in try ledger.markSending(0) }
    let report = Output.drive(format: format) { [request] in MailSender.start(request) }
    entry = ledger.entry(0)
    let kept = settle(&entry, report: report, outbox: outbox, keepFailed: false)
    withExtendedLifetime(lock) {}
    return (report, kept ? entry : nil)
  }

  /// Records how a session ended: removed on a final 2xx; queued after a temporary failure, a cancel before the
  /// end of data, or a server that could not be reached (connection refused, network unreachable: an offline
  /// laptop, as msmtpq users expect — the exit code stays 69); "delivery unknown" when the end of data may have
  /// reached the server; otherwise failed
  /// (kept when `keepFailed`, else removed: the caller still has the message and the verdict says why).
  /// Returns whether the message is still in the outbox.
  @discardableResult
  static func settle(_ entry: inout OutboxEntry, report: SendReport, outbox: Outbox, keepFailed: Bool) -> Bool
  {
    guard let failure = report.failure else {
      do throws(OutboxError) {
        try outbox.remove(entry.id)
      } catch {
        Output.verdict("warning: sent, but \(error.message); drop \(entry.id) from the outbox yourself")
      }
      return false
    }
    if let kept = OutboxEntry.State.kept(after: failure) {
      entry.state = kept
    } else if keepFailed {
      entry.state = .failed
    } else {
      try? outbox.remove(entry.id)
      return false
    }
    entry.lastError = failure.description
    entry.updated = Date().timeIntervalSince1970
    do throws(OutboxError) {
      try outbox.save(entry)
    } catch {
      // The sidecar still says "sending", which lists as "delivery unknown": never resent silently.
      Output.verdict("warning: \(error.message)")
    }
    return true
  }

  /// The line that says where a message not sent is kept.
  static func keptLine(_ entry: OutboxEntry) -> String {
    switch entry.state {
    case .deliveryUnknown:
      "kept in the outbox as \(entry.id), delivery unknown: it is not resent unless you say "
        + "'sealpost outbox flush --include-unknown \(entry.id)'"
    case .failed:
      // A bare flush skips a failed entry (red team: this line said it sends it).
      "kept in the outbox as \(entry.id), failed: it is not resent unless you say 'sealpost outbox flush "
        + "\(entry.id)'"
    default:
      "queued in the outbox as \(entry.id): 'sealpost outbox flush' sends it"
    }
  }

  /// An entry and its lock, held by this process while it is sent.
  struct Held {
    var entry: OutboxEntry
    let lock: Outbox.EntryLock
  }

  /// Sends outbox entries of one route (locked by the caller) over one connection; their exit codes, 0 for
  /// each one sent.
  static func flush(_ group: [Held], outbox: Outbox, format: TranscriptFormat) -> [Int32] {
    let entries = group.map(\.entry)
    var codes: [Int32] = []
    // The channel, planned once from the route the entries share.
    let channel: SendRequest
    let account: Account?
    let recorded: RecordedPins?
    do {
      (channel, account, recorded) = try makeRequest(entries[0], outbox: outbox, message: [])
    } catch {
      for var entry in entries {
        entry.lastError = error.description
        entry.updated = Date().timeIntervalSince1970
        try? outbox.save(entry)
        Output.verdict("\(entry.id): \(error.description) — kept in the outbox")
        codes.append(error.exitCode)
      }
      return codes
    }
    var messages: [BatchMessage] = []
    var sent: [Int] = []
    for (index, entry) in entries.enumerated() {
      do throws(OutboxError) {
        let bytes = try outbox.message(entry.id)
        messages.append(
          BatchMessage(
            reversePath: entry.envelope.reversePath, recipients: entry.envelope.recipients,
            message: MessageContent(bytes: bytes)))
        sent.append(index)
        Output.verdict(
          "\(entry.id): sending to "
            + entry.envelope.recipients.map { UntrustedText($0).escaped }.joined(separator: ", "))
      } catch {
        Output.verdict("\(entry.id): " + CLIWording.notSent(error.message))
        codes.append(error.exitCode)
      }
    }
    guard !messages.isEmpty else { return codes }
    // Issue 12 §3: each entry says "sending" from just before its final dot leaves, no sooner.
    let ledger = SendingLedger(outbox: outbox, entries: sent.map { entries[$0] })
    var request = BatchRequest(channel: channel, messages: messages)
    request.beforeFinalWrite = { (index) throws(SendFailure) in try ledger.markSending(index) }
    // Each message is recorded as soon as its outcome is known: a sent one leaves the outbox before the next
    // one's final dot, so a kill later in the batch cannot leave it looking unsure.
    request.settled = { index, report in ledger.settle(index, report) }
    let report = Output.drive(format: format) { [request] in MailSender.startBatch(request) }
    for position in sent.indices {
      let entry = ledger.entry(position)
      let message = report.messages[position]
      let kept = ledger.isKept(position)
      // The verdict in the words of `send` (a changed key beside the recorded one), without the hints that
      // name flags: a flush takes none. The account's keys are named when the route is the account alone.
      let context = CLIWording.Context(
        request: channel, recorded: recorded, report: report.session,
        accountKeys: account != nil && isAccountChannel(entry.route), takesFlags: false)
      let verdict = CLIWording.verdict(
        message.verdictLine, failure: message.failure, tls: report.session.tls, context: context)
      Output.verdict("\(entry.id): \(verdict)" + (kept ? " — \(keptLine(entry))" : ""))
      codes.append(message.exitCode)
      // The account's `record` Maildir gets the octets the server took (issue 12 §2); a failure is a warning.
      var sentRequest = channel
      sentRequest.reversePath = messages[position].reversePath
      sentRequest.recipients = messages[position].recipients
      sentRequest.message = messages[position].message
      if case .failed(let warning)? = SentCopy.record(message, of: sentRequest, account: account) {
        Output.verdict("\(entry.id): warning: \(warning)")
      }
    }
    withExtendedLifetime(group) {}
    return codes
  }

  /// Whether the route leaves the server, port, mode and trust to its account (a queued send's `--timeout` or
  /// `--user` change none of them): then the account's keys are what the verdict's hints name.
  static func isAccountChannel(_ route: OutboxEntry.Route) -> Bool {
    route.server == nil && route.port == nil && route.tls == nil && !route.allowInsecure
      && route.caFile == nil
      && route.pins.isEmpty
  }

  static func outboxMessage(_ entry: OutboxEntry, _ outbox: Outbox) throws(SendFailure) -> [UInt8] {
    try run { () throws(OutboxError) in try outbox.message(entry.id) }
  }

  /// The request for an entry: its route planned again (account, recorded pins, password sources), its message
  /// and envelope as stored; the pins the plan took from the pin file, for the verdict.
  static func makeRequest(_ entry: OutboxEntry, outbox: Outbox, message: [UInt8]? = nil) throws(SendFailure)
    -> (SendRequest, Account?, RecordedPins?)
  {
    var bytes: [UInt8]
    if let message {
      bytes = message
    } else {
      bytes = try outboxMessage(entry, outbox)
    }
    let (plan, account) = try CLIPlanning.channel(
      config: entry.route.config, account: entry.route.account, server: entry.route.server,
      overrides: entry.route.overrides)
    let credentials = CLIPlanning.secrets(passwordCommand: nil).credentials(for: plan)
    let request = plan.request(
      reversePath: entry.envelope.reversePath, recipients: entry.envelope.recipients,
      message: MessageContent(bytes: bytes), credentials: credentials)
    return (request, account, plan.recordedPins)
  }
}

/// The entries of a send through the outbox as the session's hook updates them: "sending" is written (atomically,
/// fsync'd) on the session's thread just before a message's final dot or LAST chunk leaves (issue 12 §3). A
/// failure to write it holds the message back (not sent).
final class SendingLedger: Sendable {
  private let outbox: Outbox
  private let entries: Mutex<[OutboxEntry]>
  private let kept: Mutex<Set<Int>> = Mutex([])

  init(outbox: Outbox, entries: [OutboxEntry]) {
    self.outbox = outbox
    self.entries = Mutex(entries)
  }

  func entry(_ index: Int) -> OutboxEntry { entries.withLock { $0[index] } }

  /// Whether entry `index` is still in the outbox after its settlement.
  func isKept(_ index: Int) -> Bool { kept.withLock { $0.contains(index) } }

  /// Records the outcome of entry `index` (one more attempt): removed when sent, else its new state.
  func settle(_ index: Int, _ report: SendReport) {
    var entry = self.entry(index)
    entry.attempts += 1
    if OutboxSend.settle(&entry, report: report, outbox: outbox, keepFailed: true) {
      kept.withLock { _ = $0.insert(index) }
    }
    entries.withLock { $0[index] = entry }
  }

  func markSending(_ index: Int) throws(SendFailure) {
    var entry = self.entry(index)
    entry.state = .sending
    entry.updated = Date().timeIntervalSince1970
    do throws(OutboxError) {
      try outbox.save(entry)
    } catch {
      var failure = SendFailure(
        .temporary, "\(error.message) — the message was not sent (the end of data never went)",
        reason: .localError)
      failure.exitCode = error.exitCode
      throw failure
    }
    entries.withLock { $0[index] = entry }
  }
}
