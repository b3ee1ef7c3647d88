/// What the conformance linter says about a `--message` (issue 10): the changes Sealpost makes (a Date or
/// Message-ID added, line ends made CRLF) and what the reader or the server may mind (8-bit text, a From that
/// is not the envelope sender). What DESIGN §3.8 refuses is refused by ``SuppliedMessage/init(bytes:)`` itself,
/// with the line number.
public struct MessageFinding: Sendable, Hashable, CustomStringConvertible {
  public enum Level: Sendable, Hashable {
    /// What Sealpost changes or what the server must offer.
    case note
    /// What is sent as written but may not be what was meant.
    case warning
  }

  public var level: Level
  /// One line, input quoted escaped; never a value from a config file.
  public var text: String

  public init(_ level: Level, _ text: String) {
    self.level = level
    self.text = text
  }

  public var description: String { text }
}

/// Bare CRs and bare LFs in a body: how many and the first line that ends with each.
struct BodyLineEnds: Sendable, Hashable {
  var bareCR = 0
  var firstBareCR: Int?
  var bareLF = 0
  var firstBareLF: Int?
  var crlf = 0

  init() {}

  /// `firstLine` is the number of the body's first line in the whole message.
  init(scanning body: ArraySlice<UInt8>, firstLine: Int) {
    var line = firstLine
    var index = body.startIndex
    while let end = body[index...].firstIndex(where: { $0 == 0x0D || $0 == 0x0A }) {
      if body[end] == 0x0D {
        if end + 1 < body.endIndex && body[end + 1] == 0x0A {
          crlf += 1
          index = end + 2
        } else {
          bareCR += 1
          if firstBareCR == nil { firstBareCR = line }
          index = end + 1
        }
      } else {
        bareLF += 1
        if firstBareLF == nil { firstBareLF = line }
        index = end + 1
      }
      line += 1
    }
  }
}

extension SuppliedMessage {
  /// The linter's findings for this message sent from `envelopeSender` (the address only). The sender is
  /// compared, never quoted: it may come from a config file.
  public func lint(envelopeSender: String) -> [MessageFinding] {
    var findings: [MessageFinding] = []
    if !hasDate { findings.append(MessageFinding(.note, "the message has no Date field: one is added")) }
    if !hasMessageID {
      findings.append(MessageFinding(.note, "the message has no Message-ID field: one is added"))
    }
    // A message that ends every line with LF alone is a file as Unix tools write it: sent as CRLF, not reported.
    // A bare CR, or a bare LF among CRLF line ends, is what readers disagree on.
    if let line = bodyLineEnds.firstBareCR {
      findings.append(
        MessageFinding(
          .note,
          "line \(line) (in the body) ends with a bare CR\(Self.more(bodyLineEnds.bareCR)): sent as CRLF"))
    }
    if !headerUsesLF, let line = bodyLineEnds.firstBareLF {
      findings.append(
        MessageFinding(
          .note,
          "line \(line) (in the body) ends with a bare LF\(Self.more(bodyLineEnds.bareLF)): sent as CRLF"))
    }
    if let index = lines[0..<headerLineCount].firstIndex(where: { $0.contains { $0 >= 0x80 } }) {
      findings.append(
        MessageFinding(
          .note,
          "line \(index - lines.startIndex + 1) (in the header) has raw 8-bit text: the server must offer "
            + "SMTPUTF8 (RFC 6532), or the message is refused"))
    }
    if has8BitBody, let index = lines[headerLineCount...].firstIndex(where: { $0.contains { $0 >= 0x80 } }) {
      findings.append(
        MessageFinding(
          .note,
          "line \(index + 1) (in the body) has 8-bit text: it goes with BODY=8BITMIME, and a server without "
            + "8BITMIME refuses it"))
    }
    if let finding = fromFinding(envelopeSender: envelopeSender) { findings.append(finding) }
    return findings
  }

  private static func more(_ count: Int) -> String {
    count > 1 ? " (\(count) lines in all)" : ""
  }

  /// A warning when no address of the From field is the envelope sender (replies go to the one, bounces to
  /// the other). Domains compare without case and in their A-label form.
  func fromFinding(envelopeSender: String) -> MessageFinding? {
    guard let field = fields.first(where: { $0.name == "from" }) else { return nil }
    var value: [UInt8] = []
    for index in field.lines { value += lines[index] }
    guard let colon = value.firstIndex(of: UInt8(ascii: ":")) else { return nil }
    let text = String(decoding: value[(colon + 1)...], as: UTF8.self)
    let addresses = Self.addresses(inAddressList: text)
    let line = field.lines.lowerBound + 1
    guard !addresses.isEmpty else {
      return MessageFinding(.warning, "line \(line): the From field holds no address Sealpost can read")
    }
    let sender = Self.comparable(envelopeSender)
    if addresses.contains(where: { Self.comparable($0) == sender }) { return nil }
    let shown = addresses.map { DisplayText.escaped($0) }.joined(separator: ", ")
    return MessageFinding(
      .warning,
      "line \(line): the From field (\(shown)) is not the envelope sender: replies go to From, "
        + "bounces to the envelope sender")
  }

  /// `Local@Bücher.Example` → `Local@xn--bcher-kva.example`; the local part keeps its case.
  static func comparable(_ address: String) -> String {
    let ascii = (try? IDNA.asciiAddress(address)) ?? address
    guard let at = ascii.lastIndex(of: "@") else { return ascii }
    return ascii[..<at] + "@" + ascii[ascii.index(after: at)...].lowercased()
  }

  /// The addr-specs of an address list (RFC 5322 §3.4), read loosely: `<…>` when present, else the mailbox
  /// itself; comments and quoted display names skipped, groups' names dropped.
  static func addresses(inAddressList text: String) -> [String] {
    var addresses: [String] = []
    var current = ""
    var angle: String?
    var bracketed: String?
    var quoted = false
    var comment = 0
    var escaped = false
    func finish() {
      let plain = current.trimmingSpacesAndTabs()
      if let bracketed {
        addresses.append(bracketed)
      } else if !plain.isEmpty, plain.contains("@") {
        addresses.append(plain)
      }
      current = ""
      bracketed = nil
    }
    for character in text {
      if escaped {
        escaped = false
        if angle != nil { angle?.append(character) } else { current.append(character) }
        continue
      }
      if character == "\\" && (quoted || comment > 0) {
        escaped = true
        continue
      }
      if comment > 0 {
        if character == "(" { comment += 1 } else if character == ")" { comment -= 1 }
        continue
      }
      if quoted {
        if character == "\"" { quoted = false }
        continue
      }
      switch character {
      case "\"": quoted = true
      case "(": comment = 1
      case "<": angle = ""
      case ">":
        if let inside = angle { bracketed = inside.trimmingSpacesAndTabs() }
        angle = nil
      case ":": current = ""  // a group's name
      case ",", ";": finish()
      default:
        if angle != nil { angle?.append(character) } else { current.append(character) }
      }
    }
    finish()
    return addresses
  }
}
