/// SASL encodings for the mechanisms Sealpost offers (RFC 4954, RFC 4616) and base64 (RFC 4648 §4).
public enum SASL {
  /// The PLAIN initial response `base64("" NUL user NUL password)` with an empty authorization identity
  /// (RFC 4616 §2). NUL in the user name or password cannot be encoded and is refused.
  public static func plainInitialResponse(user: String, password: Secret) throws(SMTPCommandError) -> Secret {
    try checkCredentials(user: user, password: password)
    return Secret(base64([0] + Array(user.utf8) + [0] + password.bytes))
  }

  /// The two LOGIN responses, `base64(user)` and `base64(password)` (draft-murchison-sasl-login-00).
  public static func loginResponses(
    user: String, password: Secret
  ) throws(SMTPCommandError) -> (user: Secret, password: Secret) {
    try checkCredentials(user: user, password: password)
    return (Secret(base64(Array(user.utf8))), Secret(base64(password.bytes)))
  }

  /// The most octets a user name and password may hold together: `AUTH PLAIN ` and the base64 of
  /// `NUL user NUL password` must fit the 12,288-octet AUTH line of RFC 4954 §4, CRLF included.
  public static let maximumCredentialOctets =
    (SMTPCommand.maximumAuthLineOctets - "AUTH PLAIN \r\n".utf8.count) / 4 * 3 - 2

  /// Refuses NUL in a user name or password, and credentials too long for any AUTH line (DESIGN §4: exit 65);
  /// the error never quotes them, nor any part of them.
  public static func checkCredentials(user: String, password: Secret) throws(SMTPCommandError) {
    if user.utf8.contains(0) { throw SMTPCommandError("the user name contains NUL") }
    if password.bytes.contains(0) { throw SMTPCommandError("the password contains NUL") }
    let limit = maximumCredentialOctets
    if user.utf8.count > limit {
      throw SMTPCommandError(
        "the user name is too long: at most \(limit) octets fit an AUTH line (RFC 4954 §4)")
    }
    if user.utf8.count + password.bytes.count > limit {
      throw SMTPCommandError(
        "the password is too long: with the user name it may hold at most \(limit) octets "
          + "(\(limit - user.utf8.count) for the password), to fit an AUTH line (RFC 4954 §4)")
    }
  }

  private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

  /// Base64 with padding (RFC 4648 §4).
  public static func base64(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var index = 0
    while index + 3 <= bytes.count {
      let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
      out += [18, 12, 6, 0].map { alphabet[Int(value >> $0 & 0x3F)] }
      index += 3
    }
    switch bytes.count - index {
    case 1:
      let value = UInt32(bytes[index]) << 16
      out += [alphabet[Int(value >> 18 & 0x3F)], alphabet[Int(value >> 12 & 0x3F)], 0x3D, 0x3D]
    case 2:
      let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
      out += [
        alphabet[Int(value >> 18 & 0x3F)], alphabet[Int(value >> 12 & 0x3F)],
        alphabet[Int(value >> 6 & 0x3F)],
        0x3D,
      ]
    default:
      break
    }
    return out
  }

  /// Strict base64 decoding (RFC 4648 §4): padded to a multiple of 4, no whitespace, zero pad bits (§3.5).
  /// `nil` when `text` is not canonical base64.
  public static func base64Decode(_ text: some Collection<UInt8>) -> [UInt8]? {
    let text = Array(text)
    guard text.count % 4 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(text.count / 4 * 3)
    var index = 0
    while index < text.count {
      let isLast = index + 4 == text.count
      var values: [UInt32] = []
      var padding = 0
      for (offset, byte) in text[index..<(index + 4)].enumerated() {
        if byte == UInt8(ascii: "=") {
          // Padding only in the last quantum, only in its last two places, and only trailing.
          guard isLast, offset >= 2 else { return nil }
          padding += 1
          values.append(0)
        } else {
          guard padding == 0, let value = sextet(byte) else { return nil }
          values.append(value)
        }
      }
      let value = values[0] << 18 | values[1] << 12 | values[2] << 6 | values[3]
      let decoded = [UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
      // Non-zero bits under the padding make the encoding non-canonical.
      if padding == 2 && value & 0xFFFF != 0 { return nil }
      if padding == 1 && value & 0xFF != 0 { return nil }
      out += decoded.prefix(3 - padding)
      index += 4
    }
    return out
  }

  private static func sextet(_ byte: UInt8) -> UInt32? {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(byte - UInt8(ascii: "A"))
    case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(byte - UInt8(ascii: "a")) + 26
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0")) + 52
    case UInt8(ascii: "+"): return 62
    case UInt8(ascii: "/"): return 63
    default: return nil
    }
  }
}
