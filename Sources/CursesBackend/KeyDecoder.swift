import CNCursesW
import ComposerCore

/// Turns what `wget_wch` returns — a character, or a key code when it answers `KEY_CODE_YES` — into the
/// composer's ``InputEvent``s. Pure: no curses call, so the whole table is tested without a terminal.
///
/// - Printable scalars that arrive in one burst are joined into grapheme clusters, so a combining sequence
///   (e + U+0301), an emoji ZWJ sequence or a flag, which arrive as several wide characters, is one key.
/// - Alt+key arrives as ESC and then the key within the escape delay, in one write of the terminal: an ESC
///   followed by anything in the same burst adds `.alt` to it; an ESC left at the end of a burst is the Esc key.
///   An Esc with nothing after it within the escape delay (25 ms) comes as ``KeyCode/loneEscape`` (the
///   backend's input pump decides as the bytes arrive), so a key typed a human moment later is a key of its
///   own even when the UI thread reads both at once (review: Esc then `q` was read as Alt-q).
/// - Bracketed paste (`ESC[200~` … `ESC[201~`) arrives as the key codes the backend defined for the two
///   markers or, where they were not recognised as keys, as raw `ESC [ 2 0 0 ~` characters. Everything between
///   the markers becomes ONE ``InputEvent/paste(_:)`` holding the text as it came (controls included: the
///   editors drop them); nothing pasted ever runs as a key.
/// - A CSI key sequence curses did not match (`ESC[A` where terminfo has `ESC OA`, `ESC[1;5C`) is read as
///   the key it names; other escape sequences (focus reports, unknown keys) are dropped, never typed.
public struct KeyDecoder: Sendable {
  /// ncurses' key codes, as `wget_wch` returns them with `KEY_CODE_YES`.
  public enum KeyCode {
    public static let down = UInt32(KEY_DOWN)
    public static let up = UInt32(KEY_UP)
    public static let left = UInt32(KEY_LEFT)
    public static let right = UInt32(KEY_RIGHT)
    public static let home = UInt32(KEY_HOME)
    public static let end = UInt32(KEY_END)
    public static let pageUp = UInt32(KEY_PPAGE)
    public static let pageDown = UInt32(KEY_NPAGE)
    public static let delete = UInt32(KEY_DC)
    public static let insert = UInt32(KEY_IC)
    public static let backspace = UInt32(KEY_BACKSPACE)
    public static let backTab = UInt32(KEY_BTAB)
    public static let enter = UInt32(KEY_ENTER)
    public static let resize = UInt32(KEY_RESIZE)
    public static let shiftLeft = UInt32(KEY_SLEFT)
    public static let shiftRight = UInt32(KEY_SRIGHT)
    public static let shiftUp = UInt32(KEY_SR)
    public static let shiftDown = UInt32(KEY_SF)
    public static let shiftHome = UInt32(KEY_SHOME)
    public static let shiftEnd = UInt32(KEY_SEND)
    public static let shiftDelete = UInt32(KEY_SDC)
    /// F*n* is `function(0) + n` (ncurses' `KEY_F(n)`, a macro).
    public static func function(_ number: Int) -> UInt32 { UInt32(KEY_F0) + UInt32(number) }
    /// The codes the backend defines (`define_key`) for the bracketed-paste markers: far above the codes
    /// curses hands out from `KEY_MAX + 1` on for the terminal's extended keys.
    public static let pasteStart: UInt32 = 0x7000
    public static let pasteEnd: UInt32 = 0x7001
    /// The code the backend defines for a lone Esc: an ESC the terminal sent with nothing after it within the
    /// escape delay (the input pump tells them apart as the bytes arrive, however late they are read).
    public static let loneEscape: UInt32 = 0x7002
  }

  /// The longest unknown escape sequence followed before it is given up (and dropped).
  static let maximumSequenceLength = 32
  static let pasteEndMarker: [Unicode.Scalar] = ["\u{1B}", "[", "2", "0", "1", "~"]

  /// Names of the key codes ncurses made up from the terminal's extended capabilities (`keyname` of codes
  /// above `KEY_MAX`: `kLFT5` is Ctrl-Left in xterm's naming, `kRIT3` Alt-Right, `kHOM5` Ctrl-Home…).
  public var extendedNames: [UInt32: String]
  /// The terminal's size, reported with a resize (the backend sets it before it feeds `KEY_RESIZE`).
  public var terminalSize: (width: Int, height: Int) = (0, 0)

  private var escapePending = false
  /// After `ESC [` arrived as characters: the parameters so far.
  private var sequence: [Unicode.Scalar]?
  /// Inside a bracketed paste: the text so far, and how much of the end marker the last characters matched.
  private var paste: String?
  private var pasteMarkerMatched = 0
  /// Printable scalars of this burst not yet cut into clusters.
  private var text = ""

  public init(extendedNames: [UInt32: String] = [:]) {
    self.extendedNames = extendedNames
  }

  /// Whether a bracketed paste has started and not yet ended.
  public var isInPaste: Bool { paste != nil }

  /// Feeds one `wget_wch` result; returns the events it completes.
  public mutating func feed(_ code: UInt32, isKeyCode: Bool) -> [InputEvent] {
    var out: [InputEvent] = []
    feed(code, isKeyCode: isKeyCode, into: &out)
    return out
  }

  /// Ends a burst (nothing more is waiting to be read): an ESC still pending is the Esc key, an unfinished
  /// `ESC [` is Alt+[ and the characters after it, and text waiting for a combining mark is typed. A paste
  /// stays open across bursts.
  public mutating func endOfBurst() -> [InputEvent] {
    var out: [InputEvent] = []
    guard paste == nil else { return out }
    flushText(into: &out)
    if let pending = sequence {
      sequence = nil
      out.append(.key(.alt("[")))
      for scalar in pending { out.append(.key(.character(Character(scalar)))) }
    }
    if escapePending {
      escapePending = false
      out.append(.key(.escape))
    }
    return out
  }

  /// Ends a paste whose end marker never came (the terminal went quiet in the middle of one): what arrived is
  /// pasted, so a broken terminal cannot swallow every later key.
  public mutating func abandonPaste() -> [InputEvent] {
    guard var pasted = paste else { return [] }
    pasted.unicodeScalars.append(contentsOf: Self.pasteEndMarker[..<pasteMarkerMatched])
    paste = nil
    pasteMarkerMatched = 0
    return [.paste(pasted)]
  }

  private mutating func feed(_ code: UInt32, isKeyCode: Bool, into out: inout [InputEvent]) {
    if paste != nil {
      feedPaste(code, isKeyCode: isKeyCode, into: &out)
      return
    }
    if var pending = sequence {
      if !isKeyCode, (0x20...0x3F).contains(code), pending.count < Self.maximumSequenceLength,
        let scalar = Unicode.Scalar(code)
      {
        pending.append(scalar)
        sequence = pending
        return
      }
      sequence = nil
      if !isKeyCode, (0x40...0x7E).contains(code), let final = Unicode.Scalar(code) {
        if pending + [final] == ["2", "0", "0", "~"] {
          paste = ""
        } else if String(String.UnicodeScalarView(pending + [final])) == "27;1;27~" {
          // The lone Esc's sequence where curses did not match it as a key.
          out.append(.key(.escape))
        } else if let key = Self.key(forSequence: String(String.UnicodeScalarView(pending)), final: final) {
          out.append(.key(key))
        }
        // Any other complete sequence is one the composer has no use for (a focus report…): dropped.
        return
      }
      // Not a sequence after all (a key code or a control interrupted it): dropped with what came so far.
    }
    if isKeyCode {
      flushText(into: &out)
      if code == KeyCode.pasteStart {
        escapePending = false
        paste = ""
        return
      }
      if code == KeyCode.pasteEnd { return }
      if code == KeyCode.loneEscape {
        // An ESC before it was an Esc of its own (two pressed quickly): never Alt+Esc.
        if escapePending { out.append(.key(.escape)) }
        escapePending = false
        out.append(.key(.escape))
        return
      }
      if code == KeyCode.resize {
        escapePending = false
        out.append(.resize(width: terminalSize.width, height: terminalSize.height))
        return
      }
      guard var key = Self.key(forCode: code, extendedNames: extendedNames) else { return }
      if escapePending {
        escapePending = false
        key.modifiers.insert(.alt)
      }
      out.append(.key(key))
      return
    }
    guard let scalar = Unicode.Scalar(code) else { return }
    if escapePending {
      escapePending = false
      if scalar == "[" {
        sequence = []
        return
      }
      if scalar == "\u{1B}" {
        // Esc, then an ESC that may start something else.
        out.append(.key(.escape))
        escapePending = true
        return
      }
      guard var key = Self.key(forCharacter: scalar) else { return }
      key.modifiers.insert(.alt)
      out.append(.key(key))
      return
    }
    if scalar == "\u{1B}" {
      flushText(into: &out)
      escapePending = true
      return
    }
    if Self.isPrintable(scalar) {
      text.unicodeScalars.append(scalar)
      return
    }
    flushText(into: &out)
    if let key = Self.key(forCharacter: scalar) { out.append(.key(key)) }
  }

  private mutating func feedPaste(_ code: UInt32, isKeyCode: Bool, into out: inout [InputEvent]) {
    guard var pasted = paste else { return }
    defer { if paste != nil { paste = pasted } }
    if isKeyCode {
      pasted.unicodeScalars.append(contentsOf: Self.pasteEndMarker[..<pasteMarkerMatched])
      pasteMarkerMatched = 0
      switch code {
      case KeyCode.pasteEnd:
        paste = nil
        out.append(.paste(pasted))
      case KeyCode.enter:
        pasted.unicodeScalars.append("\n")
      case KeyCode.loneEscape:
        // An ESC byte of the pasted text that nothing followed for a moment: pasted as it came.
        pasted.unicodeScalars.append("\u{1B}")
      default:
        // The terminal's reading of escape bytes inside the paste (an arrow…): not text, and never a key.
        break
      }
      return
    }
    guard let scalar = Unicode.Scalar(code) else { return }
    if scalar == Self.pasteEndMarker[pasteMarkerMatched] {
      pasteMarkerMatched += 1
      if pasteMarkerMatched == Self.pasteEndMarker.count {
        pasteMarkerMatched = 0
        paste = nil
        out.append(.paste(pasted))
      }
      return
    }
    pasted.unicodeScalars.append(contentsOf: Self.pasteEndMarker[..<pasteMarkerMatched])
    pasteMarkerMatched = scalar == Self.pasteEndMarker[0] ? 1 : 0
    if pasteMarkerMatched == 0 { pasted.unicodeScalars.append(scalar) }
  }

  private mutating func flushText(into out: inout [InputEvent]) {
    guard !text.isEmpty else { return }
    for character in text { out.append(.key(.character(character))) }
    text = ""
  }

  /// Text a key may type: not a C0 or C1 control, not DEL.
  static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value >= 0x20 && !(0x7F...0x9F).contains(scalar.value)
  }

  /// A character `wget_wch` returned that is not part of a sequence: a printable one (typed alone, as after
  /// ESC), or a control key. C1 controls are no key of any terminal we drive: nil.
  static func key(forCharacter scalar: Unicode.Scalar) -> Key? {
    switch scalar.value {
    case 0x00: return Key(.character(" "), .ctrl)
    case 0x09: return .tab
    case 0x0A, 0x0D: return .enter
    case 0x1B: return .escape
    case 0x7F: return .backspace
    case 0x01...0x1A: return .ctrl(Character(Unicode.Scalar(scalar.value + 0x60) ?? "?"))
    case 0x1C: return .ctrl("\\")
    case 0x1D: return .ctrl("]")
    case 0x1E: return .ctrl("^")
    case 0x1F: return .ctrl("_")
    case 0x80...0x9F: return nil
    default: return .character(Character(scalar))
    }
  }

  /// A key code; nil for one the composer has no use for (dropped, never typed).
  static func key(forCode code: UInt32, extendedNames: [UInt32: String]) -> Key? {
    switch code {
    case KeyCode.up: return .up
    case KeyCode.down: return .down
    case KeyCode.left: return .left
    case KeyCode.right: return .right
    case KeyCode.home: return .home
    case KeyCode.end: return .end
    case KeyCode.pageUp: return .pageUp
    case KeyCode.pageDown: return .pageDown
    case KeyCode.delete: return .delete
    case KeyCode.insert: return Key(.insert)
    case KeyCode.backspace: return .backspace
    case KeyCode.backTab: return .shiftTab
    case KeyCode.enter: return .enter
    case KeyCode.shiftLeft: return Key(.left, .shift)
    case KeyCode.shiftRight: return Key(.right, .shift)
    case KeyCode.shiftUp: return Key(.up, .shift)
    case KeyCode.shiftDown: return Key(.down, .shift)
    case KeyCode.shiftHome: return Key(.home, .shift)
    case KeyCode.shiftEnd: return Key(.end, .shift)
    case KeyCode.shiftDelete: return Key(.delete, .shift)
    case KeyCode.function(1)...KeyCode.function(63): return .function(Int(code - KeyCode.function(0)))
    default: return extendedNames[code].flatMap(key(forExtendedName:))
    }
  }

  /// A CSI key sequence curses did not recognise (the terminal sent the normal-mode form while the terminfo
  /// entry has the application-mode one: `ESC[A` for `ESC OA`): the VT and xterm forms, with xterm's
  /// modifier parameter (`ESC[1;5C` is Ctrl-Right).
  static func key(forSequence parameters: String, final: Unicode.Scalar) -> Key? {
    let numbers = parameters.split(separator: ";", omittingEmptySubsequences: false).map { Int($0) }
    guard numbers.count <= 2, !numbers.contains(where: { $0 == nil && !parameters.isEmpty }) else {
      return nil
    }
    let first = numbers.first.flatMap { $0 } ?? 1
    let modifier = numbers.count == 2 ? (numbers[1] ?? 1) : 1
    guard (1...8).contains(modifier) else { return nil }
    let code: Key.Code
    switch (final, first) {
    case ("A", 1): code = .up
    case ("B", 1): code = .down
    case ("C", 1): code = .right
    case ("D", 1): code = .left
    case ("H", 1): code = .home
    case ("F", 1): code = .end
    case ("Z", 1): return .shiftTab
    case ("~", 1), ("~", 7): code = .home
    case ("~", 4), ("~", 8): code = .end
    case ("~", 2): code = .insert
    case ("~", 3): code = .delete
    case ("~", 5): code = .pageUp
    case ("~", 6): code = .pageDown
    case ("~", 11...15): code = .function(first - 10)
    case ("~", 17...21): code = .function(first - 11)
    case ("~", 23...24): code = .function(first - 12)
    default: return nil
    }
    return Key(code, modifiers(fromParameter: modifier))
  }

  /// xterm's modifier parameter: 1 + shift 1, alt 2, ctrl 4.
  static func modifiers(fromParameter parameter: Int) -> Key.Modifiers {
    let bits = parameter - 1
    var modifiers: Key.Modifiers = []
    if bits & 1 != 0 { modifiers.insert(.shift) }
    if bits & 2 != 0 { modifiers.insert(.alt) }
    if bits & 4 != 0 { modifiers.insert(.ctrl) }
    return modifiers
  }

  /// xterm's modified keys as ncurses names them: a base (`kUP`, `kDN`, `kLFT`, `kRIT`, `kHOM`, `kEND`, `kPRV`,
  /// `kNXT`, `kDC`, `kIC`) and a digit 2–8 (1 + shift 1, alt 2, ctrl 4).
  static func key(forExtendedName name: String) -> Key? {
    guard let last = name.last, let digit = last.wholeNumberValue, (2...8).contains(digit) else { return nil }
    let codes: [String: Key.Code] = [
      "kUP": .up, "kDN": .down, "kLFT": .left, "kRIT": .right, "kHOM": .home, "kEND": .end, "kPRV": .pageUp,
      "kNXT": .pageDown, "kDC": .delete, "kIC": .insert,
    ]
    guard let code = codes[String(name.dropLast())] else { return nil }
    return Key(code, modifiers(fromParameter: digit))
  }
}
