import Foundation
import MailSender
import SMTPProtocol
import Testing

@testable import ComposerCore

/// Whole screens rendered from the model and compared with the hand-written files in Snapshots/.
@Suite struct ScreenSnapshotTests {
  init() { useUTF8Locale() }

  /// The compose screen of compose-cjk-emoji.txt: CJK in To, an emoji in Subject, mixed scripts in the body,
  /// the cursor back in To.
  static func composeWithCJK(width: Int = 80, height: Int = 24) throws -> ComposerModel {
    var model = try Fixtures.model(width: width, height: height)
    model.type("李雷 <li@example.cn>")
    model.press(.tab, .tab, .tab)
    model.type("会议 👍 notes")
    model.press(.tab)
    model.type("你好，李雷！")
    model.press(.enter)
    _ = model.update(.input(.paste("Meeting at 3 pm 👍 in the café\ne\u{301}t\u{301}e\u{301} 漢字 👩\u{200D}💻")))
    model.press(.tab, .tab)
    #expect(model.draft.focus == .to)
    return model
  }

  @Test func composeWithCJKAndEmoji() throws {
    let model = try Self.composeWithCJK()
    let theme = try Fixtures.theme()
    var buffer = ScreenBuffer(width: 80, height: 24)
    let cursor = model.render(into: &buffer, theme: theme)
    // The cursor after the end of To: "李雷 <li@example.cn>" takes 20 columns after the 9-column label.
    #expect(cursor.map { [$0.x, $0.y] } == [29, 2])
    try Snapshot(named: "compose-cjk-emoji").verify(buffer)
  }

  @Test(arguments: ["monochrome", "high-contrast", "light"])
  func composeInEachTheme(_ name: String) throws {
    let model = try Self.composeWithCJK()
    try Snapshot(named: "compose-theme-\(name)").verify(
      model.render(theme: try Fixtures.theme(name), width: 80, height: 24))
  }

  @Test func resizeKeepsTheScreen() throws {
    var model = try Self.composeWithCJK()
    let theme = try Fixtures.theme()
    _ = model.update(.input(.resize(width: 100, height: 30)))
    try Snapshot(named: "compose-resized-100x30").verify(model.render(theme: theme, width: 100, height: 30))
    _ = model.update(.input(.resize(width: 60, height: 20)))
    try Snapshot(named: "too-small").verify(model.render(theme: theme, width: 60, height: 20))
    _ = model.update(.input(.resize(width: 80, height: 24)))
    try Snapshot(named: "compose-cjk-emoji").verify(model.render(theme: theme, width: 80, height: 24))
  }

  @Test func theTranscriptWithTLSSteps() throws {
    var model = try ComposerUpdateTests.sending()
    for event in Transcripts.uploading.prefix(13) { _ = model.update(.session(event)) }
    try Snapshot(named: "send-transcript-tls").verify(
      model.render(theme: try Fixtures.theme(), width: 80, height: 24))
  }

  @Test func theProgressBarFollowsTheUpload() throws {
    var model = try ComposerUpdateTests.sending()
    for event in Transcripts.uploading { _ = model.update(.session(event)) }
    let row = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines[21]
    // 49 columns of bar, half of them done: 1,200 of 2,400 bytes.
    let bar = " [" + String(repeating: "#", count: 24) + String(repeating: "-", count: 25) + "]  50% "
    #expect(row == bar + "1,200 of 2,400 bytes  ")
  }

  @Test func progressCountsOfAnySizeDrawWithoutATrap() throws {
    var model = try ComposerUpdateTests.sending()
    let theme = try Fixtures.theme()
    _ = model.update(.session(Transcripts.event(0.1, .progress(sent: Int.max, total: Int.max))))
    #expect(model.render(theme: theme, width: 80, height: 24).lines[21].contains("] 100% "))
    _ = model.update(.session(Transcripts.event(0.2, .progress(sent: -5, total: 0))))
    #expect(model.render(theme: theme, width: 80, height: 24).lines[21].contains("]   0% 0 of 0 bytes"))
  }

  @Test func theTranscriptScrollsBackAndFollowsAgain() throws {
    var model = try ComposerUpdateTests.sending()
    for event in Transcripts.uploading { _ = model.update(.session(event)) }
    let theme = try Fixtures.theme()
    let following = model.render(theme: theme, width: 80, height: 24).lines
    #expect(following[12].hasPrefix(" ~> +0.113 [message: 12 lines, 2,400 bytes]"))
    model.press(.pageUp, .pageUp, .pageUp)
    let back = model.render(theme: theme, width: 80, height: 24).lines
    #expect(
      back[1].hasPrefix("=== +0.000 Connecting to mail.example.org:465 (192.0.2.10)"), "back to the top")
    #expect(back[12].contains("more below; End follows"))
    _ = model.update(.session(Transcripts.event(0.2, .progress(sent: 2_400, total: 2_400))))
    #expect(model.render(theme: theme, width: 80, height: 24).lines[1] == back[1], "scrolled back stays put")
    model.press(.end)
    let again = model.render(theme: theme, width: 80, height: 24).lines
    #expect(again[1...12] == following[1...12], "End follows the end again")
  }

  static let results: [(SendFailure?, String, ThemeRole)] = [
    (nil, " SENT — sent: 250 2.0.0 Ok: queued", .verdictOK),
    (
      SendFailure(.permanent, "550 5.7.1 relaying denied (RCPT)", reason: .recipientsRefused),
      " NOT SENT — failed: 550 5.7.1 relaying denied (RCPT)", .verdictRefused
    ),
    (
      SendFailure(.cancelled, "cancelled — not sent", reason: .cancelled),
      " CANCELLED, NOT SENT — cancelled — not sent", .verdictCancelled
    ),
    (
      SendFailure(.deliveryUnknown, "the connection dropped after the final dot", reason: .deliveryUnknown),
      " DELIVERY UNKNOWN — delivery unknown: the connection dropped after the final dot; not sent again by itself",
      .verdictUnknown
    ),
  ]

  @Test(arguments: 0..<4)
  func theResultIsUnmistakable(_ index: Int) throws {
    let (failure, line, role) = Self.results[index]
    var model = try ComposerUpdateTests.sending()
    let reply = ReplyRecord(code: 250, enhanced: "2.0.0", lines: ["250 2.0.0 Ok: queued"])
    _ = model.update(.sendFinished(SendReport(failure: failure, finalReply: failure == nil ? reply : nil)))
    let theme = try Fixtures.theme()
    let screen = model.render(theme: theme, width: 120, height: 24)
    #expect(screen.lines[22] == line.padding(toLength: 120, withPad: " ", startingAt: 0))
    #expect(screen[0, 22].style == theme.style(role) && screen[119, 22].style == theme.style(role))
  }

  @Test func reviewWithWarnings() throws {
    let model = try ComposerUpdateTests.reviewWithWarnings()
    try Snapshot(named: "review-warnings").verify(
      model.render(theme: try Fixtures.theme(), width: 80, height: 24))
  }

  @Test func aCertificateFailureOffersThePin() throws {
    var model = try ComposerUpdateTests.certificateFailure()
    let theme = try Fixtures.theme()
    try Snapshot(named: "send-certificate-failure").verify(model.render(theme: theme, width: 80, height: 24))
    model.press(.character("p"))
    try Snapshot(named: "send-pin-confirmation").verify(model.render(theme: theme, width: 80, height: 24))
  }
}
