/// The service extensions a server lists in its EHLO reply (RFC 5321 §4.1.1.1, §2.2.2).
///
/// The first line of the reply is the greeting (server domain); every further line is
/// `ehlo-keyword *(SP ehlo-param)`. Keywords are case-insensitive and stored uppercased. Lines whose keyword is
/// not `ALPHA/DIGIT *(ALPHA/DIGIT/"-")` are ignored. The obsolete `AUTH=MECH …` form is merged into `AUTH`.
public struct Capabilities: Sendable, Hashable {
  /// Uppercased keyword → its parameters as sent (parameters of a repeated keyword are appended; `AUTH`
  /// parameters are uppercased and deduplicated).
  public var keywords: [String: [String]]
  /// The first text of the EHLO reply, usually the server's domain; `nil` after HELO.
  public var greeting: UntrustedText?

  /// Capabilities with the given keywords (uppercased keyword → parameters).
  public init(keywords: [String: [String]], greeting: UntrustedText? = nil) {
    self.keywords = keywords
    self.greeting = greeting
  }

  /// Parses a positive EHLO reply.
  public init(ehloReply: SMTPReply) {
    var keywords: [String: [String]] = [:]
    for text in ehloReply.texts.dropFirst() {
      let words = text.bytes.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
      guard var keywordBytes = words.first.map(Array.init) else { continue }
      var parameters = words.dropFirst().map { UntrustedText.escape($0) }
      // Pre-RFC 4954 servers (and some current ones) also send "AUTH=LOGIN PLAIN".
      if keywordBytes.count > 5, keywordBytes[..<5].map(asciiUppercased) == Array("AUTH=".utf8) {
        parameters.insert(UntrustedText.escape(keywordBytes[5...]), at: 0)
        keywordBytes = Array("AUTH".utf8)
      }
      guard Self.isKeyword(keywordBytes) else { continue }
      let keyword = String(decoding: keywordBytes.map(asciiUppercased), as: UTF8.self)
      if keyword == "AUTH" {
        var mechanisms = keywords[keyword] ?? []
        for mechanism in parameters.map({ $0.uppercased() }) where !mechanisms.contains(mechanism) {
          mechanisms.append(mechanism)
        }
        keywords[keyword] = mechanisms
      } else {
        keywords[keyword, default: []].append(contentsOf: parameters)
      }
    }
    self.init(keywords: keywords, greeting: ehloReply.texts.first)
  }

  /// After HELO: no extensions at all (RFC 5321 §4.1.1.1).
  public static let none = Capabilities(keywords: [:])

  /// Whether `keyword` (any case) was listed.
  public func has(_ keyword: String) -> Bool { keywords[keyword.uppercased()] != nil }

  /// RFC 3207.
  public var startTLS: Bool { has("STARTTLS") }
  /// RFC 2920.
  public var pipelining: Bool { has("PIPELINING") }
  /// RFC 6152.
  public var eightBitMIME: Bool { has("8BITMIME") }
  /// RFC 6531.
  public var smtpUTF8: Bool { has("SMTPUTF8") }
  /// RFC 2034.
  public var enhancedStatusCodes: Bool { has("ENHANCEDSTATUSCODES") }
  /// RFC 3461.
  public var dsn: Bool { has("DSN") }
  /// RFC 3030.
  public var chunking: Bool { has("CHUNKING") }
  /// RFC 8689.
  public var requireTLS: Bool { has("REQUIRETLS") }

  /// The SASL mechanisms of `AUTH` and `AUTH=`, uppercased, in server order without duplicates (RFC 4954 §3).
  public var authMechanisms: [String] { keywords["AUTH"] ?? [] }

  /// Whether the SIZE extension is listed at all, so `SIZE=n` may be sent with MAIL (RFC 1870 §6).
  public var sizeExtension: Bool { has("SIZE") }

  /// The fixed maximum message size of `SIZE n` (RFC 1870 §4).
  ///
  /// `nil` when SIZE is absent, has no parameter, is `0` ("no fixed maximum", RFC 1870 §4) or is not a
  /// decimal number that fits an `Int`: in each case there is no limit to check against.
  public var size: Int? {
    guard let parameter = keywords["SIZE"]?.first, !parameter.isEmpty,
      parameter.utf8.allSatisfy(isDigit), let value = Int(parameter), value > 0
    else { return nil }
    return value
  }

  private static func isKeyword(_ bytes: [UInt8]) -> Bool {
    guard let first = bytes.first, isAlphanumeric(first) else { return false }
    return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
  }
}

func isAlphanumeric(_ byte: UInt8) -> Bool {
  isDigit(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
}

func asciiUppercased(_ byte: UInt8) -> UInt8 {
  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 0x20 : byte
}
