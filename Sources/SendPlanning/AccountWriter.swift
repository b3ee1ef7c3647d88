import Accounts
import FoundationEssentials
import MailMessage
import MailSender
import SMTPProtocol

/// Adds an account to Sealpost's own config file (DESIGN §6: `$XDG_CONFIG_HOME/sealpost/config`), as the
/// composer's account form asks: mode 0600, written atomically (temporary file, fsync, rename, fsync of the
/// directory), never a password — the secret comes from a `passwordeval` command or is asked for when sending.
/// The new text is parsed before it replaces the file, so the file is never left in a state Sealpost cannot read.
public enum AccountWriter {
  /// What to write: the form's fields, checked.
  public struct NewAccount: Sendable, Hashable {
    public var name: String
    public var host: String
    public var port: UInt16
    /// `.implicitTLS` or `.startTLS`: the form writes no plaintext account.
    public var security: TransportSecurity
    public var from: String
    public var user: String?
    public var passwordCommand: String?

    public init(
      name: String, host: String, port: UInt16, security: TransportSecurity, from: String, user: String?,
      passwordCommand: String?
    ) {
      self.name = name
      self.host = host
      self.port = port
      self.security = security
      self.from = from
      self.user = user
      self.passwordCommand = passwordCommand
    }
  }

  /// Sealpost's own config file for this environment, nil without `XDG_CONFIG_HOME` (absolute) or `HOME`.
  public static func configPath(environment: [String: String]) -> String? {
    ConfigSearch.candidates(environment: environment).first { $0.flavor == .sealpost }?.path
  }

  /// Adds `account` to the file at `path` (created when missing) and returns the path.
  public static func add(
    _ account: NewAccount, to path: String, home: String?,
    searchPath: String? = ProcessInfo.processInfo.environment["PATH"]
  ) throws(PlanningError) -> String {
    var existing = ""
    if FileManager.default.fileExists(atPath: path) {
      do throws(ConfigError) {
        _ = try AccountsConfig.load(path: path, flavor: .sealpost, home: home)
      } catch {
        throw PlanningError(.configuration, PlanningText(stringLiteral: error.description))
      }
      do throws(CheckedFile.Refusal) {
        existing = String(
          decoding: try CheckedFile.read(path: path, what: "config file", limit: 1 << 20).bytes, as: UTF8.self
        )
      } catch {
        throw PlanningError(.configuration, "\(UntrustedText(path).escaped): \(error.message)")
      }
    }
    let text = try adding(account, to: existing, path: path, home: home, searchPath: searchPath)
    try AtomicFile.writeSettings(text, to: path)
    return path
  }

  /// `existing` (a config file's text) with `account` added, checked by parsing the result.
  ///
  /// `searchPath` is the `PATH` the password command will run with, to tell a command from a password typed
  /// into its field.
  public static func adding(
    _ account: NewAccount, to existing: String, path: String, home: String?,
    searchPath: String? = ProcessInfo.processInfo.environment["PATH"]
  ) throws(PlanningError) -> String {
    try check(account, searchPath: searchPath)
    let before: AccountsConfig
    do throws(ConfigError) {
      before = try AccountsConfig(parsing: existing, path: path, flavor: .sealpost, home: home)
    } catch {
      throw PlanningError(.configuration, PlanningText(stringLiteral: error.description))
    }
    if before.account(named: account.name) != nil {
      throw PlanningError(
        .usage,
        "an account named \(UntrustedText(account.name).escaped) exists already in \(UntrustedText(path).escaped)"
      )
    }
    var lines = ["", "# Added by the sealpost composer.", "account \(account.name)"]
    lines.append("host \(quoted(account.host))")
    lines.append("port \(account.port)")
    lines.append("tls on")
    lines.append("tls_starttls \(account.security == .startTLS ? "on" : "off")")
    lines.append("from \(quoted(account.from))")
    if let user = account.user {
      lines.append("auth on")
      lines.append("user \(quoted(user))")
      if let command = account.passwordCommand { lines.append("passwordeval \(quoted(command))") }
    } else {
      lines.append("auth off")
    }
    if before.defaultAccount == nil && account.name != "default" {
      lines += ["", "account default : \(account.name)"]
    }
    var text = existing
    if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
    text += lines.joined(separator: "\n") + "\n"
    let after: AccountsConfig
    do throws(ConfigError) {
      after = try AccountsConfig(parsing: text, path: path, flavor: .sealpost, home: home)
    } catch {
      throw PlanningError(.dataError, PlanningText(stringLiteral: error.description))
    }
    guard let added = after.account(named: account.name) else {
      throw PlanningError(.dataError, "the account could not be written")
    }
    if let problem = added.problems.first {
      throw PlanningError(.dataError, PlanningText(stringLiteral: problem.description))
    }
    return text
  }

  static func check(_ account: NewAccount, searchPath: String?) throws(PlanningError) {
    let nameAllowed = account.name.unicodeScalars.allSatisfy {
      ($0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil))
        || "-_.@+".unicodeScalars.contains($0)
    }
    guard !account.name.isEmpty, account.name.utf8.count <= 64, nameAllowed else {
      throw PlanningError(.usage, "the account name takes letters, digits and - _ . @ + (at most 64)")
    }
    guard account.security != .plaintext else {
      throw PlanningError(.security, "a new account uses TLS: implicit TLS (465) or STARTTLS (587)")
    }
    guard account.port > 0 else { throw PlanningError(.usage, "the port takes 1 to 65535") }
    do throws(PlanningError) {
      let address = try ServerAddress(parsing: account.host)
      guard address.port == nil else { throw PlanningError(.usage, "") }
    } catch {
      throw PlanningError(.usage, "the server takes a host name or an address, without a port")
    }
    do throws(MessageError) {
      _ = try Mailbox(parsing: account.from)
    } catch {
      throw PlanningError(.dataError, "From: \(error.message)")
    }
    for value in [account.user, account.passwordCommand].compactMap({ $0 }) {
      guard !value.isEmpty, !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
      else {
        throw PlanningError(.dataError, "the user and the password command take one line of text each")
      }
    }
    if account.passwordCommand != nil && account.user == nil {
      throw PlanningError(.usage, "a password command needs a user")
    }
    if let command = account.passwordCommand, ShellCommand.namesNoProgram(command, path: searchPath) {
      // The value is not repeated: it may be the password (DESIGN §3.5). Red team: it was written, and each
      // send ran it, so the shell printed it back ("sh: 1: …: not found").
      throw PlanningError(
        .dataError,
        "the password command is one word that names no program on PATH and no shell built-in: is it the "
          + "password itself? The field takes a command that prints the password (such as pass show mail); "
          + "leave it empty to be asked for the password when sending")
    }
  }

  /// A value in double quotes, `\` and `"` escaped (msmtp's rule; `ConfigLine`).
  static func quoted(_ value: String) -> String {
    "\"" + value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
      + "\""
  }
}
