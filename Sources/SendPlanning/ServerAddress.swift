import MailSender
import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// `HOST[:PORT]` as users write it, and the port/mode rules of DESIGN §4.
public struct ServerAddress: Sendable, Hashable {
  /// A DNS name, an IPv4 literal or an IPv6 literal (without brackets).
  public var host: String
  public var port: UInt16?

  public init(host: String, port: UInt16?) {
    self.host = host
    self.port = port
  }

  /// Parses `smtp.example.org`, `smtp.example.org:587`, `192.0.2.1:25`, `[::1]:2525`, `[::1]`, `::1`.
  public init(parsing text: String) throws(PlanningError) {
    func bad(_ why: String) -> PlanningError {
      PlanningError(.usage, "bad \(field: .server) \(UntrustedText(text).escaped): \(why)")
    }
    guard !text.isEmpty else { throw bad("empty") }
    if text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) {
      throw bad("spaces or control characters")
    }
    var host: Substring
    var portText: Substring?
    if text.hasPrefix("[") {
      guard let close = text.firstIndex(of: "]") else { throw bad("missing ]") }
      host = text[text.index(after: text.startIndex)..<close]
      let rest = text[text.index(after: close)...]
      if !rest.isEmpty {
        guard rest.hasPrefix(":") else { throw bad("expected :PORT after ]") }
        portText = rest.dropFirst()
      }
      guard host.contains(":") else { throw bad("brackets are for IPv6 literals") }
    } else if text.filter({ $0 == ":" }).count > 1 {
      // A bare IPv6 literal, or a mistake such as `127.0.0.1:2525:25` (issue 7: it was looked up as a name).
      guard Self.isIPv6(text) else {
        throw bad("expected HOST, HOST:PORT or [IPv6]:PORT (an IPv6 address with a port goes in brackets)")
      }
      host = text[...]
    } else if let colon = text.firstIndex(of: ":") {
      host = text[..<colon]
      portText = text[text.index(after: colon)...]
    } else {
      host = text[...]
    }
    guard !host.isEmpty else { throw bad("no host") }
    if !host.contains(":") {
      let allowed = host.unicodeScalars.allSatisfy {
        ($0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil))
          || $0 == "-" || $0 == "." || $0 == "_"
      }
      guard allowed else { throw bad("not a host name") }
    } else {
      guard Self.isIPv6(String(host)) else { throw bad("not an IPv6 address") }
    }
    self.host = String(host)
    if let portText {
      self.port = try Self.port(String(portText), context: text)
    } else {
      self.port = nil
    }
  }

  /// An IPv6 address as inet_pton(3) reads it (no zone index: `%` is not a host name character either).
  static func isIPv6(_ text: String) -> Bool {
    guard text.unicodeScalars.allSatisfy({ $0.isASCII && $0 != "%" }) else { return false }
    var storage = in6_addr()
    return inet_pton(AF_INET6, text, &storage) == 1
  }

  static func port(_ text: String, context: String) throws(PlanningError) -> UInt16 {
    guard let value = UInt16(text), value > 0 else {
      throw PlanningError(
        .usage,
        "bad port \(UntrustedText(text).escaped) in \(field: .server) \(UntrustedText(context).escaped)")
    }
    return value
  }

  /// DESIGN §4: no port and no mode → 465 implicit; a mode alone → its port; 465 → implicit, 587 and 25 →
  /// STARTTLS; any other port needs an explicit mode.
  public static func plan(port: UInt16?, security: TransportSecurity?) throws(PlanningError) -> (
    UInt16, TransportSecurity
  ) {
    switch (port, security) {
    case (nil, nil): return (465, .implicitTLS)
    case (nil, .implicitTLS?): return (465, .implicitTLS)
    case (nil, .startTLS?): return (587, .startTLS)
    case (nil, .plaintext?): return (25, .plaintext)
    case (let port?, let security?): return (port, security)
    case (465?, nil): return (465, .implicitTLS)
    case (587?, nil): return (587, .startTLS)
    case (25?, nil): return (25, .startTLS)
    case (let port?, nil):
      throw PlanningError(
        .usage, "port \(port) has no standard mode: say \(field: .tls) implicit, starttls or none")
    }
  }
}
