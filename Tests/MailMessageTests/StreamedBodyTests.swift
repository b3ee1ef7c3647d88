import Foundation
import PropertyTesting
import Testing

@testable import MailMessage

/// The body streams (issue 10): read from a byte source, scanned once for its encoding, encoded as it is read.
/// The reference is the in-memory writer as it was before (`Legacy`, kept here as written then): the whole
/// body split into lines, the encoding chosen by looking at every line, each line encoded whole.
@Suite struct StreamedBodyTests {
  /// The text part as the in-memory writer made it: the encoding and the encoded text, or its refusal.
  enum Legacy {
    static func text(_ body: [UInt8], offer: ContentOffer) -> Result<(String, [UInt8]), MessageError> {
      var iterator = body.makeIterator()
      var decoder = UTF8()
      var offset = 0
      decoding: while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar): offset += UTF8.width(scalar)
        case .emptyInput: break decoding
        case .error:
          return .failure(
            MessageError(.invalidData, "the body is not UTF-8 text (invalid byte at offset \(offset))"))
        }
      }
      let lines = LineEndings.lines(of: body).lines
      var encoding = "7bit"
      var isASCII = true
      for line in lines {
        if line.count > 998 || line.contains(0) {
          encoding = "quoted-printable"
          break
        }
        if isASCII && line.contains(where: { $0 >= 0x80 }) { isASCII = false }
      }
      if encoding == "7bit" && !isASCII { encoding = offer.eightBitMIME ? "8bit" : "quoted-printable" }
      var out: [UInt8] = []
      for line in lines {
        if encoding == "quoted-printable" {
          out += QuotedPrintable.encode(lines: [line])
        } else {
          out += line
          out += [13, 10]
        }
      }
      return .success((encoding, out))
    }
  }

  /// Bytes given in reads of random sizes (1 octet up to a few KiB), as a file or a pipe may give them.
  struct SplitBytes: ByteSource {
    let bytes: [UInt8]
    let seed: UInt64

    var byteCount: Int { bytes.count }

    func open() throws(MessageError) -> any ByteReader { Reader(bytes: bytes, gen: Gen(seed: seed)) }

    struct Reader: ByteReader {
      let bytes: [UInt8]
      var gen: Gen
      var offset = 0

      mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int {
        let size = gen.chance(30) ? gen.int(1...3) : gen.int(1...4096)
        let count = min(buffer.count, bytes.count - offset, size)
        guard count > 0 else { return 0 }
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]).copyBytes(
          from: bytes[offset..<offset + count])
        offset += count
        return count
      }
    }
  }

  /// A body from pieces that matter to line ends, encodings and UTF-8.
  static func body(_ gen: inout Gen) -> [UInt8] {
    if gen.chance(5) { return [] }
    var out: [UInt8] = []
    for _ in 0..<gen.int(1...40) {
      switch gen.int(0...13) {
      case 0: out += [13]  // CR alone
      case 1: out += [10]
      case 2: out += [13, 10]
      case 3: out += [0]  // NUL
      case 4: out += Array(repeating: UInt8(ascii: "a"), count: gen.int(990...1010))  // around the 998 limit
      case 5: out += Array(repeating: UInt8(ascii: "="), count: gen.int(1...100))
      case 6: out += gen.pick([[0x20], [0x09], [0x20, 0x20], [0x09, 0x20]])  // maybe at a line end
      case 7: out += Array("é😀日本".utf8)
      // Not UTF-8: an octet never used, a lone continuation, cut sequences, a surrogate, an overlong form.
      case 8: out += gen.pick([[0xFF], [0x80], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xC0, 0xAF]])
      case 9: out += Array("--=_b".utf8)  // a would-be boundary
      case 10: out += Array(repeating: UInt8(ascii: "x"), count: gen.int(70...80))  // around QP's 76
      case 11: out += gen.bytes(maxLength: 12)
      default: out += Array(gen.cleanString(maxLength: 20).utf8)
      }
    }
    // No final line end, one, or a CR as the very last octet.
    switch gen.int(0...3) {
    case 0: out += [10]
    case 1: out += [13]
    default: break
    }
    return out
  }

  static func composed(body: [UInt8] = []) throws -> ComposedMessage {
    ComposedMessage(
      from: try Mailbox(parsing: "a@example.org"), to: [try Mailbox(parsing: "b@example.org")],
      subject: "s", body: body, date: ComposedGoldens.date, messageID: "m@example.org",
      timeZone: ComposedGoldens.utc)
  }

  /// The header of the text part and the text after it, from a single-part message.
  static func textPart(_ message: [UInt8]) -> (encoding: String, text: [UInt8])? {
    let separator: [UInt8] = [13, 10, 13, 10]
    guard let end = message.indices.first(where: { message[$0...].starts(with: separator) }) else {
      return nil
    }
    let header = String(decoding: message[..<end], as: UTF8.self)
    let prefix = "Content-Transfer-Encoding: "
    guard let line = header.components(separatedBy: "\r\n").first(where: { $0.hasPrefix(prefix) }) else {
      return nil
    }
    return (String(line.dropFirst(prefix.count)), Array(message[(end + 4)...]))
  }

  /// One pass in reads of `bufferSize` octets.
  static func read(_ source: MIMEMessage, offer: ContentOffer, bufferSize: Int) throws(MessageError)
    -> [UInt8]
  {
    var reader = try source.open(for: offer)
    var out: [UInt8] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 1)
    defer { buffer.deallocate() }
    while true {
      let count = try reader.read(into: buffer)
      if count == 0 { return out }
      out += buffer[0..<count]
    }
  }

  @Test func streamedBodyEncodesAsTheInMemoryWriterDid() throws {
    for propertyCase in Property.cases("streamedBody", count: 400) {
      var gen = propertyCase.generator
      let body = Self.body(&gen)
      let composed = try Self.composed()
      for offer in [ContentOffer.plain, ContentOffer(eightBitMIME: true, smtpUTF8: false)] {
        let expected = Legacy.text(body, offer: offer)
        let seed = gen.rng.next()
        let bufferSize = gen.int(1...70_000)
        let streamed: Result<[UInt8], MessageError> = Result { () throws(MessageError) in
          let message = try MIMEMessage(composed, body: SplitBytes(bytes: body, seed: seed))
          return try Self.read(message, offer: offer, bufferSize: bufferSize)
        }
        switch (expected, streamed) {
        case (.failure(let want), .failure(let got)):
          holds(got.message == want.message, propertyCase, "refusal \(got.message) ≠ \(want.message)")
        case (.success(let want), .success(let got)):
          guard let part = Self.textPart(got) else {
            holds(false, propertyCase, "no text part in \(got.count) octets")
            continue
          }
          holds(part.encoding == want.0, propertyCase, "encoding \(part.encoding) ≠ \(want.0)")
          holds(
            part.text == want.1, propertyCase, "text differs (\(part.text.count) vs \(want.1.count) octets)")
          // And the in-memory body (the composed message's own) gives the same bytes.
          var memory = composed
          memory.body = body
          let whole = try MIMEMessage(memory).bytes(for: offer)
          holds(whole == got, propertyCase, "in memory and streamed differ")
        default:
          holds(false, propertyCase, "one refused and the other did not: \(expected) / \(streamed)")
        }
      }
    }
  }

  @Test func streamedBodyWithAttachmentsKeepsItsBoundaryOutOfTheText() throws {
    for propertyCase in Property.cases("streamedBodyMultipart", count: 100) {
      var gen = propertyCase.generator
      var body = Self.body(&gen)
      // Valid UTF-8 only: the boundary check is the point here.
      if String(validating: body, as: UTF8.self) == nil { body = Array("x\n".utf8) }
      if gen.chance(50) { body = Array("--=_b\n".utf8) + body }
      var candidates = ["=_b", "=_c"]
      let attachment = MessageAttachment(fileName: "a.bin", source: InMemoryBytes([1, 2, 3]))
      let message = try MIMEMessage(
        try Self.composed(), body: SplitBytes(bytes: body, seed: gen.rng.next()), attachments: [attachment],
        boundaries: { candidates.count > 1 ? candidates.removeFirst() : candidates[0] })
      var memory = try Self.composed()
      memory.body = body
      var memoryCandidates = ["=_b", "=_c"]
      let reference = try MIMEMessage(
        memory, attachments: [attachment],
        boundaries: { memoryCandidates.count > 1 ? memoryCandidates.removeFirst() : memoryCandidates[0] })
      holds(
        message.boundary == reference.boundary, propertyCase,
        "boundary \(String(describing: message.boundary))")
      let startsWithB = LineEndings.lines(of: body).lines.contains { $0.starts(with: Array("--=_b".utf8)) }
      holds(message.boundary == (startsWithB ? "=_c" : "=_b"), propertyCase, "boundary chosen")
      holds(
        try message.bytes(for: .plain) == (try reference.bytes(for: .plain)), propertyCase, "message differs")
    }
  }

  @Test func anOverLongLineGetsQuotedPrintableWhateverTheOffer() throws {
    let line = String(repeating: "a", count: 999)
    let body = Array("short\n\(line)\nend\n".utf8)
    for offer in [ContentOffer.plain, ContentOffer(eightBitMIME: true, smtpUTF8: true)] {
      let message = try MIMEMessage(try Self.composed(), body: SplitBytes(bytes: body, seed: 7))
      let part = try #require(Self.textPart(try message.bytes(for: offer)))
      #expect(part.encoding == "quoted-printable")
      // Written by hand (RFC 2045 §6.7): 75 characters and a soft break per line, 999 = 13 × 75 + 24.
      let full = String(repeating: "a", count: 75) + "=\r\n"
      let expected =
        "short\r\n" + String(repeating: full, count: 13) + String(repeating: "a", count: 24) + "\r\nend\r\n"
      #expect(String(decoding: part.text, as: UTF8.self) == expected)
      #expect(!part.text.split(separator: 10).contains { $0.count > 78 })
    }
    // 998 octets is still 7bit.
    let fits = Array((String(repeating: "a", count: 998) + "\n").utf8)
    let message = try MIMEMessage(try Self.composed(), body: SplitBytes(bytes: fits, seed: 8))
    #expect(Self.textPart(try message.bytes(for: .plain))?.encoding == "7bit")
  }

  @Test func aBodyThatChangedAfterTheScanIsNotWrittenMislabelled() throws {
    // A source that gives other bytes at its second pass than at its first (a file rewritten in place).
    final class Changing: ByteSource, @unchecked Sendable {
      var passes = 0
      var byteCount: Int { 4 }
      func open() throws(MessageError) -> any ByteReader {
        passes += 1
        return InMemoryMessage.Reader(bytes: passes == 1 ? Array("abc\n".utf8) : [0xC3, 0xA9, 0x0A, 0x00])
      }
    }
    let message = try MIMEMessage(try Self.composed(), body: Changing())
    #expect(message.textEncoding(for: .plain) == .sevenBit)
    #expect(throws: MessageError.self) { try message.bytes(for: .plain) }
  }
}
