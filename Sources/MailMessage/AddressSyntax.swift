#if canImport(Glibc)
  import Glibc
#endif

/// Syntax checks for the parts of an address (RFC 5321 §4.1.2, RFC 5322 §3.2.3/§3.4.1, RFC 6531 for UTF-8).
/// Each check returns the reason the text is refused, or nil when it is accepted.
enum AddressSyntax {
  /// RFC 5321 §4.5.3.1.1.
  static let maximumLocalPartOctets = 64
  /// RFC 5321 §4.5.3.1.3 (a path of 256 octets, less the angle brackets).
  static let maximumAddressOctets = 254

  /// RFC 5322 §3.2.3 atext, extended by RFC 6532 §3.2 with every non-ASCII scalar (controls are refused
  /// before this is asked).
  static func isAtext(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar {
    case "a"..."z", "A"..."Z", "0"..."9": return true
    case "!", "#", "$", "%", "&", "'", "*", "+", "-", "/", "=", "?", "^", "_", "`", "{", "|", "}", "~":
      return true
    default: return scalar.value >= 0x80
    }
  }

  /// Checks an addr-spec (`local@domain`, no angle brackets); returns the reason it is refused, or nil.
  static func problem(withAddress scalars: [Unicode.Scalar]) -> String? {
    if scalars.isEmpty { return "the address is empty" }
    if scalars.contains(where: { $0 == " " }) { return "an address cannot contain spaces" }
    // Issue 7: an invisible, format or separator character makes two addresses look the same
    // (`bob@exa\u{200B}mple.org`) or breaks a line where the reader sees none (U+2028).
    if let hidden = scalars.first(where: { DisplayText.isHidden($0) || isNonASCIISpace($0) }) {
      return "the address contains \(DisplayText.describeControl(hidden))"
    }
    // The local part ends at the first '@' outside a quoted string.
    let atIndex: Int
    if scalars.first == "\"" {
      guard let close = closingQuote(in: scalars, from: 1) else { return "unbalanced '\"' in the address" }
      guard close + 1 < scalars.count, scalars[close + 1] == "@" else {
        return "a quoted local part must be followed by '@'"
      }
      atIndex = close + 1
    } else {
      guard let index = scalars.firstIndex(of: "@") else { return "the address has no '@'" }
      atIndex = index
    }
    let local = Array(scalars[..<atIndex])
    let domain = Array(scalars[(atIndex + 1)...])
    if local.isEmpty { return "the local part (before '@') is empty" }
    if domain.isEmpty { return "the domain (after '@') is empty" }
    if domain.contains("@") && domain.first != "[" { return "the address has more than one '@'" }
    if let problem = problem(withLocalPart: local) { return problem }
    if let problem = problem(withDomain: domain) { return problem }
    if octets(local) > maximumLocalPartOctets {
      return "the local part is longer than \(maximumLocalPartOctets) octets"
    }
    if octets(scalars) > maximumAddressOctets {
      return "the address is longer than \(maximumAddressOctets) octets"
    }
    return nil
  }

  /// U+00A0, U+3000 and the other spaces beyond ASCII's (Unicode category Zs).
  static func isNonASCIISpace(_ scalar: Unicode.Scalar) -> Bool {
    !scalar.isASCII && scalar.properties.generalCategory == .spaceSeparator
  }

  static func octets(_ scalars: [Unicode.Scalar]) -> Int {
    scalars.reduce(0) { $0 + UTF8.width($1) }
  }

  /// Index of the '"' that closes a quoted string whose content starts at `start`, honouring quoted pairs.
  static func closingQuote(in scalars: [Unicode.Scalar], from start: Int) -> Int? {
    var index = start
    while index < scalars.count {
      switch scalars[index] {
      case "\\": index += 2
      case "\"": return index
      default: index += 1
      }
    }
    return nil
  }

  /// RFC 5321 Local-part: Dot-string or Quoted-string.
  static func problem(withLocalPart local: [Unicode.Scalar]) -> String? {
    if local.first == "\"" {
      guard local.count > 2, local.last == "\"" else { return "the quoted local part is empty or unbalanced" }
      var index = 1
      while index < local.count - 1 {
        let scalar = local[index]
        if scalar == "\\" {
          // quoted-pairSMTP: '\' followed by printable ASCII.
          guard index + 1 < local.count - 1, (0x20...0x7E).contains(local[index + 1].value) else {
            return "a '\\' in the quoted local part must escape a printable character"
          }
          index += 2
          continue
        }
        if scalar == "\"" { return "unbalanced '\"' in the local part" }
        index += 1
      }
      return nil
    }
    return problem(withDotAtom: local, part: "local part")
  }

  static func problem(withDotAtom scalars: [Unicode.Scalar], part: String) -> String? {
    let atoms = scalars.split(separator: ".", omittingEmptySubsequences: false)
    if atoms.contains(where: \.isEmpty) {
      return "the \(part) has an empty atom (a leading, trailing or double '.')"
    }
    if let bad = scalars.first(where: { $0 != "." && !isAtext($0) }) {
      return "the \(part) contains '\(bad)', which needs quoting or is not allowed"
    }
    return nil
  }

  /// RFC 5321 Domain (LDH labels; U-labels allowed for SMTPUTF8) or address-literal.
  static func problem(withDomain domain: [Unicode.Scalar]) -> String? {
    if domain.first == "[" {
      guard domain.last == "]", domain.count > 2 else { return "the address literal has no closing ']'" }
      let literal = String(String.UnicodeScalarView(domain[1..<(domain.count - 1)]))
      return isAddressLiteral(literal)
        ? nil : "the domain literal [\(literal)] is neither an IPv4 address nor IPv6:address"
    }
    let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
    for label in labels {
      if label.isEmpty { return "the domain has an empty label (a leading, trailing or double '.')" }
      if label.count > 63 { return "a domain label is longer than 63 characters" }
      if label.first == "-" || label.last == "-" { return "a domain label starts or ends with '-'" }
      for scalar in label {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-": continue
        default:
          if scalar.value >= 0x80 {
            switch scalar.properties.generalCategory {
            case .privateUse, .unassigned, .surrogate:
              let digits = String(scalar.value, radix: 16, uppercase: true)
              let code = "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
              return "the domain contains \(code), which is not a character a domain name holds"
            default: continue
            }
          }
          return "the domain contains '\(scalar)'; a domain is letters, digits, '-' and '.', or [address]"
        }
      }
    }
    return nil
  }

  /// RFC 5321 §4.1.3: IPv4-address-literal or IPv6-address-literal (general literals are refused).
  static func isAddressLiteral(_ literal: String) -> Bool {
    if literal.prefix(5).lowercased() == "ipv6:" {
      return isIPv6(String(literal.dropFirst(5)))
    }
    return isIPv4(literal)
  }

  static func isIPv4(_ text: String) -> Bool {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return false }
    return parts.allSatisfy { part in
      guard (1...3).contains(part.count), part.allSatisfy({ ("0"..."9").contains($0) }),
        let value = Int(part), value <= 255
      else { return false }
      return part.count == 1 || part.first != "0"
    }
  }

  static func isIPv6(_ text: String) -> Bool {
    guard !text.isEmpty, text.unicodeScalars.allSatisfy({ $0.isASCII && $0 != "%" }) else { return false }
    var storage = in6_addr()
    return inet_pton(AF_INET6, text, &storage) == 1
  }
}
