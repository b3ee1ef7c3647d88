import Foundation
import MailSenderTesting
import Testing

/// Runs the built binary with arguments given as bytes: Foundation's `Process` takes Strings, which cannot hold
/// bytes that are not UTF-8, so each argument is written for `/bin/sh` as `"$(printf '\ooo…')"`, octal escapes
/// of every byte. `program` is the binary's path, or a link to it (named `sendmail`).
enum RawArgumentRunner {
  static func run(
    _ arguments: [[UInt8]], program: String = CLIRunner.binary.path, stdin: String? = nil,
    environment: [String: String] = [:]
  ) throws -> CLIRunner.Result {
    let words = arguments.map { bytes in
      let escapes = bytes.map { byte in
        let digits = String(byte, radix: 8)
        return "\\" + String(repeating: "0", count: 3 - digits.count) + digits
      }
      return "\"$(printf '\(escapes.joined())')\""
    }
    var environment = environment
    environment["SEALPOST"] = program
    return try ShellRunner.run(
      [], redirections: words.joined(separator: " "), stdin: stdin, environment: environment)
  }

  static func run(
    _ arguments: [String], program: String = CLIRunner.binary.path, stdin: String? = nil
  ) throws -> CLIRunner.Result {
    try run(arguments.map { Array($0.utf8) }, program: program, stdin: stdin)
  }

  /// A folder holding `sendmail`, a link to the binary: run under that name it is `sealpost sendmail`.
  static func sendmailLink() throws -> TemporaryDirectory {
    let directory = try TemporaryDirectory(prefix: "sealpost-sendmail-link")
    try FileManager.default.createSymbolicLink(
      atPath: directory.file("sendmail"), withDestinationPath: CLIRunner.binary.path)
    return directory
  }
}

/// Hostile local input at the command line, round two (DESIGN §3.5, §4): a password typed after a flag Sealpost
/// does not have is never quoted back, an argument that is not UTF-8 is refused as its bytes instead of being
/// repaired, sendmail mode reads sendmail's flags only, and every message escapes a control the same way.
@Suite(.serialized) struct HostileArgumentTests {
  static let secret = "hunter2"

  /// Exit 64, one line on stderr, nothing on stdout, and the secret nowhere.
  static func expectRefusedUnquoted(
    _ result: CLIRunner.Result, containing text: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(result.status == 64, "\(result.stderr)", sourceLocation: sourceLocation)
    HostileLocalInputTests.expectOneCleanLine(result, containing: text, sourceLocation: sourceLocation)
    #expect(result.stdout.isEmpty, "\(result.stdout)", sourceLocation: sourceLocation)
    #expect(
      !result.stderr.contains(secret) && !result.stdout.contains(secret), "\(result.stderr)",
      sourceLocation: sourceLocation)
  }

  // MARK: 1. A password after a flag Sealpost does not have

  /// Each way a person gives a password on the command line by habit: the flag is named with its position, and
  /// what may be the password is said to be withheld, never shown.
  @Test(arguments: [
    // After `--` the parser quoted both words: "2 unexpected arguments: '--password', 'hunter2'".
    (
      ["send", "--to", "a@b.c", "--", "--password", "hunter2"],
      "there is no --password (argument 5, after --); argument 6, after it, is not shown: "
    ),
    (
      ["send", "--to", "a@b.c", "--pass=hunter2"],
      "there is no --pass (argument 4); what follows its '=' is not shown: "
    ),
    (
      ["send", "--to", "a@b.c", "--passwd", "hunter2"],
      "there is no --passwd (argument 4); argument 5, after it"
    ),
    (["send", "--to", "a@b.c", "--pw", "hunter2"], "there is no --pw (argument 4); argument 5, after it"),
    (["send", "--to", "a@b.c", "-p", "hunter2"], "there is no -p (argument 4); argument 5, after it"),
    // The parser read this one as -p -h -u…: it printed the help and exited 0.
    (
      ["send", "--to", "a@b.c", "-phunter2"], "there is no -p (argument 4); what follows -p in that argument"
    ),
    (
      ["send", "--auth-password", "hunter2"], "there is no --auth-password (argument 2); argument 3, after it"
    ),
    (["send", "-ap", "hunter2"], "there is no -ap (argument 2); argument 3, after it"),
    (
      ["probe", "localhost", "--passphrase=hunter2"],
      "there is no --passphrase (argument 3); what follows its '='"
    ),
    (
      ["send", "--to", "a@b.c", "--", "x", "--passwordeval=echo hunter2"],
      "there is no --passwordeval (argument 6, after --); what follows its '='"
    ),
  ])
  func aSecretLookingFlagIsNamedAndItsValueIsNotShown(arguments: [String], text: String) throws {
    let result = try CLIRunner.run(arguments)
    Self.expectRefusedUnquoted(result, containing: text)
    #expect(result.stderr.contains("give --password-command CMD"), "\(result.stderr)")
  }

  /// Sendmail's own parser quoted the whole option ("sendmail: --pass=hunter2 is not an option"); and sendmail
  /// mode has no --password-command, so the hint names the account's passwordeval.
  @Test(arguments: [
    (
      ["sendmail", "--pass=hunter2", "b@example.org"], "there is no --pass (argument 2); what follows its '='"
    ),
    (
      ["sendmail", "-phunter2", "b@example.org"],
      "there is no -p (argument 2); what follows -p in that argument"
    ),
  ])
  func sendmailModeNamesTheFlagWithoutItsValue(arguments: [String], text: String) throws {
    let result = try CLIRunner.run(arguments, stdin: Array("Subject: x\n\nhi\n".utf8))
    Self.expectRefusedUnquoted(result, containing: text)
    #expect(result.stderr.contains("give the account a passwordeval command"), "\(result.stderr)")
  }

  /// Run as `sendmail`, positions count from the program's name as the caller wrote them.
  @Test func sendmailByItsLinkCountsItsOwnArguments() throws {
    let link = try RawArgumentRunner.sendmailLink()
    defer { link.remove() }
    let result = try RawArgumentRunner.run(
      ["-t", "--passwd", "hunter2"], program: link.file("sendmail"), stdin: "Subject: x\n\nhi\n")
    Self.expectRefusedUnquoted(result, containing: "there is no --passwd (argument 2); argument 3, after it")
  }

  /// `--password-command` is Sealpost's own flag, but its value may hold the password (`echo hunter2`): given
  /// without quotes, the parser called its second word unexpected and quoted it. Now it says where it was.
  @Test func aPasswordCommandWithoutQuotesIsNotQuotedBack() throws {
    let result = try CLIRunner.run(["send", "--to", "a@b.c", "--password-command", "echo", "hunter2"])
    #expect(result.status == 64)
    #expect(
      result.stderr.hasPrefix("Error: Unexpected argument '<argument 6, not shown>'\n"), "\(result.stderr)")
    #expect(!result.stderr.contains(Self.secret) && !result.stdout.contains(Self.secret))
  }

  /// The same with `--transcript jsonl`: the outcome record carries the parser's line, masked too.
  @Test func theOutcomeRecordDoesNotQuoteItEither() throws {
    let result = try CLIRunner.run([
      "send", "--transcript", "jsonl", "--to", "a@b.c", "--password-command=echo", "hunter2", "x",
    ])
    #expect(result.status == 64)
    #expect(
      result.stdout.contains(
        #""verdict":"usage: 2 unexpected arguments: '<argument 7, not shown>', '<argument 8, not shown>'""#),
      "\(result.stdout)")
    #expect(!result.stderr.contains(Self.secret) && !result.stdout.contains(Self.secret))
  }

  /// Thousands of words after `--password-command`: each stands in for itself in one more parse, not one search
  /// of the parser's message per word (which took 12 s for 3,000 words).
  @Test func manyWordsAfterAPasswordCommandAreQuick() throws {
    let words = (1...5000).map { "w\($0)" }
    let result = try CLIRunner.run(["send", "--to", "a@b.c", "--password-command", "echo"] + words)
    #expect(result.status == 64)
    #expect(
      result.stderr.hasPrefix(
        "Error: 5000 unexpected arguments: '<argument 6, not shown>', '<argument 7, not shown>', "),
      "\(result.stderr.prefix(300))")
    #expect(!result.stderr.contains("'w1'") && !result.stderr.contains("w5000"))
    #expect(result.elapsed < .seconds(10), "\(result.elapsed)")
  }

  // MARK: 2. Arguments that are not UTF-8

  /// The issue's case: `--to $'\xff\xfe@b.c'` was repaired to `��@b.c` and the message sent there. Refused
  /// before connecting, its bytes shown as they are.
  @Test func anAddressThatIsNotUTF8IsRefusedAsItsBytes() throws {
    let server = try HostileLocalInputTests.plaintextServer()
    defer { server.stop() }
    let arguments =
      [
        "send", "--server", "127.0.0.1:\(server.port)", "--tls", "none", "--from", "a@example.org", "--body",
        "hi", "--timeout", "5", "--to",
      ].map { Array($0.utf8) } + [[0xFF, 0xFE] + Array("@b.c".utf8)]
    let result = try RawArgumentRunner.run(arguments)
    #expect(result.status == 64, "\(result.stderr)")
    #expect(
      result.stderr
        == "sealpost: usage: argument 13 (after --to) is not valid UTF-8: \\xFF\\xFE@b.c; it is refused as given, "
        + "never repaired — nothing was read or sent\n")
    #expect(result.stdout.isEmpty)
    #expect(server.sessions.isEmpty)
  }

  @Test(arguments: [
    (
      ["send", "--dry-run", "--from", "a@example.org", "--to=\u{FF}x@b.c"],
      "argument 5 (the value of --to) is not valid UTF-8: --to=\\xFFx@b.c;"
    ),
    (
      ["send", "--dry-run", "--to", "b@example.org", "--subject", "caf\u{E9}"],
      "argument 6 (after --subject) is not valid UTF-8: caf\\xE9;"
    ),
    (
      ["send", "--dry-run", "--to", "b@example.org", "--", "\u{C0}\u{AF}"],
      "argument 6 (after --) is not valid UTF-8: \\xC0\\xAF;"
    ),
    (["send", "--dr\u{FF}y-run"], "argument 2 (an option) is not valid UTF-8: --dr\\xFFy-run;"),
  ])
  func eachArgumentIsNamedByItsPositionAndFlag(latin1: [String], text: String) throws {
    // Each string's scalars below U+0100 are the argument's bytes (Latin-1), so \u{FF} is the byte 0xFF.
    let arguments = latin1.map { $0.unicodeScalars.map { UInt8($0.value) } }
    let result = try RawArgumentRunner.run(arguments)
    #expect(result.status == 64, "\(result.stderr)")
    HostileLocalInputTests.expectOneCleanLine(result, containing: text)
    #expect(result.stdout.isEmpty, "\(result.stdout)")
  }

  /// A password command's bytes (or a password's, after a flag Sealpost does not have) are not shown, even to
  /// say they are not UTF-8.
  @Test(arguments: [
    (
      ["send", "--to", "b@example.org", "--password-command", "echo \u{FF}hunter2"],
      "argument 5 (after --password-command) is not valid UTF-8 (not shown: it may hold a password)"
    ),
    (
      ["send", "--to", "b@example.org", "--password-command=echo \u{FF}hunter2"],
      "argument 4 (the value of --password-command) is not valid UTF-8 (not shown: it may hold a password)"
    ),
    (
      ["send", "--to", "b@example.org", "--password-command", "echo", "\u{FF}hunter2"],
      "argument 6 is not valid UTF-8 (not shown: it may hold a password)"
    ),
    (["send", "-phunter2\u{FF}"], "argument 2 (the option -p…) is not valid UTF-8 (not shown: it may hold"),
  ])
  func aValueThatMayBeAPasswordIsNotShownEvenAsBytes(latin1: [String], text: String) throws {
    let arguments = latin1.map { $0.unicodeScalars.map { UInt8($0.value) } }
    let result = try RawArgumentRunner.run(arguments)
    #expect(result.status == 64, "\(result.stderr)")
    HostileLocalInputTests.expectOneCleanLine(result, containing: text)
    #expect(!result.stderr.contains(Self.secret), "\(result.stderr)")
  }

  /// Sendmail mode, by its link and as `sealpost sendmail`: positions as the caller wrote them, `-fADDR`
  /// named as -f's value.
  @Test func sendmailModeRefusesArgumentsThatAreNotUTF8() throws {
    let link = try RawArgumentRunner.sendmailLink()
    defer { link.remove() }
    let message = "From: a@example.org\n\nhi\n"
    let cases: [(program: String, arguments: [[UInt8]], text: String)] = [
      (
        link.file("sendmail"),
        [Array("-f".utf8), [0x61, 0xFF] + Array("@b.c".utf8), Array("b@example.org".utf8)],
        "argument 2 (after -f) is not valid UTF-8: a\\xFF@b.c;"
      ),
      (
        link.file("sendmail"),
        [Array("-fa".utf8) + [0xFF] + Array("@b.c".utf8), Array("b@example.org".utf8)],
        "argument 1 (the value of -f) is not valid UTF-8: -fa\\xFF@b.c;"
      ),
      (link.file("sendmail"), [[0xFF] + Array("@b.c".utf8)], "argument 1 is not valid UTF-8: \\xFF@b.c;"),
      (
        CLIRunner.binary.path, [Array("sendmail".utf8), [0xFF] + Array("@b.c".utf8)],
        "argument 2 is not valid UTF-8"
      ),
    ]
    for (program, arguments, text) in cases {
      let result = try RawArgumentRunner.run(arguments, program: program, stdin: message)
      #expect(result.status == 64, "\(result.stderr)")
      HostileLocalInputTests.expectOneCleanLine(result, containing: text)
      #expect(
        result.stderr.hasSuffix("; it is refused as given, never repaired — nothing was read or sent\n"))
    }
  }

  // MARK: 3. Sendmail mode reads sendmail's flags only

  /// Run as `sendmail` (git send-email's way), `--generate-completion-script bash` printed sealpost's completion
  /// script and exited 0: ArgumentParser answered it before sendmail's parser saw it. It is an unknown sendmail
  /// option (`--version`, `--help-hidden` already were: ArgumentParser passes those through).
  @Test(arguments: [["--generate-completion-script", "bash"], ["-t", "--generate-completion-script=zsh"]])
  func sendmailTakesNoneOfTheParsersOwnFlags(arguments: [String]) throws {
    let link = try RawArgumentRunner.sendmailLink()
    defer { link.remove() }
    for (program, words) in [
      (link.file("sendmail"), arguments), (CLIRunner.binary.path, ["sendmail"] + arguments),
    ] {
      let result = try RawArgumentRunner.run(words, program: program, stdin: "Subject: x\n\nhi\n")
      #expect(result.status == 64, "\(words): \(result.stderr)")
      let flag = arguments.first { $0 != "-t" } ?? ""
      #expect(
        result.stderr
          == "sealpost: usage: sendmail: \(flag) is not an option sealpost takes ('sealpost sendmail --help' lists "
          + "them)\n", "\(words)")
      #expect(result.stdout.isEmpty, "\(words): \(result.stdout)")
    }
  }

  /// Its own help stays: `--help` and `-h` print sendmail's usage and exit 0.
  @Test func sendmailHelpIsItsOwn() throws {
    let link = try RawArgumentRunner.sendmailLink()
    defer { link.remove() }
    for flag in ["--help", "-h"] {
      let result = try RawArgumentRunner.run([flag], program: link.file("sendmail"))
      #expect(result.status == 0, "\(result.stderr)")
      #expect(result.stdout.contains("sealpost sendmail [-t] [-i] [-f ADDR]"), "\(result.stdout)")
    }
  }

  // MARK: 4. One escape for a control, in every message

  /// `outbox drop` wrote ESC as `\u{1B}` while `outbox flush` (and every other message) writes `\u{001B}`.
  @Test func outboxDropAndFlushEscapeAControlAlike() throws {
    let state = try TemporaryDirectory(prefix: "sealpost-outbox-escape")
    defer { state.remove() }
    for command in ["drop", "flush"] {
      let result = try CLIRunner.run(
        ["outbox", command, "\u{1B}]0;x\u{07}"], environment: ["XDG_STATE_HOME": state.path])
      #expect(result.status == 64, "\(result.stderr)")
      #expect(result.stderr == "sealpost: usage: \\u{001B}]0;x\\u{0007} is not an outbox id\n", "\(command)")
    }
  }
}
