/// A terminal colour as the screen buffer holds it: the terminal's own, or an index into its palette (0–7 the
/// basic colours, 8–15 their bright forms, 16–255 xterm's cube and greys). Themes map `#rrggbb` and indexes the
/// terminal lacks down to one of these before anything is drawn.
public enum TerminalColor: Sendable, Hashable {
  case `default`
  case index(UInt8)
}

/// How a cell is drawn.
public struct Style: Sendable, Hashable {
  public var foreground: TerminalColor
  public var background: TerminalColor
  public var bold: Bool
  public var underline: Bool
  public var reverse: Bool
  public var dim: Bool

  public init(
    foreground: TerminalColor = .default, background: TerminalColor = .default, bold: Bool = false,
    underline: Bool = false, reverse: Bool = false, dim: Bool = false
  ) {
    self.foreground = foreground
    self.background = background
    self.bold = bold
    self.underline = underline
    self.reverse = reverse
    self.dim = dim
  }

  /// The terminal's own colours, no attribute.
  public static let plain = Style()
}
