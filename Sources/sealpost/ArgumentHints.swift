import ArgumentParser
import FoundationEssentials
import MailSender
import SMTPProtocol
import SendPlanning

/// Mistakes a newcomer makes on the command line, answered before ArgumentParser's "Unknown option" (issue 11):
/// a mistyped subcommand gets "did you mean", and `--password` says where a password does come from.
enum ArgumentHints {
  /// A usage failure for `arguments` (without the program name; `arguments[i]` is argument `i + offset` of the
  /// command line as typed), or nil.
  static func refusal(_ arguments: [String], offset: Int = 1) -> SendFailure? {
    // `--password`, `--pass=…`, `-p …`: the value is never quoted, it would be a password.
    if let refusal = SecretArguments.refusal(arguments, offset: offset) { return refusal }
    let commands = Sealpost.configuration.subcommands.map { $0._commandName }
    guard let first = arguments.first else { return nil }
    if !first.hasPrefix("-"), !commands.contains(first), first != "help" {
      return unknown(first, among: commands, of: "sealpost")
    }
    if first == AccountsCommand._commandName, arguments.count > 1 {
      let word = arguments[1]
      let names = AccountsCommand.configuration.subcommands.map { $0._commandName }
      if !word.hasPrefix("-"), !names.contains(word), word != "help" {
        return unknown(word, among: names, of: "sealpost accounts")
      }
    }
    return nil
  }

  static func unknown(_ word: String, among commands: [String], of parent: String) -> SendFailure {
    let shown = UntrustedText(word).escaped
    let close = commands.filter { distance(word.lowercased(), $0) <= 2 || $0.hasPrefix(word.lowercased()) }
    let guess =
      close.isEmpty ? "" : " — did you mean \(close.map { "\(parent) \($0)" }.joined(separator: " or "))?"
    return SendFailure(
      .usage,
      "\(shown) is not a command of \(parent)\(guess) (commands: \(commands.joined(separator: ", ")); "
        + "\(parent) --help shows them)")
  }

  /// Levenshtein distance, for short words (command names); capped so a long argument costs little.
  static func distance(_ a: String, _ b: String) -> Int {
    let a = Array(a.prefix(32))
    let b = Array(b)
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
      var current = [i + 1] + Array(repeating: 0, count: b.count)
      for (j, y) in b.enumerated() {
        current[j + 1] = Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
      }
      previous = current
    }
    return previous[b.count]
  }
}
