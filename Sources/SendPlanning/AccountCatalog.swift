import Accounts
import FoundationEssentials
import MailSender
import SMTPProtocol
import SMTPTransport

/// The config file a front end uses and the accounts in it (DESIGN §6). Nothing is printed: notes come back as
/// values, errors as `PlanningError`s (78 config, 77 policy).
public struct AccountCatalog: Sendable {
  /// The file read, or nil when there is none.
  public var config: AccountsConfig?
  /// The files looked for, for messages (empty when HOME and XDG_CONFIG_HOME are unset).
  public var searched: [String]
  /// Files of the read order that exist but were not read, because one before them was (issue 11: Sealpost's
  /// own file hid `~/.msmtprc` without a word).
  public var skipped: [String] = []

  /// Notes about keys read and ignored, once each (a front end shows them where they matter).
  public var notes: [ConfigNote] { config?.notes ?? [] }

  /// `explicit` (`--config`), else the first file of the read order that exists, for this environment.
  public static func load(explicit: String?, environment: [String: String]) throws(PlanningError)
    -> AccountCatalog
  {
    let searched = ConfigSearch.candidates(environment: environment).map(\.path)
    guard let candidate = ConfigSearch.locate(explicit: explicit, environment: environment) else {
      return AccountCatalog(config: nil, searched: searched)
    }
    do throws(ConfigError) {
      let config = try AccountsConfig.load(
        path: candidate.path, flavor: candidate.flavor, home: environment["HOME"])
      var catalog = AccountCatalog(config: config, searched: searched)
      if explicit == nil {
        catalog.skipped = searched.filter {
          $0 != candidate.path && FileManager.default.fileExists(atPath: $0)
        }
      }
      return catalog
    } catch {
      throw PlanningError(.configuration, PlanningText(stringLiteral: error.description))
    }
  }

  /// Which files were looked for, in words, or why none was.
  public var searchedText: PlanningText {
    guard !searched.isEmpty else {
      return
        "none was looked for, because HOME is unset and XDG_CONFIG_HOME is unset or not an absolute path; "
        + "give \(field: .config) PATH"
    }
    return PlanningText(
      stringLiteral: "looked for " + searched.map { UntrustedText($0).escaped }.joined(separator: ", "))
  }

  /// The account named `name`, usable as written (with what a front end says instead, `overrides`).
  public func account(named name: String, overrides: ChannelOverrides = ChannelOverrides())
    throws(PlanningError) -> Account
  {
    guard let config else {
      throw PlanningError(
        .configuration, "no config file for account \(UntrustedText(name).escaped): \(searchedText)")
    }
    guard let account = config.account(named: name) else {
      throw PlanningError(
        .configuration,
        "no account \(UntrustedText(name).escaped) in \(UntrustedText(config.path).escaped) "
          + "(\(Self.accountNames(config.accounts)))\(skippedText)")
    }
    try Self.checkUsable(account, overrides: overrides, exposedPassword: config.exposedPassword)
    return account
  }

  /// "; not read: FILE, …" when files of the read order exist beside the one read, else "".
  public var skippedText: String {
    guard !skipped.isEmpty else { return "" }
    return "; not read, because the file above comes first in the read order: "
      + skipped.map { UntrustedText($0).escaped }.joined(separator: ", ")
  }

  /// Why a front end that needs an account has none: no config file, or one without an account named
  /// `default` (issue 11: say which accounts it has).
  public var noDefaultAccount: PlanningError {
    guard let config else {
      return PlanningError(
        .usage,
        "no server: give \(field: .server) or \(field: .account) (there is no MX look-up); no config file: "
          + searchedText)
    }
    return PlanningError(
      .usage,
      "no server: give \(field: .server), or \(field: .account) with one of the accounts of "
        + "\(UntrustedText(config.path).escaped) (\(Self.accountNames(config.accounts))), which names none "
        + "default (add `account default : NAME`)\(skippedText)")
  }

  /// The account named `default`, if there is one (and then it must be usable).
  public func defaultAccount(overrides: ChannelOverrides = ChannelOverrides()) throws(PlanningError)
    -> Account?
  {
    guard let account = config?.defaultAccount else { return nil }
    try Self.checkUsable(account, overrides: overrides, exposedPassword: config?.exposedPassword)
    return account
  }

  /// Why an account cannot be used as written: the problems shown (at most `Account.maximumProblems`) and how
  /// many there are in all.
  public struct Evaluation: Sendable {
    public var problems: [AccountProblem]
    public var count: Int
    public var isUsable: Bool { count == 0 }
  }

  /// The one evaluation of an account that the listing, `accounts check` and `send` all use (issue 11: the
  /// listing blamed `tls off` while `check` refused `auth on` without a user). First the problems of its lines
  /// (keys Sealpost does not implement, `tls_certcheck off`…); when it has none, what is wrong with the account
  /// as a whole: plaintext to a host that is not loopback (DESIGN §3.4), no host, `auth on` without a user.
  /// `overrides` are what a front end gives instead (a server, a mode, a user), which can answer the second kind.
  /// `exposedPassword`: the file's, when it holds a password others may read; an account whose secret is such a
  /// line is refused with it.
  public static func evaluate(
    _ account: Account, overrides: ChannelOverrides = ChannelOverrides(), exposedPassword: ConfigError? = nil
  ) -> Evaluation {
    if account.problemCount > 0 {
      return Evaluation(problems: account.problems, count: account.problemCount)
    }
    var problems: [AccountProblem] = []
    if let exposedPassword, case .password(_, let location) = account.secretSource,
      location.file == exposedPassword.location.file
    {
      problems.append(AccountProblem(.configuration, location, key: "password", exposedPassword.message))
    }
    let name = UntrustedText(account.name).escaped
    let host = overrides.server.flatMap { try? ServerAddress(parsing: $0).host } ?? account.host
    let user = overrides.user ?? (account.mechanism != nil ? account.user : nil)
    let security = overrides.tls.flatMap(TransportSecurity.init(rawValue:)) ?? account.security
    if security == .plaintext, let host,
      let problem = account.plaintextProblem(
        host: host, allowInsecure: overrides.allowInsecure || account.allowInsecure,
        authenticates: user != nil || account.mechanism != nil)
    {
      problems.append(problem)
    }
    if host == nil {
      problems.append(
        AccountProblem(.configuration, account.location, key: "host", "account \(name) has no host; add one"))
    }
    if overrides.user == nil, account.mechanism != nil, account.user == nil {
      problems.append(
        AccountProblem(
          .configuration, account.location(of: "auth"), key: "auth",
          "account \(name) has auth on but no user; add user"))
    }
    return Evaluation(problems: problems, count: problems.count)
  }

  /// Refuses an account `evaluate` finds problems in, naming the first (the listing shows them all) and how many
  /// more there are: 77 when the first is the security policy's, else 78.
  public static func checkUsable(
    _ account: Account, overrides: ChannelOverrides = ChannelOverrides(), exposedPassword: ConfigError? = nil
  ) throws(PlanningError) {
    let evaluation = evaluate(account, overrides: overrides, exposedPassword: exposedPassword)
    guard let problem = evaluation.problems.first else { return }
    let more =
      evaluation.count > 1
      ? "; and \(evaluation.count - 1) more problem\(evaluation.count == 2 ? "" : "s") (sealpost accounts lists them)"
      : ""
    // A line's problem does not name its account; the others start with it.
    let name = account.problemCount > 0 ? " (account \(UntrustedText(account.name).escaped))" : ""
    throw PlanningError(
      problem.kind == .security ? .security : .configuration, "\(problem)\(name)\(more) — nothing was sent")
  }

  /// The accounts of a file for an error: all of them when there are a few, else the count and the first few (a
  /// file may hold thousands; issue 7), each name cut short.
  public static func accountNames(_ accounts: [Account]) -> String {
    guard !accounts.isEmpty else { return "accounts: none" }
    let shown = 5
    let names = accounts.prefix(shown).map { truncated(UntrustedText($0.name).escaped) }.joined(
      separator: ", ")
    if accounts.count <= shown { return "accounts: \(names)" }
    return "\(accounts.count) accounts, the first \(shown): \(names); see sealpost accounts"
  }

  /// At most `limit` characters, the last one an ellipsis.
  public static func truncated(_ text: String, limit: Int = 40, ellipsis: String = "…") -> String {
    guard text.count > limit else { return text }
    return String(text.prefix(limit - ellipsis.count)) + ellipsis
  }

  /// An account's `tls_trust_file`, read once through a checked descriptor (issue 7: owned by the user or root,
  /// writable by neither group nor others, a regular file within the size limit); the bytes go to the TLS client,
  /// so no path is opened again after the check. Unsafe → 78; missing, unreadable or not PEM → 66.
  static func trust(fromFile path: String, of account: Account) throws(PlanningError) -> TLSTrust {
    let location = account.location(of: "tls_trust_file")
    let suffix = "(account \(UntrustedText(account.name).escaped)) — nothing was sent"
    let file: CheckedFile
    do throws(CheckedFile.Refusal) {
      // The path is a config value: the messages name the line and the key, never the path (issue 7).
      file = try CheckedFile.read(
        path: path, what: "trust file", limit: CertificateFile.maximumSize, showsPath: false)
    } catch {
      throw PlanningError(
        error.kind == .unsafe ? .configuration : .noInput,
        "\(location): tls_trust_file: \(error.message) \(suffix)")
    }
    if let problem = CertificateFile.problem(pem: file.bytes) {
      throw PlanningError(
        .noInput,
        "\(location): tls_trust_file: the trust file cannot be used: \(problem) \(suffix)"
      )
    }
    return .certificateAuthorityPEM(file.bytes, source: "of \(location)")
  }
}
