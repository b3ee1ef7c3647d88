import FoundationEssentials
import SMTPProtocol

/// The accounts of one config file (DESIGN §6), parsed in msmtp's syntax.
public struct AccountsConfig: Sendable {
  public let path: String
  public let flavor: ConfigFlavor
  /// In file order.
  public let accounts: [Account]
  /// Keys read and ignored, each noted once (first occurrence).
  public let notes: [ConfigNote]
  /// The first `password` line with a value, if any: such a file must be private.
  public let passwordLocation: ConfigLocation?
  /// Set when the file holds a password and group or others may read it: the accounts whose secret is such a
  /// `password` line cannot be used (78), while the listing and the other accounts go on (issue 11: one exposed
  /// password blocked even `accounts list`).
  public internal(set) var exposedPassword: ConfigError?

  public func account(named name: String) -> Account? { accounts.first { $0.name == name } }

  /// msmtp's default: the account named `default` (usually `account default : NAME`).
  public var defaultAccount: Account? { account(named: "default") }

  /// Parses `text` as the contents of `path`. `home` expands `~` in file names.
  public init(parsing text: String, path: String, flavor: ConfigFlavor, home: String?) throws(ConfigError) {
    self = try ConfigParser(path: path, flavor: flavor, home: home).parse(text)
  }

  init(
    path: String, flavor: ConfigFlavor, accounts: [Account], notes: [ConfigNote],
    passwordLocation: ConfigLocation?
  ) {
    self.path = path
    self.flavor = flavor
    self.accounts = accounts
    self.notes = notes
    self.passwordLocation = passwordLocation
  }

  /// The largest config file read; msmtp's own files are a few KiB.
  static let maximumSize = 1 << 20

  /// Reads and parses a file through a checked descriptor (`CheckedFile`: a regular file of at most 1 MiB, owned
  /// by the user or root, that neither group nor others may write — its `passwordeval` would run as the user and
  /// its `host` would get the password). A file holding a password that group or others may read is loaded with
  /// `exposedPassword` set, and the accounts using that password are refused (as aerc refuses such a file; DESIGN
  /// §6). Messages about the whole file name it with line 0.
  public static func load(path: String, flavor: ConfigFlavor, home: String?) throws(ConfigError)
    -> AccountsConfig
  {
    let whole = ConfigLocation(file: path, line: 0)
    let file: CheckedFile
    do throws(CheckedFile.Refusal) {
      file = try CheckedFile.read(path: path, what: "config file", limit: maximumSize)
    } catch {
      throw ConfigError(error.kind == .unsafe ? .unsafePermissions : .unreadable, whole, error.message)
    }
    let bytes = file.bytes
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw ConfigError(
        .syntax, ConfigLocation(file: path, line: Self.firstInvalidLine(bytes)), "expected UTF-8 text")
    }
    var config = try AccountsConfig(parsing: text, path: path, flavor: flavor, home: home)
    if let passwordLocation = config.passwordLocation, file.permissions & 0o077 != 0 {
      let mode = String(file.permissions & 0o777, radix: 8)
      config.exposedPassword = ConfigError(
        .unsafePermissions, passwordLocation, key: "password",
        "the file holds a password and group or others may read it (mode \(mode)); expected mode 600: run "
          + "chmod 600 \(Self.shellQuoted(path))")
    }
    return config
  }

  static func firstInvalidLine(_ bytes: [UInt8]) -> Int {
    var line = 1
    var start = 0
    for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
      if String(validating: bytes[start..<index], as: UTF8.self) == nil { return line }
      line += 1
      start = index + 1
    }
    return line
  }

  /// A path as a shell word, for the `chmod` the user is told to run.
  public static func shellQuoted(_ path: String) -> String {
    let plain = path.unicodeScalars.allSatisfy {
      $0.isASCII
        && ($0.properties.isAlphabetic || $0.properties.numericType != nil
          || "/._-~+".unicodeScalars
            .contains($0))
    }
    if plain && !path.isEmpty { return UntrustedText(path).escaped }
    return "'" + UntrustedText(path).escaped.replacing("'", with: "'\\''") + "'"
  }
}

/// Where the config comes from (DESIGN §6): `--config PATH`; else Sealpost's own file; else msmtp's.
public enum ConfigSearch {
  public struct Candidate: Sendable, Hashable {
    public var path: String
    public var flavor: ConfigFlavor
  }

  /// The files looked at, in order, for this environment (`HOME`, `XDG_CONFIG_HOME`).
  public static func candidates(environment: [String: String]) -> [Candidate] {
    let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
    let xdg: String?
    if let value = environment["XDG_CONFIG_HOME"], value.hasPrefix("/") {
      xdg = value
    } else {
      xdg = home.map { $0 + "/.config" }
    }
    var result: [Candidate] = []
    if let xdg { result.append(Candidate(path: xdg + "/sealpost/config", flavor: .sealpost)) }
    if let home { result.append(Candidate(path: home + "/.msmtprc", flavor: .msmtp)) }
    if let xdg { result.append(Candidate(path: xdg + "/msmtp/config", flavor: .msmtp)) }
    return result
  }

  /// The file to read: `explicit` (read as Sealpost's own file: unknown keys are errors) whether or not it
  /// exists, else the first candidate that exists; nil when there is none.
  public static func locate(explicit: String?, environment: [String: String]) -> Candidate? {
    if let explicit { return Candidate(path: explicit, flavor: .sealpost) }
    return candidates(environment: environment).first { FileManager.default.fileExists(atPath: $0.path) }
  }
}
