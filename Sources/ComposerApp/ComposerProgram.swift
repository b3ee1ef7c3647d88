import ComposerCore

/// What the runtime drives: the pure composer (`ComposerModel`), or a test double. `update` takes one message
/// and returns the effects to carry out; `draw` renders the whole screen. Neither does I/O.
public protocol ComposerProgram {
  /// The first effects (read the accounts…), run once the terminal's size is known.
  mutating func start() -> [ComposerEffect]
  mutating func update(_ message: ComposerMessage) -> [ComposerEffect]
  /// The whole screen, and where the terminal's cursor goes (screen coordinates; nil hides it).
  func draw(theme: Theme, width: Int, height: Int) -> (screen: ScreenBuffer, cursor: (x: Int, y: Int)?)
  /// Unix seconds, set by the runtime before each message (the model has no clock).
  var now: Int64 { get set }
  /// The theme the program would like (the picked account's `theme` key); nil for none.
  var preferredTheme: String? { get }
}

extension ComposerProgram {
  public var preferredTheme: String? { nil }
}

/// The real composer as the runtime's program.
extension ComposerModel: ComposerProgram {
  public var preferredTheme: String? { accountTheme }

  public func draw(theme: Theme, width: Int, height: Int) -> (screen: ScreenBuffer, cursor: (x: Int, y: Int)?)
  {
    var buffer = ScreenBuffer(width: width, height: height)
    let cursor = render(into: &buffer, theme: theme)
    return (buffer, cursor)
  }
}
