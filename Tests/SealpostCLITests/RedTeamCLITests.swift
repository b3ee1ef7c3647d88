import Foundation
import MailSenderTesting
import Testing

/// The built binary against hostile servers (red team): exit code of DESIGN §4, one line on stderr, no secret
/// and no raw control character in any output, an end within `--timeout` + 1 s.
@Suite(.serialized) struct RedTeamCLITests {
  static let user = "u@example.test"

  static func arguments(port: UInt16, mode: String, password: String? = nil) throws -> [String] {
    var arguments = [
      "send", "--server", "localhost", "--port", "\(port)", "--tls", mode, "--ca-file",
      try TestPKI.shared().caCertificatePath, "--from", "a@example.org", "--to", "b@example.org",
      "--subject", "hi", "--body", "hello", "--timeout", "1",
    ]
    if let password {
      arguments += ["--user", user, "--password-command", "printf '\(password)'"]
    }
    return arguments
  }

  static func expectOneCleanLine(
    _ result: CLIRunner.Result, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(
      lines.count == 2 && lines[1].isEmpty, "one line: \(result.stderr)", sourceLocation: sourceLocation)
    #expect(result.stderr.hasPrefix("sealpost: "), sourceLocation: sourceLocation)
    for text in [result.stdout, result.stderr] {
      let bad = text.unicodeScalars.first { scalar in
        let value = scalar.value
        return value < 0x20 && scalar != "\n" || value == 0x7F || (0x80...0x9F).contains(value)
          || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
      }
      #expect(bad == nil, "raw control in output", sourceLocation: sourceLocation)
    }
  }

  /// A password with a tab and a bidi control, echoed by the server in its 535 and its 221.
  @Test func anEchoedPasswordWithControlsNeverShows() async throws {
    let password = "tab\tbed\u{202E}x"
    let pki = try TestPKI.shared()
    let server = try ScriptedSMTPServer(
      options: .init(implicitTLS: pki.identity(.valid), timeout: 3),
      script: { session in
        try session.send("220 mx")
        _ = try session.readLine()
        try session.send("250-mx\r\n250 AUTH PLAIN")
        _ = try session.readLine()
        try session.send("535 5.7.8 bad password \(password)")
        _ = try session.readLine()
        try session.send("221 bye \(password)")
      })
    defer { server.stop() }
    let result = try await CLIRunner.run(
      try Self.arguments(port: server.port, mode: "implicit", password: "tab\\tbed\u{202E}x")
        + ["--transcript", "jsonl"])
    #expect(result.status == 77, "\(result.stderr)")
    Self.expectOneCleanLine(result)
    for form in [password, "tab\\u{0009}bed\\u{202E}x", "tab\\\\u{0009}bed\\\\u{202E}x"] {
      #expect(!result.stdout.contains(form) && !result.stderr.contains(form), "\(form)")
    }
    #expect(result.stderr.contains("bad password <redacted>"), "\(result.stderr)")
  }

  @Test func aDripAfterTheDotEndsWithinTheTimeoutAsDeliveryUnknown() async throws {
    let server = try ScriptedSMTPServer(
      options: .init(timeout: 30),
      script: { session in
        try session.send("220 mx")
        for reply in ["250 mx", "250 ok", "250 ok", "354 go"] {
          _ = try session.readLine()
          try session.send(reply)
        }
        _ = try session.readData()
        for byte in Array(String(repeating: "250-drip\r\n", count: 100).utf8) {
          try session.sendRaw([byte])
          try session.stall(0.1)
        }
      })
    defer { server.stop() }
    let result = try await CLIRunner.run([
      "send", "--server", "127.0.0.1:\(server.port)", "--tls", "none", "--from", "a@example.org", "--to",
      "b@example.org", "--body", "hello", "--timeout", "1",
    ])
    #expect(result.status == 75, "\(result.stderr)")
    #expect(result.elapsed < .seconds(2), "\(result.elapsed)")
    #expect(result.stderr.contains("may or may not have accepted"), "\(result.stderr)")
    Self.expectOneCleanLine(result)
  }

  @Test func probeOfAnInjectedSTARTTLSSaysNotTrustworthyInJSON() async throws {
    let pki = try TestPKI.shared()
    let identity = pki.identity(.valid)
    let server = try ScriptedSMTPServer(
      options: .init(timeout: 3),
      script: { session in
        try session.send("220 mx \u{1B}[2J")
        _ = try session.readLine()
        try session.send("250-mx\r\n250 STARTTLS")
        _ = try session.readLine()
        try session.sendRaw(Array("220 go\r\n250 injected\r\n".utf8))
        try session.startTLS(identity: identity)
      })
    defer { server.stop() }
    let result = try await CLIRunner.run([
      "probe", "localhost:\(server.port)", "--tls", "starttls", "--ca-file", pki.caCertificatePath, "--json",
      "--timeout", "1",
    ])
    #expect(result.status == 77, "\(result.stderr)")
    #expect(result.stderr.hasPrefix("sealpost: not trustworthy: STARTTLS tampered"), "\(result.stderr)")
    Self.expectOneCleanLine(result)
    let document = try ProbeJSONDocument.parse(result.stdout)
    #expect(document["trustworthy"] as? Bool == false)
    #expect(try ProbeSchema.validate(result.stdout) == 0)
  }

  @Test func accountsCheckAgainstAPreAuthenticatingServerIs76AndSendsNoLogin() async throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let pki = try TestPKI.shared()
    let server = try ScriptedSMTPServer(
      options: .init(implicitTLS: pki.identity(.valid), timeout: 3),
      script: { session in
        try session.send("220 mx")
        _ = try session.readLine()
        try session.send("250-mx\r\n250 AUTH PLAIN\r\n235 2.7.0 you are in")
        _ = try session.readLine()
        try session.send("221 bye")
      })
    defer { server.stop() }
    try sandbox.write(
      """
      account test
      host localhost
      port \(server.port)
      tls on
      tls_starttls off
      tls_trust_file \(pki.caCertificatePath)
      timeout 1
      from a@example.org
      auth on
      user \(Self.user)
      passwordeval echo 'pw-Secr3t'
      """, to: sandbox.home + "/.msmtprc")
    let result = try await CLIRunner.run(["accounts", "check", "test"], environment: sandbox.environment)
    #expect(result.status == 76, "\(result.stderr)")
    Self.expectOneCleanLine(result)
    let commands = server.waitForFinishedSessions(1).first?.commands ?? []
    #expect(!commands.contains { $0.hasPrefix("AUTH") }, "\(commands)")
    #expect(!result.stdout.contains("pw-Secr3t") && !result.stderr.contains("pw-Secr3t"))
  }
}
