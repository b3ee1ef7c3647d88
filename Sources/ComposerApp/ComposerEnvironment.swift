import FoundationEssentials
import MailMessage

/// What the composer's runtime takes from the process: `--config`, the environment (without
/// `SEALPOST_PASSWORD`, which is passed apart as bytes), and the clock for file names and pin comments.
public struct ComposerEnvironment: Sendable {
  /// `--config PATH`, else nil (the read order of DESIGN §6).
  public var configPath: String?
  /// The environment commands and look-ups see; `SEALPOST_PASSWORD` is not in it.
  public var variables: [String: String]
  /// `SEALPOST_PASSWORD`, taken out of the environment at start.
  public var environmentPassword: [UInt8]?
  public var now: @Sendable () -> Date

  public init(
    configPath: String? = nil, variables: [String: String], environmentPassword: [UInt8]? = nil,
    now: @escaping @Sendable () -> Date = { Date() }
  ) {
    self.configPath = configPath
    self.variables = variables
    self.environmentPassword = environmentPassword
    self.now = now
  }

  /// `$XDG_STATE_HOME/sealpost` (`~/.local/state/sealpost`): the log and saved transcripts; nil without a home.
  public var stateDirectory: String? {
    if let xdg = variables["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/sealpost" }
    guard let home = variables["HOME"], !home.isEmpty else { return nil }
    return home + "/.local/state/sealpost"
  }

  /// `$VISUAL`, else `$EDITOR`; nil when neither is set (or both are empty).
  public var editor: String? {
    for name in ["VISUAL", "EDITOR"] {
      if let value = variables[name], !value.trimmingSpacesAndTabs().isEmpty { return value }
    }
    return nil
  }
}
