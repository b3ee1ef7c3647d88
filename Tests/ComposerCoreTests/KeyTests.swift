import Testing

@testable import ComposerCore

@Suite struct KeyTests {
  @Test(arguments: [
    (Key.ctrl("a"), "ctrl+a"), (Key.ctrl("A"), "ctrl+a"), (Key.alt("b"), "alt+b"),
    (Key.shiftTab, "shift+tab"),
    (Key.function(1), "f1"), (Key.enter, "enter"), (Key.escape, "esc"), (Key.up, "up"),
    (Key.character(" "), "space"), (Key.character("A"), "A"), (Key.character("ü"), "ü"),
    (Key(.home, .ctrl), "ctrl+home"), (Key(.left, [.alt, .shift]), "alt+shift+left"),
    (Key(.character("+"), .ctrl), "ctrl+plus"), (Key.pageDown, "pgdown"), (Key.backspace, "backspace"),
  ])
  func names(_ key: Key, _ name: String) throws {
    #expect(key.name == name)
    #expect(try #require(Key(name: name)) == key)
  }

  @Test func aControlCharacterIsNamedByItsEscape() {
    #expect(Key.character("\u{1B}").name == "\\u{001B}")
  }

  @Test(arguments: ["", "ctrl+", "hyper+a", "f0", "f64", "ab", "ctrl+ab"])
  func notKeyNames(_ name: String) {
    #expect(Key(name: name) == nil)
  }

  @Test func onlyUnmodifiedCharactersType() {
    #expect(Key.character("x").typedCharacter == "x")
    #expect(Key(.character("X"), .shift).typedCharacter == "X")
    #expect(Key.ctrl("x").typedCharacter == nil)
    #expect(Key.alt("x").typedCharacter == nil)
    #expect(Key.enter.typedCharacter == nil)
  }

  @Test func eventsCarryPasteAndResize() {
    let events: [InputEvent] = [.key(.enter), .paste("a\nb"), .resize(width: 80, height: 24)]
    #expect(events[1] == .paste("a\nb"))
    #expect(events[2] != .resize(width: 24, height: 80))
  }
}
