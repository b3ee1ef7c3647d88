import Foundation
import MailSenderTesting
import Testing

/// The password prompt on a real terminal (a pseudo-terminal made by Python's `pty`): no echo while typing, the
/// typed password is used, and Ctrl-C at the prompt leaves the terminal's echo on.
@Suite(.serialized) struct PasswordPromptTests {
  /// The binary on a new pty, `keys` written once the prompt shows (the driver of `HostileLocalPromptTests`).
  static func run(keys: String, arguments: [String]) async throws -> (
    echo: String, status: String, shown: String
  ) {
    try await HostileLocalPromptTests.run(signal: 0, keys: keys, arguments: arguments)
  }

  static func arguments(port: UInt16) throws -> [String] {
    [
      "send", "--server", "localhost:\(port)", "--tls", "starttls", "--ca-file",
      try TestPKI.shared().caCertificatePath, "--user", "u@example.test", "--from", "a@example.org", "--to",
      "b@example.org", "--timeout", "5", "--transcript", "none",
    ]
  }

  @Test func theTypedPasswordIsUsedAndNeverEchoed() async throws {
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid))
    options.credentials = .init(user: "u@example.test", password: "typed-Secret-42")
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let result = try await Self.run(
      keys: "typed-Secret-42\\r", arguments: try Self.arguments(port: server.port))
    #expect(result.status == "status=0", "\(result.shown)")
    #expect(result.shown.contains("Password for u@example.test at localhost: "))
    #expect(!result.shown.contains("typed-Secret-42"))
    #expect(result.echo == "echo=on")
    #expect(server.waitForFinishedSessions(1).first?.messages.count == 1)
  }

  @Test func ctrlCAtThePromptLeavesEchoOn() async throws {
    let server = try ScriptedSMTPServer(standard: StandardSMTPOptions())
    defer { server.stop() }
    let result = try await Self.run(keys: "\\x03", arguments: try Self.arguments(port: server.port))
    // Ctrl-C cancels the send (exit 130, the verdict printed) rather than killing the process.
    #expect(result.status == "status=130", "\(result.shown)")
    #expect(result.shown.contains("sealpost: cancelled — not sent"), "\(result.shown)")
    #expect(result.echo == "echo=on")
    #expect(server.sessions.isEmpty)
  }
}
