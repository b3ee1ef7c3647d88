import ArgumentParser
import FoundationEssentials
import SendPlanning

/// Shell completion values that come from the user's files (issue 11).
enum Completion {
  /// `--tls` values of send.
  static let tls = CompletionKind.list(["implicit", "starttls", "none"])
  static let transcript = CompletionKind.list(["text", "jsonl", "none"])
  static let auth = CompletionKind.list(["plain", "login"])

  /// The account names of the config file a command line would read (its `--config`, else the read order).
  /// Prints nothing and runs nothing: a completion must never write to the terminal or start a password
  /// command.
  static let account = CompletionKind.custom { words, _, prefix in
    accountNames(words: words).filter { $0.hasPrefix(prefix) }
  }

  static func accountNames(words: [String]) -> [String] {
    var explicit: String?
    for (index, word) in words.enumerated() {
      if word == "--config", index + 1 < words.count { explicit = words[index + 1] }
      if word.hasPrefix("--config=") { explicit = String(word.dropFirst("--config=".count)) }
    }
    let environment = Environment.variables
    guard let catalog = try? AccountCatalog.load(explicit: explicit, environment: environment) else {
      return []
    }
    return catalog.config?.accounts.map(\.name) ?? []
  }
}
