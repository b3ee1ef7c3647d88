import SMTPProtocol

/// A place in a config file: `file:line`, as every message about the file names it.
public struct ConfigLocation: Sendable, Hashable, CustomStringConvertible {
  public var file: String
  /// 1-based; 0 when the message is about the whole file.
  public var line: Int

  public init(file: String, line: Int) {
    self.file = file
    self.line = line
  }

  public var description: String {
    let name = UntrustedText(file).escaped
    return line > 0 ? "\(name):\(line)" : name
  }
}

/// Why a config file cannot be used at all (DESIGN §4: exit 78). Never carries a secret value.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Kind: Sendable, Hashable {
    /// A line that does not parse: bad quoting, an unknown key in Sealpost's file, a bad value.
    case syntax
    /// Someone other than the user or root could change the file (owner, group- or other-writable), or it holds
    /// a password and group or others may read it.
    case unsafePermissions
    /// The file cannot be read (missing, a directory, too large, not UTF-8).
    case unreadable
  }

  public var kind: Kind
  public var location: ConfigLocation
  /// The key the line sets, when there is one.
  public var key: String?
  /// What was expected, in words.
  public var message: String

  public init(_ kind: Kind, _ location: ConfigLocation, key: String? = nil, _ message: String) {
    self.kind = kind
    self.location = location
    self.key = key
    self.message = message
  }

  /// `file:line: key: message`; the key only when it is one Sealpost knows: any other first word of a line may be
  /// a secret typed on the wrong line, and no config value is ever echoed (issue 7).
  public var description: String {
    if let key, ConfigKeys.isKnown(key) { return "\(location): \(key): \(message)" }
    return "\(location): \(message)"
  }
}

/// A key Sealpost reads and ignores because it does not change the channel (`logfile`, `aliases`…); shown once.
public struct ConfigNote: Sendable, Hashable, CustomStringConvertible {
  public var location: ConfigLocation
  public var key: String
  public var message: String

  public var description: String {
    ConfigKeys.isKnown(key) ? "\(location): \(key): \(message)" : "\(location): \(message)"
  }
}

/// Why one account cannot be used as written. Other accounts of the same file stay usable.
public struct AccountProblem: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Kind: Sendable, Hashable {
    /// The security policy refuses it (DESIGN §3): exit 77.
    case security
    /// Sealpost does not implement what the account asks for, or the account is incomplete: exit 78.
    case configuration
  }

  public var kind: Kind
  public var location: ConfigLocation
  public var key: String
  public var message: String

  public init(_ kind: Kind, _ location: ConfigLocation, key: String, _ message: String) {
    self.kind = kind
    self.location = location
    self.key = key
    self.message = message
  }

  /// The key only when Sealpost knows it (see `ConfigError.description`).
  public var description: String {
    ConfigKeys.isKnown(key) ? "\(location): \(key): \(message)" : "\(location): \(message)"
  }
}
