import Accounts
import ArgumentParser
import FoundationEssentials
import MailMessage
import MailSender
import SMTPProtocol
import SendPlanning

/// `sealpost sendmail` (also the binary run as `sendmail`): the sendmail contract as msmtp implements it (issue
/// 12 §3), for git send-email, neomutt, cron and every program that pipes a message into `sendmail`.
struct SendmailCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sendmail",
    abstract: "Send the message on standard input, as sendmail does (for git send-email, mutt, cron).",
    discussion: """
      sealpost sendmail [-t] [-i] [-f ADDR] [-F NAME] [--account NAME] [--config PATH] [--queue] [RCPT…]

      The message is read from standard input to its end (a line holding only "." does not end it, as with -i). \
      The recipients are the arguments; with -t also the addresses of the message's To, Cc and Bcc (Bcc is \
      removed from what is sent). -f sets the envelope sender (default: the account's from, else the \
      message's From); -F names the sender when the message has no From. The account: --account (or -a), \
      else the one whose from is the envelope sender, else the default one. --queue, or the account key \
      `queue on`, keeps a message whose send fails for now in the outbox and exits 0 (the message is then in \
      Sealpost's hands, as sendmail's queue would have it).

      Accepted and ignored, as they change nothing here: -i, -oi, -oem, -oee, -oep, -oeq, -oew, -odi, -odb, \
      -odf, -odq, -om, -oo, -bm, -em, -U, -v, -B TYPE, -L TAG, -N DSN, -R RET, -V ENVID, -X LOGFILE.

      Quiet on success. Errors go to stderr as one line, with the exit codes of 'sealpost send --help'. \
      Invoked under the name sendmail (a link), the binary behaves as sealpost sendmail.
      """
  )

  @Argument(parsing: .captureForPassthrough, help: "Options as above, then recipients.")
  var arguments: [String] = []

  /// Flags that callers pass and that change nothing here.
  static let ignoredFlags: Set<String> = [
    "-i", "-oi", "-oem", "-oee", "-oep", "-oeq", "-oew", "-odi", "-odb", "-odf", "-odq", "-om", "-oo", "-bm",
    "-em", "-U", "-v",
  ]
  /// Ignored options that take a value (`-B 8BITMIME` or `-B8BITMIME`).
  static let ignoredWithValue: Set<String> = ["-B", "-L", "-N", "-R", "-V", "-X"]

  struct Parsed {
    var readRecipients = false
    var sender: String?
    var fullName: String?
    var account: String?
    var config: String?
    var queue = false
    var recipients: [String] = []
  }

  static func parse(_ arguments: [String]) throws(SendFailure) -> Parsed {
    var parsed = Parsed()
    var index = 0
    func value(_ flag: String, _ argument: String) throws(SendFailure) -> String {
      if argument.count > flag.count && !flag.hasPrefix("--") {
        return String(argument.dropFirst(flag.count))
      }
      if argument.hasPrefix(flag + "=") { return String(argument.dropFirst(flag.count + 1)) }
      index += 1
      guard index < arguments.count else { throw SendFailure(.usage, "\(flag) needs a value") }
      return arguments[index]
    }
    while index < arguments.count {
      let argument = arguments[index]
      if argument == "--" {
        parsed.recipients += arguments[(index + 1)...]
        break
      }
      if !argument.hasPrefix("-") || argument == "-" {
        parsed.recipients.append(argument)
      } else if argument == "-t" || argument == "--read-recipients" {
        parsed.readRecipients = true
      } else if argument == "--queue" {
        parsed.queue = true
      } else if ignoredFlags.contains(argument) {
      } else if argument.hasPrefix("--account") || argument == "-a" {
        parsed.account = try value(argument == "-a" ? "-a" : "--account", argument)
      } else if argument.hasPrefix("--config") || argument == "-C" {
        parsed.config = try value(argument == "-C" ? "-C" : "--config", argument)
      } else if argument.hasPrefix("-f") {
        parsed.sender = try value("-f", argument)
      } else if argument.hasPrefix("-F") {
        parsed.fullName = try value("-F", argument)
      } else if let flag = ignoredWithValue.first(where: { argument.hasPrefix($0) }) {
        _ = try value(flag, argument)
      } else {
        throw SendFailure(
          .usage,
          "sendmail: \(UntrustedText(argument).escaped) is not an option sealpost takes ('sealpost sendmail "
            + "--help' lists them)")
      }
      index += 1
    }
    return parsed
  }

  func run() throws {
    if arguments == ["--help"] || arguments == ["-h"] {
      Output.transcript(SendmailCommand.helpMessage())
      return
    }
    do {
      let parsed = try Self.parse(arguments)
      if !parsed.readRecipients && parsed.recipients.isEmpty {
        throw SendFailure(
          .usage, "no recipient: give the recipients as arguments, or -t to read To, Cc and Bcc")
      }
      let input = try Input.read("-", what: "message", limit: Input.defaultMaximumSize)
      try send(parsed, message: input)
    } catch let failure as SendFailure {
      throw Output.refuse(failure)
    }
  }

  private func send(_ parsed: Parsed, message input: [UInt8]) throws {
    var message = input
    let headerFields = SuppliedEnvelope.headerFieldNames(input)
    // The envelope sender: -f, else the message's Sender or From (an account's `from` comes in below).
    let catalog = try CLIPlanning.catalog(explicit: parsed.config)
    let fromHeader = try CLIPlanning.run { () throws(PlanningError) in
      try SuppliedEnvelope.senderAddress(input)
    }
    let senderAddress = parsed.sender.flatMap { $0.isEmpty ? nil : $0 } ?? fromHeader
    let account = try CLIPlanning.run { () throws(PlanningError) -> Account? in
      if let name = parsed.account { return try catalog.account(named: name) }
      if let senderAddress, let config = catalog.config,
        let match = config.accounts.first(where: {
          $0.name != "default"
            && $0.from.map { MessageAssembly.address(of: $0)?.lowercased() } == senderAddress.lowercased()
        })
      {
        return try catalog.account(named: match.name)
      }
      guard let account = try catalog.defaultAccount() else {
        // Sendmail mode has no --server or --account (red team: the shared wording named them): its server is
        // an account of the config file, chosen by -a, by the sender's address, or `account default`.
        guard let config = catalog.config else {
          throw PlanningError(
            .usage,
            "no account: sendmail mode sends through an account of a config file, and there is none: "
              + catalog.searchedText)
        }
        throw PlanningError(
          .usage,
          "no account: sendmail mode sends through the account -a names, the one whose from is the sender, or the "
            + "account named default, and \(UntrustedText(config.path).escaped) has none of them for this message "
            + "(add `account default : NAME`)")
      }
      return account
    }
    guard let account else { throw SendFailure(.usage, "no account") }
    CLIPlanning.printNotes(of: catalog, for: account)
    // -F: a message without From gets one (as msmtp's set_from_header auto does); otherwise From stays as written.
    if !headerFields.contains("from"), let address = senderAddress ?? account.from {
      let name = parsed.fullName.map { "\"\($0.replacing("\"", with: ""))\" " } ?? ""
      let mailbox = address.contains("<") ? address : "\(name)<\(address)>"
      message = Array("From: \(mailbox)\n".utf8) + message
    }
    var fields = MessageFields()
    fields.from = parsed.sender.flatMap { $0.isEmpty ? nil : $0 }
    fields.isCompleteMessage = true
    let recipients = try CLIPlanning.run { () throws(PlanningError) -> [String] in
      var all = parsed.recipients
      if parsed.readRecipients { all = try SuppliedEnvelope.headerRecipients(message) + all }
      return Mailbox.unique(all)
    }
    guard !recipients.isEmpty else {
      throw SendFailure(.usage, "no recipient: the message names none in To, Cc or Bcc, and none was given")
    }
    fields.to = recipients
    let checked = try CLIPlanning.run { () throws(PlanningError) in
      try MessageAssembly.check(fields, account: account)
    }
    let assembled = try CLIPlanning.run { () throws(PlanningError) in
      try MessageAssembly.assemble(checked, body: [], supplied: message)
    }
    let overrides = ChannelOverrides()
    let plan = try CLIPlanning.plan(overrides: overrides, account: account)
    let credentials = CLIPlanning.secrets(passwordCommand: nil).credentials(for: plan)
    let request = plan.request(for: assembled, credentials: credentials)
    // Quiet on success: no transcript, no note; the failure's line on stderr.
    if parsed.queue || account.queue {
      let (report, kept) = try OutboxSend.send(
        request, route: SendCommand.route(config: parsed.config, account: account, overrides: overrides),
        format: .none)
      recordCopy(report, of: request, account: account)
      guard report.failure != nil else { return }
      Output.verdict(Self.verdict(report, of: request, recorded: plan.recordedPins))
      if let kept {
        Output.verdict(OutboxSend.keptLine(kept))
        // In the outbox, the message is in Sealpost's hands (as in sendmail's queue); unsure delivery is not.
        if kept.state == .queued { return }
      }
      throw ExitCode(report.exitCode)
    }
    let report = Output.drive(format: .none) { MailSender.start(request) }
    recordCopy(report, of: request, account: account)
    guard report.failure != nil else { return }
    Output.verdict(Self.verdict(report, of: request, recorded: plan.recordedPins))
    throw ExitCode(report.exitCode)
  }

  /// The failure's line in the words of `send` (a changed key beside the recorded one, DESIGN §6), its hints
  /// naming the account's keys: `sendmail` takes no channel flag.
  static func verdict(_ report: SendReport, of request: SendRequest, recorded: RecordedPins?) -> String {
    CLIWording.verdict(
      report.verdictLine, failure: report.failure, tls: report.tls,
      context: CLIWording.Context(
        request: request, recorded: recorded, report: report, accountKeys: true, takesFlags: false))
  }

  /// Issue 12: the account's `record` Maildir gets the octets sent; a failure there is a warning, never an exit
  /// status (the message was sent).
  private func recordCopy(_ report: SendReport, of request: SendRequest, account: Account) {
    if case .failed(let warning)? = SentCopy.record(report, of: request, account: account) {
      Output.verdict("warning: " + warning)
    }
  }
}
