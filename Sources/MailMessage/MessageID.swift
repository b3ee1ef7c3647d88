/// RFC 5322 §3.6.4 msg-id checks, shared by composed and supplied messages.
enum MessageID {
  /// `Message-ID: <` and `>` around the id must fit in 998 octets.
  static let maximumOctets = 998 - "Message-ID: <>".utf8.count

  /// Checks an id given without angle brackets: `id-left@id-right`, each a dot-atom-text, or a
  /// no-fold-literal on the right. Non-ASCII is allowed as RFC 6532 allows it; controls never are.
  static func validated(_ id: String) throws(MessageError) -> String {
    func failure(_ reason: String) -> MessageError {
      MessageError(.invalidData, "invalid Message-ID \"\(DisplayText.escaped(id))\": \(reason)")
    }
    let scalars = Array(id.unicodeScalars)
    if let control = scalars.first(where: DisplayText.isControl) {
      throw failure("it contains \(DisplayText.describeControl(control))")
    }
    if id.utf8.count > maximumOctets { throw failure("it is longer than \(maximumOctets) octets") }
    guard let at = scalars.lastIndex(of: "@") else { throw failure("expected id@domain without '<>'") }
    let left = Array(scalars[..<at])
    let right = Array(scalars[(at + 1)...])
    if left.isEmpty || right.isEmpty { throw failure("expected id@domain without '<>'") }
    if let problem = AddressSyntax.problem(withDotAtom: left, part: "id") { throw failure(problem) }
    if right.first == "[" {
      // no-fold-literal: dtext is printable ASCII but '[', ']' and '\' (RFC 5322 §3.4.1).
      let inner = right.dropFirst().dropLast()
      guard right.count >= 2, right.last == "]",
        !inner.contains(where: { $0 == "[" || $0 == "]" || $0 == "\\" || $0 == " " })
      else { throw failure("the domain literal is malformed") }
    } else if let problem = AddressSyntax.problem(withDotAtom: right, part: "domain") {
      throw failure(problem)
    }
    return id
  }
}
