import Accounts
import Foundation
import MailSender
import SendPlanning

/// The preview: the message as the recipient sees it, or on `r` the raw message as `send --dry-run` prints it.
struct Preview: Sendable, Hashable {
  var showsRaw = false
  /// The raw message's lines, built when the preview opened (its Message-ID is new each time).
  var rawLines: [String] = []
  /// Why the message cannot be built yet (a bad address, no recipient): shown instead of the raw text.
  var rawProblem: String?
  /// The first row shown.
  var scroll = 0
}

extension Draft {
  /// The message exactly as the planning layer builds it for a send (and `send --dry-run` prints it), with a
  /// fixed date: the one place the composer calls the assembly, so a richer assembly (MIME, attachments) shows
  /// here as soon as it lands there.
  func rawMessage(account: Account?, date: Date) -> Result<[UInt8], PlanningError> {
    do throws(PlanningError) {
      return .success(try MessageAssembly.assemble(fields, account: account, date: date).content.bytes)
    } catch {
      return .failure(error)
    }
  }
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
    switch draft.rawMessage(account: account, date: Date(timeIntervalSince1970: Double(now))) {
    case .success(let bytes):
      var lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
      if lines.last == "" { lines.removeLast() }
      preview.rawLines = lines
    case .failure(let error):
      preview.rawProblem = AccountEntry.reason(Self.words(error))
    }
    screen = .preview
  }

  mutating func previewKey(_ key: Key) -> [ComposerEffect] {
    let page = max(1, height - 4)
    switch key {
    case .character("r"):
      preview.showsRaw.toggle()
      preview.scroll = 0
    case .up, .character("k"): preview.scroll = max(0, preview.scroll - 1)
    case .down, .character("j"): preview.scroll += 1
    case .pageUp: preview.scroll = max(0, preview.scroll - page)
    case .pageDown, .character(" "): preview.scroll += page
    case .home: preview.scroll = 0
    case .ctrl("x"): openReview()
    case .character("q"), .character("e"), .escape: screen = .compose
    default: break
    }
    return []
  }
}
