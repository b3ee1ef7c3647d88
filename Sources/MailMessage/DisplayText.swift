/// Makes user input safe to quote in an error message (DESIGN §3.6 rules, applied to our own input too):
/// C0/C1 controls, DEL and the Unicode bidi controls are shown as `\u{XXXX}`, so an error naming a
/// hostile address cannot move the cursor or reorder a terminal line.
enum DisplayText {
  static func escaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
      if isUnsafe(scalar) {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        out += "\\u{" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "}"
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    return isControl(scalar) || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
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
    case 0x202A...0x202E, 0x2066...0x2069: return "a bidirectional control (\(code))"
    default: return "a control character (\(code))"
    }
  }
}
