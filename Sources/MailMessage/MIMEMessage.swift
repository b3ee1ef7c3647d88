/// A file attached to a message: its name as the reader sees it, its MIME type and where its bytes come from.
public struct MessageAttachment: Sendable {
  /// The file name written in `Content-Disposition` (the last part of the path, never a directory).
  public var fileName: String
  public var contentType: String
  public var source: any ByteSource

  public init(fileName: String, contentType: String? = nil, source: any ByteSource) {
    self.fileName = fileName
    self.contentType = contentType ?? MediaType.forFileName(fileName)
    self.source = source
  }

  /// The file at `path`, checked now (a regular file this process can read), named by the last part of the
  /// path, typed by its extension.
  public init(path: String) throws(MessageError) {
    let name = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
    self.init(fileName: name, source: try FileByteSource(path: path))
  }
}

/// A message Sealpost builds, written as it is read (DESIGN §2, §3.8): the header fields of a
/// ``ComposedMessage``; its body as one `text/plain` part, or followed by attachments in `multipart/mixed`
/// (RFC 2046 §5.1.3). The body and the attachments come from byte sources and are encoded as they are read with
/// bounded buffers (issue 10): attachments in base64 at 76 columns, the text as below; no line is over 998
/// octets.
///
/// The text part is 7bit when it is ASCII in lines of at most 998 octets, 8bit when it is not but the server
/// offers 8BITMIME, and quoted-printable otherwise (RFC 2045 §6.7, RFC 6152): one pass over the body when the
/// message is made finds which (and that it is UTF-8), so its header can say so before the text is read again.
/// Domains are written as A-labels unless the server offers SMTPUTF8 (or a local part needs it anyway).
public struct MIMEMessage: MessageSource {
  public let composed: ComposedMessage
  public let attachments: [MessageAttachment]
  /// The text: the composed message's `body`, or a source given in its place.
  public let body: any ByteSource
  /// The multipart boundary; nil for a single part.
  let boundary: String?
  /// What the pass over the body found.
  let bodyTraits: BodyTraits

  public init(_ composed: ComposedMessage, attachments: [MessageAttachment] = []) throws(MessageError) {
    try self.init(composed, attachments: attachments, boundaries: Self.makeBoundary)
  }

  /// A message whose text comes from `body` (a file, standard input spooled to one) instead of
  /// `composed.body`, read once now for what it holds and again at each pass.
  public init(_ composed: ComposedMessage, body: any ByteSource, attachments: [MessageAttachment] = [])
    throws(MessageError)
  {
    try self.init(composed, body: body, attachments: attachments, boundaries: Self.makeBoundary)
  }

  /// `boundaries` makes a candidate boundary each time it is called (tests fix them).
  init(_ composed: ComposedMessage, attachments: [MessageAttachment], boundaries: () -> String)
    throws(MessageError)
  {
    try self.init(
      composed, body: InMemoryBytes(composed.body), attachments: attachments, boundaries: boundaries)
  }

  init(
    _ composed: ComposedMessage, body: any ByteSource, attachments: [MessageAttachment],
    boundaries: () -> String
  ) throws(MessageError) {
    self.composed = composed
    self.attachments = attachments
    self.body = body
    if attachments.isEmpty {
      boundary = nil
      bodyTraits = try Self.scan(body, delimiter: [])
    } else {
      // Base64 and quoted-printable never hold '=' followed by '_' as text; a 7bit or 8bit text part might.
      var boundary = boundaries()
      var traits = try Self.scan(body, delimiter: Array("--\(boundary)".utf8))
      while traits.holdsDelimiter {
        boundary = boundaries()
        traits = try Self.scan(body, delimiter: Array("--\(boundary)".utf8))
      }
      self.boundary = boundary
      bodyTraits = traits
    }
    // Every offer writes the same fields, only the address form differs: check them once now.
    _ = try composed.headerLines(for: .plain)
    _ = try composed.headerLines(for: ContentOffer(eightBitMIME: true, smtpUTF8: true))
  }

  /// One pass over the text: UTF-8 (the charset it is labelled with) or refused, and its traits.
  static func scan(_ body: any ByteSource, delimiter: [UInt8]) throws(MessageError) -> BodyTraits {
    var reader = try body.open()
    var scanner = BodyScanner(delimiter: delimiter)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Reader.textChunk, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let count = try reader.read(into: buffer)
      if count == 0 { break }
      scanner.scan(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
      if scanner.invalidUTF8Offset != nil { break }
    }
    scanner.finish()
    if let offset = scanner.invalidUTF8Offset {
      throw MessageError(.invalidData, "the body is not UTF-8 text (invalid byte at offset \(offset))")
    }
    return scanner.traits
  }

  /// `=_` (outside the base64 alphabet, escaped in quoted-printable) and 32 random letters and digits
  /// (RFC 2046 §5.1.1: at most 70 characters).
  static func makeBoundary() -> String {
    let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    var generator = SystemRandomNumberGenerator()
    return "=_"
      + String((0..<32).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
  }

  enum TextEncoding: String {
    case sevenBit = "7bit"
    case eightBit = "8bit"
    case quotedPrintable = "quoted-printable"
  }

  /// RFC 2045 §2.7/§2.8: 7bit and 8bit are lines of at most 998 octets without NUL; 8bit only where the server
  /// offers 8BITMIME.
  func textEncoding(for offer: ContentOffer) -> TextEncoding {
    if bodyTraits.needsQuotedPrintable { return .quotedPrintable }
    if bodyTraits.isASCII { return .sevenBit }
    return offer.eightBitMIME ? .eightBit : .quotedPrintable
  }

  public func open(for offer: ContentOffer) throws(MessageError) -> any MessageReader {
    let encoding = textEncoding(for: offer)
    var header = try composed.headerLines(for: offer)
    header.append("MIME-Version: 1.0")
    let textHeader = [
      "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: " + encoding.rawValue,
    ]
    var segments: [Reader.Segment] = []
    guard let boundary else {
      segments.append(.bytes(Self.block(header + textHeader)))
      segments.append(.text(encoding))
      return Reader(message: self, segments: segments)
    }
    header.append("Content-Type: multipart/mixed; boundary=\"\(boundary)\"")
    segments.append(.bytes(Self.block(header) + Array("--\(boundary)\r\n".utf8) + Self.block(textHeader)))
    segments.append(.text(encoding))
    for (index, attachment) in attachments.enumerated() {
      // The text part's last line end is its own: the delimiter's CRLF comes after it (RFC 2046 §5.1.1).
      let before = index == 0 ? "\r\n--\(boundary)\r\n" : "--\(boundary)\r\n"
      let partHeader =
        ["Content-Type: " + attachment.contentType] + ContentDisposition.lines(fileName: attachment.fileName)
        + ["Content-Transfer-Encoding: base64"]
      segments.append(.bytes(Array(before.utf8) + Self.block(partHeader)))
      segments.append(.attachment(index))
    }
    segments.append(.bytes(Array("--\(boundary)--\r\n".utf8)))
    return Reader(message: self, segments: segments)
  }

  /// Header lines, each with CRLF, and the empty line after them.
  static func block(_ lines: [String]) -> [UInt8] {
    var out: [UInt8] = []
    for line in lines { out += Array(line.utf8) + LineEndings.crlf }
    return out + LineEndings.crlf
  }

  /// The whole message for `offer`, in memory (tests, small messages, the send path until it streams).
  public func bytes(for offer: ContentOffer) throws(MessageError) -> [UInt8] {
    var reader = try open(for: offer)
    var out: [UInt8] = []
    try reader.forEachPiece { out += $0 }
    return out
  }

  /// One pass: fixed pieces in memory, the text read 64 KiB at a time and encoded as it is read, each
  /// attachment read and base64-encoded 57 KiB at a time.
  struct Reader: MessageReader {
    enum Segment {
      case bytes([UInt8])
      case text(TextEncoding)
      case attachment(Int)
    }

    /// Input octets of the text per refill.
    static let textChunk = 64 << 10
    /// Input octets per refill of an attachment: whole base64 lines of 57 octets (76 characters).
    static let attachmentChunk = 57 * 1024

    let message: MIMEMessage
    let segments: [Segment]
    var segmentIndex = 0
    var pending: [UInt8] = []
    var pendingOffset = 0
    var source: (any ByteReader)?
    var input: [UInt8] = []
    var textEncoder: BodyEncoder?

    init(message: MIMEMessage, segments: [Segment]) {
      self.message = message
      self.segments = segments
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int {
      while pendingOffset == pending.count {
        guard segmentIndex < segments.count else { return 0 }
        pending.removeAll(keepingCapacity: true)
        pendingOffset = 0
        try refill()
      }
      let count = min(buffer.count, pending.count - pendingOffset)
      pending.withUnsafeBytes { bytes in
        buffer.copyMemory(
          from: UnsafeRawBufferPointer(rebasing: bytes[pendingOffset..<pendingOffset + count]))
      }
      pendingOffset += count
      return count
    }

    private mutating func refill() throws(MessageError) {
      switch segments[segmentIndex] {
      case .bytes(let bytes):
        pending = bytes
        segmentIndex += 1
      case .text(let encoding):
        if textEncoder == nil {
          source = try message.body.open()
          input = [UInt8](repeating: 0, count: Self.textChunk)
          textEncoder = BodyEncoder(encoding)
        }
        var result: Result<Int, MessageError> = .success(0)
        input.withUnsafeMutableBytes { raw in
          result = Result { () throws(MessageError) in try source?.read(into: raw) ?? 0 }
        }
        let count = try result.get()
        guard count > 0 else {
          textEncoder?.finish(into: &pending)
          textEncoder = nil
          source = nil
          input = []
          segmentIndex += 1
          return
        }
        var encoded: Result<Void, MessageError> = .success(())
        input.withUnsafeBytes { raw in
          encoded = Result { () throws(MessageError) in
            try textEncoder?.encode(UnsafeRawBufferPointer(rebasing: raw[0..<count]), into: &pending)
          }
        }
        try encoded.get()
      case .attachment(let index):
        if source == nil {
          source = try message.attachments[index].source.open()
          input = [UInt8](repeating: 0, count: Self.attachmentChunk)
        }
        // Fill the chunk: only the last one of a file may end in a partial base64 line.
        var filled = 0
        while filled < input.count {
          var result: Result<Int, MessageError> = .success(0)
          input.withUnsafeMutableBytes { raw in
            result = Result { () throws(MessageError) in
              try source?.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...])) ?? 0
            }
          }
          let count = try result.get()
          if count == 0 { break }
          filled += count
        }
        input.withUnsafeBytes { raw in
          Base64Lines.encode(UnsafeRawBufferPointer(rebasing: raw[0..<filled]), into: &pending)
        }
        if filled < input.count {
          // The end of the file: the reader has already checked it was the size it had.
          source = nil
          input = []
          segmentIndex += 1
        }
      }
    }
  }
}

/// Base64 (RFC 2045 §6.8) in lines of 76 characters, each ended with CRLF.
enum Base64Lines {
  static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  /// 57 octets make one line of 76 characters.
  static let octetsPerLine = 57

  /// Appends the lines for `input`; every line but the last holds 57 octets, so calling this with chunks that
  /// are multiples of 57 octets gives the same lines as one call with the whole input.
  static func encode(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) {
    guard input.count > 0 else { return }
    let lineCount = (input.count + octetsPerLine - 1) / octetsPerLine
    let outputCount = (input.count + 2) / 3 * 4 + lineCount * 2
    let start = output.count
    output.append(contentsOf: repeatElement(0, count: outputCount))
    output.withUnsafeMutableBufferPointer { out in
      alphabet.withUnsafeBufferPointer { table in
        var o = start
        var i = 0
        var column = 0
        while i + 3 <= input.count {
          let value = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
          out[o] = table[Int(value >> 18)]
          out[o + 1] = table[Int((value >> 12) & 0x3F)]
          out[o + 2] = table[Int((value >> 6) & 0x3F)]
          out[o + 3] = table[Int(value & 0x3F)]
          o += 4
          i += 3
          column += 3
          if column == octetsPerLine {
            out[o] = 0x0D
            out[o + 1] = 0x0A
            o += 2
            column = 0
          }
        }
        let rest = input.count - i
        if rest > 0 {
          let value = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
          out[o] = table[Int(value >> 18)]
          out[o + 1] = table[Int((value >> 12) & 0x3F)]
          out[o + 2] = rest == 2 ? table[Int((value >> 6) & 0x3F)] : UInt8(ascii: "=")
          out[o + 3] = UInt8(ascii: "=")
          o += 4
          column += rest
        }
        if column > 0 {
          out[o] = 0x0D
          out[o + 1] = 0x0A
        }
      }
    }
  }
}
