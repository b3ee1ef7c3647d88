import Accounts
import ArgumentParser
import FoundationEssentials
import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning

/// `sealpost accounts [list]` and `sealpost accounts check NAME` (DESIGN §4, §6).
struct AccountsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "accounts",
    abstract: "List the configured accounts, or check that one connects and logs in.",
    discussion: """
      Accounts come from --config PATH, else $XDG_CONFIG_HOME/sealpost/config (~/.config/sealpost/config), \
      else ~/.msmtprc, else $XDG_CONFIG_HOME/msmtp/config — msmtp's syntax, read unchanged.

      Exit status of check: 0 ok; 77 refused (certificate or pin, STARTTLS, plaintext policy, login failed); \
      78 configuration (config file, an account Sealpost cannot use as written, no password source); 68 \
      unknown host; 69 connection refused or 5xx; 75 timeout or connection lost; 76 protocol violation; 64 \
      usage. The listing exits 0 unless the config file itself cannot be read (78).
      """,
    subcommands: [List.self, Check.self],
    defaultSubcommand: List.self
  )

  /// The listing: host, port, TLS mode, login and where the secret comes from — never the secret, and no
  /// `passwordeval` is run to list.
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "list", abstract: "List accounts: host, port, TLS, login and where the secret comes from.")

    @Option(
      help: ArgumentHelp("Read accounts from this file (msmtp's syntax).", valueName: "path"),
      completion: .file())
    var config: String?

    func run() throws {
      let catalog: AccountCatalog
      do throws(SendFailure) {
        catalog = try CLIPlanning.catalog(explicit: config, showNotes: true)
      } catch {
        throw Output.refuse(error)
      }
      guard let loaded = catalog.config else {
        throw Output.refuse(
          CLIPlanning.failure(PlanningError(.configuration, "no config file: \(catalog.searchedText)")))
      }
      for line in Self.render(loaded, skipped: catalog.skipped) { Output.transcript(line) }
      Output.transcript(Self.pinLine(environment: Environment.variables))
    }

    /// DESIGN §6: `accounts` shows the pin file — where it is and how many pins it holds, or why it cannot be
    /// read (a send would stop there with 78).
    static func pinLine(environment: [String: String]) -> String {
      guard let path = PinFile.path(environment: environment) else {
        return "recorded pins: none (no HOME or XDG_CONFIG_HOME to keep a pin file in)"
      }
      let file: PinFile
      do throws(PlanningError) {
        file = try PinFile.load(path: path)
      } catch {
        return "recorded pins: unusable: \(CLIPlanning.failure(error).message)"
      }
      let shown = UntrustedText(path).escaped
      let count = file.entries.count
      guard count > 0 else { return "recorded pins: no recorded pins (\(shown))" }
      return "recorded pins: \(count) in \(shown)"
    }

    /// - Parameter skipped: files of the read order that exist but were not read (issue 11: Sealpost's own file
    ///   hid `~/.msmtprc` without a word).
    static func render(_ config: AccountsConfig, skipped: [String] = []) -> [String] {
      let kind = config.flavor == .msmtp ? " (msmtp's file, read unchanged)" : ""
      var lines = ["accounts in \(UntrustedText(config.path).escaped)\(kind)"]
      for path in skipped {
        lines.append(
          "not read: \(UntrustedText(path).escaped) (the file above comes first in the read order)")
      }
      guard !config.accounts.isEmpty else { return lines + ["(no accounts)"] }
      var rows = [["ACCOUNT", "HOST", "PORT", "TLS", "AUTH", "SECRET"]]
      var remarks: [[String]] = []
      for account in config.accounts {
        var name = UntrustedText(account.name).escaped
        if !account.parents.isEmpty {
          name += " : " + account.parents.map { UntrustedText($0).escaped }.joined(separator: ",")
        }
        var tls = account.security.rawValue
        if account.security != .plaintext && account.trust.isPinned { tls += ", pinned" }
        let auth: String
        switch account.mechanism {
        case nil: auth = "off"
        case .automatic?: auth = "on" + (account.user.map { " (\(UntrustedText($0).escaped))" } ?? "")
        case .plain?: auth = "plain" + (account.user.map { " (\(UntrustedText($0).escaped))" } ?? "")
        case .login?: auth = "login" + (account.user.map { " (\(UntrustedText($0).escaped))" } ?? "")
        }
        rows.append([
          name, account.host.map(Self.hostCell) ?? "-", "\(account.port)", tls, auth,
          account.secretSource.summary,
        ])
        // The one evaluation `check` and `send` use (issue 11), the first few problems and a count: a file with
        // thousands of unknown keys in `defaults` gives every account thousands (issue 7: 3 accounts printed MBs).
        let evaluation = AccountCatalog.evaluate(account, exposedPassword: config.exposedPassword)
        var notes = evaluation.problems.prefix(Self.problemsShown).map {
          "  \($0.kind == .security ? "refused" : "unusable"): \($0)"
        }
        if evaluation.count > Self.problemsShown {
          notes.append("  unusable: and \(evaluation.count - Self.problemsShown) more problems")
        }
        if evaluation.isUsable, account.security == .plaintext, let host = account.host {
          if Loopback.isLoopbackName(host) {
            notes.append("  plaintext to loopback: every line is marked")
          } else {
            notes.append("  plaintext (allow_insecure on): every line is marked; never with a login")
          }
        }
        remarks.append(notes)
      }
      // A padded cell longer than `maximumCellWidth` is cut with an ellipsis, so one long name or host cannot pad
      // every row of the listing (issue 7: a 450,000-character name wrote 91 MB). The last column is not padded.
      rows = rows.map { row in row.enumerated().map { $0 == row.count - 1 ? $1 : Self.truncated($1) } }
      let widths = (0..<6).map { column in rows.map { $0[column].count }.max() ?? 0 }
      for (index, row) in rows.enumerated() {
        let cells = row.enumerated().map { column, cell in
          column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
        }
        lines.append(cells.joined(separator: "  "))
        if index > 0 { lines += remarks[index - 1] }
      }
      return lines
    }

    /// The account's host, or a word when it is not a host name: a value that is not what its key expects may
    /// be a secret on the wrong line (issue 7); `send` names the line.
    static func hostCell(_ host: String) -> String {
      guard let address = try? ServerAddress(parsing: host), address.port == nil else {
        return "(not a host name)"
      }
      return UntrustedText(host).escaped
    }

    /// The problems shown per account.
    static let problemsShown = 3

    /// The widest cell of the listing, in characters.
    static let maximumCellWidth = 40

    static func truncated(_ cell: String) -> String {
      AccountCatalog.truncated(cell, limit: maximumCellWidth, ellipsis: Output.asciiOnly ? "..." : "…")
    }
  }

  /// Connects, verifies TLS, logs in and quits: the same session as `send`, stopped after AUTH.
  struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "check",
      abstract: "Connect, verify TLS and log in with an account, sending no mail; show every step.")

    @Option(
      help: ArgumentHelp("Read accounts from this file (msmtp's syntax).", valueName: "path"),
      completion: .file())
    var config: String?
    @Argument(help: "The account to check.", completion: Completion.account)
    var name: String
    @Option(
      help: ArgumentHelp("text, jsonl or none.", valueName: "format"), completion: Completion.transcript)
    var transcript: String = "text"
    @Option(
      help: ArgumentHelp(
        "Seconds allowed for each protocol step (default: the account's, or 60).", valueName: "seconds"))
    var timeout: Double?

    func run() throws {
      let request: SendRequest
      let recorded: RecordedPins?
      let format: TranscriptFormat
      do throws(SendFailure) {
        guard let chosen = TranscriptFormat(rawValue: transcript) else {
          throw SendFailure(.usage, "--transcript takes text, jsonl or none")
        }
        format = chosen
        (request, recorded) = try makeRequest()
      } catch {
        throw Output.refuse(error)
      }
      let report = Output.drive(format: format) { MailSender.start(request) }
      var line =
        "account \(UntrustedText(name).escaped): "
        + CLIWording.verdict(
          report.verdictLine, failure: report.failure, tls: report.tls,
          context: CLIWording.Context(
            security: request.security, port: request.port, hasLogin: request.credentials != nil,
            report: report, accountKeys: true, trust: request.trust, pinFile: recorded?.path))
      if case .pinned? = report.tls?.verdict, report.failure == nil, let recorded {
        line += "; the key is the one recorded in \(UntrustedText(recorded.path).escaped)"
      }
      if let note = CLIWording.checkNote(report) { line += "; \(note)" }
      try Output.finish(line, exitCode: report.exitCode)
    }

    /// The check's request, and the pins of the pin file it trusts (for the verdict).
    func makeRequest() throws(SendFailure) -> (SendRequest, RecordedPins?) {
      let catalog = try CLIPlanning.catalog(explicit: config, showNotes: true)
      let account = try CLIPlanning.run { () throws(PlanningError) in try catalog.account(named: name) }
      // As a send plans it (DESIGN §6): the pins recorded for the account's server, then the plaintext policy.
      let plan = try CLIPlanning.plan(overrides: ChannelOverrides(timeout: timeout), account: account)
      if case .certificateAuthorities(let caFile?) = plan.trust {
        try Input.checkReadable(caFile, what: "CA file")
      }
      let credentials = CLIPlanning.secrets(passwordCommand: nil).credentials(for: plan)
      var request = plan.request(
        reversePath: "", recipients: [], message: MessageContent(bytes: []), credentials: credentials)
      request.goal = .authenticate
      return (request, plan.recordedPins)
    }
  }
}
