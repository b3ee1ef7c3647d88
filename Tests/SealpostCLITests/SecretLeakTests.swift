import Foundation
import MailSenderTesting
import Testing

/// Issue 4, "done when": with a known password, no CLI scenario leaves it — or the PLAIN blob, or the password's
/// base64 in any of the three alignments — in stdout, stderr or any file under the test's HOME, XDG and temp
/// folders.
@Suite(.serialized) struct SecretLeakTests {
  static let user = "leak-user@example.test"
  static let password = "Leak-Pa55word-1234"

  /// The forms a secret can take on the wire or in a log: itself, the PLAIN blob, and base64 of the password at
  /// each of the three offsets inside a longer base64 text. Computed with Foundation's base64 (not the code under
  /// test): encode `k` filler bytes + password, drop the first 4 characters (they mix in the filler) and the last
  /// 4 (they depend on what follows).
  static func needles() -> [String] {
    let bytes = Array(password.utf8)
    var result = [password]
    result.append(Data([0] + Array(user.utf8) + [0] + bytes).base64EncodedString())
    result.append(Data(bytes).base64EncodedString())
    for offset in 0..<3 {
      let encoded = Data(Array(repeating: UInt8(ascii: "x"), count: offset) + bytes).base64EncodedString()
      let inner = encoded.dropFirst(offset == 0 ? 0 : 4).dropLast(4)
      result.append(String(inner))
    }
    return result
  }

  @Test func theNeedlesAreTheRightBase64() {
    let needles = Self.needles()
    // Hand-checked: base64("Leak-Pa55word-1234") = "TGVhay1QYTU1d29yZC0xMjM0".
    #expect(needles[2] == "TGVhay1QYTU1d29yZC0xMjM0")
    #expect(needles[3] == "TGVhay1QYTU1d29yZC0x")
    #expect(needles.allSatisfy { $0.count >= 12 })
    #expect(Set(needles).count == needles.count)
  }

  @Test func noScenarioLeavesTheSecretAnywhere() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    options.credentials = .init(user: Self.user, password: Self.password)
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    // A hostile server that echoes the AUTH blob it got in its refusal.
    var hostile = options
    hostile.credentials = .init(user: Self.user, password: "something-else")
    hostile.echoAuthBlobInFailure = true
    let echoing = try ScriptedSMTPServer(standard: hostile)
    defer { echoing.stop() }

    func account(_ name: String, port: UInt16, secret: String) -> String {
      """
      account \(name)
      host localhost
      port \(port)
      tls on
      tls_trust_file \(pki.caCertificatePath)
      from a@example.org
      auth on
      user \(Self.user)
      \(secret)

      """
    }
    let config =
      "defaults\nlogfile ~/msmtp.log\n"
      + account("eval", port: server.port, secret: "passwordeval printf '%s\\n' '\(Self.password)'")
      + account("file", port: server.port, secret: "password \(Self.password)")
      + account("keyring", port: server.port, secret: "")
      + account("hostile", port: echoing.port, secret: "password \(Self.password)")
      + account("failing", port: server.port, secret: "passwordeval echo '\(Self.password)'; exit 5")
      + "account default : eval\n"
    try sandbox.write(config, to: sandbox.home + "/.msmtprc", mode: 0o600)
    try sandbox.fakeSecretTool("printf '%s\\n' '\(Self.password)'")

    let send = ["send", "--to", "b@example.org", "--body", "leak test", "--show-data"]
    let scenarios: [(arguments: [String], environment: [String: String], status: Int32)] = [
      (["accounts"], [:], 0),
      (["accounts", "check", "eval"], [:], 0),
      (["accounts", "check", "keyring", "--transcript", "jsonl"], [:], 0),
      (["accounts", "check", "hostile"], [:], 77),
      (["accounts", "check", "failing"], [:], 78),
      (send, [:], 0),
      (send + ["--account", "file", "--transcript", "jsonl"], [:], 0),
      (send + ["--account", "keyring"], [:], 0),
      (send + ["--account", "hostile"], [:], 77),
      (send + ["--account", "hostile", "--transcript", "jsonl"], [:], 77),
      (send + ["--account", "file", "--server", "127.0.0.1:\(server.port)"], [:], 78),
      (send + ["--account", "keyring", "--user", Self.user], ["SEALPOST_PASSWORD": Self.password], 0),
      (send + ["--account", "eval", "--password-command", "echo wrong-password"], [:], 77),
    ]
    var outputs: [String] = []
    for scenario in scenarios {
      let result = try CLIRunner.run(
        scenario.arguments, environment: sandbox.environment.merging(scenario.environment) { _, new in new },
        detached: true)
      #expect(result.status == scenario.status, "\(scenario.arguments): \(result.stderr)")
      outputs.append(result.stdout)
      outputs.append(result.stderr)
    }
    // The server really got the secret (so the sweep below is not vacuous), and a hostile echo came back.
    #expect(
      server.sessions.contains { $0.commands.contains { $0.hasPrefix("AUTH PLAIN " + Self.needles()[1]) } })
    #expect(outputs.joined().contains("535 5.7.8 bad <redacted>"))

    let files = sandbox.writtenFiles()
    var swept = outputs
    for file in files {
      swept.append(String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self))
    }
    for needle in Self.needles() {
      for (index, text) in swept.enumerated() {
        let source =
          index < outputs.count ? "output of \(scenarios[index / 2].arguments)" : files[index - outputs.count]
        #expect(!text.contains(needle), "\(needle) found in \(source)")
      }
    }
  }
}
