import Foundation
import MailSenderTesting
import Testing

/// `--dsn-notify`, `--dsn-return` and `--require-tls` through the built binary (DESIGN §4), and a BDAT send.
@Suite(.serialized) struct ExtensionFlagsTests {
  static func server(_ extra: [String]) throws -> ScriptedSMTPServer {
    var options = try SendCommandTests.standard()
    options.capabilitiesAfterTLS += extra
    return try ScriptedSMTPServer(standard: options)
  }

  static func arguments(port: UInt16) throws -> [String] {
    try SendCommandTests.baseArguments(port: port, mode: "starttls") + ["--subject", "x", "--body", "hi"]
  }

  @Test(arguments: [
    ["--dsn-notify", "sometimes"],
    ["--dsn-notify", "never,failure"],
    ["--dsn-notify", "success,"],
    ["--dsn-notify", ""],
    ["--dsn-return", "body"],
  ])
  func badValuesAreUsageErrors(flags: [String]) throws {
    // Port 9 (discard) is never contacted: usage errors come before connecting.
    let result = try CLIRunner.run(try Self.arguments(port: 9) + flags)
    #expect(result.status == 64, "\(result.stderr)")
    #expect(result.stderr.contains(flags[0]))
    #expect(result.stdout.isEmpty)
  }

  @Test func helpListsTheFlags() throws {
    let result = try CLIRunner.run(["send", "--help"])
    #expect(result.status == 0)
    for flag in ["--dsn-notify", "--dsn-return", "--require-tls"] {
      #expect(result.stdout.contains(flag), "\(flag)")
    }
  }

  @Test func dsnFlagsReachTheServerOverBDAT() throws {
    let server = try Self.server(["DSN", "CHUNKING"])
    defer { server.stop() }
    let result = try CLIRunner.run(
      try Self.arguments(port: server.port) + ["--dsn-notify", "Success,DELAY", "--dsn-return", "headers"])
    #expect(result.status == 0, "\(result.stderr)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    let mail = try #require(session.commands.first { $0.hasPrefix("MAIL FROM:") })
    #expect(mail.contains(" RET=HDRS ENVID="))
    #expect(
      session.commands.contains("RCPT TO:<b@example.org> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b@example.org"))
    #expect(session.commands.contains { $0.hasPrefix("BDAT ") && $0.hasSuffix(" LAST") })
    #expect(session.messages.count == 1)
    #expect(result.stdout.contains(" LAST\n"))
  }

  @Test func dsnWithoutTheExtensionIs69() throws {
    let server = try Self.server([])
    defer { server.stop() }
    let result = try CLIRunner.run(try Self.arguments(port: server.port) + ["--dsn-notify", "never"])
    #expect(result.status == 69, "\(result.stderr)")
    #expect(result.stderr.contains("does not offer DSN — nothing was sent"))
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(!session.commands.contains { $0.hasPrefix("MAIL") })
  }

  @Test func requireTLSWithoutTheExtensionIs77() throws {
    let server = try Self.server([])
    defer { server.stop() }
    let result = try CLIRunner.run(try Self.arguments(port: server.port) + ["--require-tls"])
    #expect(result.status == 77, "\(result.stderr)")
    #expect(result.stderr.contains("REQUIRETLS"))
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(!session.commands.contains { $0.hasPrefix("MAIL") })
  }

  @Test func requireTLSOffered() throws {
    let server = try Self.server(["REQUIRETLS"])
    defer { server.stop() }
    let result = try CLIRunner.run(try Self.arguments(port: server.port) + ["--require-tls"])
    #expect(result.status == 0, "\(result.stderr)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(
      session.commands.contains { $0.hasPrefix("MAIL FROM:<a@example.org>") && $0.hasSuffix(" REQUIRETLS") })
  }
}
