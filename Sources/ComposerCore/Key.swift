/// A key as the composer sees it, with a readable name ("ctrl+a", "alt+b", "shift+tab", "f1", "enter",
/// "esc", "up"): key tables, the help overlay and tests use the names; the curses backend decodes into these.
public struct Key: Sendable, Hashable, CustomStringConvertible {
  public enum Code: Sendable, Hashable {
    /// A printable character (a letter of "ctrl+a" is lowercase).
    case character(Character)
    case enter, tab, backspace, delete, escape, insert
    case up, down, left, right, home, end, pageUp, pageDown
    /// F1…F63.
    case function(Int)
  }

  public struct Modifiers: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let ctrl = Modifiers(rawValue: 1)
    public static let alt = Modifiers(rawValue: 2)
    public static let shift = Modifiers(rawValue: 4)
  }

  public var code: Code
  public var modifiers: Modifiers

  public init(_ code: Code, _ modifiers: Modifiers = []) {
    if case .character(let character) = code, modifiers.contains(.ctrl),
      let lower = character.lowercased().first,
      character.lowercased().count == 1
    {
      // Ctrl-A and Ctrl-a are one key to a terminal.
      self.code = .character(lower)
    } else {
      self.code = code
    }
    self.modifiers = modifiers
  }

  /// A printable character typed with no modifier.
  public static func character(_ character: Character) -> Key { Key(.character(character)) }
  public static func ctrl(_ character: Character) -> Key { Key(.character(character), .ctrl) }
  public static func alt(_ character: Character) -> Key { Key(.character(character), .alt) }

  public static let enter = Key(.enter)
  public static let tab = Key(.tab)
  public static let shiftTab = Key(.tab, .shift)
  public static let backspace = Key(.backspace)
  public static let delete = Key(.delete)
  public static let escape = Key(.escape)
  public static let up = Key(.up)
  public static let down = Key(.down)
  public static let left = Key(.left)
  public static let right = Key(.right)
  public static let home = Key(.home)
  public static let end = Key(.end)
  public static let pageUp = Key(.pageUp)
  public static let pageDown = Key(.pageDown)
  public static func function(_ number: Int) -> Key { Key(.function(number)) }

  /// The character this key types into a text field, if it types one (no ctrl, no alt).
  public var typedCharacter: Character? {
    guard modifiers.isDisjoint(with: [.ctrl, .alt]), case .character(let character) = code else { return nil }
    return character
  }

  static let codeNames: [(Code, String)] = [
    (.enter, "enter"), (.tab, "tab"), (.backspace, "backspace"), (.delete, "delete"), (.escape, "esc"),
    (.insert, "insert"), (.up, "up"), (.down, "down"), (.left, "left"), (.right, "right"), (.home, "home"),
    (.end, "end"), (.pageUp, "pgup"), (.pageDown, "pgdown"),
  ]

  /// "ctrl+a", "alt+shift+left", "shift+tab", "f1", "space", "ü"; a control or other unsafe character is
  /// named by its escape.
  public var name: String {
    var parts: [String] = []
    if modifiers.contains(.ctrl) { parts.append("ctrl") }
    if modifiers.contains(.alt) { parts.append("alt") }
    if modifiers.contains(.shift) { parts.append("shift") }
    switch code {
    case .character(" "): parts.append("space")
    case .character("+") where !parts.isEmpty: parts.append("plus")
    case .character(let character):
      parts.append(
        character.unicodeScalars.map { scalar in
          DisplayWidth.isControl(scalar) ? DisplayWidth.escape(scalar) : String(scalar)
        }.joined())
    case .function(let number): parts.append("f\(number)")
    default:
      parts.append(Self.codeNames.first { $0.0 == code }?.1 ?? "?")
    }
    return parts.joined(separator: "+")
  }

  public var description: String { name }

  /// Parses a name as ``name`` writes it ("ctrl+a", "shift+tab", "f1", "space", "plus"); nil if it is not one.
  public init?(name: String) {
    var parts = name.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
    if name.hasSuffix("++") || name == "+" {
      // "+" itself, or a modifier followed by "+"; ``name`` writes "plus", but accept the literal too.
      parts.removeLast(2)
      parts.append("+")
    }
    guard let last = parts.popLast(), !last.isEmpty else { return nil }
    var modifiers: Modifiers = []
    for part in parts {
      switch part.lowercased() {
      case "ctrl", "c": modifiers.insert(.ctrl)
      case "alt", "meta", "m": modifiers.insert(.alt)
      case "shift", "s": modifiers.insert(.shift)
      default: return nil
      }
    }
    let code: Code
    if let known = Self.codeNames.first(where: { $0.1 == last.lowercased() }) {
      code = known.0
    } else if last.lowercased() == "space" {
      code = .character(" ")
    } else if last.lowercased() == "plus" {
      code = .character("+")
    } else if last.count == 1, let character = last.first {
      code = .character(character)
    } else if last.lowercased().hasPrefix("f"), let number = Int(last.dropFirst()), (1...63).contains(number)
    {
      code = .function(number)
    } else {
      return nil
    }
    self.init(code, modifiers)
  }
}

/// What the terminal sends the composer.
public enum InputEvent: Sendable, Hashable {
  case key(Key)
  /// Bracketed paste: text to insert as text, never to run as keys.
  case paste(String)
  /// The terminal's new size in columns and rows.
  case resize(width: Int, height: Int)
}
