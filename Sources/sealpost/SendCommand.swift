import Accounts
import ArgumentParser
import FoundationEssentials
import MailMessage
import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning

/// `sealpost send`: one message, with the live transcript on stdout and a one-line verdict on stderr.
struct SendCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "send",
    // Issue 14: read only when `send` is the root of a parse, which is `Sealpost.parse`'s direct parse alone
    // (in the root's parse the root's configuration counts): it skips ArgumentParser's check for
    // --generate-completion-script (1.2 M instructions), whose request then fails the direct parse as an
    // unknown option and is answered by the root's parse, as before. No option of send takes a dash-led
    // value, so none can swallow that flag.
    _superCommandName: "sealpost",
    abstract: "Send one message and show the SMTP session and every TLS step.",
    discussion: """
      Implicit TLS on port 465 is the default; --tls starttls uses STARTTLS (port 587). The server's \
      certificate must verify for the host name (or match --pin). Plaintext needs --tls none, and to a host \
      that is not loopback also --allow-insecure; AUTH never goes over plaintext to such a host.

      A message, body file or standard input larger than --max-size (64M unless raised) is refused (65) \
      before connecting; one message takes at most 1,000 recipients. Each --attach file must be a regular \
      file you can read (66 otherwise, before connecting); it is read while the message is sent. \
      --dry-run prints the message as it would be built for a server with no extensions (before \
      dot-stuffing) and connects to nothing; no server or password is needed for it.

      Examples:
        sealpost send --server smtp.example.org --user alice \\
          --from alice@example.org --to bob@example.org
        sealpost send --server smtp.example.org:587 --user alice \\
          --password-command 'pass show mail' --from alice@example.org \\
          --to bob@example.org --subject Hello --body-file note.txt
        sealpost send --server localhost:1025 --tls none \\
          --from a@example.test --to b@example.test
        sealpost send --account work --to bob@example.org --body 'Hi'
        echo 'Hi' | sealpost send --account work --to bob@example.org --subject Hi
        sealpost send --from a@example.org --to b@example.org --subject Report \\
          --attach report.pdf --attach 'Grüße.png' --dry-run

      The body: --body, --body-file, else standard input when it is not a terminal (as mail(1) reads it); on a \
      terminal, with none of these, a short test message (subject "sealpost test message").

      Exit status (sysexits.h; the first that matches wins): 0 sent; 64 usage; 65 bad data (address, header, \
      message); 66 an input file missing or unreadable; 68 unknown host; 77 security (TLS, certificate or \
      pin, STARTTLS, plaintext policy, AUTH failed); 78 configuration (config file, an account Sealpost cannot \
      use as written, no password source); 76 protocol violation; 69 permanent failure (5xx, connection \
      refused); 75 temporary failure (4xx, timeout, connection lost, delivery unknown); 74 output lost; 130 \
      and 143 cancelled by Ctrl-C or SIGTERM.
      """
  )

  // Account.
  @Option(
    help: ArgumentHelp("Read accounts from this file (msmtp's syntax).", valueName: "path"),
    completion: .file())
  var config: String?
  @Option(
    help: ArgumentHelp("Use this account (default: the account named default).", valueName: "name"),
    completion: Completion.account)
  var account: String?

  // Server and channel.
  @Option(help: ArgumentHelp("The server, HOST or HOST:PORT ([IPv6]:PORT).", valueName: "host[:port]"))
  var server: String?
  @Option(help: "The port (overrides one given in --server).")
  var port: Int?
  @Option(
    help: ArgumentHelp("implicit (465), starttls (587) or none (25).", valueName: "mode"),
    completion: Completion.tls)
  var tls: String?
  @Flag(help: "With --tls none: allow plaintext to a host that is not loopback (never with AUTH).")
  var allowInsecure = false
  @OptionGroup var trustOptions: TrustOptions

  // Login.
  @Option(help: "The login name for AUTH.")
  var user: String?
  @Option(
    help: ArgumentHelp("Run this with /bin/sh -c and use its output as the password.", valueName: "cmd"))
  var passwordCommand: String?
  @Option(
    help: ArgumentHelp("The SASL mechanism: plain or login (default: the best offered).", valueName: "mech"),
    completion: Completion.auth)
  var auth: String?

  // Addresses and content.
  @Option(
    help: ArgumentHelp("The sender mailbox ('Name <a@example.org>' or a@example.org).", valueName: "mailbox"))
  var from: String?
  @Option(help: ArgumentHelp("A recipient (repeat for more).", valueName: "mailbox"))
  var to: [String] = []
  @Option(help: ArgumentHelp("A copy recipient (repeat for more).", valueName: "mailbox"))
  var cc: [String] = []
  @Option(
    help: ArgumentHelp("A blind-copy recipient: in the envelope, never in the headers.", valueName: "mailbox")
  )
  var bcc: [String] = []
  @Option(help: "The subject.")
  var subject: String?
  @Option(help: "The body text.")
  var body: String?
  @Option(
    help: ArgumentHelp("Read the body from this file (- for stdin).", valueName: "path"), completion: .file())
  var bodyFile: String?
  @Option(
    help: ArgumentHelp(
      "Add a header that has no flag of its own (repeat for more).", valueName: "'Name: value'"))
  var header: [String] = []
  @Option(
    help: ArgumentHelp(
      "Attach this file (repeat for more; the type comes from its extension).", valueName: "path"))
  var attach: [String] = []
  @Option(
    help: ArgumentHelp(
      "Send this complete RFC 5322 message (- for stdin), unchanged but for line endings, dot-stuffing, Bcc removal and a missing Date/Message-ID.",
      valueName: "path"), completion: .file())
  var message: String?
  @Option(
    help: ArgumentHelp(
      "The most a message, body file or standard input may hold (default 64M; K, M and G suffixes).",
      valueName: "bytes"))
  var maxSize: String?

  // Session.
  @Flag(
    help:
      "Print the message on stdout as it would be built for a server with no extensions (before dot-stuffing), and connect to nothing."
  )
  var dryRun = false
  @Option(help: ArgumentHelp("text, jsonl or none.", valueName: "format"), completion: Completion.transcript)
  var transcript: String = "text"
  @Flag(help: "Show every line of the message instead of a summary.")
  var showData = false
  @Option(help: ArgumentHelp("Seconds allowed for each protocol step (default 60).", valueName: "seconds"))
  var timeout: Double?
  @Option(help: ArgumentHelp("The EHLO name (default: the local address literal).", valueName: "name"))
  var ehlo: String?

  // Extensions.
  @Option(
    help: ArgumentHelp(
      "Delivery status notifications: never, or any of success,failure,delay (the server must offer DSN).",
      valueName: "when"))
  var dsnNotify: String?
  @Option(
    help: ArgumentHelp(
      "What a failure notification returns: full or headers (the server must offer DSN).", valueName: "what"))
  var dsnReturn: String?
  @Flag(
    name: .customLong("require-tls"),
    help:
      "REQUIRETLS (RFC 8689): the message may only travel over verified TLS; refused unless the server offers it."
  )
  var requireTLS = false
  @Flag(
    help:
      "If the send fails for now (4xx, timeout, connection lost), keep the message in the outbox ('sealpost outbox flush' sends it); the account key `queue on` does the same."
  )
  var queue = false
  @Option(
    help: ArgumentHelp(
      "Send every *.eml file of this folder (by name) over one connection; the envelope of each from its From, To, Cc and Bcc (as sendmail -t) unless --from or --to/--cc/--bcc are given. One line per message; exit status: the most serious among them.",
      valueName: "dir"), completion: .directory)
  var batch: String?

  // S/MIME (issue 15).
  @Flag(
    help:
      "Sign the message (S/MIME) with the account's smime_cert and smime_key; `smime_sign on` does the same.")
  var sign = false
  @Flag(
    help:
      "Encrypt the message (S/MIME) for every recipient and the sender; any recipient without a usable certificate refuses the send (65). Bcc recipients each get a copy of their own."
  )
  var encrypt = false
  @Option(
    help: ArgumentHelp(
      "A recipient's certificate for this send, before the certificate store (repeat for more).",
      valueName: "address=pem"), completion: .file())
  var recipientCert: [String] = []

  func run() throws {
    if let batch { return try runBatch(folder: batch) }
    if dryRun {
      do {
        let account = try dryRunAccount()
        let message = try makeMessage(account: account) { checked throws(SendFailure) in
          try checkRecipientCerts(checked)
        }
        report(message.findings, format: nil)
        let copies = try protect(message, account: account)
        for (index, copy) in copies.enumerated() {
          if copies.count > 1 { Output.verdict(copyLine(copy, index: index, of: copies.count)) }
          try CLIPlanning.run { () throws(PlanningError) in try copy.message.write(Output.message) }
        }
      } catch {
        throw Output.refuse(error)
      }
      return
    }
    let requests: [SendRequest]
    let format: TranscriptFormat
    let findings: [AssemblyFinding]
    let account: Account?
    let recorded: RecordedPins?
    do {
      format = try transcriptFormat()
      (requests, findings, account, recorded) = try makeRequests()
    } catch {
      throw Output.refuse(error)
    }
    report(findings, format: format)
    // Issue 15: with encryption each Bcc recipient has a copy of its own, sent in a session of its own. Each
    // copy is a message of its own: a failed one does not stop the others (each is named, and queued with
    // --queue), and the exit status is the most serious.
    guard requests.count > 1 else {
      return try send(requests[0], format: format, account: account, recorded: recorded)
    }
    var codes: [Int32] = []
    for (index, request) in requests.enumerated() {
      Output.verdict(
        "copy \(index + 1) of \(requests.count) for "
          + request.recipients.map { UntrustedText($0).escaped }.joined(separator: ", "))
      do {
        try send(request, format: format, account: account, recorded: recorded)
      } catch let exit as ExitCode {
        // Ctrl-C or SIGTERM ends the command, not just this copy.
        if exit.rawValue == 130 || exit.rawValue == 143 { throw exit }
        codes.append(exit.rawValue)
      }
    }
    let failed = codes.filter { $0 != 0 }
    guard !failed.isEmpty else { return }
    Output.verdict("\(requests.count - failed.count) of \(requests.count) copies sent")
    throw ExitCode(BatchReport.mostSerious(failed))
  }

  /// Sends one request (through the outbox with `--queue`) and says the verdict; a failure ends the command
  /// with its code, so no later copy goes after a failed one.
  /// - Parameter recorded: the pins of the pin file the request trusts, named when the server's key changed.
  private func send(
    _ request: SendRequest, format: TranscriptFormat, account: Account?, recorded: RecordedPins?
  ) throws {
    let report: SendReport
    if queue || account?.queue == true {
      // Issue 12: in the outbox ("sending") before the session starts; only a final 2xx removes it.
      let kept: OutboxEntry?
      do {
        (report, kept) = try OutboxSend.send(
          request, route: Self.route(config: config, account: account, overrides: overrides), format: format)
      } catch {
        throw Output.refuse(error)
      }
      if let kept { Output.verdict(OutboxSend.keptLine(kept)) }
    } else {
      report = Output.drive(format: format) { MailSender.start(request) }
    }
    // Issue 12: the account's `record` Maildir gets the octets sent; a failure there is a warning only.
    if case .failed(let warning)? = SentCopy.record(report, of: request, account: account) {
      Output.verdict("warning: " + warning)
    }
    try Output.finish(
      CLIWording.verdict(
        report.verdictLine, failure: report.failure, tls: report.tls,
        context: CLIWording.Context(
          security: request.security, port: request.port, hasLogin: request.credentials != nil,
          report: report,
          trust: request.trust, pinFile: recorded?.path)),
      exitCode: report.exitCode)
  }

  func transcriptFormat() throws(SendFailure) -> TranscriptFormat {
    guard let format = TranscriptFormat(rawValue: transcript) else {
      throw SendFailure(.usage, "--transcript takes text, jsonl or none")
    }
    return format
  }

  /// The linter's findings (issue 10): on stderr as notes, and in the transcript as notes before the session.
  private func report(_ findings: [AssemblyFinding], format: TranscriptFormat?) {
    for finding in findings {
      Output.verdict((finding.isWarning ? "warning: " : "note: ") + finding.text)
      if let format {
        Output.stream(format)(
          SendEvent(
            time: 0, insideTLS: false, payload: .note(finding.isWarning ? .warning : .info, finding.text)))
      }
    }
  }

  /// `--dry-run` needs no server: an account only when one is named, or for its `from` when there is no
  /// `--from`.
  private func dryRunAccount() throws(SendFailure) -> Account? {
    try usageChecks()
    guard config != nil || account != nil || from == nil || sign || encrypt else { return nil }
    let catalog = try CLIPlanning.catalog(explicit: config)
    return try CLIPlanning.run { () throws(PlanningError) in
      if let name = self.account { return try catalog.account(named: name) }
      return try catalog.defaultAccount()
    }
  }

  /// Flags that conflict or are missing (64), before anything is read.
  private func usageChecks() throws(SendFailure) {
    if message != nil
      && (subject != nil || body != nil || bodyFile != nil || !header.isEmpty || !attach.isEmpty)
    {
      throw SendFailure(
        .usage,
        "--message is a complete message: it cannot be combined with --subject, --body, --body-file, --header "
          + "or --attach"
      )
    }
    if body != nil && bodyFile != nil { throw SendFailure(.usage, "give --body or --body-file, not both") }
    // With --message and no recipient flag, the message's To, Cc and Bcc are the recipients (issue 11).
    if to.isEmpty && cc.isEmpty && bcc.isEmpty && message == nil {
      throw SendFailure(.usage, "no recipient: say --to, --cc or --bcc (or give a --message that names them)")
    }
    if let refusal = ArgumentLimits.refusal(
      to.map { _ in "--to" } + cc.map { _ in "--cc" } + bcc.map { _ in "--bcc" })
    {
      throw refusal
    }
  }

  /// The message from the flags: addresses and headers checked (64, 65), then `checkFirst` with them, then the
  /// files read (66).
  private func makeMessage(
    account: Account?, checkFirst: (MessageAssembly.CheckedFields) throws(SendFailure) -> Void
  ) throws(SendFailure) -> AssembledMessage {
    let sizeLimit = try maximumSize()
    var fields = MessageFields()
    fields.from = from
    (fields.to, fields.cc, fields.bcc) = (to, cc, bcc)
    fields.subject = subject
    fields.headers = header
    fields.isCompleteMessage = message != nil
    // Usage and data (64, 65) before files (66): addresses and headers are checked before anything is read.
    let checked = try CLIPlanning.run { () throws(PlanningError) in
      try MessageAssembly.check(fields, account: account)
    }
    try checkFirst(checked)
    var supplied: [UInt8]?
    var suppliedFile: (descriptor: Int32, name: String)?
    var bodyBytes: [UInt8] = []
    // A large body streams as a large --message does (issue 10): a file over the threshold stays open, standard
    // input past it is spooled; the MIME writer reads it from that descriptor at each pass.
    var bodyFileSource: DescriptorByteSource?
    func readBody(_ path: String) throws(SendFailure) {
      switch try Input.message(path, what: "body", limit: sizeLimit) {
      case .bytes(let bytes): bodyBytes = bytes
      case .descriptor(let descriptor, let name):
        do throws(MessageError) {
          bodyFileSource = try DescriptorByteSource(descriptor: descriptor, name: "the body from \(name)")
        } catch {
          throw SendFailure(.noInput, error.message)
        }
      }
    }
    if let message {
      switch try Input.message(message, limit: sizeLimit) {
      case .bytes(let bytes): supplied = bytes
      case .descriptor(let descriptor, let name): suppliedFile = (descriptor, name)
      }
    } else if let bodyFile {
      if bodyFile == "-" && Input.standardInputIsTerminal {
        Output.verdict("note: type the body, then Ctrl-D on a line of its own")
      }
      try readBody(bodyFile)
    } else if let body {
      bodyBytes = Array(body.utf8)
    } else if !Input.standardInputIsTerminal && !Input.standardInputWasClosed {
      // Issue 11: piped input is the body, as mail(1) takes it; it was silently replaced by a test body.
      // An empty input (`</dev/null`, as cron gives) is an empty body, as with mail(1) and sendmail.
      try readBody("-")
    } else {
      bodyBytes = Array(Self.testBody.utf8)
    }
    var streamedBody: (any ByteSource)?
    if message == nil {
      if let bodyFileSource {
        streamedBody = try CLIPlanning.run { () throws(PlanningError) in
          try MessageAssembly.signed(bodyFileSource, account: account)
        }
      } else {
        bodyBytes = try CLIPlanning.run { () throws(PlanningError) in
          try MessageAssembly.signed(bodyBytes, account: account)
        }
      }
    }
    var withSubject = checked
    if message == nil && subject == nil && body == nil && bodyFile == nil && Input.standardInputIsTerminal {
      withSubject.subject = Self.testSubject
    }
    let attachments = try CLIPlanning.run { () throws(PlanningError) in
      try MessageAssembly.attachments(attach)
    }
    return try CLIPlanning.run { () throws(PlanningError) in
      // A large message streams from its descriptor (issue 10); the source owns the descriptor from here.
      if let suppliedFile {
        return try SuppliedMessageFile.assemble(
          withSubject, descriptor: suppliedFile.descriptor, name: suppliedFile.name)
      }
      // Attachments stream too: the MIME writer reads, encodes and writes them a piece at a time.
      if let streamedBody {
        return try MessageAssembly.assemble(withSubject, body: streamedBody, attachments: attachments)
      }
      return try MessageAssembly.assemble(
        withSubject, body: bodyBytes, supplied: supplied, attachments: attachments)
    }
  }

  /// `--max-size`, else the default limit of what is read.
  func maximumSize() throws(SendFailure) -> Int {
    guard let maxSize else { return Input.defaultMaximumSize }
    guard let parsed = Input.parseSize(maxSize) else {
      throw SendFailure(
        .usage, "--max-size \(UntrustedText(maxSize).escaped): say a number of octets, or with K, M or G")
    }
    return parsed
  }

  /// The channel flags, as the plan and the outbox (which plans again at a flush) take them.
  var overrides: ChannelOverrides {
    ChannelOverrides(
      server: server, port: port, tls: tls, allowInsecure: allowInsecure,
      caFile: trustOptions.caFile, pins: trustOptions.pin, user: user, auth: auth, ehlo: ehlo,
      timeout: timeout)
  }

  /// How a flush reaches the server again: files named from the root, so a flush run elsewhere finds them.
  static func route(config: String?, account: Account?, overrides: ChannelOverrides) -> OutboxEntry.Route {
    var overrides = overrides
    overrides.caFile = overrides.caFile.map(absolute)
    return OutboxEntry.Route(config: config.map(absolute), account: account?.name, overrides: overrides)
  }

  /// `path` from the current folder, so that a flush run elsewhere finds the same file.
  static func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
  }

  func makeRequests() throws(SendFailure) -> ([SendRequest], [AssemblyFinding], Account?, RecordedPins?) {
    // Usage first (64), then the account (78/77), then data (65), then files (66), as DESIGN §4 orders them.
    try usageChecks()
    if let maxSize, Input.parseSize(maxSize) == nil {
      throw SendFailure(
        .usage, "--max-size \(UntrustedText(maxSize).escaped): say a number of octets, or with K, M or G")
    }
    let dsn = try dsnRequest()

    let (plan, account) = try channelPlan()
    let assembled = try makeMessage(account: account) { checked throws(SendFailure) in
      try checkRecipientCerts(checked)
      // Files: the CA file before the message, body and attachments.
      if case .certificateAuthorities(let caFile?) = plan.trust {
        try Input.checkReadable(caFile, what: "CA file")
      }
    }
    for note in assembled.notes { Output.verdict("note: " + note.worded(CLIPlanning.flag)) }

    // Secrets last: the session looks the password up when it starts, bounded and cancellable.
    let credentials = CLIPlanning.secrets(passwordCommand: passwordCommand).credentials(for: plan)
    // S/MIME before connecting: every certificate checked, all or nothing (issue 15).
    let copies = try protect(assembled, account: account)
    let requests = copies.map { copy in
      var request = plan.request(for: copy.message, credentials: credentials, showData: showData)
      request.dsn = dsn
      request.requireTLS = requireTLS
      request.contentSummary = copy.summary
      return request
    }
    return (requests, assembled.findings, account, plan.recordedPins)
  }

  /// The account (DESIGN §6: the one named, else the default one when no --server is given) and the channel
  /// planned for it with the flags, checked for the plaintext policy.
  func channelPlan() throws(SendFailure) -> (ChannelPlan, Account?) {
    let needsUser = passwordCommand != nil || auth != nil
    return try CLIPlanning.channel(
      config: config, account: account, server: server, overrides: overrides, printsNotes: true
    ) { plan throws(PlanningError) in
      if plan.user == nil && needsUser {
        throw PlanningError(.usage, "\(field: .passwordCommand) and \(field: .auth) need \(field: .user)")
      }
    }
  }

  /// The body and subject of a send given no body on a terminal (no `--body`, `--body-file` or `--message`, and
  /// standard input a terminal): a quick test message.
  static let testBody = "This is a test message sent by sealpost.\n"
  static let testSubject = "sealpost test message"

  func dsnRequest() throws(SendFailure) -> DSNRequest? {
    guard dsnNotify != nil || dsnReturn != nil else { return nil }
    var request = DSNRequest()
    if let dsnNotify {
      let words = dsnNotify.lowercased().split(separator: ",", omittingEmptySubsequences: false)
      if words == ["never"] {
        request.notify = .never
      } else {
        var conditions: Set<DSNRequest.Condition> = []
        for word in words {
          switch word {
          case "success": conditions.insert(.success)
          case "failure": conditions.insert(.failure)
          case "delay": conditions.insert(.delay)
          default:
            throw SendFailure(
              .usage, "--dsn-notify takes never, or any of success,failure,delay separated by commas")
          }
        }
        request.notify = .on(conditions)
      }
    }
    switch dsnReturn?.lowercased() {
    case nil: break
    case "full": request.returnContent = .full
    case "headers", "hdrs": request.returnContent = .headers
    default: throw SendFailure(.usage, "--dsn-return takes full or headers")
    }
    return request
  }

}
