import Accounts
import ArgumentParser
import FoundationEssentials
import MailSender
import SMTPProtocol
import SendPlanning

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
      return try Outbox.standard(environment: ProcessInfo.processInfo.environment)
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
      abstract: "Send the queued messages (or those named), one connection each, with the transcript.")

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
        let code = OutboxSend.flush(&entry, outbox: outbox, format: format)
        withExtendedLifetime(lock) {}
        if let code { codes.append(code) }
        if code == 130 || code == 143 { break }
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
        return try outbox.add(message: bytes, envelope: envelope, route: route, state: .sending)
      }
      return try outbox.add(
        source: request.message.source, envelope: envelope, route: route, state: .sending)
    }
    entry.attempts = 1
    try run { () throws(OutboxError) in try outbox.save(entry) }
    let report = Output.drive(format: format) { MailSender.start(request) }
    let kept = settle(&entry, report: report, outbox: outbox, keepFailed: false)
    withExtendedLifetime(lock) {}
    return (report, kept ? entry : nil)
  }

  /// Records how a session ended: removed on a final 2xx; queued after a temporary failure or a cancel before
  /// the end of data; "delivery unknown" when the end of data may have reached the server; otherwise failed
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
    if failure.reason == .deliveryUnknown || failure.category == .deliveryUnknown {
      entry.state = .deliveryUnknown
    } else if failure.category == .temporary || failure.category == .cancelled {
      entry.state = .queued
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
    default:
      "queued in the outbox as \(entry.id): 'sealpost outbox flush' sends it"
    }
  }

  /// Sends one outbox entry (locked by the caller); its exit code, 0 when sent.
  static func flush(_ entry: inout OutboxEntry, outbox: Outbox, format: TranscriptFormat) -> Int32? {
    let request: SendRequest
    do {
      request = try makeRequest(entry, outbox: outbox)
    } catch {
      entry.lastError = error.description
      entry.updated = Date().timeIntervalSince1970
      try? outbox.save(entry)
      Output.verdict("\(entry.id): \(error.description) — kept in the outbox")
      return error.exitCode
    }
    entry.state = .sending
    entry.attempts += 1
    entry.updated = Date().timeIntervalSince1970
    do throws(OutboxError) {
      // Before the session: a process killed from here on leaves the entry known as "delivery unknown".
      try outbox.save(entry)
    } catch {
      Output.verdict("\(entry.id): \(error.message) — not sent")
      return error.exitCode
    }
    Output.verdict(
      "\(entry.id): sending to "
        + entry.envelope.recipients.map { UntrustedText($0).escaped }.joined(separator: ", "))
    let report = Output.drive(format: format) { MailSender.start(request) }
    let kept = settle(&entry, report: report, outbox: outbox, keepFailed: true)
    Output.verdict("\(entry.id): \(report.verdictLine)" + (kept ? " — \(keptLine(entry))" : ""))
    return report.exitCode
  }

  /// The request for an entry: its route planned again (account, recorded pins, password sources), its message
  /// and envelope as stored.
  static func makeRequest(_ entry: OutboxEntry, outbox: Outbox) throws(SendFailure) -> SendRequest {
    let message = try run { () throws(OutboxError) in try outbox.message(entry.id) }
    let overrides = entry.route.overrides
    var account: Account?
    if entry.route.config != nil || entry.route.account != nil || entry.route.server == nil {
      let catalog = try CLIPlanning.catalog(explicit: entry.route.config)
      account = try CLIPlanning.run { () throws(PlanningError) in
        if let name = entry.route.account { return try catalog.account(named: name, overrides: overrides) }
        guard entry.route.server == nil else { return nil }
        guard let account = try catalog.defaultAccount(overrides: overrides) else {
          throw catalog.noDefaultAccount
        }
        return account
      }
    }
    let plan = try CLIPlanning.run { () throws(PlanningError) in
      let plan = try ChannelPlan.withRecordedPins(
        overrides: overrides, account: account, environment: ProcessInfo.processInfo.environment)
      try plan.checkPlaintext()
      return plan
    }
    let credentials = CLIPlanning.secrets(passwordCommand: nil).credentials(for: plan)
    return plan.request(
      reversePath: entry.envelope.reversePath, recipients: entry.envelope.recipients,
      message: MessageContent(bytes: message), credentials: credentials)
  }
}
