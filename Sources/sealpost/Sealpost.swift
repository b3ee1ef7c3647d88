import ArgumentParser
import MailSender
import SMTPProtocol
import SMTPTransport

#if canImport(Glibc)
  import Glibc
#endif

@main
struct Sealpost: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sealpost",
    abstract: "A mail composer that never sends mail or credentials over an untrusted channel.",
    discussion: """
      With no subcommand, sealpost opens the terminal composer (sealpost compose --help for its options).
      Exit codes follow sysexits.h: 'sealpost send --help' and 'sealpost probe --help' list them.
      """,
    version: Sealpost.version,
    subcommands: [
      ComposeCommand.self, SendCommand.self, ProbeCommand.self, AccountsCommand.self, SendmailCommand.self,
      OutboxCommand.self, CertsCommand.self,
    ],
    defaultSubcommand: ComposeCommand.self
  )

  /// The release this binary was built from (`sealpost --version`).
  static let version = "0.6.0"

  static func main() {
    // Issue 14: the session's threads share the main thread's malloc arena.
    ProcessMemory.useOneArena()
    // Before anything opens a file: a closed stdin, stdout or stderr must not be handed out again.
    Output.protectStandardDescriptors()
    // DESIGN §3.5: no child process ever sees the password variable; read it once, then drop it.
    Environment.takePasswordVariable()
    // PLATFORM-NOTES: SSL_write to a closed peer would kill the process.
    signal(SIGPIPE, SIG_IGN)
    // Issue 14: OpenSSL's tables are freed with the process, not one by one at exit.
    TLSLibrary.skipCleanupAtExit()
    var arguments = Array(CommandLine.arguments.dropFirst())
    // Issue 12: run as `sendmail` (a link), the binary is `sealpost sendmail`.
    let invokedAsSendmail = CommandLine.arguments.first?.split(separator: "/").last == "sendmail"
    if invokedAsSendmail { arguments.insert("sendmail", at: 0) }
    Output.jsonLinesTranscript = Output.wantsJSONLines(arguments)
    // arguments[i] is the command line's argument i + 1, or i when "sendmail" stands for the program's name.
    let offset = invokedAsSendmail ? 0 : 1
    if let refusal = ArgumentEncoding.refusal(ArgumentEncoding.rawArguments())
      ?? ArgumentLimits.refusal(arguments) ?? ArgumentHints.refusal(arguments, offset: offset)
    {
      Output.outcomeRecord(refusal, verdict: refusal.description)
      Output.verdict(refusal.description)
      Output.exit(refusal.exitCode)
    }
    do {
      // Sendmail mode reads sendmail's flags only: ArgumentParser would answer its own for a program that
      // called sendmail (`--generate-completion-script bash` printed sealpost's completion script).
      if arguments.first == SendmailCommand._commandName {
        var sendmail = SendmailCommand()
        sendmail.arguments = Array(arguments.dropFirst())
        try sendmail.run()
        Output.exit(0)
      }
      var command = try parseQuotingNoSecret(arguments, offset: offset)
      try command.run()
      Output.exit(0)
    } catch {
      Output.exit(report(error))
    }
  }

  /// `parse`, whose error quotes no argument that may hold a password (`SecretArguments.hiddenIndexes`):
  /// ArgumentParser quotes values ("Unexpected argument 'hunter2'" for `--password-command echo hunter2`), so a
  /// failed parse is parsed again with each such argument replaced by a stand-in saying where it was, and that
  /// error is the one reported. One parse more, and only on an error.
  static func parseQuotingNoSecret(_ arguments: [String], offset: Int) throws -> any ParsableCommand {
    do {
      return try parse(arguments)
    } catch {
      // Help and version (exit 0) quote no argument.
      guard !exitCode(for: error).isSuccess,
        let standIns = SecretArguments.standIns(arguments, offset: offset)
      else { throw error }
      _ = try parse(standIns)
      // The stand-ins parse where the words did not (a value that started with a dash): say where, nothing more.
      let first = arguments.indices.first { standIns[$0] != arguments[$0] } ?? 0
      throw ValidationError(
        "the command line is not valid at or after argument \(first + offset) (not shown: it may hold a "
          + "password)")
    }
  }

  /// The command `arguments` name, as `parseAsRoot` finds it, for less: when the first word names a subcommand
  /// without subcommands of its own (`send`, `probe`, `sendmail`, `compose`), that command is parsed as a root
  /// of its own, so the root's parse does not build argument sets it does not use (issue 14: the root's check of
  /// the matched subcommand for passthrough arguments builds `send`'s set twice, the default subcommand's
  /// check builds `compose`'s twice; each build reflects every property and scans the conformance records).
  /// Anything but a clean parse of that command (a bad flag or value, `--help`, `--version`, a completion
  /// request) is parsed again through the root, so every message, usage line and exit code is the root's.
  static func parse(_ arguments: [String]) throws -> any ParsableCommand {
    if let word = arguments.first, let leaf = leafSubcommand(named: word),
      let command = try? leaf.parseAsRoot(Array(arguments.dropFirst())),
      ObjectIdentifier(type(of: command)) == ObjectIdentifier(leaf)
    {
      return command
    }
    return try parseAsRoot(arguments)
  }

  /// The subcommand called `word` when it has no subcommands of its own.
  static func leafSubcommand(named word: String) -> (any ParsableCommand.Type)? {
    configuration.subcommands.first {
      $0.configuration.commandName == word && $0.configuration.subcommands.isEmpty
    }
  }

  /// ArgumentParser's own message for `error` (help, version, a bad flag or value), printed as
  /// `exit(withError:)` would but escaped: it quotes the bad value, which must not reach the terminal raw
  /// (issue 7: `--port $'\e]0;TITLE\a'` set the terminal's title). Newlines of the help text stay.
  static func report(_ error: any Error) -> Int32 {
    let code = exitCode(for: error)
    let message = fullMessage(for: error)
    // An ExitCode thrown by a command has said everything already (its outcome record included).
    if !code.isSuccess, !(error is ExitCode) {
      var firstLine = message.split(separator: "\n").first.map(String.init) ?? "usage error"
      if firstLine.hasPrefix("Error: ") { firstLine.removeFirst("Error: ".count) }
      let failure = SendFailure(.usage, UntrustedText(firstLine).escaped)
      Output.outcomeRecord(failure, verdict: failure.description)
    }
    if !message.isEmpty {
      let escaped = message.split(separator: "\n", omittingEmptySubsequences: false)
        .map { UntrustedText(String($0)).escaped }.joined(separator: "\n")
      Output.parserText(escaped, toStandardOutput: code.isSuccess)
    }
    return code.rawValue
  }
}

/// Limits checked on the raw arguments, before ArgumentParser sees them: parsing 30,000 repeated options
/// takes it most of a minute (issue 7).
enum ArgumentLimits {
  /// Recipients of one message: RFC 5321 §4.5.3.1.8 requires servers to take at least 100 per transaction;
  /// 1,000 is ten times that, and more than any server takes in one transaction (Postfix's default is 1,000).
  static let maximumRecipients = 1000

  static func refusal(_ arguments: [String]) -> SendFailure? {
    var recipients = 0
    for argument in arguments {
      if argument == "--" { break }
      for flag in ["--to", "--cc", "--bcc"] where argument == flag || argument.hasPrefix(flag + "=") {
        recipients += 1
      }
    }
    guard recipients > maximumRecipients else { return nil }
    return SendFailure(
      .usage,
      "too many recipients: \(Input.grouped(recipients)) --to, --cc and --bcc flags; one message takes at most "
        + "\(Input.grouped(maximumRecipients)) — nothing was sent")
  }
}
