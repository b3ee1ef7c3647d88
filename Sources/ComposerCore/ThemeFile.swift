/// A theme file as written (DESIGN §7, after aerc's stylesets): one `role.attribute = value` a line, `#`
/// comment lines, blank lines.
///
/// - `role` is a ``ThemeRole`` name, optionally followed by `.selected` (the role under the cursor or picked);
///   `*` matches any run of characters, so `*.selected.reverse = true` applies to every selected form and
///   `transcript.*.bold = true` to every transcript role (and its selected form). Later lines win.
/// - Attributes: `fg`, `bg` (colours) and `bold`, `underline`, `reverse`, `dim` (`true`/`false`, or
///   `yes`/`no`, `on`/`off`).
/// - Colours: `default` (the terminal's own), `black`, `red`, `green`, `yellow`, `blue`, `magenta`, `cyan`,
///   `white`, their `bright-` forms (`bright-red`, also written `brightred`), `0`–`255`, or `#rrggbb`; mapped
///   down to what the terminal has when the theme is resolved (``Theme``).
/// - A role's unset attributes come from its parent (`status.error` from `status`), a selected form's from the
///   role itself.
///
/// Anything else is refused with `file:line` and the reason; a control character is named, never echoed.
public struct ThemeFile: Sendable, Hashable {
  public let name: String
  private var specs: [SpecKey: StyleSpec] = [:]

  /// The themes shipped in `themes/`.
  public static let shippedNames = ["default", "light", "high-contrast", "monochrome"]

  struct SpecKey: Hashable {
    var role: ThemeRole
    var selected: Bool
    var name: String { selected ? role.name + ".selected" : role.name }
  }

  static let allKeys: [SpecKey] = ThemeRole.allCases.flatMap {
    [SpecKey(role: $0, selected: false), SpecKey(role: $0, selected: true)]
  }

  enum Attribute: String, CaseIterable {
    case fg, bg, bold, underline, reverse, dim
  }

  /// Parses `text`, read from `file` (the name used in errors); `name` is the theme's name.
  public init(parsing text: String, name: String, file: String) throws(ThemeError) {
    self.name = name
    var lineNumber = 0
    // A byte order mark at the start (some editors write one) is not part of the first line.
    let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
    // "\r\n" is one Character: split on either, so a file with CRLF line ends reads as written.
    for rawLine in text.split(
      omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    {
      lineNumber += 1
      func fail(_ reason: String) -> ThemeError { ThemeError(file: file, line: lineNumber, reason: reason) }
      let line = Substring(rawLine)
      if let control = line.unicodeScalars.first(where: { DisplayWidth.isControl($0) && $0 != "\t" }) {
        throw fail("a control character (\(Self.codePoint(control))) is not allowed in a theme")
      }
      let trimmed = line.trimmingSpaces
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      guard let equals = trimmed.firstIndex(of: "=") else {
        throw fail("expected `role.attribute = value`, found no `=` in \(Self.quoted(trimmed))")
      }
      let key = trimmed[..<equals].trimmingSpaces
      let value = trimmed[trimmed.index(after: equals)...].trimmingSpaces
      guard let dot = key.lastIndex(of: ".") else {
        throw fail("expected `role.attribute`, found \(Self.quoted(key))")
      }
      let pattern = key[..<dot]
      let attributeName = key[key.index(after: dot)...]
      guard let attribute = Attribute(rawValue: String(attributeName)) else {
        throw fail(
          "unknown attribute \(Self.quoted(attributeName)) (known: "
            + Attribute.allCases.map(\.rawValue).joined(separator: ", ") + ")")
      }
      let keys: [SpecKey]
      if pattern.contains("*") {
        keys = Self.allKeys.filter { Self.glob(pattern, matches: $0.name) }
        guard !keys.isEmpty else { throw fail("the pattern \(Self.quoted(pattern)) matches no role") }
      } else {
        guard let match = Self.allKeys.first(where: { $0.name == pattern }) else {
          throw fail("unknown role \(Self.quoted(pattern))")
        }
        keys = [match]
      }
      guard !value.isEmpty else { throw fail("no value for \(Self.quoted(key))") }
      switch attribute {
      case .fg, .bg:
        guard let color = Self.color(value) else {
          throw fail(
            "\(Self.quoted(value)) is not a colour (a name such as red or bright-red, 0–255, or #rrggbb)")
        }
        for key in keys {
          if attribute == .fg {
            specs[key, default: StyleSpec()].foreground = color
          } else {
            specs[key, default: StyleSpec()].background = color
          }
        }
      case .bold, .underline, .reverse, .dim:
        guard let flag = Self.flag(value) else {
          throw fail("\(Self.quoted(value)) is not true or false")
        }
        for key in keys {
          switch attribute {
          case .bold: specs[key, default: StyleSpec()].bold = flag
          case .underline: specs[key, default: StyleSpec()].underline = flag
          case .reverse: specs[key, default: StyleSpec()].reverse = flag
          default: specs[key, default: StyleSpec()].dim = flag
          }
        }
      }
    }
  }

  func spec(_ role: ThemeRole, selected: Bool) -> StyleSpec {
    specs[SpecKey(role: role, selected: selected)] ?? StyleSpec()
  }

  static let colorNames: [String: UInt8] = [
    "black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6, "white": 7,
  ]

  /// Parses a colour value as a theme file writes it.
  public static func color(_ text: some StringProtocol) -> ThemeColor? {
    let value = text.lowercased()
    if value == "default" { return .default }
    if let index = colorNames[value] { return .index(index) }
    for prefix in ["bright-", "bright"] where value.hasPrefix(prefix) {
      if let index = colorNames[String(value.dropFirst(prefix.count))] { return .index(index + 8) }
    }
    if value.allSatisfy(\.isASCII), value.allSatisfy(\.isNumber), value.count <= 3, let index = UInt8(value) {
      return .index(index)
    }
    if value.hasPrefix("#"), value.count == 7 {
      let digits = Array(value.dropFirst())
      guard digits.allSatisfy(\.isHexDigit), digits.allSatisfy(\.isASCII) else { return nil }
      func component(_ offset: Int) -> UInt8? { UInt8(String(digits[offset..<(offset + 2)]), radix: 16) }
      guard let r = component(0), let g = component(2), let b = component(4) else { return nil }
      return .rgb(r, g, b)
    }
    return nil
  }

  static func flag(_ text: some StringProtocol) -> Bool? {
    switch text.lowercased() {
    case "true", "yes", "on": return true
    case "false", "no", "off": return false
    default: return nil
    }
  }

  /// `*` matches any run of characters (dots included); everything else matches itself.
  static func glob(_ pattern: some StringProtocol, matches name: String) -> Bool {
    let p = Array(pattern)
    let n = Array(name)
    var matches = [Bool](repeating: false, count: n.count + 1)
    matches[0] = true
    for character in p {
      var next = [Bool](repeating: false, count: n.count + 1)
      if character == "*" {
        var any = false
        for index in 0...n.count {
          any = any || matches[index]
          next[index] = any
        }
      } else {
        for index in 0..<n.count where matches[index] && n[index] == character { next[index + 1] = true }
      }
      matches = next
    }
    return matches[n.count]
  }

  /// Text from the file, quoted for an error: escaped (it has no controls by then, but bidi and the like are
  /// possible) and cut at 40 characters.
  static func quoted(_ text: some StringProtocol) -> String {
    let cut = text.count > 40 ? text.prefix(40) + "…" : Substring(text)
    return "`" + DisplayWidth.glyphs(of: cut).map(\.text).joined() + "`"
  }

  static func codePoint(_ scalar: Unicode.Scalar) -> String {
    let digits = String(scalar.value, radix: 16, uppercase: true)
    return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
  }
}

/// The attributes a theme sets for one role; nil is "not set here".
struct StyleSpec: Sendable, Hashable {
  var foreground: ThemeColor?
  var background: ThemeColor?
  var bold: Bool?
  var underline: Bool?
  var reverse: Bool?
  var dim: Bool?

  func applied(to base: Style, colors: ColorCapability, dropColors: Bool) -> Style {
    var style = base
    if let foreground { style.foreground = dropColors ? .default : foreground.mapped(to: colors) }
    if let background { style.background = dropColors ? .default : background.mapped(to: colors) }
    if let bold { style.bold = bold }
    if let underline { style.underline = underline }
    if let reverse { style.reverse = reverse }
    if let dim { style.dim = dim }
    return style
  }
}

/// A theme file that cannot be used: `file:line: reason`.
public struct ThemeError: Error, Sendable, Hashable, CustomStringConvertible {
  public let file: String
  public let line: Int
  public let reason: String

  public var description: String {
    DisplayWidth.glyphs(of: file).map(\.text).joined() + ":\(line): " + reason
  }
}

extension StringProtocol {
  /// Without leading and trailing spaces and tabs.
  var trimmingSpaces: Substring {
    let text = Substring(self)
    guard let first = text.firstIndex(where: { $0 != " " && $0 != "\t" }),
      let last = text.lastIndex(where: { $0 != " " && $0 != "\t" })
    else { return "" }
    return text[first...last]
  }
}
