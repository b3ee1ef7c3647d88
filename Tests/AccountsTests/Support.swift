import Foundation
import MailSenderTesting
import Testing

@testable import Accounts

/// Test helpers: parsing text under a fixed name, a private temp folder, fixture paths.
enum Support {
  static let file = "t.rc"
  static let home = "/home/u"

  static func parse(_ text: String, flavor: ConfigFlavor = .msmtp) throws -> AccountsConfig {
    try AccountsConfig(parsing: text, path: file, flavor: flavor, home: home)
  }

  /// The error `text` gives, as the user sees it.
  static func error(_ text: String, flavor: ConfigFlavor = .msmtp) -> String? {
    do {
      _ = try AccountsConfig(parsing: text, path: file, flavor: flavor, home: home)
      return nil
    } catch {
      return error.description
    }
  }

  static func fixture(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
      .appendingPathComponent(name).path
  }

  static func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "sealpost-accounts-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  static func write(_ text: String, to path: String, mode: Int) throws {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
  }

  /// Writes a program to run (`TestProgram.write`: never through a descriptor a spawned child could inherit).
  static func writeExecutable(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try TestProgram.write(text, to: path)
  }

  /// One line per account field that matters for sending, for table comparisons.
  static func summary(_ account: Account) -> String {
    var parts = [
      "host=\(account.host ?? "-")", "port=\(account.port)", "security=\(account.security.rawValue)",
    ]
    if let user = account.user { parts.append("user=\(user)") }
    if let mechanism = account.mechanism { parts.append("auth=\(mechanism)") }
    if let from = account.from { parts.append("from=\(from)") }
    if let caFile = account.trust.caFile { parts.append("ca=\(caFile)") }
    if !account.trust.certificateSHA256.isEmpty {
      parts.append("fingerprints=\(account.trust.certificateSHA256.count)")
    }
    if !account.trust.spkiSHA256.isEmpty { parts.append("pins=\(account.trust.spkiSHA256.count)") }
    if let domain = account.domain { parts.append("domain=\(domain)") }
    if let timeout = account.timeout { parts.append("timeout=\(timeout)") }
    if account.allowInsecure { parts.append("allow_insecure") }
    switch account.secretSource {
    case .none: break
    case .password(let secret, let location):
      parts.append("password(\(String(decoding: secret.bytes, as: UTF8.self)))@\(location.line)")
    case .passwordEval(let command, let location): parts.append("passwordeval(\(command))@\(location.line)")
    case .keyringOrPrompt: parts.append("keyring")
    }
    return parts.joined(separator: " ")
  }
}
