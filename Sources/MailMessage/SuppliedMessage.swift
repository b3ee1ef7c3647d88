import FoundationEssentials

/// A complete RFC 5322 message given with `--message` (DESIGN §3.8). It is sent as written except that line
/// endings become CRLF, Bcc and Resent-Bcc fields are removed, and a missing `Date` or `Message-ID` is added at
/// the end of the header block. A message that cannot be sent that way is refused.
public struct SuppliedMessage: Sendable {
  /// One header field: its lowercased name and the lines it spans (the first and its continuations).
  struct Field: Sendable {
    var name: String
    var lines: Range<Int>
  }

  /// The message's lines without their endings.
  let lines: [ArraySlice<UInt8>]
  let fields: [Field]
  /// The number of lines in the header block (the empty line after it not counted).
  let headerLineCount: Int
  /// The header ends its lines with LF alone (the body may mix; every line end is sent as CRLF).
  let headerUsesLF: Bool
  /// How the body's lines end, for the linter: bare CRs and bare LFs, counted with the first line number.
  let bodyLineEnds: BodyLineEnds

  /// True when the header block has octets over 127: the server must offer SMTPUTF8 (RFC 6531 §3.7.4).
  public let has8BitHeaders: Bool
  /// True when the body has octets over 127: the server must offer 8BITMIME (RFC 6152).
  public let has8BitBody: Bool
  /// True when the message has a `Date` field of its own.
  public var hasDate: Bool { fields.contains { $0.name == "date" } }
  /// True when the message has a `Message-ID` field of its own.
  public var hasMessageID: Bool { fields.contains { $0.name == "message-id" } }

  /// Fields that are never sent: they name blind recipients (RFC 5322 §3.6.3, §3.6.6).
  static let removedFields: Set<String> = ["bcc", "resent-bcc"]

  /// Splits the message into lines and reads its header block.
  ///
  /// The header block must end every line the same way, CRLF or LF alone, up to and including the empty line
  /// after it; a bare CR or LF there is refused. Otherwise readers disagree on where the header ends: with
  /// `\r\r\n` line ends, a reader that takes the bare CR as a line end sees the header end early and the fields
  /// after it (a Bcc among them) as body text (issue 7). In the body, CRLF, a bare CR and a bare LF each end a
  /// line (DESIGN §3.8).
  public init(bytes: [UInt8]) throws(MessageError) {
    func failure(_ reason: String) -> MessageError {
      MessageError(.invalidData, "cannot send the message unchanged: \(reason)")
    }
    let header = try Self.headerLines(of: bytes)
    var lines = header.lines
    if let bodyStart = header.bodyStart {
      lines.append([])
      lines += LineEndings.lines(of: Array(bytes[bodyStart...])).lines
    }
    for (index, line) in lines.enumerated() {
      if line.contains(0) { throw failure("line \(index + 1) contains a NUL byte") }
      if line.count > HeaderWriter.maximumLineLength {
        throw failure(
          "line \(index + 1) is \(line.count) octets long; the limit is \(HeaderWriter.maximumLineLength) "
            + "(RFC 5322 §2.1.1)")
      }
    }
    guard let first = lines.first, !first.isEmpty else {
      throw failure("it has no header block (it must start with header fields such as From:)")
    }
    let headerLineCount = header.lines.count

    var fields: [Field] = []
    var has8BitHeaders = false
    for index in 0..<headerLineCount {
      let line = lines[index]
      let number = index + 1
      if let control = line.first(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
        throw failure("line \(number) (in the header) contains the control byte \(Self.hex(control))")
      }
      if line.contains(where: { $0 >= 0x80 }) { has8BitHeaders = true }
      if let firstByte = line.first, firstByte == 0x20 || firstByte == 0x09 {
        // RFC 5322 §2.2.3: a continuation of the field above.
        guard let last = fields.popLast() else {
          throw failure("line \(number) starts with whitespace but no header field comes before it")
        }
        fields.append(Field(name: last.name, lines: last.lines.lowerBound..<(index + 1)))
        continue
      }
      guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
        throw failure(
          "line \(number) is neither a header field nor its continuation "
            + "(an empty line must separate the header from the body)")
      }
      // RFC 5322 §4.5.3 (obsolete syntax): whitespace may come before the colon.
      var nameBytes = line[line.startIndex..<colon]
      while let last = nameBytes.last, last == 0x20 || last == 0x09 { nameBytes = nameBytes.dropLast() }
      guard !nameBytes.isEmpty, nameBytes.allSatisfy({ (33...126).contains($0) }) else {
        throw failure("line \(number) has an invalid header field name")
      }
      fields.append(
        Field(name: String(decoding: nameBytes, as: UTF8.self).lowercased(), lines: index..<(index + 1)))
    }
    let fromCount = fields.filter { $0.name == "from" }.count
    if fromCount == 0 { throw failure("it has no From field") }
    if fromCount > 1 { throw failure("it has more than one From field (RFC 5322 §3.6)") }

    self.lines = lines
    self.fields = fields
    self.headerLineCount = headerLineCount
    headerUsesLF = header.usesLF
    bodyLineEnds =
      header.bodyStart.map {
        BodyLineEnds(scanning: bytes[$0...], firstLine: headerLineCount + 2)
      } ?? BodyLineEnds()
    self.has8BitHeaders = has8BitHeaders
    self.has8BitBody = lines[headerLineCount...].contains { line in line.contains { $0 >= 0x80 } }
  }

  /// The bytes to send (before dot-stuffing): CRLF line endings, no Bcc fields, and `Date`/`Message-ID`
  /// added at the end of the header block when the message has none. `messageID` is without angle brackets.
  public func prepared(date: Date, messageID: String, timeZone: TimeZone? = nil) throws(MessageError)
    -> [UInt8]
  {
    var removed = Set<Int>()
    for field in fields where Self.removedFields.contains(field.name) {
      removed.formUnion(field.lines)
    }
    var out: [UInt8] = []
    for index in 0..<headerLineCount where !removed.contains(index) {
      out += lines[index] + LineEndings.crlf
    }
    if !hasDate {
      out += Array(("Date: " + MessageDate.format(date, timeZone: timeZone)).utf8) + LineEndings.crlf
    }
    if !hasMessageID {
      let id = try MessageID.validated(messageID)
      out += Array(("Message-ID: <" + id + ">").utf8) + LineEndings.crlf
    }
    for index in headerLineCount..<lines.count {
      out += lines[index] + LineEndings.crlf
    }
    return out
  }

  /// The lines of the header block without their endings, and where the body starts (after the empty line
  /// that ends the header), or nil when there is no empty line. The first line end decides the convention:
  /// CRLF or LF alone; any other CR or LF up to the end of the empty line is refused with its line number.
  static func headerLines(of bytes: [UInt8]) throws(MessageError) -> (
    lines: [ArraySlice<UInt8>], bodyStart: Int?, usesLF: Bool
  ) {
    func failure(_ line: Int, _ reason: String) -> MessageError {
      MessageError(
        .invalidData,
        "cannot send the message unchanged: line \(line) (in the header) \(reason); the header must end "
          + "every line with CRLF, or every line with LF alone, or readers disagree on where it ends")
    }
    let cr: UInt8 = 0x0D
    let lf: UInt8 = 0x0A
    guard let firstEnd = bytes.firstIndex(where: { $0 == cr || $0 == lf }) else {
      return (bytes.isEmpty ? [] : [bytes[...]], nil, false)
    }
    let usesCRLF = bytes[firstEnd] == cr
    if usesCRLF && (firstEnd + 1 == bytes.count || bytes[firstEnd + 1] != lf) {
      throw failure(1, "ends with a bare CR")
    }
    var lines: [ArraySlice<UInt8>] = []
    var start = 0
    while start < bytes.count {
      let number = lines.count + 1
      guard let end = bytes[start...].firstIndex(where: { $0 == cr || $0 == lf }) else {
        lines.append(bytes[start...])
        return (lines, nil, !usesCRLF)
      }
      let endLength: Int
      if usesCRLF {
        guard bytes[end] == cr else { throw failure(number, "contains a bare LF") }
        guard end + 1 < bytes.count, bytes[end + 1] == lf else { throw failure(number, "contains a bare CR") }
        endLength = 2
      } else {
        guard bytes[end] == lf else {
          let crlf = end + 1 < bytes.count && bytes[end + 1] == lf
          throw failure(
            number, crlf ? "ends with CRLF where line 1 ends with LF alone" : "contains a bare CR")
        }
        endLength = 1
      }
      if end == start { return (lines, end + endLength, !usesCRLF) }
      lines.append(bytes[start..<end])
      start = end + endLength
    }
    return (lines, nil, !usesCRLF)
  }

  private static func hex(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16, uppercase: true)
    return "0x" + (digits.count < 2 ? "0" : "") + digits
  }
}
