import Foundation
import Testing

@testable import ComposerCore

/// Defects found driving the real binary in tmux by hand, as a new user would (80×24 and 200×60; CJK, emoji,
/// display names, a long subject), each checked here through the screen buffer.
@Suite struct ByHandTests {
  init() { useUTF8Locale() }

  static let recipients = "Zoë 🎉 <zoe@example.org>, 山田 太郎 <taro@example.jp>, \"Ünïcödé, Ñame\" <u@example.de>"

  /// After Tab, the To field showed the tail of its last edit ("mple.org>, 山田 太郎 <…": the middle of an
  /// address) for as long as the cursor was elsewhere. A field the cursor is not in shows its start, and "…"
  /// in its last column when it holds more; back in it, the cursor and its view are where they were.
  @Test func aFieldTheCursorLeftShowsItsStart() throws {
    var model = try Fixtures.model()
    _ = model.update(.input(.paste(Self.recipients)))
    let theme = try Fixtures.theme()
    let typing = model.render(theme: theme, width: 80, height: 24).lines[2]
    #expect(typing.hasSuffix("Ñame\" <u@example.de> "), "while typing, the end: \(typing)")
    model.press(.tab)
    let left = model.render(theme: theme, width: 80, height: 24).lines[2]
    #expect(left.hasPrefix("To:      Zoë 🎉 <zoe@example.org>, 山田 太郎 <taro@example.jp>, "), "\(left)")
    #expect(left.hasSuffix("…"), "\(left)")
    #expect(DisplayWidth.width(of: left) == 80)
    model.press(.shiftTab)
    #expect(model.render(theme: theme, width: 80, height: 24).lines[2] == typing)
    // A field that fits shows as it is, without "…".
    model.press(.tab)
    model.type("cc@example.org")
    model.press(.tab)
    let cc = model.render(theme: theme, width: 80, height: 24).lines[3]
    #expect(cc == "Cc:      cc@example.org".padding(toLength: 80, withPad: " ", startingAt: 0))
  }

  /// A subject with 👨‍👩‍👧 (a ZWJ sequence) left old cells at the end of its row in tmux: tmux joins what
  /// follows a joiner into one 2-column glyph where ncurses (wcwidth) counts 6 columns, so the rest of the row
  /// landed 4 columns left of where the buffer put it. No cell carries a joiner or a presentation selector:
  /// the parts are drawn side by side in the columns counted, the text keeps them (and the message sends them).
  @Test func joinersAndPresentationSelectorsAreNotDrawn() throws {
    var model = try Fixtures.model()
    model.type("bob@example.org")
    model.press(.tab, .tab, .tab)
    let subject = "家族 👨\u{200D}👩\u{200D}👧 ❤\u{FE0F} 🏳\u{FE0F}\u{200D}🌈 end"
    model.type(subject)
    let theme = try Fixtures.theme()
    var screen = ScreenBuffer(width: 80, height: 24)
    let cursor = try #require(model.render(into: &screen, theme: theme))
    #expect(screen.lines[5].hasPrefix("Subject: 家族 👨👩👧 ❤ 🏳🌈 end "), "\(screen.lines[5])")
    for y in 0..<screen.height {
      for x in 0..<screen.width {
        #expect(
          !screen[x, y].text.unicodeScalars.contains { [0x200D, 0xFE0E, 0xFE0F].contains($0.value) },
          "cell \(x),\(y)")
      }
    }
    // The cursor after the text: 9 + 4 + 1 + 6 + 1 + 1 + 1 + 3 + 1 + 3 columns.
    #expect(cursor.x == 9 + DisplayWidth.width(of: subject) && cursor.x == 30 && cursor.y == 5)
    #expect(model.draft.subject.text == subject)
    model.press(.ctrl("x"))
    guard case .send(let order)? = model.press(.character("y")).last else {
      Issue.record("no send: \(model.review?.blocking ?? [])")
      return
    }
    #expect(order.fields.subject == subject)
  }

  /// The review showed the header form of display names — `=?UTF-8?B?5bGx55SwIOWkqumDjg==?=` for 山田 太郎 —
  /// so a person could not read whom the message was from and to. It shows them as typed (the raw preview
  /// shows the encoded words the message carries).
  @Test func theReviewShowsDisplayNamesAsTyped() throws {
    var model = try Fixtures.model(width: 100, height: 30)
    _ = model.update(.input(.paste(Self.recipients)))
    model.press(.tab)
    model.type("Dr. No <no@example.org>")
    model.press(.tab, .tab)
    model.type("件名")
    model.press(.ctrl("x"))
    let text = model.render(theme: try Fixtures.theme(), width: 100, height: 30).lines.joined(separator: "\n")
    #expect(!text.contains("=?"), "\(text)")
    #expect(text.contains(" To        Zoë 🎉 <zoe@example.org>, 山田 太郎"), "\(text)")
    #expect(text.contains("<taro@example.jp>, \"Ünïcödé, Ñame\""), "\(text)")
    #expect(text.contains(" Cc        \"Dr. No\" <no@example.org>"), "\(text)")
    #expect(text.contains(" Subject   件名"), "\(text)")
  }

  /// With encryption on and a recipient without a certificate, the only place saying why was the status line,
  /// one row, cut at 80 columns before its remedy ("… — encryption is on, an"). The review says it whole in
  /// its rows (wrapped), the remedy included, reachable by scrolling.
  @Test func theReasonEncryptionStopsTheSendIsShownWhole() throws {
    var (model, _) = try ProtectionReviewTests.review()
    let order = try #require(ProtectionReviewTests.certificateOrder(model.press(.character("c"))))
    _ = model.update(.certificatesChecked(order: order.id, .success(ProtectionReviewTests.frankMissing)))
    model.press(.end)
    let lines = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines
    let text = lines[2..<22].map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    #expect(
      text.contains(
        "✗ cannot send: no usable certificate for frank@example.org — encryption is on, and nothing is ever "
          + "sent in clear (c turns encryption off)"), "\(lines.joined(separator: "\n"))")
  }
}
