#if canImport(Glibc)
  import Glibc
#endif

// The text part of a message Sealpost builds, read from a byte source a piece at a time (issue 10): one pass
// finds what the text is (`BodyScanner`: UTF-8 or not, ASCII or not, a line over 998 octets or a NUL, a line
// that starts with the multipart delimiter), so the transfer encoding is chosen before its header is written;
// each pass of the message then encodes the text as it is read (`BodyEncoder`). Line ends as
// `LineEndings.lines` reads them: CRLF, a bare CR and a bare LF each end a line; every line goes out with CRLF,
// the last one too.

/// What a scan of the text found.
struct BodyTraits: Hashable {
  /// No octet over 0x7F.
  var isASCII = true
  /// A line over 998 octets or a NUL: only quoted-printable carries it (RFC 2045 §2.7, §2.8).
  var needsQuotedPrintable = false
  /// A line starts with the multipart delimiter the scan looked for.
  var holdsDelimiter = false
}

/// One pass over the text for its traits and its UTF-8 validity, in pieces split anywhere.
struct BodyScanner {
  /// `--` and the boundary; empty when there is no multipart boundary to avoid.
  let delimiter: [UInt8]
  private(set) var traits = BodyTraits()
  /// The offset of the first octet that is not UTF-8 (the start of its sequence), once found.
  private(set) var invalidUTF8Offset: Int?

  private var offset = 0
  private var lineLength = 0
  private var afterCR = false
  /// Octets of the current line that matched the delimiter so far; nil once one did not.
  private var delimiterMatched: Int? = 0
  /// UTF-8 (Unicode Table 3-7): continuation octets still needed, the range of the next one, and where the
  /// sequence started.
  private var needed = 0
  private var lower: UInt8 = 0x80
  private var upper: UInt8 = 0xBF
  private var sequenceStart = 0

  init(delimiter: [UInt8] = []) { self.delimiter = delimiter }

  mutating func scan(_ bytes: UnsafeRawBufferPointer) {
    var pieces = LinePieces(bytes, afterCR: afterCR)
    while let piece = pieces.next() {
      switch piece {
      case .run(let run): scanRun(run)
      case .lineEnd(let endsLine):
        // A line end: CR or LF, ASCII for UTF-8.
        if needed > 0 { invalid() }
        if endsLine {
          lineLength = 0
          delimiterMatched = delimiter.isEmpty ? nil : 0
        }
        offset += 1
      }
    }
    afterCR = pieces.afterCR
  }

  /// The end of the text: a UTF-8 sequence cut short there is not UTF-8.
  mutating func finish() {
    if needed > 0 { invalid() }
  }

  private mutating func invalid() {
    if invalidUTF8Offset == nil { invalidUTF8Offset = sequenceStart }
    needed = 0
  }

  /// A run of octets between line ends.
  private mutating func scanRun(_ run: UnsafeRawBufferPointer) {
    guard let base = run.baseAddress else { return }
    lineLength += run.count
    if lineLength > HeaderWriter.maximumLineLength { traits.needsQuotedPrintable = true }
    if !traits.needsQuotedPrintable && memchr(base, 0, run.count) != nil {
      traits.needsQuotedPrintable = true
    }
    if let matched = delimiterMatched, matched < delimiter.count {
      let length = min(delimiter.count - matched, run.count)
      let same = delimiter[matched..<(matched + length)].elementsEqual(
        UnsafeRawBufferPointer(start: base, count: length))
      delimiterMatched = same ? matched + length : nil
      if same && matched + length == delimiter.count { traits.holdsDelimiter = true }
    }
    var index = 0
    if needed == 0 {
      index = Self.asciiPrefix(run)
      if index == run.count {
        offset += run.count
        return
      }
    }
    traits.isASCII = false
    while index < run.count {
      let byte = run[index]
      if needed > 0 {
        if byte >= lower && byte <= upper {
          needed -= 1
          lower = 0x80
          upper = 0xBF
        } else {
          invalid()
          // The octet starts over as the first of a sequence (it was not consumed as a continuation).
          continue
        }
      } else if invalidUTF8Offset == nil {
        sequenceStart = offset + index
        switch byte {
        case 0x00...0x7F: break
        case 0xC2...0xDF: needed = 1
        case 0xE0:
          needed = 2
          lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: needed = 2
        case 0xED:
          needed = 2
          upper = 0x9F
        case 0xF0:
          needed = 3
          lower = 0x90
        case 0xF1...0xF3: needed = 3
        case 0xF4:
          needed = 3
          upper = 0x8F
        default: invalid()
        }
      }
      index += 1
    }
    offset += run.count
  }

  /// How many octets at the start of `run` are ASCII, eight at a time.
  static func asciiPrefix(_ run: UnsafeRawBufferPointer) -> Int {
    var index = 0
    while index + 8 <= run.count {
      if run.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
      index += 8
    }
    while index < run.count && run[index] < 0x80 { index += 1 }
    return index
  }

}

/// The pieces of text between line ends, as `LineEndings.lines` reads them — CRLF, a bare CR and a bare LF each
/// end a line — in buffers split anywhere: the scan and the encoder both read the text through it. Runs are
/// found with `memchr` and handed over whole; a CRLF split between two buffers is still one line end, carried
/// by `afterCR`.
struct LinePieces {
  enum Piece {
    /// Octets between line ends (never empty).
    case run(UnsafeRawBufferPointer)
    /// A CR or LF; `endsLine` is false for the LF of a CRLF whose CR ended the line already.
    case lineEnd(endsLine: Bool)
  }

  private let bytes: UnsafeRawBufferPointer
  private var index = 0
  private var cr = -1
  private var lf = -1
  /// The last octet handed over was a CR: an LF first in the next piece completes its CRLF.
  private(set) var afterCR: Bool

  init(_ bytes: UnsafeRawBufferPointer, afterCR: Bool) {
    self.bytes = bytes
    self.afterCR = afterCR
  }

  mutating func next() -> Piece? {
    guard let base = bytes.baseAddress, index < bytes.count else { return nil }
    let count = bytes.count
    if cr < index { cr = Self.next(0x0D, base, from: index, count) }
    if lf < index { lf = Self.next(0x0A, base, from: index, count) }
    let end = min(cr, lf)
    if end > index {
      defer { index = end }
      afterCR = false
      return .run(UnsafeRawBufferPointer(start: base + index, count: end - index))
    }
    index = end + 1
    if bytes[end] == 0x0A && afterCR {
      afterCR = false
      return .lineEnd(endsLine: false)
    }
    afterCR = bytes[end] == 0x0D
    return .lineEnd(endsLine: true)
  }

  static func next(_ byte: Int32, _ base: UnsafeRawPointer, from index: Int, _ count: Int) -> Int {
    memchr(base + index, byte, count - index).map { base.distance(to: UnsafeRawPointer($0)) } ?? count
  }
}

/// Writes the text in its transfer encoding as it is read, in pieces split anywhere: each line with CRLF;
/// quoted-printable with soft breaks at 76 columns and a space or tab that ends a line encoded (RFC 2045
/// §6.7), exactly as `QuotedPrintable.encode(lines:)` writes whole lines.
///
/// 7bit and 8bit promise lines of at most 998 octets without NUL (7bit: ASCII too); text that breaks the promise
/// (a file that changed since the scan chose the encoding) fails the pass instead of going out mislabelled.
struct BodyEncoder {
  let encoding: MIMEMessage.TextEncoding
  private var atLineStart = true
  private var afterCR = false
  private var lineLength = 0
  /// Quoted-printable: the column, and the line's last octet so far (written once the next one shows whether
  /// it ends the line).
  private var column = 0
  private var held: UInt8?

  init(_ encoding: MIMEMessage.TextEncoding) { self.encoding = encoding }

  mutating func encode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(MessageError) {
    var pieces = LinePieces(bytes, afterCR: afterCR)
    defer { afterCR = pieces.afterCR }
    while let piece = pieces.next() {
      switch piece {
      case .run(let text): try run(text, into: &out)
      case .lineEnd(let endsLine): if endsLine { endLine(into: &out) }
      }
    }
  }

  /// The end of the text: a last line without a line end gets one.
  mutating func finish(into out: inout [UInt8]) {
    if !atLineStart { endLine(into: &out) }
  }

  private mutating func endLine(into out: inout [UInt8]) {
    if let held {
      token(held, atEndOfLine: true, into: &out)
      self.held = nil
    }
    out.append(0x0D)
    out.append(0x0A)
    atLineStart = true
    lineLength = 0
    column = 0
  }

  private mutating func run(_ run: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(MessageError) {
    guard let base = run.baseAddress else { return }
    atLineStart = false
    guard encoding == .quotedPrintable else {
      lineLength += run.count
      if lineLength > HeaderWriter.maximumLineLength || memchr(base, 0, run.count) != nil
        || (encoding == .sevenBit && BodyScanner.asciiPrefix(run) < run.count)
      {
        throw MessageError(
          .invalidData,
          "the body changed after it was checked: it no longer fits \(encoding.rawValue)")
      }
      out.append(contentsOf: run)
      return
    }
    for byte in run {
      if let held { token(held, atEndOfLine: false, into: &out) }
      held = byte
    }
  }

  private static let hexDigits = Array("0123456789ABCDEF".utf8)

  /// RFC 2045 §6.7 rules 1–3 and 5, as `QuotedPrintable.encode(_:atEndOfLine:)` and `encode(lines:)`.
  private mutating func token(_ byte: UInt8, atEndOfLine: Bool, into out: inout [UInt8]) {
    let isLiteral: Bool
    switch byte {
    case 0x21...0x3C, 0x3E...0x7E: isLiteral = true
    case 0x20, 0x09: isLiteral = !atEndOfLine
    default: isLiteral = false
    }
    let width = isLiteral ? 1 : 3
    // A soft break needs one column for its '='; the last token of a line does not.
    let limit = atEndOfLine ? QuotedPrintable.maximumLineLength : QuotedPrintable.maximumLineLength - 1
    if column + width > limit {
      out.append(UInt8(ascii: "="))
      out.append(0x0D)
      out.append(0x0A)
      column = 0
    }
    if isLiteral {
      out.append(byte)
    } else {
      out.append(UInt8(ascii: "="))
      out.append(Self.hexDigits[Int(byte >> 4)])
      out.append(Self.hexDigits[Int(byte & 0x0F)])
    }
    column += width
  }
}
