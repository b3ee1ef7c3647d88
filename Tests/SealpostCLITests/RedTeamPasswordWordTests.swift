import Foundation
import Testing

/// Red team: a password written where a command belongs (`passwordeval PASSWORD`, `--password-command PASSWORD`)
/// was run through `/bin/sh -c`, and the shell printed it on stderr: "sh: 1: PASSWORD: not found".
@Suite struct RedTeamPasswordWordTests {
  static let password = "Hunter2-secret-word"

  @Test func aPasswordInPasswordevalIsNeverRunNorShown() throws {
    let directory = NSTemporaryDirectory() + "sealpost-redteam-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let config = directory + "/config"
    try """
    account work
    host 127.0.0.1
    port 1
    tls on
    tls_starttls off
    from a@example.org
    auth on
    user a
    passwordeval "\(Self.password)"

    """.write(toFile: config, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: config)
    let result = try CLIRunner.run(
      [
        "send", "--config", config, "--account", "work", "--to", "b@example.org", "--body", "hi", "--timeout",
        "5",
      ],
      detached: true)
    #expect(!result.stderr.contains(Self.password))
    #expect(!result.stdout.contains(Self.password))
    #expect(result.status == 78)
    #expect(result.stderr.contains("is it the password itself?"))
  }

  @Test func aPasswordGivenAsThePasswordCommandIsNeverRunNorShown() throws {
    let result = try CLIRunner.run(
      [
        "send", "--server", "127.0.0.1:1", "--tls", "implicit", "--user", "a", "--password-command",
        Self.password, "--from", "a@example.org", "--to", "b@example.org", "--body", "hi", "--timeout", "5",
      ], detached: true)
    #expect(!result.stderr.contains(Self.password))
    #expect(!result.stdout.contains(Self.password))
  }
}
