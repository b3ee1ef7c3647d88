import Foundation
import PropertyTesting
import Testing

@testable import Accounts

/// Records a failure that names the case and its seed; returns whether the property held.
@discardableResult
func holds(
  _ condition: Bool, _ propertyCase: PropertyCase, _ what: @autoclosure () -> String,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
  if !condition { Issue.record("\(what()) — \(propertyCase)", sourceLocation: sourceLocation) }
  return condition
}

/// Property tests of the msmtp-syntax parser (DESIGN §6, §3.5, §8): random text and random edits of the
/// committed fixtures never trap, every message names `file:line` inside the file, and no message ever shows
/// a password from the file.
@Suite struct ConfigPropertyTests {
  static let fixtures = ["msmtprc-several", "msmtprc-system", "msmtprc-user", "sealpost-config"]

  static let lines = [
    "defaults", "account a", "account b : a", "account default : a", "account c : a, b", "account : x",
    "host smtp.example.org", "port 587", "port 0", "port 99999", "tls on", "tls off", "tls_starttls off",
    "auth on", "auth plain", "auth cram-md5", "auth bogus", "user alice", "from a@example.org",
    "tls_fingerprint AB:CD", "tls_certcheck off", "timeout 30", "timeout x", "pin sha256/abc",
    "tls_trust_file ~/ca.pem", "logfile ~/log", "proxy_host p", "unknown_key 1", "protocol lmtp", "# comment",
    "", "  ", "\t", "password \"unterminated", "passwordeval pass show mail", "allow_insecure on",
    "display_name Zoë", "host \"quoted \\\" value\"", "host \"bad \\x escape\"",
  ]

  /// A password that cannot appear in any message by chance.
  static func password(_ gen: inout Gen) -> String {
    let alphabet = Array(
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%&*+-/=?@^_~".unicodeScalars)
    let body = String(String.UnicodeScalarView((0..<gen.int(10...24)).map { _ in gen.pick(alphabet) }))
    return "Pw" + body
  }

  static func passwordLine(_ password: String, _ gen: inout Gen) -> String {
    switch gen.int(0...3) {
    case 0: return "password " + password
    case 1: return "password \"" + password + "\""
    case 2: return "  password\t" + password + "  "
    default: return "password " + password + " # not a comment"
    }
  }

  static func text(_ gen: inout Gen, passwords: inout [String]) throws -> String {
    var lines: [String]
    if gen.chance(50) {
      let name = gen.pick(Self.fixtures)
      let contents = try String(contentsOfFile: Support.fixture(name), encoding: .utf8)
      lines = contents.components(separatedBy: "\n")
    } else {
      lines = (0..<gen.int(0...12)).map { _ in gen.pick(Self.lines) }
    }
    for _ in 0..<gen.int(0...6) {
      let position = gen.int(0...lines.count)
      switch gen.int(0...5) {
      case 0:
        let password = Self.password(&gen)
        passwords.append(password)
        lines.insert(Self.passwordLine(password, &gen), at: position)
      case 1: lines.insert(gen.pick(Self.lines), at: position)
      case 2: lines.insert(gen.string(maxLength: 30), at: position)
      case 3 where !lines.isEmpty: lines.remove(at: min(position, lines.count - 1))
      case 4 where !lines.isEmpty:
        let index = min(position, lines.count - 1)
        lines[index] = String(decoding: gen.mutate(Array(lines[index].utf8)), as: UTF8.self)
      default: lines.insert(gen.pick(["\r", "\u{85}", "\u{1B}[2J", "\u{202E}", "\0"]), at: position)
      }
    }
    return lines.joined(separator: gen.chance(90) ? "\n" : "\r\n")
  }

  @Test func randomConfigsNeverTrapNameALineAndHidePasswords() throws {
    var parsed = 0
    for propertyCase in Property.cases("AccountsConfig", count: 700) {
      var gen = propertyCase.generator
      var passwords: [String] = []
      let text = try Self.text(&gen, passwords: &passwords)
      // Passwords the text holds however they got there (a mutation may also have made one).
      let lineCount = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).count
      let flavor: ConfigFlavor = gen.chance(50) ? .msmtp : .sealpost
      var messages: [(String, ConfigLocation)] = []
      do {
        let config = try AccountsConfig(parsing: text, path: Support.file, flavor: flavor, home: Support.home)
        parsed += 1
        messages += config.notes.map { ($0.description, $0.location) }
        for account in config.accounts {
          messages += account.problems.map { ($0.description, $0.location) }
          messages.append((account.secretSource.summary, account.location))
          if let problem = account.plaintextProblem(
            host: "mx.example.org", allowInsecure: false, authenticates: true)
          {
            messages.append((problem.description, problem.location))
          }
        }
      } catch {
        messages.append((error.description, error.location))
        guard
          holds(
            error.description.utf8.starts(with: "\(Support.file):\(error.location.line): ".utf8),
            propertyCase,
            "error does not start with file:line: \(error.description)")
        else { return }
      }
      for (message, location) in messages {
        guard
          holds(
            location.file == Support.file && (1...lineCount).contains(location.line), propertyCase,
            "\(location) is not a line of the \(lineCount)-line file: \(message)"),
          holds(
            !message.unicodeScalars.contains(where: Gen.isUnsafe), propertyCase,
            "raw control in \(message.debugDescription)"),
          holds(
            !passwords.contains(where: message.contains), propertyCase, "a password appears in \(message)")
        else { return }
      }
    }
    #expect(parsed >= 50, "too few configs parsed to test notes and problems: \(parsed)")
  }
}
