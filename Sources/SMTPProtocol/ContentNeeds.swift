/// What a message needs from the server, found by a pass over it (DESIGN §2: the core derives it, never the
/// caller).
public struct ContentNeeds: Sendable, Hashable {
  /// 8-bit octets in the body: `BODY=8BITMIME` (RFC 6152).
  public var eightBitMIME: Bool
  /// 8-bit octets in the header section: UTF-8 headers (RFC 6532), `SMTPUTF8` (RFC 6531).
  public var smtpUTF8: Bool
  /// The size in octets, for `SIZE=` and the server's limit (RFC 1870).
  public var size: Int

  public init(eightBitMIME: Bool, smtpUTF8: Bool, size: Int) {
    self.eightBitMIME = eightBitMIME
    self.smtpUTF8 = smtpUTF8
    self.size = size
  }
}
