import Foundation
import Testing

/// Red team: a password typed after a flag whose dashes an editor or a web page turned into an en dash, an em dash
/// or a minus sign (`–password hunter2`) was quoted whole by the parser ("2 unexpected arguments"), and so was the
/// command after `-- --password-command`. DESIGN §3.5: no secret in any output.
@Suite struct UnicodeDashSecretTests {
  static let secret = "hunter2-\(UInt32.random(in: 0...UInt32.max))"

  static let base = [
    "send", "--server", "127.0.0.1:9", "--tls", "none", "--from", "a@example.org", "--to", "x@example.org",
    "--body", "x",
  ]

  @Test(
    arguments: [
      ["\u{2013}password", secret], ["\u{2014}password=" + secret], ["\u{2212}\u{2212}pass", secret],
      ["\u{2010}p" + secret], ["--", "\u{2013}password", secret],
      ["--", "--password-command", "echo " + secret],
      ["--", "--password-command=echo " + secret],
    ])
  func noDashTurnsAPasswordIntoQuotedText(extra: [String]) async throws {
    for format in ["text", "jsonl"] {
      let result = try await CLIRunner.run(Self.base + ["--transcript", format] + extra)
      #expect(result.status == 64, "\(result.stderr)")
      #expect(!result.stderr.contains(Self.secret), "\(result.stderr)")
      #expect(!result.stdout.contains(Self.secret), "\(result.stdout)")
    }
  }

  @Test func theFlagIsNamedAsTyped() async throws {
    let result = try await CLIRunner.run(Self.base + ["\u{2013}password", Self.secret])
    #expect(result.status == 64)
    #expect(result.stderr.contains("there is no \u{2013}password (argument 12)"), "\(result.stderr)")
  }
}
