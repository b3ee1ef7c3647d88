import Accounts
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
      return AccountCatalog(config: config, searched: searched)
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

  /// The account named `name`, usable as written.
  public func account(named name: String) throws(PlanningError) -> Account {
    guard let config else {
      throw PlanningError(
        .configuration, "no config file for account \(UntrustedText(name).escaped): \(searchedText)")
    }
    guard let account = config.account(named: name) else {
      throw PlanningError(
        .configuration,
        "no account \(UntrustedText(name).escaped) in \(UntrustedText(config.path).escaped) "
          + "(\(Self.accountNames(config.accounts)))")
    }
    try Self.checkUsable(account)
    return account
  }

  /// The account named `default`, if there is one (and then it must be usable).
  public func defaultAccount() throws(PlanningError) -> Account? {
    guard let account = config?.defaultAccount else { return nil }
    try Self.checkUsable(account)
    return account
  }

  public static func checkUsable(_ account: Account) throws(PlanningError) {
    guard let problem = account.problems.first else { return }
    throw PlanningError(
      problem.kind == .security ? .security : .configuration,
      "\(problem) (account \(UntrustedText(account.name).escaped)) — nothing was sent")
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
