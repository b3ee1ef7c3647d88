import Foundation
import Testing

/// `sealpost --version` and the shell completion scripts generated from the argument definitions (issue 8).
@Suite struct VersionAndCompletionTests {
  @Test func versionPrintsTheVersion() throws {
    let result = try CLIRunner.run(["--version"])
    #expect(result.status == 0)
    #expect(result.stdout == "0.6.0\n")
    #expect(result.stderr.isEmpty)
  }

  @Test(arguments: ["bash", "zsh", "fish"])
  func completionScriptsKnowEverySubcommandAndFlag(shell: String) throws {
    let result = try CLIRunner.run(["--generate-completion-script", shell])
    #expect(result.status == 0, "\(result.stderr)")
    // Fish spells long options without dashes (`-l tls`).
    for word in ["send", "probe", "accounts", "tls", "ca-file", "transcript", "versions"] {
      #expect(result.stdout.contains(word), "the \(shell) script lacks \(word)")
    }
  }
}
