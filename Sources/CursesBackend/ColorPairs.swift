import ComposerCore

/// Colour pairs allocated as cells need them and reused: curses draws a cell's colours through a numbered
/// pair, and a terminal has `COLOR_PAIRS` of them. Pair 0 is the terminal's own colours. When every number is
/// taken the table starts again (as neomutt does): the caller then redefines pairs and redraws the whole
/// screen, since cells on it still name the old pairs.
struct ColorPairs {
  struct Colors: Hashable {
    var foreground: Int32
    var background: Int32
  }

  /// How many pairs the terminal has (pair 0 included).
  let capacity: Int
  private(set) var numbers: [Colors: Int32] = [:]

  init(capacity: Int) {
    self.capacity = max(1, capacity)
  }

  enum Allocation: Equatable {
    /// A pair already defined with these colours.
    case existing(Int32)
    /// A new number: define it before use.
    case new(Int32)
    /// No number left: ``reset()``, redraw everything.
    case full
  }

  mutating func pair(for colors: Colors) -> Allocation {
    if colors.foreground == -1, colors.background == -1 { return .existing(0) }
    if let number = numbers[colors] { return .existing(number) }
    let number = Int32(numbers.count + 1)
    guard Int(number) < capacity else { return .full }
    numbers[colors] = number
    return .new(number)
  }

  mutating func reset() { numbers.removeAll(keepingCapacity: true) }
}
