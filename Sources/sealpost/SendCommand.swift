import Accounts
import ArgumentParser
import Foundation
import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning

/// `sealpost send`: one message, with the live transcript on stdout and a one-line verdict on stderr.
struct SendCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "send",
    abstract: "Send one message and show the SMTP session and every TLS step.",
    discussion: """
      Implicit TLS on port 465 is the default; --tls starttls uses STARTTLS (port 587). The server's \
      certificate must verify for the host name (or match --pin). Plaintext needs --tls none, and to a host \
      that is not loopback also --allow-insecure; AUTH never goes over plaintext to such a host.

      A message, body file or standard input larger than --max-size (64M unless raised) is refused (65) \
      before connecting; one message takes at most 1,000 recipients.

      Examples:
        sealpost send --server smtp.example.org --user alice \\
          --from alice@example.org --to bob@example.org
        sealpost send --server smtp.example.org:587 --user alice \\
          --password-command 'pass show mail' --from alice@example.org \\
          --to bob@example.org --subject Hello --body-file note.txt
        sealpost send --server localhost:1025 --tls none \\
          --from a@example.test --to b@example.test
        sealpost send --account work --to bob@example.org --body 'Hi'
      """
  )

  // Account.
  @Option(help: ArgumentHelp("Read accounts from this file (msmtp's syntax).", valueName: "path"))
  var config: String?
  @Option(help: ArgumentHelp("Use this account (default: the account named default).", valueName: "name"))
  var account: String?

  // Server and channel.
  @Option(help: ArgumentHelp("The server, HOST or HOST:PORT ([IPv6]:PORT).", valueName: "host[:port]"))
  var server: String?
  @Option(help: "The port (overrides one given in --server).")
  var port: Int?
  @Option(help: ArgumentHelp("implicit (465), starttls (587) or none (25).", valueName: "mode"))
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
    help: ArgumentHelp("The SASL mechanism: plain or login (default: the best offered).", valueName: "mech"))
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
  @Option(help: ArgumentHelp("Read the body from this file (- for stdin).", valueName: "path"))
  var bodyFile: String?
  @Option(
    help: ArgumentHelp(
      "Add a header that has no flag of its own (repeat for more).", valueName: "'Name: value'"))
  var header: [String] = []
  @Option(
    help: ArgumentHelp(
      "Send this complete RFC 5322 message (- for stdin), unchanged but for line endings, dot-stuffing, Bcc removal and a missing Date/Message-ID.",
      valueName: "path"))
  var message: String?
  @Option(
    help: ArgumentHelp(
      "The most a message, body file or standard input may hold (default 64M; K, M and G suffixes).",
      valueName: "bytes"))
  var maxSize: String?

  // Session.
  @Option(help: ArgumentHelp("text, jsonl or none.", valueName: "format"))
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

  func run() throws {
    let request: SendRequest
    let format: TranscriptFormat
    do {
      format = try transcriptFormat()
      request = try makeRequest()
    } catch {
      throw Output.refuse(error)
    }
    let report = Output.drive(format: format) { MailSender.start(request) }
    try Output.finish(
      CLIWording.verdict(report.verdictLine, failure: report.failure, tls: report.tls),
      exitCode: report.exitCode)
  }

  private func transcriptFormat() throws(SendFailure) -> TranscriptFormat {
    guard let format = TranscriptFormat(rawValue: transcript) else {
      throw SendFailure(.usage, "--transcript takes text, jsonl or none")
    }
    return format
  }

  func makeRequest() throws(SendFailure) -> SendRequest {
    // Usage first (64), then the account (78/77), then data (65), then files (66), as DESIGN §4 orders them.
    if message != nil && (subject != nil || body != nil || bodyFile != nil || !header.isEmpty) {
      throw SendFailure(
        .usage,
        "--message is a complete message: it cannot be combined with --subject, --body, --body-file or --header"
      )
    }
    if body != nil && bodyFile != nil { throw SendFailure(.usage, "give --body or --body-file, not both") }
    if to.isEmpty && cc.isEmpty && bcc.isEmpty {
      throw SendFailure(.usage, "no recipient: say --to, --cc or --bcc")
    }
    if let refusal = ArgumentLimits.refusal(
      to.map { _ in "--to" } + cc.map { _ in "--cc" } + bcc.map { _ in "--bcc" })
    {
      throw refusal
    }
    var sizeLimit = Input.defaultMaximumSize
    if let maxSize {
      guard let parsed = Input.parseSize(maxSize) else {
        throw SendFailure(
          .usage, "--max-size \(UntrustedText(maxSize).escaped): say a number of octets, or with K, M or G")
      }
      sizeLimit = parsed
    }
    let dsn = try dsnRequest()

    // The account (DESIGN §6): the one named, else the default one when no --server is given.
    var account: Account?
    if config != nil || self.account != nil || server == nil {
      let catalog = try CLIPlanning.catalog(explicit: config)
      account = try CLIPlanning.run { () throws(PlanningError) in
        if let name = self.account { return try catalog.account(named: name) }
        return server == nil ? try catalog.defaultAccount() : nil
      }
    }
    let overrides = ChannelOverrides(
      server: server, port: port, tls: tls, allowInsecure: allowInsecure, caFile: trustOptions.caFile,
      pins: trustOptions.pin,
      user: user,
      auth: auth, ehlo: ehlo, timeout: timeout)
    let plan = try CLIPlanning.run { () throws(PlanningError) in
      try ChannelPlan(overrides: overrides, account: account)
    }
    if plan.user == nil && (passwordCommand != nil || auth != nil) {
      throw SendFailure(.usage, "--password-command and --auth need --user")
    }
    var fields = MessageFields()
    fields.from = from
    (fields.to, fields.cc, fields.bcc) = (to, cc, bcc)
    fields.subject = subject
    fields.headers = header
    // Usage and data (64, 65) before files (66): addresses and headers are checked before anything is read.
    let checked = try CLIPlanning.run { () throws(PlanningError) in
      try plan.checkPlaintext()
      return try MessageAssembly.check(fields, account: account)
    }

    // Files.
    if case .certificateAuthorities(let caFile?) = plan.trust {
      try Input.checkReadable(caFile, what: "CA file")
    }
    var supplied: [UInt8]?
    var suppliedFile: (descriptor: Int32, name: String)?
    var bodyBytes: [UInt8] = []
    if let message {
      switch try Input.message(message, limit: sizeLimit) {
      case .bytes(let bytes): supplied = bytes
      case .descriptor(let descriptor, let name): suppliedFile = (descriptor, name)
      }
    } else if let bodyFile {
      bodyBytes = try Input.read(bodyFile, what: "body", limit: sizeLimit)
    } else {
      bodyBytes = Array((body ?? "This is a test message sent by sealpost.\n").utf8)
    }
    var withSubject = checked
    if message == nil && subject == nil && body == nil && bodyFile == nil {
      withSubject.subject = "sealpost test message"
    }
    let assembled = try CLIPlanning.run { () throws(PlanningError) in
      // A large message streams from its descriptor (issue 10); the source owns the descriptor from here.
      if let suppliedFile {
        return try SuppliedMessageFile.assemble(
          withSubject, descriptor: suppliedFile.descriptor, name: suppliedFile.name)
      }
      return try MessageAssembly.assemble(withSubject, body: bodyBytes, supplied: supplied)
    }

    // Secrets last: the session looks the password up when it starts, bounded and cancellable.
    let credentials = CLIPlanning.secrets(passwordCommand: passwordCommand).credentials(for: plan)
    var request = SendRequest(
      host: plan.host, port: plan.port, security: plan.security, allowInsecure: plan.allowInsecure,
      trust: plan.trust, credentials: credentials, ehloName: plan.ehlo,
      timeout: .milliseconds(Int64(plan.timeout * 1000)),
      reversePath: assembled.reversePath, recipients: assembled.recipients, message: assembled.content,
      showData: showData)
    request.dsn = dsn
    request.requireTLS = requireTLS
    return request
  }

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
