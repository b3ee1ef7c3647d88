import FoundationEssentials

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

  /// Base64 with padding (RFC 4648 §4), by Foundation.
  public static func base64(_ bytes: [UInt8]) -> [UInt8] { Array(Data(bytes).base64EncodedData()) }

  /// Strict base64 decoding (RFC 4648 §4): padded to a multiple of 4, no whitespace, zero pad bits (§3.5).
  /// `nil` when `text` is not canonical base64: Foundation decodes, and encoding the result again must give the
  /// text back.
  public static func base64Decode(_ text: some Collection<UInt8>) -> [UInt8]? {
    let text = Array(text)
    guard let data = Data(base64Encoded: Data(text)) else { return nil }
    let bytes = [UInt8](data)
    return base64(bytes) == text ? bytes : nil
  }
}
