import MailSender
import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// Arguments checked as the bytes the shell passed, before anything reads them: `CommandLine.arguments` repairs
/// bytes that are not UTF-8 to U+FFFD, so `--to $'\xff\xfe@b.c'` would become a message for `��@b.c`, an address
/// nobody typed. Such an argument is refused (64), shown as its bytes (`\xFF`), never repaired.
enum ArgumentEncoding {
  /// Longest run of an argument's bytes a message shows (an argument may be as long as the system allows).
  static let shownBytes = 200

  /// The command line as the process received it, argv[0] first, byte for byte.
  static func rawArguments() -> [[UInt8]] {
    (0..<Int(CommandLine.argc)).map { index in
      guard let pointer = CommandLine.unsafeArgv[index] else { return [] }
      return UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)).map { $0 }
    }
  }

  /// A usage failure for the first argument of `raw` (argv, program name first, which is not checked) that is
  /// not valid UTF-8, or nil. It names the argument by its position and the flag it belongs to; its bytes are
  /// shown escaped, unless it may hold a password (`SecretArguments`).
  static func refusal(_ raw: [[UInt8]]) -> SendFailure? {
    guard
      let index = raw.indices.dropFirst().first(where: { String(validating: raw[$0], as: UTF8.self) == nil })
    else { return nil }
    // Repaired only to find flags and positions by their ASCII names; the bad bytes are shown from `raw`.
    let words = raw.map { String(decoding: $0, as: UTF8.self) }
    let bytes = raw[index]
    var place = ""
    let separator = words.indices.dropFirst().first { words[$0] == "--" } ?? words.endIndex
    let word = words[index]
    if index > separator {
      place = "after --"
    } else if SecretArguments.looksSecret(word) {
      place = "the option " + SecretArguments.shown(word)
    } else if word.hasPrefix("--"), let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
      place = "the value of " + UntrustedText(Array(bytes[..<equals])).escaped
    } else if word.hasPrefix("-") && !word.hasPrefix("--") && bytes.count > 2 {
      // `-fADDR`, sendmail's way: the option is its first two bytes.
      place = "the value of " + UntrustedText(Array(bytes.prefix(2))).escaped
    } else if word.hasPrefix("-") {
      place = "an option"
    } else if index > 1, case let flag = words[index - 1], flag.hasPrefix("-"), flag != "-",
      !(flag.hasPrefix("--") && flag.utf8.contains(UInt8(ascii: "=")))
    {
      let name =
        SecretArguments.looksSecret(flag)
        ? SecretArguments.shown(flag) : UntrustedText(raw[index - 1]).escaped
      place = "after " + name
    }
    let hidden = SecretArguments.hiddenIndexes(Array(words.dropFirst())).contains(index - 1)
    let shown: String
    if hidden {
      shown = " (not shown: it may hold a password)"
    } else if bytes.count > shownBytes {
      shown = ": " + UntrustedText(Array(bytes.prefix(shownBytes))).escaped + "… (\(bytes.count) bytes)"
    } else {
      shown = ": " + UntrustedText(bytes).escaped
    }
    let argument = place.isEmpty ? "argument \(index)" : "argument \(index) (\(place))"
    return SendFailure(
      .usage,
      "\(argument) is not valid UTF-8\(shown); it is refused as given, never repaired — nothing was read or sent"
    )
  }
}
