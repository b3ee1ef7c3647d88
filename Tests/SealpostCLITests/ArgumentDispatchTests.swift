import ArgumentParser
import Testing

@testable import sealpost

/// Issue 14: `Sealpost.parse` parses a leaf subcommand named by the first word as a root of its own (cheaper),
/// and anything else through the root. Whatever it returns or throws must be what the root's own parse
/// returns or throws: the same command with the same values, or the same message and exit code.
@Suite struct ArgumentDispatchTests {
  static let vectors: [[String]] = [
    // Clean parses of each leaf, the hot path.
    [
      "send", "--server", "localhost:2525", "--tls", "none", "--from", "a@example.test", "--to",
      "b@example.test",
      "--to=c@example.test", "--body", "hi", "--transcript=jsonl", "--ca-file", "ca.pem", "--pin", "sha256/x",
    ],
    ["send", "--subject", "send", "--to", "b@example.test", "--body", "probe"],
    ["send", "--subject", "sendmail", "--to", "b@example.test"],
    ["send", "--dry-run", "--", "--to"],
    ["send"],
    ["sendmail", "-t", "-i", "-f", "a@example.test", "b@example.test"],
    ["sendmail", "--", "-x", "--version"],
    ["sendmail", "-h"],
    ["sendmail", "--version"],
    ["sendmail", "--help"],
    ["probe", "localhost:465", "--versions", "--json"],
    ["compose"],
    ["compose", "--account", "work", "--theme", "light"],
    // Help, version and completion requests, errors: the root's own answer.
    ["send", "--help"],
    ["send", "-h"],
    ["send", "--help-hidden"],
    ["send", "--version"],
    ["send", "--bogus"],
    ["send", "--port", "x"],
    ["send", "--to"],
    ["send", "help"],
    ["send", "extra"],
    ["send", "--generate-completion-script", "bash"],
    ["send", "--generate-completion-script"],
    ["send", "--subject", "x", "--generate-completion-script=zsh"],
    ["send", "--subject", "--generate-completion-script", "fish"],
    ["sendmail", "--generate-completion-script", "bash"],
    ["send", "--experimental-dump-help"],
    ["probe"],
    ["probe", "a", "b"],
    ["probe", "--help"],
    ["compose", "--nope"],
    ["compose", "--help"],
    // Not a leaf: the root parses these as before.
    ["accounts"],
    ["accounts", "check", "work"],
    ["outbox", "list"],
    ["help", "send"],
    [],
    ["--version"],
    ["-h"],
    ["--account", "work"],
    ["--generate-completion-script", "zsh"],
    ["nonsense"],
  ]

  @Test(arguments: vectors)
  func parsesAsTheRootDoes(arguments: [String]) {
    let dispatched = Outcome(Result { try Sealpost.parse(arguments) })
    let root = Outcome(Result { try Sealpost.parseAsRoot(arguments) })
    #expect(dispatched == root)
  }

  @Test func onlyLeafSubcommandsAreParsedDirectly() {
    func leaf(_ word: String) -> ObjectIdentifier? {
      Sealpost.leafSubcommand(named: word).map(ObjectIdentifier.init)
    }
    #expect(leaf("send") == ObjectIdentifier(SendCommand.self))
    #expect(leaf("sendmail") == ObjectIdentifier(SendmailCommand.self))
    #expect(leaf("probe") == ObjectIdentifier(ProbeCommand.self))
    #expect(leaf("compose") == ObjectIdentifier(ComposeCommand.self))
    for word in ["accounts", "outbox", "certs", "help", "--version", "-h", ""] {
      #expect(leaf(word) == nil, "\(word)")
    }
  }

  /// A parse's outcome as text: the command with every parsed value, or the error's message and exit code.
  struct Outcome: Equatable, CustomStringConvertible {
    var description: String

    init(_ result: Result<any ParsableCommand, any Error>) {
      switch result {
      case .success(let command):
        var text = ""
        dump(command, to: &text)
        description = "command: " + text
      case .failure(let error):
        description =
          "error \(Sealpost.exitCode(for: error).rawValue): \(Sealpost.fullMessage(for: error))"
      }
    }
  }
}
