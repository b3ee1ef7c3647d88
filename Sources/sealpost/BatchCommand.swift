import Accounts
import ArgumentParser
import FoundationEssentials
import MailSender
import SMTPProtocol
import SendPlanning

/// `sealpost send --batch DIR` (issue 12 §4): every `*.eml` file of a folder, sorted by name, over one
/// connection; one result line per message on stderr, the transcript on stdout.
extension SendCommand {
  func runBatch(folder: String) throws {
    let format: TranscriptFormat
    let plan: ChannelPlan
    let account: Account?
    let files: [String]
    var prepared: [(file: String, message: AssembledMessage)] = []
    var codes: [Int32] = []
    do throws(SendFailure) {
      format = try transcriptFormat()
      try batchUsageChecks()
      files = try Self.batchFiles(folder)
      (plan, account) = try channelPlan()
      if account?.smimeSign == true {
        Output.verdict(
          "note: smime_sign applies to messages Sealpost builds; the folder's go as they are, unsigned")
      }
      if case .certificateAuthorities(let caFile?) = plan.trust {
        try Input.checkReadable(caFile, what: "CA file")
      }
      let sizeLimit = try maximumSize()
      var fields = MessageFields()
      fields.from = from
      (fields.to, fields.cc, fields.bcc) = (to, cc, bcc)
      fields.isCompleteMessage = true
      let checked = try CLIPlanning.run { () throws(PlanningError) in
        try MessageAssembly.check(fields, account: account)
      }
      // Each file on its own: one that cannot be read or sent as written is reported and the others go.
      for file in files {
        let name = Self.fileName(file)
        do throws(SendFailure) {
          let bytes = try Input.read(file, what: "message", limit: sizeLimit, regularOnly: true)
          let assembled = try CLIPlanning.run { () throws(PlanningError) in
            try MessageAssembly.assemble(checked, body: [], supplied: bytes)
          }
          for note in assembled.notes { Output.verdict("\(name): note: " + note.worded(CLIPlanning.flag)) }
          for finding in assembled.findings where finding.isWarning {
            Output.verdict("\(name): warning: \(finding.text)")
          }
          prepared.append((file, assembled))
        } catch {
          Output.verdict("\(UntrustedText(name).escaped): " + CLIWording.notSent(error.description))
          codes.append(error.exitCode)
        }
      }
    } catch {
      throw Output.refuse(error)
    }
    guard !prepared.isEmpty else {
      Output.verdict("no message of \(UntrustedText(folder).escaped) could be sent")
      throw ExitCode(BatchReport.mostSerious(codes))
    }
    let credentials = CLIPlanning.secrets(passwordCommand: passwordCommand).credentials(for: plan)
    var channel = plan.request(
      reversePath: "", recipients: [], message: MessageContent(bytes: []), credentials: credentials,
      showData: showData)
    channel.requireTLS = requireTLS
    let request = BatchRequest(
      channel: channel,
      messages: prepared.map {
        BatchMessage(
          reversePath: $0.message.reversePath, recipients: $0.message.recipients, message: $0.message.content)
      })
    let report = Output.drive(format: format) { MailSender.startBatch(request) }
    let outbox = (queue || account?.queue == true) ? try? OutboxCommand.open() : nil
    let route = Self.route(config: config, account: account, overrides: overrides)
    for (index, message) in report.messages.enumerated() {
      let name = UntrustedText(Self.fileName(prepared[index].file)).escaped
      var line = "\(name): "
      if let failure = message.failure {
        line += CLIWording.verdict(
          failure.description, failure: failure, tls: report.session.tls,
          context: CLIWording.Context(request: channel, recorded: plan.recordedPins, report: report.session))
      } else {
        line += message.verdictLine
      }
      Output.verdict(line)
      if message.failure == nil {
        // The account's `record` Maildir gets the octets the server took; a failure there is a warning.
        var sentRequest = channel
        sentRequest.reversePath = request.messages[index].reversePath
        sentRequest.recipients = request.messages[index].recipients
        sentRequest.message = request.messages[index].message
        if case .failed(let warning)? = SentCopy.record(message, of: sentRequest, account: account) {
          Output.verdict("\(name): warning: \(warning)")
        }
      }
      if let outbox, let failure = message.failure, let state = OutboxEntry.State.kept(after: failure) {
        // --queue: kept for 'sealpost outbox flush' (a message whose delivery is unknown is kept as such).
        let assembled = prepared[index].message
        let envelope = OutboxEntry.Envelope(
          reversePath: assembled.reversePath, recipients: assembled.recipients)
        do throws(OutboxError) {
          var (entry, lock) = try outbox.add(
            source: assembled.source, envelope: envelope, route: route, state: state)
          entry.attempts = 1
          entry.lastError = failure.description
          try outbox.save(entry)
          withExtendedLifetime(lock) {}
          Output.verdict("\(name): " + OutboxSend.keptLine(entry))
        } catch {
          Output.verdict("\(name): \(error.message) — not kept")
          codes.append(error.exitCode)
        }
      }
    }
    Output.verdict(
      "batch: " + report.summary
        + (codes.isEmpty ? "" : "; \(codes.count) not sent (unreadable or refused before connecting)"))
    let code = BatchReport.mostSerious(codes + [report.exitCode])
    if code != 0 { throw ExitCode(code) }
  }

  /// `--batch` sends complete messages: the flags that build one make no sense with it (64).
  private func batchUsageChecks() throws(SendFailure) {
    var conflicting: [String] = []
    if message != nil { conflicting.append("--message") }
    if subject != nil { conflicting.append("--subject") }
    if body != nil { conflicting.append("--body") }
    if bodyFile != nil { conflicting.append("--body-file") }
    if !header.isEmpty { conflicting.append("--header") }
    if !attach.isEmpty { conflicting.append("--attach") }
    if dryRun { conflicting.append("--dry-run") }
    if dsnNotify != nil || dsnReturn != nil { conflicting.append("--dsn-notify/--dsn-return") }
    // S/MIME protects a message Sealpost builds; a folder's messages go as they are (as with --message).
    if sign { conflicting.append("--sign") }
    if encrypt { conflicting.append("--encrypt") }
    if !recipientCert.isEmpty { conflicting.append("--recipient-cert") }
    if !conflicting.isEmpty {
      throw SendFailure(
        .usage,
        "--batch sends the folder's complete messages: it cannot be combined with "
          + conflicting.joined(separator: ", "))
    }
    if let refusal = ArgumentLimits.refusal(
      to.map { _ in "--to" } + cc.map { _ in "--cc" } + bcc.map { _ in "--bcc" })
    {
      throw refusal
    }
  }

  /// The `*.eml` files of `folder`, sorted by name (66 when it cannot be read or holds none).
  /// The name of `path` in its folder, as the result lines show it.
  static func fileName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
  }

  static func batchFiles(_ folder: String) throws(SendFailure) -> [String] {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: folder)
    } catch {
      throw SendFailure(.noInput, "cannot read the folder \(UntrustedText(folder).escaped)")
    }
    let files = names.filter { $0.hasSuffix(".eml") && !$0.hasPrefix(".") }.sorted(by: {
      $0.utf8.lexicographicallyPrecedes($1.utf8)
    })
    guard !files.isEmpty else {
      throw SendFailure(.noInput, "no .eml file in \(UntrustedText(folder).escaped)")
    }
    let base = folder.hasSuffix("/") ? folder : folder + "/"
    return files.map { base + $0 }
  }
}
