import ComposerCore

/// What the runtime drives: the pure composer (`ComposerModel`), or a test double. `update` takes one message
/// and returns the effects to carry out; `render` draws the whole screen. Neither does I/O.
public protocol ComposerProgram {
  /// The first effects (read the accounts…), run once the terminal's size is known.
  mutating func start() -> [ComposerEffect]
  mutating func update(_ message: ComposerMessage) -> [ComposerEffect]
  func render(theme: Theme, width: Int, height: Int) -> ScreenBuffer
  /// Where the terminal's cursor goes (screen coordinates), nil to hide it.
  func cursor(width: Int, height: Int) -> (x: Int, y: Int)?
  /// Unix seconds, set by the runtime before each batch (the model has no clock).
  var now: Int64 { get set }
}
