import MailSender
import SendPlanning

extension ComposerModel {
  static let composeKeys: [KeyHelp] = [
    KeyHelp("Tab", "next field (To, Cc, Bcc, Subject, body, From)"),
    KeyHelp("Shift-Tab", "previous field"),
    KeyHelp("Enter ↑ ↓", "next or previous field (in the body: a new line, move)"),
    KeyHelp("Ctrl-P", "preview the message", main: true, short: "preview"),
    KeyHelp("Ctrl-X", "review before sending", main: true, short: "review"),
    KeyHelp("Ctrl-T", "attachments: add (Tab completes the path), remove", main: true, short: "attach"),
    KeyHelp("Ctrl-O", "edit the body in $VISUAL or $EDITOR", main: true, short: "editor"),
    KeyHelp("Ctrl-S", "postpone: keep the message as a draft and leave", main: true, short: "postpone"),
    KeyHelp("Ctrl-A Ctrl-E", "start, end of the line"),
    KeyHelp("Ctrl-B Ctrl-F ← →", "back, forward a character"),
    KeyHelp("Alt-B Alt-F", "back, forward a word"),
    KeyHelp("Ctrl-K Ctrl-U", "delete to the end, to the start of the line"),
    KeyHelp("Ctrl-W Alt-D", "delete the word before, after the cursor"),
    KeyHelp("PgUp PgDn", "a page up, down in the body"),
    KeyHelp("Ctrl-Home Ctrl-End", "start, end of the body"),
    KeyHelp("F1", "this help", main: true, short: "help"),
    KeyHelp("Ctrl-Q", "quit (the message is kept as a draft)", main: true, short: "quit"),
  ]

  static let attachKeys: [KeyHelp] = [
    KeyHelp("↑ ↓ j k", "move in the list"),
    KeyHelp("a Enter", "add a file by its path", main: true, short: "add"),
    KeyHelp("d Delete", "remove the attachment", main: true, short: "remove"),
    KeyHelp("Tab", "complete the path being typed", main: true, short: "complete"),
    KeyHelp("Esc q", "back to the message", main: true, short: "back"),
    KeyHelp("F1", "this help", main: true, short: "help"),
  ]

  mutating func composeKey(_ key: Key) -> [ComposerEffect] {
    if draft.attachPanel != nil { return attachKey(key) }
    status = nil
    switch key {
    case .tab:
      moveFocus(by: 1)
    case .shiftTab:
      moveFocus(by: -1)
    case .enter where draft.focus != .body, .down where draft.focus != .body:
      moveFocus(by: 1)
    case .up where draft.focus != .body:
      moveFocus(by: -1)
    case .ctrl("p"):
      draft.check(draft.focus)
      openPreview()
    case .ctrl("x"):
      draft.check(draft.focus)
      return openReview()
    case .ctrl("t"):
      draft.check(draft.focus)
      draft.attachPanel = Draft.AttachPanel()
      if draft.attachments.isEmpty { draft.attachPanel?.path = TextField() }
    case .ctrl("o"):
      return [.openEditor(text: draft.body.text)]
    case .ctrl("s"):
      return leave(.postpone)
    case .escape:
      // Nothing to leave on the compose screen: Esc only clears the status line (above).
      break
    default:
      if draft.focus == .body {
        if !draft.body.handle(key) { unknownKey(key) }
      } else {
        var field = draft[draft.focus]
        if field.handle(key) {
          draft.problems[draft.focus] = nil
          field.scroll(toFit: draft.fieldWidth(draft.focus, screenWidth: width))
          draft[draft.focus] = field
        } else {
          unknownKey(key)
        }
      }
    }
    return []
  }

  mutating func moveFocus(by delta: Int) {
    draft.moveFocus(by: delta)
    draft.layout(width: width, height: height)
  }

  /// A key no one on the screen uses: said on the status line, so a key that did nothing is not a mystery.
  mutating func unknownKey(_ key: Key) {
    status = StatusLine(error: "\(key.name) does nothing here; F1 lists the keys")
  }

  mutating func attachKey(_ key: Key) -> [ComposerEffect] {
    guard var panel = draft.attachPanel else { return [] }
    if var path = panel.path {
      switch key {
      case .tab:
        return [.completePath(prefix: path.text)]
      case .enter:
        panel.path = nil
        panel.candidates = []
        panel.more = false
        let text = path.text
        if !text.isEmpty {
          draft.attachments.append(Draft.Attachment(path: text, size: nil))
          panel.selection = draft.attachments.count - 1
          draft.attachPanel = panel
          return [.checkAttachment(path: text)]
        }
      case .escape:
        panel.path = nil
        panel.candidates = []
        panel.more = false
        if draft.attachments.isEmpty {
          draft.attachPanel = nil
          return []
        }
      default:
        if path.handle(key) {
          panel.candidates = []
          panel.more = false
          path.scroll(toFit: max(1, width - 8))
          panel.path = path
        }
      }
      draft.attachPanel = panel
      return []
    }
    switch key {
    case .up, .character("k"): panel.selection = max(0, panel.selection - 1)
    case .down, .character("j"):
      panel.selection = min(max(0, draft.attachments.count - 1), panel.selection + 1)
    case .character("a"), .enter: panel.path = TextField()
    case .character("d"), .delete, .backspace:
      if draft.attachments.indices.contains(panel.selection) {
        draft.attachments.remove(at: panel.selection)
        panel.selection = min(panel.selection, max(0, draft.attachments.count - 1))
      }
    case .escape, .character("q"), .ctrl("t"):
      draft.attachPanel = nil
      return []
    default:
      break
    }
    draft.attachPanel = panel
    return []
  }
}
