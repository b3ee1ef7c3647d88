/// Makes user input safe to quote in an error message (DESIGN §3.6 rules, applied to our own input too):
/// everything ``isHidden(_:)`` names is shown as `\u{XXXX}`, so an error naming a hostile address cannot move
/// the cursor, reorder a terminal line or hide part of itself.
public enum DisplayText {
  public static func escaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
      if isHidden(scalar) {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        out += "\\u{" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "}"
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  /// Controls and bidi controls: refused in display names, header values and subjects (DESIGN §3.8).
  static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    return isControl(scalar) || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
  }

  /// What must never reach a terminal raw (DESIGN §3.6, widened by issue 7): C0/C1 controls and DEL; every
  /// format character (Unicode category Cf: the bidi controls and marks U+200E, U+200F, U+061C, U+202A–202E,
  /// U+2066–2069, zero-width U+200B–200D, U+2060–2064, U+FEFF, the soft hyphen U+00AD, U+180E, tags…); the
  /// line and paragraph separators U+2028, U+2029; and the other default-ignorable code points, which
  /// terminals draw as nothing (Hangul fillers, variation selectors, U+034F). Ordinary text, accents, CJK and
  /// emoji stay as they are.
  public static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
    if isControl(scalar) { return true }
    if scalar.isASCII { return false }
    switch scalar.properties.generalCategory {
    case .format, .lineSeparator, .paragraphSeparator: return true
    default: return scalar.properties.isDefaultIgnorableCodePoint
    }
  }

  /// C0, DEL or C1.
  static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    return value < 0x20 || value == 0x7F || (0x80...0x9F).contains(value)
  }

  /// A human name for a control character in an error message.
  static func describeControl(_ scalar: Unicode.Scalar) -> String {
    let digits = String(scalar.value, radix: 16, uppercase: true)
    let code = "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    switch scalar.value {
    case 0x0D: return "a carriage return (\(code))"
    case 0x0A: return "a line feed (\(code))"
    case 0x00: return "a NUL (\(code))"
    case 0x09: return "a tab (\(code))"
    case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: return "a bidirectional control (\(code))"
    case 0x2028: return "a line separator (\(code))"
    case 0x2029: return "a paragraph separator (\(code))"
    default:
      if isControl(scalar) { return "a control character (\(code))" }
      if scalar.properties.generalCategory == .spaceSeparator { return "a space character (\(code))" }
      return "an invisible character (\(code))"
    }
  }
}
