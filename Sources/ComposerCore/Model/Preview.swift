import FoundationEssentials

/// The preview: the message as the recipient sees it, or on `r` the raw message as `send --dry-run` prints it.
/// The raw message is built by the runtime (its attachments are files, and may be large): the model asks for
/// it with ``ComposerEffect/renderRaw(_:)`` the first time `r` is pressed and shows "building…" until the
/// answer to that order arrives.
struct Preview: Sendable, Hashable {
  var showsRaw = false
  /// The order the raw message was asked for, until it arrives.
  var rawOrder: Int?
  /// The raw message's first lines, once built (its Message-ID is new each time the preview opens).
  var raw: RawMessage?
  /// Why the message cannot be built (a bad address, no recipient, an unreadable file): shown instead.
  var rawProblem: String?
  /// The first row shown.
  var scroll = 0
}

extension ComposerModel {
  static let previewKeys: [KeyHelp] = [
    KeyHelp(
      "r", "the raw message, as send --dry-run prints it (again: the message as read)", main: true,
      short: "raw"),
    KeyHelp("↑ ↓ j k PgUp PgDn", "scroll"),
    KeyHelp("Ctrl-X", "review before sending", main: true, short: "review"),
    KeyHelp("q e Esc", "back to compose", main: true, short: "back"),
    KeyHelp("F1 ?", "this help", main: true, short: "help"),
    KeyHelp("Ctrl-Q", "quit", main: true, short: "quit"),
  ]

  mutating func openPreview() {
    preview = Preview()
    screen = .preview
  }

  /// The order for the raw message (or the review's check): the draft as a send takes it, a new id, and the
  /// Date and Message-ID of its first send — before that, the model's own clock as the date and a new
  /// Message-ID.
  mutating func messageOrder() -> SendOrder {
    orders += 1
    return SendOrder(
      account: account?.name, fields: draft.fields, attachments: draft.attachmentPaths, overrides: overrides,
      id: orders, date: Date(timeIntervalSince1970: Double(draft.sentDate ?? now)),
      messageID: draft.messageID)
  }

  mutating func rawRendered(order: Int, _ result: Result<RawMessage, ComposerProblem>) {
    guard screen == .preview, preview.rawOrder == order else { return }
    preview.rawOrder = nil
    switch result {
    case .success(let raw): preview.raw = raw
    case .failure(let problem): preview.rawProblem = problem.message
    }
  }

  mutating func previewKey(_ key: Key) -> [ComposerEffect] {
    let page = max(1, height - 4)
    switch key {
    case .character("r"):
      preview.showsRaw.toggle()
      preview.scroll = 0
      if preview.showsRaw, preview.raw == nil, preview.rawProblem == nil, preview.rawOrder == nil {
        let order = messageOrder()
        preview.rawOrder = order.id
        return [.renderRaw(order)]
      }
    case .up, .character("k"): preview.scroll = max(0, preview.scroll - 1)
    case .down, .character("j"): preview.scroll += 1
    case .pageUp: preview.scroll = max(0, preview.scroll - page)
    case .pageDown, .character(" "): preview.scroll += page
    case .home: preview.scroll = 0
    case .ctrl("x"): return openReview()
    case .character("q"), .character("e"), .escape: screen = .compose
    default: break
    }
    return []
  }
}
