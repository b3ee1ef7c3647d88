import MailMessage

/// Bytes that came from a peer (reply text, certificate fields) and must never reach a terminal raw.
///
/// DESIGN §3.6: C0/C1 controls, DEL, the Unicode bidi controls (U+202A–202E, U+2066–2069) and, since issue 7,
/// every other invisible or format character (U+200B–200F, U+061C, U+2028, U+2029, U+FEFF, U+00AD…; see
/// `DisplayText.isHidden`) are shown as `\u{XXXX}`; bytes that are not valid UTF-8 are shown as `\xNN`. A
/// backslash stays a backslash: the escapes are for display only and are never parsed back.
public struct UntrustedText: Sendable, Hashable, CustomStringConvertible {
  /// The bytes exactly as received.
  public let bytes: [UInt8]

  public init(_ bytes: [UInt8]) { self.bytes = bytes }
  public init(_ string: String) { self.bytes = Array(string.utf8) }

  /// The text with every unsafe scalar and invalid byte escaped; safe to print to a terminal.
  public var escaped: String { Self.escape(bytes) }

  public var description: String { escaped }

  /// Escapes `bytes` per DESIGN §3.6.
  public static func escape<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    // Printable ASCII is shown as it is: the common case, without decoding scalar by scalar.
    if bytes.allSatisfy({ (0x20...0x7E).contains($0) }) { return String(decoding: bytes, as: UTF8.self) }
    var out = ""
    out.reserveCapacity(bytes.count)
    // Decode scalar by scalar; an invalid sequence yields its bytes one by one as \xNN.
    let buffer = Array(bytes)
    var index = 0
    while index < buffer.count {
      let lead = buffer[index]
      let length: Int
      switch lead {
      case 0x00...0x7F: length = 1
      case 0xC2...0xDF: length = 2
      case 0xE0...0xEF: length = 3
      case 0xF0...0xF4: length = 4
      default: length = 0
      }
      guard length > 0, index + length <= buffer.count,
        let scalar = decodeScalar(buffer[index..<(index + length)])
      else {
        out += hexByte(lead)
        index += 1
        continue
      }
      appendScalar(scalar, to: &out)
      index += length
    }
    return out
  }

  private static func decodeScalar(_ slice: ArraySlice<UInt8>) -> Unicode.Scalar? {
    var decoder = UTF8()
    var it = slice.makeIterator()
    switch decoder.decode(&it) {
    case .scalarValue(let scalar):
      // Reject overlong or otherwise non-canonical encodings: the re-encoded length must match.
      return scalar.utf8.count == slice.count ? scalar : nil
    case .emptyInput, .error:
      return nil
    }
  }

  private static func appendScalar(_ scalar: Unicode.Scalar, to out: inout String) {
    if DisplayText.isHidden(scalar) {
      out += "\\u{" + hex(scalar.value, width: 4) + "}"
    } else {
      out.unicodeScalars.append(scalar)
    }
  }

  private static func hexByte(_ byte: UInt8) -> String { "\\x" + hex(UInt32(byte), width: 2) }

  private static func hex(_ value: UInt32, width: Int) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
  }
}
