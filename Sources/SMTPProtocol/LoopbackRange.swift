/// The loopback ranges of DESIGN §3.4, decided by the address bytes: 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104.
/// The one definition both the early refusal of an account (by a literal host) and the core (by the connected
/// peer's address) use.
public enum LoopbackRange {
  /// `bytes`: the 4 bytes of an IPv4 address.
  public static func contains(ipv4 bytes: [UInt8]) -> Bool { bytes.count == 4 && bytes[0] == 127 }

  /// `bytes`: the 16 bytes of an IPv6 address.
  public static func contains(ipv6 bytes: [UInt8]) -> Bool {
    guard bytes.count == 16 else { return false }
    let isOne = bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
    let isMapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
    return isOne || (isMapped && contains(ipv4: Array(bytes[12..<16])))
  }
}
