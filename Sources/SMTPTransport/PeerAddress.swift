import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// A numeric socket address: the peer or the local end of a connection.
///
/// `isLoopback` is decided by the address, never by a name (DESIGN §3.4): 127.0.0.0/8, ::1 and
/// ::ffff:127.0.0.0/104.
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
  /// Numeric form without brackets: "127.0.0.1", "::1".
  public var host: String
  public var port: UInt16
  public var isIPv6: Bool
  public var isLoopback: Bool

  public init(host: String, port: UInt16, isIPv6: Bool, isLoopback: Bool) {
    self.host = host
    self.port = port
    self.isIPv6 = isIPv6
    self.isLoopback = isLoopback
  }

  /// Parses a numeric IPv4 or IPv6 address (no brackets, no zone); nil for anything else, names included.
  public init?(numericHost: String, port: UInt16) {
    if let bytes = IPAddressParser.ipv4(numericHost) {
      self.init(ipv4: bytes, port: port)
    } else if let bytes = IPAddressParser.ipv6(numericHost) {
      self.init(ipv6: bytes, port: port)
    } else {
      return nil
    }
  }

  init(ipv4 bytes: [UInt8], port: UInt16) {
    self.init(
      host: IPAddressParser.format(bytes) ?? "", port: port, isIPv6: false,
      isLoopback: LoopbackRange.contains(ipv4: bytes))
  }

  init(ipv6 bytes: [UInt8], port: UInt16) {
    self.init(
      host: IPAddressParser.format(bytes) ?? "", port: port, isIPv6: true,
      isLoopback: LoopbackRange.contains(ipv6: bytes))
  }

  /// "127.0.0.1:2525", "[::1]:2525".
  public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

  /// The EHLO address literal (RFC 5321 §4.1.3): "[127.0.0.1]", "[IPv6:::1]".
  public var addressLiteral: String { isIPv6 ? "[IPv6:\(host)]" : "[\(host)]" }
}

/// Numeric address parsing and formatting with inet_pton/inet_ntop.
enum IPAddressParser {
  static func ipv4(_ text: String) -> [UInt8]? {
    var address = in_addr()
    guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
    return withUnsafeBytes(of: &address) { Array($0) }
  }

  static func ipv6(_ text: String) -> [UInt8]? {
    var address = in6_addr()
    guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
    return withUnsafeBytes(of: &address) { Array($0) }
  }

  /// True for a numeric IPv4 or IPv6 literal (which gets no SNI and is checked against IP SANs).
  static func isLiteral(_ text: String) -> Bool { ipv4(text) != nil || ipv6(text) != nil }

  /// 4 or 16 address bytes in numeric form; nil for any other length.
  static func format(_ bytes: [UInt8]) -> String? {
    let family: Int32
    switch bytes.count {
    case 4: family = AF_INET
    case 16: family = AF_INET6
    default: return nil
    }
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    let ok = bytes.withUnsafeBytes { raw in
      inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
    }
    guard ok else { return nil }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The peer address of a sockaddr (AF_INET or AF_INET6).
  static func peerAddress(_ storage: sockaddr_storage) -> PeerAddress? {
    var storage = storage
    switch Int32(storage.ss_family) {
    case AF_INET:
      return withUnsafeBytes(of: &storage) { raw in
        let sin = raw.loadUnaligned(as: sockaddr_in.self)
        var address = sin.sin_addr
        let bytes = withUnsafeBytes(of: &address) { Array($0) }
        return PeerAddress(ipv4: bytes, port: UInt16(bigEndian: sin.sin_port))
      }
    case AF_INET6:
      return withUnsafeBytes(of: &storage) { raw in
        let sin6 = raw.loadUnaligned(as: sockaddr_in6.self)
        var address = sin6.sin6_addr
        let bytes = withUnsafeBytes(of: &address) { Array($0) }
        return PeerAddress(ipv6: bytes, port: UInt16(bigEndian: sin6.sin6_port))
      }
    default:
      return nil
    }
  }
}
