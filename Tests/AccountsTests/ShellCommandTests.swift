import Testing

@testable import Accounts

/// The runner behind `--password-command`, `passwordeval` and `secret-tool` (posix_spawn + waitpid).
@Suite struct ShellCommandTests {
  static let environment = ["PATH": "/usr/bin:/bin", "SEALPOST_PASSWORD": "leak", "KEEP": "kept"]

  @Test(arguments: [
    ("printf 'pw\\n'", "pw"),
    ("printf 'pw\\r\\n'", "pw"),
    ("printf 'pw\\n\\n'", "pw\n"),  // one trailing newline only
    ("printf '%s' \"$1\"", "first argument"),
    ("printf '%s' \"${SEALPOST_PASSWORD:-absent}\"", "absent"),
    ("printf '%s' \"$KEEP\"", "kept"),
    ("cat", ""),  // stdin is empty, not the caller's
  ])
  func output(command: String, expected: String) {
    let result = ShellCommand.run(command, arguments: ["first argument"], environment: Self.environment)
    #expect(result == .success(Array(expected.utf8)))
  }

  @Test func exitStatusAndSignalAreReported() {
    #expect(ShellCommand.run("exit 3", environment: Self.environment) == .failure(.exitStatus(3)))
    #expect(
      ShellCommand.run("no-such-program-here", environment: Self.environment) == .failure(.exitStatus(127)))
    #expect(ShellCommand.run("kill -9 $$", environment: Self.environment) == .failure(.signal(9)))
  }

  @Test func endlessOutputIsCutAtTheLimit() {
    #expect(ShellCommand.run("yes", environment: Self.environment) == .failure(.tooLong))
  }

  @Test func theChildInheritsNoOtherDescriptor() {
    // Only 0, 1 and 2 reach the child, whatever the test process has open (sockets of concurrent tests…).
    let result = ShellCommand.run("ls /proc/self/fd | sort -n | tr '\\n' ' '", environment: Self.environment)
    // `ls` itself opens one more descriptor for the directory it lists: 3.
    #expect(result == .success(Array("0 1 2 3 ".utf8)))
  }
}

/// `namesNoProgram`, the check that a password typed where a command belongs is not run (the shell would print
/// it back: "sh: 1: WORD: not found").
@Suite struct OneWordCommandTests {
  @Test(arguments: [("hunter2", true), (" hunter2\t", true), ("true", false), (" \ttrue ", false)])
  func aWordNamingNoProgramIsRefused(command: String, refused: Bool) {
    #expect(ShellCommand.namesNoProgram(command, path: "/usr/bin:/bin") == refused)
  }

  // The shell's blanks are space, tab and newline: to `sh -c` a no-break or ideographic space is part of the
  // word, so "\u{00A0}true" is no built-in and sh prints it back. Trimmed as Unicode white space (as before
  // issue 14), it passed for `true`.
  @Test(arguments: ["\u{00A0}true", "true\u{00A0}", "\u{3000}true", "\u{2003}echo"])
  func aUnicodeSpaceDoesNotMakeAWordABuiltIn(command: String) {
    #expect(ShellCommand.namesNoProgram(command, path: "/usr/bin:/bin"))
  }
}
