import Accounts
import Foundation
import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning
import Testing

@testable import ComposerCore

/// Defects found in review of the composer (the model's side; the runtime's are in ComposerAppTests).
@Suite struct ReviewFixTests {
  /// bob@example.org in To, a subject, and `body` back from the external editor.
  static func edited(_ body: String) throws -> ComposerModel {
    var model = try Fixtures.model()
    model.type("bob@example.org")
    model.press(.tab, .tab, .tab)
    model.type("Hello")
    model.press(.tab)
    _ = model.update(.editorFinished(.edited(body)))
    return model
  }

  /// Issue 3: controls in the text from the editor (ESC, NUL, a bare CR, DEL, C1) were dropped unseen. They
  /// are kept, shown as escapes in the error style, in the editor and the preview, and the send is refused
  /// naming their lines, so what is previewed is what is sent.
  @Test func controlsFromTheEditorAreShownAndRefusedByLine() throws {
    var model = try Self.edited(
      "Hi,\n\u{1B}[31mred\u{1B}[0m\nnul\u{0}here and a bare\rCR\nfine\tline\ndel\u{7F} c1\u{85}")
    #expect(model.draft.body.lines.count == 5)
    let expected =
      "the body holds control characters a message must not carry: line 2 (ESC), line 3 (NUL, CR), "
      + "line 5 (DEL, \\u{0085}) — delete them (shown as \\u{…} in red)"
    #expect(model.status?.text == "the body is back from the editor, but " + expected)
    #expect(model.status?.isError == true)

    // On the compose screen: the escape is drawn, in the error style.
    let theme = try Fixtures.theme()
    let screen = model.render(theme: theme, width: 80, height: 24)
    let row = try #require(screen.lines.firstIndex { $0.contains("\\u{001B}[31mred") })
    let column = try #require(screen.lines[row].range(of: "\\u{001B}")).lowerBound.utf16Offset(
      in: screen.lines[row])
    #expect(screen[column, row].style == theme.style(.fieldError))
    #expect(screen[column + 8, row].style == theme.style(.fieldText), "the [ after it is text")

    // The preview shows them the same way.
    model.press(.ctrl("p"))
    let preview = model.render(theme: theme, width: 80, height: 24).lines.joined(separator: "\n")
    #expect(preview.contains("nul\\u{0000}here and a bare\\u{000D}CR"), "\(preview)")
    model.press(.character("q"))

    // The review refuses, naming the lines; `y` sends nothing.
    model.press(.ctrl("x"))
    #expect(model.review?.blocking.contains(expected) == true, "\(model.review?.blocking ?? [])")
    #expect(model.press(.character("y")).isEmpty)
    #expect(model.status?.text == "cannot send: " + expected)
    #expect(model.screen == .review)
  }

  /// Line ends a file may have are not controls: CR LF is a line break; tab and LF stay text.
  @Test func crlfFromTheEditorIsALineBreakNotAControl() throws {
    var model = try Self.edited("one\r\ntwo\tcolumns\r\nthree\r\n")
    #expect(model.draft.body.text == "one\ntwo\tcolumns\nthree\n")
    #expect(model.status?.text == "the body is back from the editor")
    model.press(.ctrl("x"))
    #expect(model.review?.blocking == [])
    #expect(model.press(.character("y")).map(\.name).last == "send")
  }

  /// Issue 1: after a copy of a send of several copies was accepted, the model knows who has the message: the
  /// result and the status line say so, the review warns, and the next order leaves them out.
  @Test func aPartlySentMessageIsSentAgainOnlyToTheOthers() throws {
    var model = try Self.edited("The numbers.")
    model.press(.ctrl("x"))
    let started = model.press(.character("y"))
    #expect(model.screen == .send)
    // The draft is saved with who has the message (its sidecar records them) as soon as the save of the send's
    // start is done: at once, not on the timer.
    guard case .saveDraft(let first, _)? = started.first(where: { $0.name == "saveDraft" }) else {
      Issue.record("no save at the start: \(started.map(\.name))")
      return
    }
    #expect(first.draft.delivered.isEmpty)
    #expect(model.update(.copyDelivered(recipients: ["bob@example.org"])).isEmpty, "one save at a time")
    let saves = model.update(.draftSaved(.success(SavedDraft(id: first.id, path: "/drafts/\(first.id).eml"))))
    guard case .saveDraft(let snapshot, _)? = saves.last else {
      Issue.record("no save: \(saves.map(\.name))")
      return
    }
    #expect(snapshot.draft.delivered == ["bob@example.org"])
    _ = model.update(.draftSaved(.success(SavedDraft(id: snapshot.id, path: "/drafts/\(snapshot.id).eml"))))
    let failure = SendFailure(.temporary, "temporary failure: 450 4.2.1 mailbox busy")
    _ = model.update(.sendFinished(SendReport(failure: failure)))
    let theme = try Fixtures.theme()
    let result = model.render(theme: theme, width: 120, height: 24).lines.joined(separator: "\n")
    #expect(result.contains("PARTLY SENT: bob@example.org already has it; NOT SENT — "), "\(result)")
    #expect(
      model.status?.text
        == "partly sent: bob@example.org already has it; sending again goes only to the others")

    model.press(.character("q"))
    model.press(.ctrl("x"))
    #expect(
      model.review?.warnings.contains("already sent to bob@example.org: y sends only to the other recipients")
        == true)
    guard case .send(let order)? = model.press(.character("y")).last else {
      Issue.record("no send")
      return
    }
    #expect(order.delivered == ["bob@example.org"])

    // Leaving keeps the draft as any draft, without a warning: the draft records who already has it.
    _ = model.update(.sendFinished(SendReport(failure: failure)))
    model.press(.character("q"))
    #expect(model.press(.ctrl("q")).map(\.name) == ["leave"], "the first Ctrl-Q leaves: the draft is saved")
    #expect(model.status?.text.hasPrefix("not left") != true)
    model.press(.ctrl("x"))
    guard case .send = model.press(.character("y")).last else {
      Issue.record("no send")
      return
    }

    // Sent in the end: a new message starts with nobody delivered.
    _ = model.update(.sendFinished(SendReport(failure: nil)))
    model.press(.character("q"))
    #expect(model.draft.delivered.isEmpty)
  }

  /// Review: a retry of a partly sent message went with a new Date and Message-ID. The ones the runtime fixed
  /// at the first send (`.messageIdentified`) are saved with the draft at once and go with every later order of
  /// the message — the review's send, the preview's raw message — and with the draft continued after a
  /// restart; a new message has none.
  @Test func theDateAndMessageIDOfTheFirstSendAreKept() throws {
    var model = try Self.edited("The numbers.")
    model.press(.ctrl("x"))
    let started = model.press(.character("y"))
    guard case .send(let first)? = started.last,
      case .saveDraft(let start, _)? = started.first(where: { $0.name == "saveDraft" })
    else {
      Issue.record("no send, or no save at its start: \(started.map(\.name))")
      return
    }
    #expect(first.date == nil && first.messageID == nil, "a message never sent gets new ones at its send")
    #expect(start.draft.messageID == nil)
    let id = "0123456789abcdef0123456789abcdef@example.org"
    #expect(
      model.update(.messageIdentified(date: Fixtures.now - 60, messageID: id)).isEmpty, "one save at a time")
    let saves = model.update(.draftSaved(.success(SavedDraft(id: start.id, path: "/d/1.eml"))))
    guard case .saveDraft(let snapshot, _)? = saves.last else {
      Issue.record("no save at once: \(saves.map(\.name))")
      return
    }
    #expect(snapshot.draft.messageID == id)
    #expect(snapshot.draft.date == Fixtures.now - 60)
    _ = model.update(.draftSaved(.success(SavedDraft(id: snapshot.id, path: "/d/1.eml"))))
    _ = model.update(.sendFinished(SendReport(failure: SendFailure(.temporary, "temporary failure: 421"))))

    // The retry, and the preview's raw message, go with them.
    model.press(.character("q"))
    model.press(.ctrl("x"))
    guard case .send(let retry)? = model.press(.character("y")).last else {
      Issue.record("no send")
      return
    }
    #expect(retry.messageID == id)
    #expect(retry.date == Date(timeIntervalSince1970: Double(Fixtures.now - 60)))
    _ = model.update(.sendFinished(SendReport(failure: SendFailure(.temporary, "temporary failure: 421"))))
    model.press(.character("q"))
    model.press(.ctrl("p"))
    guard case .renderRaw(let raw)? = model.press(.character("r")).last else {
      Issue.record("no raw message asked for")
      return
    }
    #expect(raw.messageID == id)
    #expect(raw.date == Date(timeIntervalSince1970: Double(Fixtures.now - 60)))

    // Continued after a restart, from the draft.
    var saved = snapshot.draft
    saved.id = snapshot.id
    var again = ComposerModel(.init(), width: 80, height: 24, now: Fixtures.now + 3_600)
    _ = again.start()
    _ = again.update(.catalogLoaded(.success(try Fixtures.catalog(Fixtures.oneAccount))))
    _ = again.update(.draftsListed(.success([saved])))
    again.press(.enter)
    again.press(.ctrl("x"))
    guard case .send(let continued)? = again.press(.character("y")).last else {
      Issue.record("no send: \(again.review?.blocking ?? [])")
      return
    }
    #expect(continued.messageID == id)
    #expect(continued.date == Date(timeIntervalSince1970: Double(Fixtures.now - 60)))

    // Sent: the next message is a new one.
    _ = again.update(.sendFinished(SendReport(failure: nil)))
    again.press(.character("q"))
    again.type("carol@example.org")
    again.press(.ctrl("x"))
    guard case .send(let next)? = again.press(.character("y")).last else {
      Issue.record("no send: \(again.review?.blocking ?? [])")
      return
    }
    #expect(next.messageID == nil && next.date == nil)
  }

  /// Review: with 60 recipients at 80×24 the review's envelope rows were cut at the bottom of the screen, so
  /// nobody could see whom the message went to before sending. The review scrolls (↓ j PgDn, End; ↑ k PgUp,
  /// Home) and its last row says how many rows and recipients are below: every RCPT TO, and every mailbox of
  /// the To header (wrapped, not cut), is on some screen before `y`.
  @Test func everyRecipientOfALongEnvelopeCanBeSeenBeforeSending() throws {
    var model = try Fixtures.model()
    let addresses = (1...60).map { "reader\($0)@example.org" }
    _ = model.update(.input(.paste(addresses.joined(separator: ", "))))
    model.press(.tab, .tab, .tab)
    model.type("Minutes")
    model.press(.tab)
    model.type("See you.")
    model.press(.ctrl("x"))
    let theme = try Fixtures.theme()
    var screens = [model.render(theme: theme, width: 80, height: 24)]
    let first = screens[0].lines
    #expect(
      first[21].hasPrefix(" ↓ ") && first[21].contains("more recipients: ↓ j PgDn scroll, End the last"),
      "\(first.joined(separator: "\n"))")
    #expect(first[22].hasPrefix(" y: send"), "the status line is not taken")
    // Down a row, then a page at a time, to the end.
    model.press(.character("j"))
    screens.append(model.render(theme: theme, width: 80, height: 24))
    #expect(screens[1].lines[1].contains("↑ 1 more row above (↑ k PgUp)"), "\(screens[1].lines[1])")
    #expect(screens[1].lines[2] == first[3], "one row down")
    for _ in 0..<20 {
      model.press(.pageDown)
      screens.append(model.render(theme: theme, width: 80, height: 24))
    }
    let text = screens.flatMap(\.lines).joined(separator: "\n")
    for address in addresses {
      #expect(text.contains("RCPT TO   <\(address)>"), "\(address) is never in the envelope shown")
      let listed = address == addresses.last ? "\(address)  " : "\(address),"
      #expect(text.contains(listed), "\(address) is never in the To header shown")
    }
    let last = try #require(screens.last).lines
    #expect(!last[21].contains("more row"), "\(last.joined(separator: "\n"))")
    #expect(last[1].contains("more rows above"))
    // Home goes back to the top; End to the last row; `y` sends from anywhere.
    model.press(.home)
    #expect(model.render(theme: theme, width: 80, height: 24).lines == first)
    model.press(.end)
    #expect(model.render(theme: theme, width: 80, height: 24).lines == last)
    guard case .send(let order)? = model.press(.character("y")).last else {
      Issue.record("no send")
      return
    }
    #expect(order.fields.to.count == 60)
  }
}
