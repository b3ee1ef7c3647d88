/// A header field Sealpost writes as given (apart from folding and RFC 2047 encoding of non-ASCII text).
///
/// The only way to make one is ``userSupplied(_:)``, which checks the name and value, so every instance is
/// safe to write.
public struct HeaderField: Sendable, Hashable, CustomStringConvertible {
  /// The field name as given (RFC 5322 ftext).
  public let name: String
  /// The unstructured value without surrounding whitespace; may contain non-ASCII text and tabs.
  public let value: String

  private init(name: String, value: String) {
    self.name = name
    self.value = value
  }

  /// Long enough for any registered field; short enough that `Name: ` and an encoded word fit on a line.
  static let maximumNameLength = 76

  /// Header names that have a flag of their own or that Sealpost writes itself (DESIGN §4).
  static let reservedNames: [String: String] = [
    "from": "use --from",
    "to": "use --to",
    "cc": "use --cc",
    "bcc": "use --bcc",
    // RFC 5322 §3.6.6: blind recipients of a resent message; written as a header it would show them to all.
    "resent-bcc": "it names blind recipients; use --bcc",
    "subject": "use --subject",
    "date": "Sealpost writes it",
    "message-id": "Sealpost writes it",
    "mime-version": "Sealpost writes it",
  ]

  /// Parses `Name: value` as given to `--header`.
  ///
  /// The name must be RFC 5322 ftext (printable ASCII except ':', §3.6.8); the value may hold no control
  /// character but tab (DESIGN §3.8). Names with a flag of their own, and `Content-*`, are refused with
  /// ``MessageError/Kind/reservedHeader``.
  public static func userSupplied(_ line: String) throws(MessageError) -> HeaderField {
    func failure(_ reason: String) -> MessageError {
      MessageError(.invalidData, "invalid header \"\(DisplayText.escaped(line))\": \(reason)")
    }
    guard let colon = line.unicodeScalars.firstIndex(of: ":") else {
      throw failure("expected 'Name: value'")
    }
    let name = String(line.unicodeScalars[..<colon])
    if name.isEmpty { throw failure("the header name is empty") }
    if name.utf8.count > maximumNameLength {
      throw failure("the header name is longer than \(maximumNameLength) characters")
    }
    if let bad = name.unicodeScalars.first(where: { !(33...126).contains($0.value) }) {
      let shown = DisplayText.isUnsafe(bad) ? DisplayText.describeControl(bad) : "'\(bad)'"
      throw failure("the header name contains \(shown); a name is printable ASCII without spaces or ':'")
    }
    let lowercased = name.lowercased()
    if let hint = reservedNames[lowercased] {
      throw MessageError(.reservedHeader, "--header cannot set \(name): \(hint)")
    }
    if lowercased.hasPrefix("content-") {
      throw MessageError(.reservedHeader, "--header cannot set \(name): Sealpost writes the MIME headers")
    }
    var value = Array(line.unicodeScalars[line.unicodeScalars.index(after: colon)...])
    if let control = value.first(where: { DisplayText.isControl($0) && $0 != "\t" }) {
      throw failure("the value contains \(DisplayText.describeControl(control))")
    }
    while let first = value.first, first == " " || first == "\t" { value.removeFirst() }
    while let last = value.last, last == " " || last == "\t" { value.removeLast() }
    return HeaderField(name: name, value: String(String.UnicodeScalarView(value)))
  }

  /// `Name: value`, unfolded and unencoded.
  public var description: String { value.isEmpty ? name + ":" : name + ": " + value }
}
