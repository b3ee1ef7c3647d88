import Foundation
import Testing

@testable import Accounts

/// `passwordeval` and the keyring look-up: run without SEALPOST_PASSWORD, failures never show output.
@Suite struct AccountSecretsTests {
  static let location = ConfigLocation(file: "t.rc", line: 7)
  static var environment: [String: String] { ProcessInfo.processInfo.environment }

  @Test(arguments: [
    ("printf 'pw\\n'", "pw"), ("printf 'pw'", "pw"), ("printf 'pw\\r\\n'", "pw"),
    ("printf 'a b\\n\\n'", "a b\n"),
    ("echo '  spaced  '", "  spaced  "),
  ])
  func passwordEvalOutput(command: String, expected: String) throws {
    let secret = try AccountSecrets.passwordEval(
      command, location: Self.location, account: "a", environment: Self.environment)
    #expect(secret.bytes == Array(expected.utf8))
  }

  @Test(arguments: [
    (
      "echo leaked-output; exit 3",
      "account a: passwordeval (t.rc:7) failed (exit status 3); its output is not shown"
    ),
    ("printf ''", "account a: passwordeval (t.rc:7) printed nothing"),
    ("echo", "account a: passwordeval (t.rc:7) printed nothing"),
    (
      "kill -9 $$",
      "account a: passwordeval (t.rc:7) was killed by signal 9 (SIGKILL); its output is not shown"
    ),
    (
      "no-such-program-sealpost --flag",
      "account a: passwordeval (t.rc:7) failed (exit status 127); its output is not shown"
    ),
    // Red team: one word that names nothing is not run (the shell would print it back); it may be a password.
    (
      "no-such-program-sealpost",
      "account a: passwordeval (t.rc:7) is one word that names no program on PATH and no shell built-in, so it "
        + "was not run: is it the password itself? passwordeval takes a command that prints the password (the "
        + "value is not shown)"
    ),
    (
      "head -c 70000 /dev/zero",
      "account a: passwordeval (t.rc:7) printed more than 64 KiB; its output is not shown"
    ),
  ])
  func passwordEvalFailures(command: String, message: String) {
    do {
      _ = try AccountSecrets.passwordEval(
        command, location: Self.location, account: "a", environment: Self.environment)
      Issue.record("\(command) must fail")
    } catch {
      #expect(error.message == message)
      #expect(!error.message.contains("leaked"))
    }
  }

  @Test func childrenNeverSeeThePasswordVariable() throws {
    var environment = Self.environment
    environment["SEALPOST_PASSWORD"] = "from-the-variable"
    let secret = try AccountSecrets.passwordEval(
      "printf '%s' \"${SEALPOST_PASSWORD:-unset}\"", location: Self.location, account: "a",
      environment: environment)
    #expect(secret.bytes == Array("unset".utf8))
  }

  /// A folder with a fake `secret-tool` that answers as the real one does.
  static func fakeKeyring(_ script: String) throws -> (directory: String, environment: [String: String]) {
    let directory = try Support.temporaryDirectory()
    try Support.writeExecutable("#!/bin/sh\n" + script + "\n", to: directory + "/secret-tool")
    var environment = Self.environment
    environment["PATH"] = directory + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
    environment["SEALPOST_PASSWORD"] = "must-not-be-seen"
    return (directory, environment)
  }

  @Test func keyringLooksUpHostAndUser() throws {
    // Prints the password only for exactly msmtp's query, and only if it cannot see SEALPOST_PASSWORD.
    let fake = try Self.fakeKeyring(
      """
      [ -z "$SEALPOST_PASSWORD" ] || exit 2
      [ "$*" = "lookup host smtp.example.org user jane doe's" ] && printf 'kr-secret\\n' && exit 0
      exit 1
      """)
    defer { try? FileManager.default.removeItem(atPath: fake.directory) }
    let secret = try AccountSecrets.keyring(
      host: "smtp.example.org", user: "jane doe's", account: "a", environment: fake.environment)
    #expect(secret?.bytes == Array("kr-secret".utf8))
    let none = try AccountSecrets.keyring(
      host: "other.example.org", user: "jane doe's", account: "a", environment: fake.environment)
    #expect(none == nil)
  }

  @Test func keyringWithoutSecretToolFallsThrough() throws {
    var environment = Self.environment
    environment["PATH"] = "/nonexistent-sealpost"
    #expect(try AccountSecrets.keyring(host: "h", user: "u", account: "a", environment: environment) == nil)
  }

  @Test(arguments: [
    ("echo oops-output; exit 4", "account a: secret-tool failed (exit status 4); its output is not shown"),
    ("exit 0", "account a: secret-tool found an empty password"),
  ])
  func keyringFailures(script: String, message: String) throws {
    let fake = try Self.fakeKeyring(script)
    defer { try? FileManager.default.removeItem(atPath: fake.directory) }
    do {
      _ = try AccountSecrets.keyring(host: "h", user: "u", account: "a", environment: fake.environment)
      Issue.record("must fail")
    } catch {
      #expect(error.message == message)
    }
  }
}
