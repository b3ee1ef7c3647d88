import MailMessage
import SendPlanning

/// The message being composed: the header fields, the attachments and the body, and where the cursor is.
struct Draft: Sendable {
  /// The fields in the order Tab visits them (issue 9 §3): To, Cc, Bcc, Subject, body, then From.
  enum Field: Int, Sendable, Hashable, CaseIterable {
    case to, cc, bcc, subject, body, from

    /// The label before the field.
    var label: String {
      switch self {
      case .from: "From:"
      case .to: "To:"
      case .cc: "Cc:"
      case .bcc: "Bcc:"
      case .subject: "Subject:"
      case .body: "Body"
      }
    }

    /// Whether the field holds mailboxes, checked when the cursor leaves it.
    var holdsAddresses: Bool { self != .subject && self != .body }
  }

  /// An attachment the person added.
  struct Attachment: Sendable, Hashable {
    var path: String
    /// The size once the runtime checked the file; nil while it checks.
    var size: Int64?
  }

  /// The attachment panel of Ctrl-T: the list, and the path being typed.
  struct AttachPanel: Sendable, Hashable {
    var selection = 0
    /// The path field, while a path is being typed.
    var path: TextField?
    /// Candidates of the last completion that did not narrow to one.
    var candidates: [String] = []
    /// The folder holds more matches than the candidates listed.
    var more = false
  }

  var from = TextField()
  var to = TextField()
  var cc = TextField()
  var bcc = TextField()
  var subject = TextField()
  var body = BodyEditor()
  var focus = Field.to
  /// Why a field's addresses are not valid, shown beside it.
  var problems: [Field: String] = [:]
  var attachments: [Attachment] = []
  var attachPanel: AttachPanel?
  /// The S/MIME toggles of the review (issue 15): sign nil follows the account's `smime_sign`.
  var sign: Bool?
  var encrypt = false
  /// The From text the account gave, to tell whether the person changed it.
  var accountSender = ""
  /// Envelope recipients that already have this message: a send of several copies (S/MIME, a Bcc copy apart)
  /// ended part-way, after these were accepted. Every later send of it leaves them out (review: a retry sent
  /// the To/Cc copy again).
  var delivered: [String] = []
  /// The Date (Unix seconds) and Message-ID the message was first sent with: every later send of it keeps
  /// them (review: a retry after a partial send went with a new Date and Message-ID, so its recipients held
  /// another message than the first ones: threading and duplicate detection broke). nil before the first send.
  var sentDate: Int64?
  var messageID: String?

  /// The rows above the body: title, From, To, Cc, Bcc, Subject, attachments, a rule.
  static let bodyTop = 8
  /// Rows below the body: the status line and the key line.
  static let bodyBottomMargin = 2
  /// The label column's width.
  static let labelWidth = 9

  /// Fits the body editor and the fields to a terminal of this size.
  mutating func layout(width: Int, height: Int) {
    body.resize(
      width: max(1, width), height: max(1, height - Self.bodyTop - Self.bodyBottomMargin))
    for field in Field.allCases where field != .body {
      var text = self[field]
      text.scroll(toFit: fieldWidth(field, screenWidth: width))
      self[field] = text
    }
  }

  /// The columns a field's text gets: the row less the label, and less the reason beside it when it has one.
  func fieldWidth(_ field: Field, screenWidth: Int) -> Int {
    let full = max(1, screenWidth - Self.labelWidth)
    guard let problem = problems[field] else { return full }
    return max(1, full - min(DisplayWidth.width(of: problem) + 3, full / 2))
  }

  subscript(field: Field) -> TextField {
    get {
      switch field {
      case .from: from
      case .to: to
      case .cc: cc
      case .bcc: bcc
      case .subject, .body: subject
      }
    }
    set {
      switch field {
      case .from: from = newValue
      case .to: to = newValue
      case .cc: cc = newValue
      case .bcc: bcc = newValue
      case .subject: subject = newValue
      case .body: break
      }
    }
  }

  mutating func setSender(_ sender: String) {
    accountSender = sender
    from = TextField(sender)
    problems[.from] = nil
  }

  /// Moves the cursor to the next (or previous) field, checking the addresses of the one it leaves.
  mutating func moveFocus(by delta: Int) {
    check(focus)
    let order = Field.allCases
    let index = order.firstIndex(of: focus) ?? 0
    focus = order[(index + delta + order.count) % order.count]
  }

  /// Checks a field's mailboxes with the message layer's parser; the reason goes beside the field.
  mutating func check(_ field: Field) {
    guard field.holdsAddresses else { return }
    problems[field] = AddressList.problem(in: self[field].text)
  }

  /// Every address field checked (before preview and review).
  mutating func checkAll() {
    for field in Field.allCases { check(field) }
  }

  mutating func paste(_ text: String) {
    if var path = attachPanel?.path {
      path.insert(text)
      attachPanel?.path = path
      return
    }
    guard attachPanel == nil else { return }
    if focus == .body {
      body.insert(text)
    } else {
      self[focus].insert(text)
    }
  }

  /// The body from a file (the external editor, a draft): controls are kept, shown, and refused at the review.
  mutating func replaceBody(_ text: String) {
    var editor = BodyEditor(text, width: body.viewWidth, height: body.viewHeight, keepsControls: true)
    editor.resize(width: body.viewWidth, height: body.viewHeight)
    body = editor
  }

  /// The fields as the planning layer takes them: one mailbox per entry, the From only when the person
  /// changed the account's.
  /// The addresses of To, Cc and Bcc that parse (a field being typed may hold one that does not).
  var recipientAddresses: [String] {
    let fields = fields
    return (fields.to + fields.cc + fields.bcc).compactMap { try? Mailbox(parsing: $0).address }
  }

  var fields: MessageFields {
    var fields = MessageFields()
    let sender = String(from.text.trimmingSpaces)
    fields.from = sender == accountSender && !accountSender.isEmpty ? nil : sender
    fields.to = AddressList.split(to.text)
    fields.cc = AddressList.split(cc.text)
    fields.bcc = AddressList.split(bcc.text)
    fields.subject = subject.text.isEmpty ? nil : subject.text
    fields.body = Array(body.text.utf8)
    return fields
  }

  /// Why the body cannot be sent while it holds controls, naming the lines; nil when it holds none. Refused
  /// rather than stripped: the person sees them (as escapes, in the error style) and deletes them, so the
  /// message previewed is the message sent, byte for byte.
  var controlProblem: String? {
    let found = body.controlLines
    guard !found.isEmpty else { return nil }
    let named = found.prefix(5).map { "line \($0.line) (\($0.controls.joined(separator: ", ")))" }
    let more = found.count > 5 ? " and \(found.count - 5) more line\(found.count == 6 ? "" : "s")" : ""
    return "the body holds control characters a message must not carry: \(named.joined(separator: ", "))"
      + "\(more) — delete them (shown as \\u{…} in red)"
  }

  /// The attachments whose size is known, for the order.
  var attachmentPaths: [String] { attachments.filter { $0.size != nil }.map(\.path) }

  // MARK: - Attachments

  /// The runtime's candidates for the path typed. With `more`, the candidates are only some of the matches:
  /// the path is then not completed (their common start need not be that of all the matches).
  mutating func completed(prefix: String, candidates: [String], more: Bool = false) {
    guard var panel = attachPanel, var path = panel.path, path.text == prefix else { return }
    panel.more = more
    if more {
      panel.candidates = candidates
    } else if candidates.count == 1, let only = candidates.first {
      path.setText(only)
      panel.candidates = []
    } else {
      let common = Self.commonPrefix(candidates)
      if common.count > prefix.count { path.setText(common) }
      panel.candidates = candidates
    }
    panel.path = path
    attachPanel = panel
  }

  /// Records the runtime's check of an attachment; returns why it cannot be attached (then it is removed).
  mutating func attachmentChecked(path: String, result: Result<Int64, ComposerProblem>) -> String? {
    guard let index = attachments.firstIndex(where: { $0.path == path && $0.size == nil }) else { return nil }
    switch result {
    case .success(let size):
      attachments[index].size = size
      return nil
    case .failure(let problem):
      attachments.remove(at: index)
      if var panel = attachPanel {
        panel.selection = min(panel.selection, max(0, attachments.count - 1))
        attachPanel = panel
      }
      return problem.message
    }
  }

  static func commonPrefix(_ texts: [String]) -> String {
    guard var common = texts.first.map(Array.init) else { return "" }
    for text in texts.dropFirst() {
      let other = Array(text)
      var length = 0
      while length < common.count, length < other.count, common[length] == other[length] { length += 1 }
      common.removeSubrange(length...)
    }
    return String(common)
  }
}

/// A field of mailboxes as the person types it: separated by commas outside quotes, angle brackets and
/// comments, each checked by the message layer's parser (`Mailbox(parsing:)`).
enum AddressList {
  static func split(_ text: String) -> [String] {
    var parts: [String] = []
    var current = ""
    var quoted = false
    var escaped = false
    var angle = 0
    var comment = 0
    for character in text {
      if escaped {
        escaped = false
        current.append(character)
        continue
      }
      switch character {
      case "\\" where quoted || comment > 0: escaped = true
      case "\"" where comment == 0: quoted.toggle()
      case "<" where !quoted && comment == 0: angle += 1
      case ">" where !quoted && comment == 0: angle = max(0, angle - 1)
      case "(" where !quoted: comment += 1
      case ")" where !quoted: comment = max(0, comment - 1)
      case "," where !quoted && angle == 0 && comment == 0:
        parts.append(current)
        current = ""
        continue
      default: break
      }
      current.append(character)
    }
    parts.append(current)
    return parts.map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
  }

  /// The first mailbox that does not parse and why, or nil when all do.
  static func problem(in text: String) -> String? {
    for part in split(text) {
      do throws(MessageError) {
        _ = try Mailbox(parsing: part)
      } catch {
        return reason(error, for: part)
      }
    }
    return nil
  }

  /// The parser's message without the input it quotes (the field is right beside it).
  static func reason(_ error: MessageError, for text: String) -> String {
    let quoted = "invalid mailbox \"\(DisplayText.escaped(text))\": "
    return error.message.hasPrefix(quoted) ? String(error.message.dropFirst(quoted.count)) : error.message
  }
}
