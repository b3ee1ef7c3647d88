/// A colour as a theme file writes it: by name or number (a palette index), or `#rrggbb`.
public enum ThemeColor: Sendable, Hashable {
  case `default`
  case index(UInt8)
  case rgb(UInt8, UInt8, UInt8)
}

/// How many colours the terminal has (curses' `COLORS`).
public enum ColorCapability: Sendable, Hashable, CaseIterable {
  case none, eight, sixteen, twoHundredFiftySix

  /// From curses' `COLORS` (`has_colors()` false counts as 0).
  public init(colors: Int) {
    switch colors {
    case 256...: self = .twoHundredFiftySix
    case 16..<256: self = .sixteen
    case 8..<16: self = .eight
    default: self = .none
    }
  }
}

/// A theme resolved for one terminal: a ``Style`` for every role, with colours the terminal has.
public struct Theme: Sendable, Hashable {
  public let name: String
  private let normal: [ThemeRole: Style]
  private let selected: [ThemeRole: Style]

  /// Resolves `file` for a terminal with `colors`; with `noColor` (the `NO_COLOR` convention) every colour is
  /// the terminal's own and the attributes stay.
  public init(_ file: ThemeFile, colors: ColorCapability, noColor: Bool = false) {
    name = file.name
    var normal: [ThemeRole: Style] = [:]
    var selected: [ThemeRole: Style] = [:]
    let dropColors = noColor || colors == .none
    func resolve(_ role: ThemeRole) -> Style {
      if let done = normal[role] { return done }
      let base = role.parent.map(resolve) ?? .plain
      let style = file.spec(role, selected: false).applied(to: base, colors: colors, dropColors: dropColors)
      normal[role] = style
      return style
    }
    for role in ThemeRole.allCases {
      selected[role] = file.spec(role, selected: true).applied(
        to: resolve(role), colors: colors, dropColors: dropColors)
    }
    self.normal = normal
    self.selected = selected
  }

  /// The style of `role`, or of its `.selected` form.
  public func style(_ role: ThemeRole, selected isSelected: Bool = false) -> Style {
    (isSelected ? selected[role] : normal[role]) ?? .plain
  }

  /// Whether the `NO_COLOR` variable asks for no colour: set and not empty (no-color.org).
  public static func noColorRequested(_ value: String?) -> Bool {
    guard let value else { return false }
    return !value.isEmpty
  }
}

extension ThemeColor {
  /// The colour a terminal with `colors` shows for this one: indexes it lacks and `#rrggbb` go to the
  /// nearest colour it has, by distance in RGB against xterm's default palette (the cube and the greys for
  /// 256 colours; the basic 8 for 8; bright colours on an 8-colour terminal become their basic colour).
  public func mapped(to colors: ColorCapability) -> TerminalColor {
    switch (self, colors) {
    case (.default, _), (_, .none): return .default
    case (.index(let index), .twoHundredFiftySix): return .index(index)
    case (.index(let index), .sixteen) where index < 16: return .index(index)
    case (.index(let index), .eight) where index < 8: return .index(index)
    case (.index(let index), .eight) where index < 16: return .index(index - 8)
    case (.index(let index), _):
      return .index(Self.nearest(Self.xtermRGB(index), in: colors == .eight ? 0..<8 : 0..<16))
    case (.rgb(let r, let g, let b), .twoHundredFiftySix):
      return .index(Self.nearest((r, g, b), in: 16..<256))
    case (.rgb(let r, let g, let b), .sixteen): return .index(Self.nearest((r, g, b), in: 0..<16))
    case (.rgb(let r, let g, let b), .eight): return .index(Self.nearest((r, g, b), in: 0..<8))
    }
  }

  /// xterm's default palette.
  static func xtermRGB(_ index: UInt8) -> (UInt8, UInt8, UInt8) {
    let basic: [(UInt8, UInt8, UInt8)] = [
      (0x00, 0x00, 0x00), (0xCD, 0x00, 0x00), (0x00, 0xCD, 0x00), (0xCD, 0xCD, 0x00),
      (0x00, 0x00, 0xEE), (0xCD, 0x00, 0xCD), (0x00, 0xCD, 0xCD), (0xE5, 0xE5, 0xE5),
      (0x7F, 0x7F, 0x7F), (0xFF, 0x00, 0x00), (0x00, 0xFF, 0x00), (0xFF, 0xFF, 0x00),
      (0x5C, 0x5C, 0xFF), (0xFF, 0x00, 0xFF), (0x00, 0xFF, 0xFF), (0xFF, 0xFF, 0xFF),
    ]
    switch index {
    case 0..<16: return basic[Int(index)]
    case 16..<232:
      let levels: [UInt8] = [0, 95, 135, 175, 215, 255]
      let cube = Int(index) - 16
      return (levels[cube / 36], levels[(cube / 6) % 6], levels[cube % 6])
    default:
      let grey = UInt8(8 + 10 * (Int(index) - 232))
      return (grey, grey, grey)
    }
  }

  static func nearest(_ rgb: (UInt8, UInt8, UInt8), in candidates: Range<Int>) -> UInt8 {
    var best = candidates.lowerBound
    var bestDistance = Int.max
    for candidate in candidates {
      let other = xtermRGB(UInt8(candidate))
      let dr = Int(rgb.0) - Int(other.0)
      let dg = Int(rgb.1) - Int(other.1)
      let db = Int(rgb.2) - Int(other.2)
      let distance = dr * dr + dg * dg + db * db
      if distance < bestDistance {
        best = candidate
        bestDistance = distance
      }
    }
    return UInt8(best)
  }
}
