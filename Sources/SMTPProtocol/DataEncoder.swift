#if canImport(Glibc)
  import Glibc
#endif

/// Streams message content into the DATA wire form (RFC 5321 §4.5.2, §2.3.8; DESIGN §3.8).
///
/// Every bare CR and every bare LF becomes CRLF, CRLF stays CRLF, and a line starting with "." gets another
/// "." in front. Works across chunk boundaries: a CR at the end of a chunk is held until the next byte shows
/// whether it starts a CRLF, and whether the next byte starts a line is carried over too. Nothing else is ever
/// changed.
///
/// For BDAT (`.chunked`, RFC 3030 §2) the content is counted, not terminated: line endings are normalised the
/// same way (a last line without one still gets CRLF), but there is no dot-stuffing and no final ".".
///
/// Works on buffers: the next CR or LF is found with `memchr` and the run before it copied whole, so the cost
/// per octet is that of a copy (issue 10: the send path runs at the speed of `curl`).
///
/// States: `atLineStart` (the next content byte starts a line), `heldCR` (a CR whose LF may follow), and
/// `finished` (after `finish(into:)`; encoding more is a programmer error).
public struct DataEncoder: Sendable {
  /// How the end of the content is marked.
  public enum Framing: Sendable, Hashable {
    /// DATA: dot-stuffing, and ".\r\n" at the end (RFC 5321 §4.5.2).
    case dotTerminated
    /// BDAT: each chunk says its size, so the content goes as it is, line endings aside (RFC 3030 §2).
    case chunked
  }

  /// How the end of the content is marked.
  public let framing: Framing
  private var atLineStart = true
  private var heldCR = false
  private var finished = false

  /// Lines of content as sent (each ends with CRLF; the final ".\r\n" is not counted).
  public private(set) var lineCount = 0
  /// Octets of content as sent, line endings and dot-stuffing included, the final ".\r\n" not.
  public private(set) var byteCount = 0

  /// An encoder at the start of the content.
  public init(framing: Framing = .dotTerminated) {
    self.framing = framing
  }

  /// The most octets `encode(_:into:)` writes for `count` octets of input: every octet a bare line end (CRLF
  /// for each), plus a CR held from the chunk before that becomes CRLF.
  public static func maximumEncodedCount(_ count: Int) -> Int { 2 * count + 2 }

  /// The most octets `finish(into:)` writes: a last line end and ".\r\n".
  public static let maximumFinishCount = 5

  /// Appends the wire form of `chunk` to `output`.
  public mutating func encode(_ chunk: some Collection<UInt8>, into output: inout [UInt8]) {
    if let done = chunk.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0), to: &output) }
    ) {
      return done
    }
    let copy = Array(chunk)
    copy.withUnsafeBytes { append($0, to: &output) }
  }

  private mutating func append(_ input: UnsafeRawBufferPointer, to output: inout [UInt8]) {
    let start = output.count
    let room = Self.maximumEncodedCount(input.count)
    output.append(contentsOf: repeatElement(0, count: room))
    let written = output.withUnsafeMutableBytes { buffer in
      encode(input, into: UnsafeMutableRawBufferPointer(rebasing: buffer[start...]))
    }
    output.removeLast(room - written)
  }

  /// Writes the wire form of `input` at the start of `output` and returns how many octets it wrote. `output`
  /// must hold at least `maximumEncodedCount(input.count)` octets (a programmer error otherwise).
  public mutating func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer)
    -> Int
  {
    precondition(!finished, "DataEncoder used after finish(into:)")
    precondition(output.count >= Self.maximumEncodedCount(input.count), "DataEncoder output buffer too small")
    guard let source = input.baseAddress, input.count > 0 else { return 0 }
    guard let target = output.baseAddress else {
      preconditionFailure("DataEncoder output buffer has no storage")
    }
    let count = input.count
    let stuffs = framing == .dotTerminated
    var index = 0
    var written = 0
    var lines = 0

    func endLine() {
      target.storeBytes(of: 0x0D, toByteOffset: written, as: UInt8.self)
      target.storeBytes(of: 0x0A, toByteOffset: written + 1, as: UInt8.self)
      written += 2
      lines += 1
    }

    if heldCR {
      heldCR = false
      endLine()
      atLineStart = true
      if source.load(as: UInt8.self) == 0x0A { index = 1 }
    }
    // The next CR and the next LF at or after `index` (`count` when there is none), found once and reused
    // until passed.
    var nextCR = -1
    var nextLF = -1
    while index < count {
      if nextCR < index {
        nextCR = memchr(source + index, 0x0D, count - index).map { source.distance(to: $0) } ?? count
      }
      if nextLF < index {
        nextLF = memchr(source + index, 0x0A, count - index).map { source.distance(to: $0) } ?? count
      }
      let end = min(nextCR, nextLF)
      if end > index {
        if atLineStart && stuffs && source.load(fromByteOffset: index, as: UInt8.self) == UInt8(ascii: ".") {
          target.storeBytes(of: UInt8(ascii: "."), toByteOffset: written, as: UInt8.self)
          written += 1
        }
        (target + written).copyMemory(from: source + index, byteCount: end - index)
        written += end - index
        atLineStart = false
      }
      if end == count { break }
      if end == nextCR {
        if end + 1 == count {
          // The LF that may complete this CRLF is in the next chunk.
          heldCR = true
          index = count
          break
        }
        endLine()
        index = end + (nextLF == end + 1 ? 2 : 1)
      } else {
        endLine()
        index = end + 1
      }
      atLineStart = true
    }
    lineCount += lines
    byteCount += written
    return written
  }

  /// Ends the content: a held CR becomes CRLF, a last line without a line ending gets CRLF, then (for DATA) the
  /// end of data indicator ".\r\n" (RFC 5321 §4.1.1.4).
  public mutating func finish(into output: inout [UInt8]) {
    precondition(!finished, "DataEncoder finished twice")
    if heldCR || !atLineStart {
      heldCR = false
      atLineStart = true
      output += [0x0D, 0x0A]
      lineCount += 1
      byteCount += 2
    }
    if framing == .dotTerminated { output += [UInt8(ascii: "."), 0x0D, 0x0A] }
    finished = true
  }
}
