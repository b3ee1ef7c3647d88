/// `sha256/BASE64`, the pin of a leaf key's SubjectPublicKeyInfo (DESIGN §3.2), as the command line and the
/// config file write it. One parser for both.
public enum PinText {
  public enum Problem: Error, Sendable, Hashable {
    /// `sha1/…` or `md5/…`: refused, never accepted as a pin.
    case weakHash
    /// Not `sha256/` followed by the canonical base64 of 32 bytes.
    case malformed
  }

  /// The 32 bytes of the SHA-256, or why `text` is not a pin.
  public static func spkiSHA256(_ text: String) -> Result<[UInt8], Problem> {
    let lower = text.lowercased()
    if lower.hasPrefix("sha1/") || lower.hasPrefix("md5/") { return .failure(.weakHash) }
    guard lower.hasPrefix("sha256/"),
      let bytes = SASL.base64Decode(Array(text.utf8.dropFirst("sha256/".count))), bytes.count == 32
    else { return .failure(.malformed) }
    return .success(bytes)
  }
}
