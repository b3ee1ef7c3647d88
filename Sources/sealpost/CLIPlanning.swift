import Accounts
import FoundationEssentials
import MailSender
import SMTPProtocol
import SendPlanning

/// The CLI's side of the planning layer: fields named as flags, notes printed, the environment passed in.
enum CLIPlanning {
  /// Each field as the flag that sets it.
  @Sendable static func flag(_ field: PlanningField) -> String {
    switch field {
    case .config: "--config"
    case .account: "--account"
    case .server: "--server"
    case .port: "--port"
    case .tls: "--tls"
    case .allowInsecure: "--allow-insecure"
    case .caFile: "--ca-file"
    case .pin: "--pin"
    case .user: "--user"
    case .auth: "--auth"
    case .passwordCommand: "--password-command"
    case .ehlo: "--ehlo"
    case .timeout: "--timeout"
    case .from: "--from"
    case .to: "--to"
    case .cc: "--cc"
    case .bcc: "--bcc"
    case .subject: "--subject"
    case .body: "--body"
    case .bodyFile: "--body-file"
    case .header: "--header"
    case .message: "--message"
    case .maxSize: "--max-size"
    case .transcript: "--transcript"
    }
  }

  /// The error in the CLI's words.
  static func failure(_ error: PlanningError) -> SendFailure { error.failure(naming: flag) }

  /// Runs planning code, turning its errors into the CLI's failures.
  static func run<T>(_ body: () throws(PlanningError) -> T) throws(SendFailure) -> T {
    do throws(PlanningError) {
      return try body()
    } catch {
      throw failure(error)
    }
  }

  /// The config file (`--config`, else the read order). Its notes (keys read and ignored) are printed once each
  /// where they matter, by `accounts` and `accounts check` (`showNotes`), not on every send (issue 11).
  static func catalog(explicit: String?, showNotes: Bool = false) throws(SendFailure) -> AccountCatalog {
    let catalog = try run { () throws(PlanningError) in
      try AccountCatalog.load(explicit: explicit, environment: Environment.variables)
    }
    if showNotes {
      for note in catalog.notes { Output.verdict("note: \(note)") }
    }
    return catalog
  }

  /// The notes about the account a send uses (its `user` without `auth`): those change what the send does.
  static func printNotes(of catalog: AccountCatalog, for account: Account) {
    for note in catalog.notes where note.location == account.location(of: note.key) && note.key == "user" {
      Output.verdict("note: \(note)")
    }
  }

  /// The account a send or a flush uses (DESIGN §6: the one named, else the default one when no server is given;
  /// none for a server given without a config file or an account) and its channel planned with `overrides`:
  /// recorded pins, `check`, the plaintext policy (``plan(overrides:account:check:)``). With `printsNotes`, the
  /// account's notes that change what the send does are printed.
  static func channel(
    config: String?, account name: String?, server: String?, overrides: ChannelOverrides,
    printsNotes: Bool = false, check: (ChannelPlan) throws(PlanningError) -> Void = { _ in }
  ) throws(SendFailure) -> (ChannelPlan, Account?) {
    var account: Account?
    if config != nil || name != nil || server == nil {
      let catalog = try catalog(explicit: config)
      account = try run { () throws(PlanningError) in
        if let name { return try catalog.account(named: name, overrides: overrides) }
        guard server == nil else { return nil }
        guard let account = try catalog.defaultAccount(overrides: overrides) else {
          throw catalog.noDefaultAccount
        }
        return account
      }
      if printsNotes, let account { printNotes(of: catalog, for: account) }
    }
    return (try plan(overrides: overrides, account: account, check: check), account)
  }

  /// ``ChannelPlan/checked(overrides:account:environment:check:)`` with the process's environment, in the CLI's
  /// words.
  static func plan(
    overrides: ChannelOverrides, account: Account?,
    check: (ChannelPlan) throws(PlanningError) -> Void = { _ in }
  ) throws(SendFailure) -> ChannelPlan {
    try run { () throws(PlanningError) in
      try ChannelPlan.checked(
        overrides: overrides, account: account, environment: Environment.variables, check: check
      )
    }
  }

  /// The secret sources of DESIGN §4 as the CLI has them.
  static func secrets(passwordCommand: String?) -> SecretResolver {
    SecretResolver(
      passwordCommand: passwordCommand, environmentPassword: Environment.password,
      environment: Environment.variables, prompt: TerminalPrompt(), naming: flag)
  }
}
