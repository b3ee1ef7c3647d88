import ComposerApp
import Foundation
import MailSenderTesting

/// A home of its own for a composer test: `HOME`, `XDG_CONFIG_HOME` and `XDG_STATE_HOME` in a temporary
/// directory, and Sealpost's config file there (mode 0600) with accounts the test writes.
public struct ComposerSandbox: Sendable {
  public let directory: TemporaryDirectory
  public var home: String { directory.path }
  public var configHome: String { directory.path + "/config" }
  public var stateHome: String { directory.path + "/state" }
  /// Sealpost's own config file in this home.
  public var configPath: String { configHome + "/sealpost/config" }
  /// The pin file in this home.
  public var pinPath: String { configHome + "/sealpost/pins" }

  public init() throws {
    directory = try TemporaryDirectory(prefix: "sealpost-composer")
    for path in [configHome + "/sealpost", stateHome] {
      try FileManager.default.createDirectory(
        atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
  }

  /// Writes Sealpost's config file (mode 0600).
  public func writeConfig(_ text: String) throws {
    _ = FileManager.default.createFile(
      atPath: configPath, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
  }

  /// An account for a local test server: implicit TLS or STARTTLS to localhost, trusting `caFile` (or, without
  /// one, the system store, so a test certificate fails).
  public static func account(
    _ name: String, port: UInt16, startTLS: Bool = false, caFile: String?,
    from: String = "alice@example.test",
    user: String? = nil, passwordCommand: String? = nil
  ) -> String {
    var lines = [
      "account \(name)", "host localhost", "port \(port)", "tls on",
      "tls_starttls \(startTLS ? "on" : "off")",
      "from \(from)",
    ]
    if let caFile { lines.append("tls_trust_file \(caFile)") }
    if let user {
      lines += ["auth on", "user \(user)"]
      if let passwordCommand { lines.append("passwordeval \(passwordCommand)") }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The runtime's environment for this home; `extra` adds variables (`EDITOR`…).
  public func environment(
    extra: [String: String] = [:], password: [UInt8]? = nil, now: @escaping @Sendable () -> Date = { Date() }
  ) -> ComposerEnvironment {
    var variables = [
      "HOME": home, "XDG_CONFIG_HOME": configHome, "XDG_STATE_HOME": stateHome, "PATH": "/usr/bin:/bin",
      "TMPDIR": directory.path, "LANG": "C.UTF-8",
    ]
    variables.merge(extra) { $1 }
    return ComposerEnvironment(variables: variables, environmentPassword: password, now: now)
  }

  public func remove() { directory.remove() }
}
