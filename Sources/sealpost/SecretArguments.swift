import MailSender
import SMTPProtocol

/// Flags a person types by habit to put a password on the command line — `--password`, `--pass=…`, `--passwd`,
/// `--pw`, msmtp's `--passwordeval`, swaks' `--auth-password` and `-ap`, mysql's `-pSECRET`, sshpass's `-p` —
/// and that Sealpost does not have. Whatever comes with one (after its `=`, or the argument after it) may be the
/// password, so no message ever quotes it: such a command line is refused before the parser runs (which would
/// quote it: "2 unexpected arguments: '--password', 'hunter2'"), naming the flag and its position only. After
/// `--` the words are values, not flags, but one that looks like such a flag is refused the same way: the parser
/// quotes unexpected values too. DESIGN §3.5: a secret appears in no output, in any form.
enum SecretArguments {
  /// Sealpost's own flag whose value is a command that may hold a password (`echo hunter2`): never quoted
  /// either, though it is an option of `send`.
  static let passwordCommand = "--password-command"

  /// Parts of a flag's name that make it look like it carries a secret.
  static let secretWords = ["pass", "pwd", "secret", "token", "credential"]
  /// Whole names that do (`--pw`; swaks' `-ap`, its `--auth-password`).
  static let secretNames: Set<String> = ["pw", "ap"]

  /// Whether `argument`, read as a flag, looks like one that carries a secret. `--password-command` is Sealpost's
  /// own and does not count here.
  static func looksSecret(_ typed: String) -> Bool {
    let argument = asciiDashes(typed)
    guard argument.hasPrefix("-"), argument != "-", argument != "--" else { return false }
    if !argument.hasPrefix("--") && argument.hasPrefix("-p") { return true }
    // The name's bytes, ASCII letters in lower case and `_` as `-`, searched as bytes: String's `lowercased()`,
    // `replacing` and `contains(_:)` started _StringProcessing's searcher, 1.2 M instructions of every run
    // (issue 14). The words are ASCII, so only ASCII letters need folding.
    let name = name(of: argument).utf8.map { byte -> UInt8 in
      if byte == UInt8(ascii: "_") { return UInt8(ascii: "-") }
      return (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
    if argument.hasPrefix("--") && name.elementsEqual(passwordCommand.utf8.dropFirst(2)) { return false }
    return secretNames.contains { name.elementsEqual($0.utf8) }
      || secretWords.contains { word in
        let word = Array(word.utf8)
        return name.indices.contains { name[$0...].starts(with: word) }
      }
  }

  /// The flag's name without its leading dashes and its `=value`.
  static func name(of argument: String) -> Substring {
    argument.drop { $0 == "-" }.prefix { $0 != "=" }
  }

  /// `typed` with the dashes it starts with as ASCII: an en dash, an em dash or a horizontal bar as `--` (what an
  /// editor or a web page makes of `--`), a hyphen, a figure dash or a minus sign as `-` (red team: `–password
  /// hunter2` was parsed as two values and quoted). Anything else unchanged.
  static func asciiDashes(_ typed: String) -> String {
    // Indexes, not a mutated view: removing from a UnicodeScalarView runs the stdlib's generic replace, whose
    // metadata and conformance look-ups cost 3.7 M instructions per command line (issue 14).
    guard let first = typed.utf8.first, first >= 0x80 || first == UInt8(ascii: "-") else { return typed }
    let scalars = typed.unicodeScalars
    var dashes = ""
    var changed = false
    var index = scalars.startIndex
    while index < scalars.endIndex, let ascii = asciiDash(scalars[index]) {
      dashes += ascii
      changed = changed || scalars[index] != "-"
      scalars.formIndex(after: &index)
    }
    return changed ? dashes + String(scalars[index...]) : typed
  }

  /// The ASCII dashes `scalar` stands for in front of a flag, or nil when it is not a dash.
  static func asciiDash(_ scalar: Unicode.Scalar) -> String? {
    switch scalar.value {
    case 0x2D, 0x2010, 0x2011, 0x2012, 0x2212, 0xFE63, 0xFF0D: "-"
    case 0x2013, 0x2014, 0x2015, 0xFE58: "--"
    default: nil
    }
  }

  /// The flag as a message shows it: its dashes and name, never what follows its `=`; for a single-dash flag
  /// starting with `-p`, only `-p` (`-phunter2` is mysql's way to give the password itself).
  static func shown(_ typed: String) -> String {
    let argument = asciiDashes(typed)
    if !argument.hasPrefix("--") && argument.hasPrefix("-p") { return argument.count > 2 ? "-p…" : "-p" }
    // The dashes as typed (an en dash stays one), then the name.
    let dashes = typed.unicodeScalars.prefix { asciiDash($0) != nil }
    return UntrustedText(String(String.UnicodeScalarView(dashes)) + name(of: argument)).escaped
  }

  /// Whether `argument` carries its value in itself (`--pass=…`, `-phunter2`).
  static func hasInlineValue(_ typed: String) -> Bool {
    let argument = asciiDashes(typed)
    if !argument.hasPrefix("--") && argument.hasPrefix("-p") { return argument.count > 2 }
    return argument.utf8.contains(UInt8(ascii: "="))
  }

  /// What may hold the secret of the flag at `index`: the flag itself when its value is in it (`--pass=…`,
  /// `-phunter2`), and the next argument when the value is not in it — or when the flag is a single-dash one
  /// (`-pw hunter2` is plink's way; `-p hunter2` sshpass's).
  static func withheld(at index: Int, in arguments: [String]) -> (inline: Bool, next: Int?) {
    let argument = asciiDashes(arguments[index])
    let inline = hasInlineValue(argument)
    let singleDash = !argument.hasPrefix("--")
    let next = index + 1 < arguments.count && (!inline || singleDash) ? index + 1 : nil
    return (inline, next)
  }

  /// The indexes of `arguments` that may hold a secret: what `withheld` names for each secret-looking flag and
  /// for `--password-command` (before `--`), and every word after that value up to the next flag — a command
  /// given without quotes (`--password-command echo hunter2`) leaves its words for the parser to call
  /// unexpected.
  static func hiddenIndexes(_ arguments: [String]) -> Set<Int> {
    var hidden = Set<Int>()
    var afterSeparator = false
    for (index, argument) in arguments.enumerated() {
      if argument == "--" && !afterSeparator {
        afterSeparator = true
        continue
      }
      // After `--` too: there it is a value the parser quotes as unexpected, with the command after it.
      let isCommandFlag = argument == passwordCommand || argument.hasPrefix(passwordCommand + "=")
      guard isCommandFlag || looksSecret(argument) else { continue }
      let (inline, next) = withheld(at: index, in: arguments)
      if inline { hidden.insert(index) }
      if let next { hidden.insert(next) }
      var word = (next ?? index) + 1
      while word < arguments.count, !arguments[word].hasPrefix("-") || arguments[word] == "-" {
        hidden.insert(word)
        word += 1
      }
    }
    return hidden
  }

  /// A usage failure for the first secret-looking flag in `arguments`, anywhere (after `--` too), or nil.
  /// `arguments[i]` is argument `i + offset` of the command line as typed (1 for the word after the program's
  /// name).
  static func refusal(_ arguments: [String], offset: Int = 1) -> SendFailure? {
    guard let index = arguments.indices.first(where: { looksSecret(arguments[$0]) }) else { return nil }
    let separator = arguments.firstIndex(of: "--") ?? arguments.endIndex
    let argument = asciiDashes(arguments[index])
    let flag = shown(arguments[index])
    let bareName = flag.hasSuffix("…") ? String(flag.dropLast()) : flag
    var place = "argument \(index + offset)"
    if index > separator { place += ", after --" }
    let (inline, next) = withheld(at: index, in: arguments)
    let inside =
      argument.hasPrefix("--") || !argument.hasPrefix("-p")
      ? "what follows its '='" : "what follows -p in that argument"
    let withheld =
      switch (inline, next) {
      case (true, let next?): "; \(inside) and argument \(next + offset) after it are not shown"
      case (true, nil): "; \(inside) is not shown"
      case (false, let next?): "; argument \(next + offset), after it, is not shown"
      case (false, nil): ""
      }
    // Sendmail mode takes no --password-command: the account's passwordeval is its command.
    let command =
      arguments.first == SendmailCommand._commandName
      ? "give the account a passwordeval command (e.g. 'passwordeval pass show mail')"
      : "give --password-command CMD (e.g. 'pass show mail')"
    return SendFailure(
      .usage,
      "there is no \(bareName) (\(place))\(withheld): a password on the command line is seen by every user of "
        + "this machine (ps) and kept in the shell's history; \(command), set SEALPOST_PASSWORD, or let sealpost "
        + "ask on the terminal")
  }

  /// `arguments` with each that may hold a secret (`hiddenIndexes`) replaced by a stand-in saying where it was,
  /// `<argument 5, not shown>` — after the `=` of a flag that holds its value, behind the dashes of a word that
  /// starts with one — so the parser reads the stand-ins as it read the words, and quotes only them. Nil when no
  /// argument may hold a secret.
  static func standIns(_ arguments: [String], offset: Int = 1) -> [String]? {
    let hidden = hiddenIndexes(arguments)
    guard !hidden.isEmpty else { return nil }
    var standIns = arguments
    for index in hidden {
      let argument = arguments[index]
      let standIn = "<argument \(index + offset), not shown>"
      if argument.hasPrefix("-"), let equals = argument.firstIndex(of: "=") {
        standIns[index] = String(argument[...equals]) + standIn
      } else if argument.hasPrefix("-") {
        standIns[index] = (argument.hasPrefix("--") ? "--" : "-") + standIn
      } else {
        standIns[index] = standIn
      }
    }
    return standIns
  }
}
