import FoundationEssentials

/// Punycode (RFC 3492): a label of Unicode scalars as the letters, digits and hyphens a DNS label holds.
enum Punycode {
  // RFC 3492 §5: the parameter values for Punycode.
  private static let base = 36
  private static let tMin = 1
  private static let tMax = 26
  private static let skew = 38
  private static let damp = 700
  private static let initialBias = 72
  private static let initialN = 0x80

  /// The encoded label without the `xn--` prefix (RFC 3492 §6.3), or nil when it would overflow (a label far
  /// longer than any domain holds). Basic code points are copied as they are, case included; the digits are
  /// written in lowercase (no mixed-case annotation, §A).
  static func encode(_ input: [Unicode.Scalar]) -> String? {
    let values = input.map { Int($0.value) }
    var output: [UInt8] = values.filter { $0 < 0x80 }.map { UInt8($0) }
    let basicCount = output.count
    var handled = basicCount
    if basicCount > 0 { output.append(UInt8(ascii: "-")) }
    var n = initialN
    var delta = 0
    var bias = initialBias
    while handled < values.count {
      // The smallest code point not handled yet.
      guard let next = values.filter({ $0 >= n }).min() else { return nil }
      let (step, overflow) = (next - n).multipliedReportingOverflow(by: handled + 1)
      guard !overflow, delta <= Int(Int32.max) - step else { return nil }
      delta += step
      n = next
      for value in values {
        if value < n {
          delta += 1
          guard delta <= Int(Int32.max) else { return nil }
        }
        if value == n {
          var q = delta
          var k = base
          while true {
            let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
            if q < t { break }
            output.append(digit(t + (q - t) % (base - t)))
            q = (q - t) / (base - t)
            k += base
          }
          output.append(digit(q))
          bias = adapt(delta: delta, count: handled + 1, first: handled == basicCount)
          delta = 0
          handled += 1
        }
      }
      delta += 1
      n += 1
    }
    return String(decoding: output, as: UTF8.self)
  }

  /// RFC 3492 §5: 0–25 are a–z, 26–35 are 0–9.
  private static func digit(_ value: Int) -> UInt8 {
    value < 26 ? UInt8(ascii: "a") + UInt8(value) : UInt8(ascii: "0") + UInt8(value - 26)
  }

  /// RFC 3492 §6.1.
  private static func adapt(delta: Int, count: Int, first: Bool) -> Int {
    var delta = first ? delta / damp : delta / 2
    delta += delta / count
    var k = 0
    while delta > ((base - tMin) * tMax) / 2 {
      delta /= base - tMin
      k += base
    }
    return k + (base - tMin + 1) * delta / (delta + skew)
  }
}

/// Internationalised domain names for servers without SMTPUTF8: each label that is not ASCII becomes an
/// A-label (`xn--` and its Punycode, RFC 5890 §2.3.2.1, RFC 5891 §4.4).
public enum IDNA {
  /// The domain with every non-ASCII label as an A-label; ASCII labels and address literals unchanged.
  ///
  /// A label is put in Normalization Form C and lowercased first (RFC 5891 §5.2 asks for NFC; the lowercase
  /// mapping is the one UTS #46 and every browser apply, since a U-label is never upper case). A label whose
  /// A-label would pass 63 octets, or a domain that would pass 253, is refused.
  public static func asciiDomain(_ domain: String) throws(MessageError) -> String {
    if domain.unicodeScalars.allSatisfy(\.isASCII) || domain.hasPrefix("[") { return domain }
    func failure(_ reason: String) -> MessageError {
      MessageError(.invalidData, "the domain \"\(DisplayText.escaped(domain))\" \(reason)")
    }
    // RFC 3490 §3.1: the ideographic and fullwidth full stops separate labels as '.' does (an IME types them;
    // red team: "例え。テスト" became the one label "xn--…" of a domain that does not exist).
    let separators: Set<Unicode.Scalar> = [".", "\u{3002}", "\u{FF0E}", "\u{FF61}"]
    var labels: [String] = []
    for scalars in domain.unicodeScalars.split(
      omittingEmptySubsequences: false, whereSeparator: separators.contains)
    {
      let label = String(String.UnicodeScalarView(scalars))
      if label.isEmpty { throw failure("has an empty label (a leading, trailing or double full stop)") }
      if label.unicodeScalars.allSatisfy(\.isASCII) {
        labels.append(label)
        continue
      }
      // Normalization Form C (RFC 5891 §5.2), from the standard library's own Unicode tables: Foundation's
      // `precomposedStringWithCanonicalMapping` would link classic Foundation, and ICU with it, for this alone.
      let mapped = String(decoding: label.lowercased()._nfcCodeUnits, as: UTF8.self)
      guard let encoded = Punycode.encode(Array(mapped.unicodeScalars)) else {
        throw failure("has a label too long for a domain name")
      }
      let aLabel = "xn--" + encoded
      // RFC 5890 §2.3.2.1, RFC 1035 §2.3.4.
      if aLabel.utf8.count > 63 {
        throw failure("has a label that is \(aLabel.utf8.count) octets long as an A-label (the limit is 63)")
      }
      labels.append(aLabel)
    }
    let joined = labels.joined(separator: ".")
    if joined.utf8.count > 253 {
      throw failure("is \(joined.utf8.count) octets long in ASCII form (the limit is 253)")
    }
    return joined
  }

  /// The address with its domain as A-labels; the local part unchanged.
  public static func asciiAddress(_ address: String) throws(MessageError) -> String {
    guard let at = address.lastIndex(of: "@") else { return address }
    let local = address[..<at]
    let domain = String(address[address.index(after: at)...])
    return local + "@" + (try asciiDomain(domain))
  }
}
