/// Streams message content into the DATA wire form (RFC 5321 §4.5.2, §2.3.8; DESIGN §3.8).
///
/// Every bare CR and every bare LF becomes CRLF, CRLF stays CRLF, and a line starting with "." gets another
/// "." in front. Works across chunk boundaries: a CR at the end of a chunk is held until the next byte shows
/// whether it starts a CRLF. Nothing else is ever changed.
///
/// For BDAT (`.chunked`, RFC 3030 §2) the content is counted, not terminated: line endings are normalised the
/// same way (a last line without one still gets CRLF), but there is no dot-stuffing and no final ".".
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

  /// Appends the wire form of `chunk` to `output`.
  public mutating func encode(_ chunk: some Collection<UInt8>, into output: inout [UInt8]) {
    precondition(!finished, "DataEncoder used after finish(into:)")
    let start = output.count
    output.reserveCapacity(output.count + chunk.count + chunk.count / 16 + 4)
    for byte in chunk {
      if heldCR {
        heldCR = false
        endLine(into: &output)
        if byte == 0x0A { continue }
      }
      switch byte {
      case 0x0D:
        heldCR = true
      case 0x0A:
        endLine(into: &output)
      default:
        if atLineStart && byte == UInt8(ascii: ".") && framing == .dotTerminated {
          output.append(UInt8(ascii: "."))
        }
        output.append(byte)
        atLineStart = false
      }
    }
    byteCount += output.count - start
  }

  /// Ends the content: a held CR becomes CRLF, a last line without a line ending gets CRLF, then (for DATA) the
  /// end of data indicator ".\r\n" (RFC 5321 §4.1.1.4).
  public mutating func finish(into output: inout [UInt8]) {
    precondition(!finished, "DataEncoder finished twice")
    let start = output.count
    if heldCR || !atLineStart {
      heldCR = false
      endLine(into: &output)
    }
    byteCount += output.count - start
    if framing == .dotTerminated { output += [UInt8(ascii: "."), 0x0D, 0x0A] }
    finished = true
  }

  private mutating func endLine(into output: inout [UInt8]) {
    output += [0x0D, 0x0A]
    atLineStart = true
    lineCount += 1
  }
}
