import FoundationEssentials
import MailMessage
import MailSender

#if canImport(Glibc)
  import Glibc
#endif

/// A complete message (`--message`) too large to hold in memory, sent from the descriptor it was opened with
/// (issue 10): its header section is read once, checked and prepared in memory as DESIGN §3.8 allows (Bcc
/// removed, a missing Date or Message-ID added); its body is read from the file at each pass with `pread`,
/// from the offset where the header ends, so no path is opened twice and memory does not grow with the file.
///
/// Each pass checks the body as `SuppliedMessage` checks a message in memory (no NUL, no line over 998
/// octets, with the line number) and that the file is the one checked: the same size and modification time
/// when the pass starts and ends, and exactly that many octets read. A pass over a file that changed fails
/// instead of sending other bytes than were checked.
public struct SuppliedMessageFile: MessageSource {
  /// The header section as prepared, its empty line included.
  let header: [UInt8]
  let file: AdoptedFile
  /// Where the body starts in the file.
  let bodyOffset: Int
  /// The line number of the body's first line in the file (for refusals).
  let firstBodyLine: Int

  /// The first octets read to find the end of the header section. A header section that does not end within
  /// them (or a message of header lines only, larger than this) is read whole instead, as before.
  static let headerProbe = 1 << 20

  /// The message from `descriptor` (adopted: closed when the source is gone), checked and prepared like a
  /// message in memory (`MessageAssembly.assemble(_:body:supplied:date:)`). `name` is how refusals name it.
  public static func assemble(
    _ checked: MessageAssembly.CheckedFields, descriptor: Int32, name: String, date: Date = Date()
  ) throws(PlanningError) -> AssembledMessage {
    let file: AdoptedFile
    do throws(MessageError) {
      file = try AdoptedFile(
        descriptor: descriptor, name: name, kind: .invalidData, what: "the message \(name)")
    } catch {
      throw PlanningError(.noInput, PlanningText(stringLiteral: error.message))
    }
    let prefix = try read(file, upTo: min(file.size, headerProbe))
    guard let bodyStart = Self.bodyStart(in: prefix) else {
      // No end of header within the probe: the whole message in memory, checked as before.
      let whole = try read(file, upTo: file.size)
      return try MessageAssembly.assemble(checked, body: [], supplied: whole, date: date)
    }
    let headerPart = Array(prefix[0..<bodyStart])
    var assembled = try MessageAssembly.assemble(checked, body: [], supplied: headerPart, date: date)
    let lineEnds = headerPart.filter { $0 == 0x0A }.count
    let source = SuppliedMessageFile(
      header: assembled.content.bytes, file: file, bodyOffset: bodyStart, firstBodyLine: lineEnds + 1)
    assembled.content = MessageContent(source: source)
    assembled.source = source
    return assembled
  }

  /// The offset just after the empty line that ends the header section, by the convention of the first line
  /// end (CRLF or LF alone, as `SuppliedMessage` reads it); nil when there is none in `bytes`. A header that
  /// breaks its convention before that point is refused by `SuppliedMessage` with its line number.
  static func bodyStart(in bytes: [UInt8]) -> Int? {
    guard let firstEnd = bytes.firstIndex(where: { $0 == 0x0D || $0 == 0x0A }) else { return nil }
    let end: [UInt8] = bytes[firstEnd] == 0x0D ? [0x0D, 0x0A] : [0x0A]
    if bytes.starts(with: end) { return end.count }
    let blank = end + end
    var index = firstEnd
    while index + blank.count <= bytes.count {
      if bytes[index] == blank[0], bytes[index..<(index + blank.count)].elementsEqual(blank) {
        return index + blank.count
      }
      index += 1
    }
    return nil
  }

  static func read(_ file: AdoptedFile, upTo count: Int) throws(PlanningError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
      let got = bytes.withUnsafeMutableBytes { raw in
        raw.baseAddress.map { pread(file.descriptor, $0 + filled, count - filled, off_t(filled)) } ?? 0
      }
      if got < 0 && errno == EINTR { continue }
      guard got > 0 else {
        let reason = got < 0 ? String(cString: strerror(errno)) : "it became shorter while read"
        throw PlanningError(
          .noInput, PlanningText(stringLiteral: "cannot read the message \(file.name): \(reason)"))
      }
      filled += got
    }
    return bytes
  }

  public func open(for offer: ContentOffer) throws(MessageError) -> any MessageReader {
    if let change = file.change() { throw changed(change) }
    return Reader(source: self)
  }

  func changed(_ why: String) -> MessageError {
    MessageError(.invalidData, "the message \(file.name) changed after it was checked (\(why))")
  }

  struct Reader: MessageReader {
    let source: SuppliedMessageFile
    /// Octets of the prepared header given so far.
    var headerSent = 0
    /// The next offset of the file to read.
    var offset: Int
    /// The body's line being read: its number and its length so far; whether the last octet was a CR.
    var line: Int
    var lineLength = 0
    var afterCR = false

    init(source: SuppliedMessageFile) {
      self.source = source
      self.offset = source.bodyOffset
      self.line = source.firstBodyLine
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int {
      guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
      if headerSent < source.header.count {
        let count = min(buffer.count, source.header.count - headerSent)
        source.header.withUnsafeBytes { header in
          if let from = header.baseAddress { base.copyMemory(from: from + headerSent, byteCount: count) }
        }
        headerSent += count
        return count
      }
      let file = source.file
      if offset >= file.size && lineLength > 998 { throw tooLong() }
      let got = try file.read(
        into: base, count: buffer.count, at: offset, what: "the message \(file.name)", changed: source.changed
      )
      if got == 0 { return 0 }
      try check(UnsafeRawBufferPointer(start: base, count: got))
      offset += got
      return got
    }

    /// DESIGN §3.8, as `SuppliedMessage` checks a message in memory: no NUL, no line over 998 octets. CRLF, a
    /// bare CR and a bare LF each end a line. Runs between line ends are found with `memchr`.
    mutating func check(_ bytes: UnsafeRawBufferPointer) throws(MessageError) {
      guard let base = bytes.baseAddress else { return }
      if let nul = memchr(base, 0, bytes.count) {
        let at = base.distance(to: UnsafeRawPointer(nul))
        var scan = self
        try scan.countLines(UnsafeRawBufferPointer(start: base, count: at))
        throw MessageError(
          .invalidData, "cannot send the message unchanged: line \(scan.line) contains a NUL byte")
      }
      try countLines(bytes)
    }

    func tooLong() -> MessageError {
      MessageError(
        .invalidData,
        "cannot send the message unchanged: line \(line) is \(lineLength) octets long; the limit is 998 "
          + "(RFC 5322 §2.1.1)")
    }

    private mutating func countLines(_ bytes: UnsafeRawBufferPointer) throws(MessageError) {
      guard let base = bytes.baseAddress else { return }
      func next(_ byte: Int32, from index: Int) -> Int {
        memchr(base + index, byte, bytes.count - index).map { base.distance(to: UnsafeRawPointer($0)) }
          ?? bytes.count
      }
      var index = 0
      // The next CR and LF at or after `index`, found once and reused until passed: a file with one kind of
      // line end never searches for the other kind more than once per read.
      var cr = -1
      var lf = -1
      while index < bytes.count {
        if cr < index { cr = next(0x0D, from: index) }
        if lf < index { lf = next(0x0A, from: index) }
        let end = min(cr, lf)
        if end > index {
          afterCR = false
          // A line too long is refused when it ends: a NUL further on in it is named first, as
          // `SuppliedMessage` names it.
          lineLength += end - index
        }
        if end == bytes.count { break }
        if bytes[end] == 0x0A && afterCR && end == index {
          // The LF of a CRLF whose CR ended the line already.
          afterCR = false
        } else {
          if lineLength > 998 { throw tooLong() }
          line += 1
          lineLength = 0
          afterCR = bytes[end] == 0x0D
        }
        index = end + 1
      }
    }
  }
}
