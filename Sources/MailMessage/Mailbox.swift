/// One mailbox: an optional display name and the address that goes into `MAIL FROM`/`RCPT TO`.
///
/// Parsing is deliberately narrower than RFC 5322 §3.4: one mailbox, no groups, no comments, no folding, and
/// no control character anywhere (DESIGN §3.8), so nothing a user types can end a command line early.
public struct Mailbox: Sendable, Hashable, CustomStringConvertible {
  /// The display name, unquoted and unescaped (`Doe, Jane`), or nil.
  public let displayName: String?
  /// `local@domain` exactly as it goes into the SMTP envelope, without angle brackets.
  public let address: String

  /// Parses `a@example.org`, `<a@example.org>`, `Zoë <z@example.org>` or `"Doe, Jane" <j@example.org>`.
  public init(parsing text: String) throws(MessageError) {
    func failure(_ reason: String) -> MessageError {
      MessageError(.invalidData, "invalid mailbox \"\(DisplayText.escaped(text))\": \(reason)")
    }
    var scalars = Array(text.unicodeScalars)
    if let control = scalars.first(where: DisplayText.isUnsafe) {
      throw failure("it contains \(DisplayText.describeControl(control))")
    }
    while scalars.first == " " { scalars.removeFirst() }
    while scalars.last == " " { scalars.removeLast() }
    if scalars.isEmpty { throw failure("it is empty") }

    // Find the structure outside quoted strings: at most one '<…>', and no list separators.
    var open: Int?
    var close: Int?
    var index = 0
    while index < scalars.count {
      switch scalars[index] {
      case "\"":
        guard let end = AddressSyntax.closingQuote(in: scalars, from: index + 1) else {
          throw failure("unbalanced '\"'")
        }
        index = end
      case "<":
        if open != nil { throw failure("more than one '<' (one mailbox per flag)") }
        open = index
      case ">":
        if open == nil || close != nil { throw failure("unbalanced '>'") }
        close = index
      case ",", ";":
        throw failure("'\(scalars[index])' outside quotes: give one mailbox per flag, quote a display name")
      default:
        break
      }
      index += 1
    }

    let addressScalars: [Unicode.Scalar]
    if let open {
      guard let close else { throw failure("unbalanced '<'") }
      if close != scalars.count - 1 { throw failure("text after '>'") }
      addressScalars = Array(scalars[(open + 1)..<close])
      do throws(DisplayNameProblem) {
        displayName = try Self.parseDisplayName(Array(scalars[..<open]))
      } catch {
        throw failure(error.message)
      }
    } else {
      addressScalars = scalars
      displayName = nil
    }
    if let problem = AddressSyntax.problem(withAddress: addressScalars) { throw failure(problem) }
    address = String(String.UnicodeScalarView(addressScalars))
  }

  /// A mailbox from its parts; the same rules as ``init(parsing:)`` apply to each.
  public init(displayName: String?, address: String) throws(MessageError) {
    if let problem = AddressSyntax.problem(withAddress: Array(address.unicodeScalars)) {
      throw MessageError(.invalidData, "invalid address \"\(DisplayText.escaped(address))\": \(problem)")
    }
    if let displayName, let control = displayName.unicodeScalars.first(where: DisplayText.isUnsafe) {
      throw MessageError(
        .invalidData,
        "invalid display name \"\(DisplayText.escaped(displayName))\": it contains "
          + DisplayText.describeControl(control))
    }
    self.displayName = displayName.flatMap { $0.isEmpty ? nil : $0 }
    self.address = address
  }

  /// The part before the last '@'.
  public var localPart: String {
    guard let at = address.lastIndex(of: "@") else { return address }
    return String(address[..<at])
  }

  /// The part after the last '@' (a domain or an address literal such as `[192.0.2.1]`).
  public var domain: String {
    guard let at = address.lastIndex(of: "@") else { return "" }
    return String(address[address.index(after: at)...])
  }

  /// True when the address has non-ASCII characters, so the envelope needs SMTPUTF8 (RFC 6531).
  public var requiresSMTPUTF8: Bool { !address.unicodeScalars.allSatisfy(\.isASCII) }

  /// The mailbox as it appears in a header (RFC 5322 §3.4), unfolded: the bare address without a display
  /// name; otherwise the name (as atoms, a quoted string, or RFC 2047 encoded words) and `<address>`.
  public var headerValue: String { headerWords(forceEncoding: false).joined(separator: " ") }

  public var description: String { headerValue }

  /// How a display name is written in a phrase (RFC 5322 §3.2.5).
  enum PhraseStyle: Equatable {
    case atoms
    case quoted
    case encoded
  }

  var phraseStyle: PhraseStyle? {
    guard let displayName else { return nil }
    let scalars = displayName.unicodeScalars
    // Non-ASCII, or something a decoder would take for an encoded word (RFC 2047 §5).
    if !scalars.allSatisfy(\.isASCII) || displayName.contains("=?") { return .encoded }
    let words = displayName.split(separator: " ", omittingEmptySubsequences: false)
    if words.allSatisfy({ !$0.isEmpty && $0.unicodeScalars.allSatisfy(AddressSyntax.isAtext) }) {
      return .atoms
    }
    return .quoted
  }

  /// The header form as words separated by single spaces, each a place where the line may be folded.
  func headerWords(forceEncoding: Bool) -> [String] {
    guard let displayName, let style = phraseStyle else { return [address] }
    let bracketed = "<" + address + ">"
    switch forceEncoding ? .encoded : style {
    case .atoms:
      return displayName.split(separator: " ").map(String.init) + [bracketed]
    case .quoted:
      var escaped = ""
      for scalar in displayName.unicodeScalars {
        if scalar == "\"" || scalar == "\\" { escaped += "\\" }
        escaped.unicodeScalars.append(scalar)
      }
      // Folding inside a quoted string is allowed at a space (RFC 5322 §3.2.4 FWS); unfolding restores it.
      return ("\"" + escaped + "\"").split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        + [bracketed]
    case .encoded:
      return EncodedWords.encode(displayName) + [bracketed]
    }
  }

  private struct DisplayNameProblem: Error {
    var message: String
  }

  /// Unquotes a phrase: quoted strings lose their quotes and escapes; atoms stay as written.
  private static func parseDisplayName(_ input: [Unicode.Scalar]) throws(DisplayNameProblem) -> String? {
    var scalars = input
    while scalars.last == " " { scalars.removeLast() }
    var name = String.UnicodeScalarView()
    var index = 0
    while index < scalars.count {
      let scalar = scalars[index]
      switch scalar {
      case "\"":
        index += 1
        while index < scalars.count, scalars[index] != "\"" {
          if scalars[index] == "\\" { index += 1 }
          if index < scalars.count { name.append(scalars[index]) }
          index += 1
        }
      case "(", ")", "<", ">", "[", "]", ":", ";", "@", "\\", ",":
        throw DisplayNameProblem(
          message: "the display name contains '\(scalar)'; put the display name in double quotes")
      default:
        name.append(scalar)
      }
      index += 1
    }
    let text = String(name)
    return text.allSatisfy({ $0 == " " }) ? nil : text
  }
}

extension Mailbox {
  /// The envelope's recipients: each mailbox once (``identity(of:)``), in the order given, as first spelled.
  public static func envelope(_ mailboxes: [Mailbox]) -> [Mailbox] { unique(mailboxes, by: \.address) }

  /// Each address once (``identity(of:)``), in the order given, as first spelled.
  public static func unique(_ addresses: [String]) -> [String] { unique(addresses, by: { $0 }) }

  /// The one de-duplication of recipients (the envelope, a complete message's header, sendmail's arguments,
  /// the copies and certificates of an encrypted send): `items` whose addresses name the same mailbox are kept
  /// once, the first, in the order given (a Set keeps it linear).
  public static func unique<Item>(_ items: [Item], by address: (Item) -> String) -> [Item] {
    var seen = Set<[UInt8]>()
    return items.filter { seen.insert(key(of: address($0))).inserted }
  }

  /// Whether two addresses name the same mailbox: the local part exactly, the domain in any ASCII case
  /// (``key(of:)``).
  public static func sameAddress(_ a: String, _ b: String) -> Bool { key(of: a) == key(of: b) }

  /// What addresses are compared by: ``identity(of:)`` as UTF-8 bytes, never as a Swift `String`, whose equality
  /// is canonical equivalence (red-team: `böb` with U+00F6 and `böb` with o + U+0308 were one recipient though
  /// the local part is compared to the letter, and the server may hold two mailboxes). A domain that is not
  /// ASCII is compared in the A-label form the envelope sends (``IDNA``), so `bob@exämple.org` and
  /// `bob@xn--exmple-cua.org` are one mailbox, one `RCPT TO`; a domain IDNA refuses is compared as written.
  public static func key(of address: String) -> [UInt8] {
    guard let at = address.utf8.lastIndex(of: UInt8(ascii: "@")),
      address.utf8[at...].contains(where: { $0 >= 0x80 }),
      let ascii = try? IDNA.asciiAddress(address)
    else { return Array(identity(of: address).utf8) }
    return Array(identity(of: ascii).utf8)
  }

  /// The form two addresses are compared in: RFC 5321 §2.4 makes the domain case-insensitive and has the local
  /// part treated as case-sensitive (only its own host may fold it), so the domain is lowercased and the local
  /// part kept. Only ASCII letters are folded: a U-label (IDN) is compared as written, as no Unicode case
  /// mapping is the domain's own (RFC 5891 §5 maps it before lookup, not this comparison).
  public static func identity(of address: String) -> String {
    guard let at = address.utf8.lastIndex(of: UInt8(ascii: "@")) else { return address }
    guard address.utf8[at...].contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return address }
    var bytes = Array(address.utf8)
    let start = address.utf8.distance(from: address.utf8.startIndex, to: at)
    for index in start..<bytes.count where bytes[index] >= 0x41 && bytes[index] <= 0x5A {
      bytes[index] |= 0x20
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
