import ComposerCore
import Testing

@testable import CursesBackend

/// The decoding table, fed the (code, isKeyCode) pairs `wget_wch` returns; no terminal.
@Suite struct KeyDecoderTests {
  typealias Code = KeyDecoder.KeyCode

  /// Feeds one burst and ends it.
  static func decode(_ inputs: [(UInt32, Bool)], names: [UInt32: String] = [:]) -> [InputEvent] {
    var decoder = KeyDecoder(extendedNames: names)
    decoder.terminalSize = (120, 40)
    var out: [InputEvent] = []
    for (code, isKeyCode) in inputs { out += decoder.feed(code, isKeyCode: isKeyCode) }
    return out + decoder.endOfBurst()
  }

  static func characters(_ text: String) -> [(UInt32, Bool)] {
    text.unicodeScalars.map { ($0.value, false) }
  }

  static let table: [(String, [(UInt32, Bool)], [Key])] = [
    ("ascii", characters("aZ "), [.character("a"), .character("Z"), .character(" ")]),
    ("cjk and emoji", characters("漢👍"), [.character("漢"), .character("👍")]),
    ("a combining sequence is one key", characters("e\u{301}x"), [.character("é"), .character("x")]),
    ("an emoji ZWJ sequence is one key", characters("👩\u{200D}💻"), [.character("👩‍💻")]),
    ("a flag is one key", characters("🇫🇷"), [.character("🇫🇷")]),
    (
      "ctrl keys", [(0x01, false), (0x11, false), (0x17, false), (0x00, false)],
      [.ctrl("a"), .ctrl("q"), .ctrl("w"), Key(.character(" "), .ctrl)]
    ),
    ("tab, enter (LF and CR)", [(0x09, false), (0x0A, false), (0x0D, false)], [.tab, .enter, .enter]),
    (
      "backspace as DEL, as ^H and as a key code", [(0x7F, false), (0x08, false), (Code.backspace, true)],
      [.backspace, .ctrl("h"), .backspace]
    ),
    ("alt+b", [(0x1B, false), (0x62, false)], [.alt("b")]),
    // Review: the input pump sends an Esc that nothing followed within the escape delay as a key of its own.
    ("a lone esc, then a key", [(Code.loneEscape, true), (0x71, false)], [.escape, .character("q")]),
    ("two escs pressed quickly", [(0x1B, false), (Code.loneEscape, true)], [.escape, .escape]),
    (
      "the lone esc's sequence unmatched by curses", characters("\u{1B}[27;1;27~q"),
      [.escape, .character("q")]
    ),
    ("alt+f then a letter", [(0x1B, false), (0x66, false), (0x78, false)], [.alt("f"), .character("x")]),
    ("alt+backspace", [(0x1B, false), (0x7F, false)], [Key(.backspace, .alt)]),
    ("alt+left", [(0x1B, false), (Code.left, true)], [Key(.left, .alt)]),
    ("esc alone", [(0x1B, false)], [.escape]),
    ("esc esc", [(0x1B, false), (0x1B, false)], [.escape, .escape]),
    ("alt+[ alone", [(0x1B, false), (0x5B, false)], [.alt("[")]),
    (
      "an unknown sequence is dropped", characters("\u{1B}[I\u{1B}[9;9~\u{1B}[1;9A") + characters("a"),
      [.character("a")]
    ),
    (
      "raw CSI keys", characters("\u{1B}[A\u{1B}[1;5C\u{1B}[3~\u{1B}[6;2~\u{1B}[15~\u{1B}[24~\u{1B}[Z"),
      [.up, Key(.right, .ctrl), .delete, Key(.pageDown, .shift), .function(5), .function(12), .shiftTab]
    ),
    (
      "arrows", [(Code.up, true), (Code.down, true), (Code.left, true), (Code.right, true)],
      [.up, .down, .left, .right]
    ),
    (
      "home end pgup pgdown",
      [(Code.home, true), (Code.end, true), (Code.pageUp, true), (Code.pageDown, true)],
      [.home, .end, .pageUp, .pageDown]
    ),
    (
      "delete, insert, keypad enter", [(Code.delete, true), (Code.insert, true), (Code.enter, true)],
      [.delete, Key(.insert), .enter]
    ),
    ("shift+tab", [(Code.backTab, true)], [.shiftTab]),
    ("f1 and f12", [(Code.function(1), true), (Code.function(12), true)], [.function(1), .function(12)]),
    (
      "shifted arrows", [(Code.shiftLeft, true), (Code.shiftRight, true)],
      [Key(.left, .shift), Key(.right, .shift)]
    ),
    ("an unknown key code is dropped", [(0x6FF0, true), (0x61, false)], [.character("a")]),
    ("C1 controls are dropped", [(0x9B, false), (0x61, false)], [.character("a")]),
  ]

  @Test(arguments: table.indices) func decodes(_ index: Int) {
    let (name, inputs, keys) = Self.table[index]
    #expect(Self.decode(inputs) == keys.map { InputEvent.key($0) }, "\(name)")
  }

  @Test func extendedKeysByTheirTerminfoNames() {
    let names: [UInt32: String] = [
      600: "kLFT5", 601: "kRIT3", 602: "kHOM5", 603: "kEND6", 604: "kxIN", 605: "kUP9",
    ]
    let events = Self.decode(
      [(600, true), (601, true), (602, true), (603, true), (604, true), (605, true)], names: names)
    #expect(
      events == [
        .key(Key(.left, .ctrl)), .key(Key(.right, .alt)), .key(Key(.home, .ctrl)),
        .key(Key(.end, [.ctrl, .shift])),
      ])
  }

  @Test func resizeReportsTheTerminalSize() {
    #expect(Self.decode([(Code.resize, true)]) == [.resize(width: 120, height: 40)])
  }

  /// Pasted control bytes and newlines are text of one paste event, never keys; both marker forms work.
  @Test func bracketedPasteAsKeyCodesIsOneEvent() {
    let events = Self.decode(
      [(Code.pasteStart, true)] + Self.characters("to: x\u{11}\n\u{1B}b\r漢") + [
        (Code.up, true), (Code.pasteEnd, true),
      ]
        + Self.characters("z"))
    #expect(events == [.paste("to: x\u{11}\n\u{1B}b\r漢"), .key(.character("z"))])
  }

  @Test func bracketedPasteAsRawSequencesIsOneEvent() {
    let events = Self.decode(Self.characters("a\u{1B}[200~x\u{03}\u{1B}[20y\u{1B}[201~b"))
    #expect(events == [.key(.character("a")), .paste("x\u{03}\u{1B}[20y"), .key(.character("b"))])
  }

  @Test func aPasteSpansBurstsAndCanBeAbandoned() {
    var decoder = KeyDecoder()
    var events: [InputEvent] = []
    for (code, isKeyCode) in [(Code.pasteStart, true)] + Self.characters("one\u{1B}") {
      events += decoder.feed(code, isKeyCode: isKeyCode)
    }
    events += decoder.endOfBurst()
    #expect(events.isEmpty)
    #expect(decoder.isInPaste)
    events += decoder.abandonPaste()
    #expect(events == [.paste("one\u{1B}")])
    #expect(!decoder.isInPaste)
    #expect(decoder.feed(0x11, isKeyCode: false) == [.key(.ctrl("q"))])
  }
}
