import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// Whether a host as written is loopback without asking DNS: `localhost` or a numeric loopback address. Only an
/// early, clear refusal uses this; the core decides by the connected address (DESIGN §3.4).
public enum Loopback {
  public static func isLoopbackName(_ host: String) -> Bool {
    var name = host.lowercased()
    if name.hasSuffix(".") { name.removeLast() }
    if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
    if name == "localhost" { return true }
    var v4 = in_addr()
    if inet_pton(AF_INET, name, &v4) == 1 {
      return LoopbackRange.contains(ipv4: withUnsafeBytes(of: &v4) { Array($0) })
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, name, &v6) == 1 {
      return LoopbackRange.contains(ipv6: withUnsafeBytes(of: &v6) { Array($0) })
    }
    return false
  }
}
