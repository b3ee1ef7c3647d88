import MailMessage
import SMTPProtocol
import SendPlanning

/// Keeping the message being composed as a draft (issue 12 §1): a save at most ``ComposerModel/draftDelay``
/// after an edit, one save in flight at a time, never a secret (the fields, the body, the attachment paths, the
/// account's name and the cursor: the password field is never part of it). The model has no clock: it asks the
/// runtime for a timer (`.setTimer`) and saves when it fires.
struct DraftKeeping: Sendable {
  /// How the composer is leaving once the draft is saved.
  enum Leaving: Sendable, Hashable {
    /// The postpone key: save and leave.
    case postpone
    /// Ctrl-Q with unsaved edits: save them first.
    case quit
  }

  /// The draft's id: this composer's own (``ComposerModel/Startup/instance``) and a number, or the id of the
  /// draft continued.
  var id = ""
  /// Edits since the last snapshot went to the runtime.
  var dirty = false
  /// The timer asked for and not yet fired.
  var timer: Int?
  /// The last timer id given.
  var timers = 0
  /// A `.saveDraft` or `.removeDraft` is out.
  var busy = false
  /// The snapshot being saved, and the last one saved.
  var saving: DraftSnapshot?
  var saved: DraftSnapshot?
  /// The draft is in the folder (saved at least once, not removed since).
  var stored = false
  /// Where its message file is, once saved.
  var path: String?
  /// Why the last save failed, shown until one works (the message on screen is never touched by it).
  var problem: String?
  var leaving: Leaving?
  /// A save for leaving failed: the next Ctrl-Q quits without the draft.
  var quitConfirmed = false
  /// The message was sent or queued: no more saves of it.
  var done = false
  /// The drafts were offered (once, when the first account is picked).
  var offered = false
  /// Drafts made by this composer so far (the number in the id).
  var count = 0
  /// A draft continued from the list stays in the folder it was listed from, even when it brought its own
  /// account (whose `drafts` folder may be another).
  var continuedIn: String??
}

/// The drafts offered at start: continue one, discard one (asked first), or start a new message.
struct DraftList: Sendable {
  var entries: [DraftStore.Draft] = []
  var selection = 0
  /// Waiting for `.draftsListed`.
  var loading = true
  /// The draft `d` asked to discard, until `y` or `n`.
  var confirming: String?
  /// The folder listed (the first account's `drafts`; nil: the default one).
  var folder: String?
}

extension ComposerModel {
  /// How long after an edit the draft is saved: with the write itself, a draft is at most about a second
  /// behind what is on screen.
  public static let draftDelay = Duration.milliseconds(800)

  static let draftKeys: [KeyHelp] = [
    KeyHelp("↑ ↓ j k", "move in the list"),
    KeyHelp("Enter", "continue the draft", main: true, short: "continue"),
    KeyHelp("d Delete", "discard the draft (asks first)", main: true, short: "discard"),
    KeyHelp("n q Esc", "start a new message", main: true, short: "new"),
    KeyHelp("F1 ?", "this help", main: true, short: "help"),
    KeyHelp("Ctrl-Q", "quit", main: true, short: "quit"),
  ]

  static let discardKeys: [KeyHelp] = [
    KeyHelp("y", "discard the draft for good", main: true, short: "discard"),
    KeyHelp("n Esc", "keep it", main: true, short: "keep"),
  ]

  /// The account's `drafts` folder (nil: the runtime's default, `$XDG_STATE_HOME/sealpost/drafts`), or the
  /// folder a continued draft came from.
  var draftFolder: String? {
    if let folder = drafts.continuedIn { return folder }
    return account?.drafts
  }

  /// Whether the message holds anything worth keeping (the From the account gave does not count).
  var messageIsEmpty: Bool {
    draft.to.text.isEmpty && draft.cc.text.isEmpty && draft.bcc.text.isEmpty && draft.subject.text.isEmpty
      && draft.attachments.isEmpty && draft.body.lines.count == 1 && draft.body.lines[0].isEmpty
  }

  /// The message as a draft: what was typed and where the cursor is; never a secret. The body's lines are
  /// shared, not joined (the runtime makes the text off the key path).
  func draftSnapshot() -> DraftSnapshot {
    DraftSnapshot(
      id: drafts.id, account: account?.name, from: draft.from.text, to: draft.to.text, cc: draft.cc.text,
      bcc: draft.bcc.text, subject: draft.subject.text, attachments: draft.attachments.map(\.path),
      sign: draft.sign, encrypt: draft.encrypt, delivered: draft.delivered, date: draft.sentDate,
      messageID: draft.messageID, lines: draft.body.lines,
      cursorField: Self.cursorName(draft.focus),
      fieldCursor: draft.focus == .body ? 0 : draft[draft.focus].cursor, bodyCursor: draft.body.cursor)
  }

  static func cursorName(_ field: Draft.Field) -> String {
    switch field {
    case .from: "from"
    case .to: "to"
    case .cc: "cc"
    case .bcc: "bcc"
    case .subject: "subject"
    case .body: "body"
    }
  }

  /// An edit on the compose screen: the draft is saved once the timer fires (one timer at a time).
  mutating func noteEdit() -> [ComposerEffect] {
    guard account != nil, !drafts.done else { return [] }
    drafts.dirty = true
    guard drafts.timer == nil, !drafts.busy else { return [] }
    drafts.timers += 1
    drafts.timer = drafts.timers
    return [.setTimer(id: drafts.timers, after: Self.draftDelay)]
  }

  mutating func timerFired(_ id: Int) -> [ComposerEffect] {
    guard drafts.timer == id else { return [] }
    drafts.timer = nil
    return flushDraft()
  }

  /// Saves the message now when it changed since the last save (removes its draft when it was emptied); nothing
  /// while a save is out (its answer saves again when there were edits meanwhile).
  mutating func flushDraft() -> [ComposerEffect] {
    guard account != nil, !drafts.done, !drafts.busy else { return [] }
    drafts.dirty = false
    if drafts.id.isEmpty {
      drafts.count += 1
      drafts.id = "\(max(0, now))-\(startup.instance)-\(drafts.count)"
    }
    if messageIsEmpty {
      guard drafts.stored else { return [] }
      drafts.busy = true
      drafts.saved = nil
      return [.removeDraft(id: drafts.id, folder: draftFolder)]
    }
    let snapshot = draftSnapshot()
    guard snapshot != drafts.saved || !drafts.stored else { return [] }
    drafts.busy = true
    drafts.saving = snapshot
    return [.saveDraft(snapshot, folder: draftFolder)]
  }

  mutating func draftSaved(_ result: Result<SavedDraft, ComposerProblem>) -> [ComposerEffect] {
    drafts.busy = false
    let snapshot = drafts.saving
    drafts.saving = nil
    switch result {
    case .success(let saved):
      drafts.saved = snapshot
      drafts.stored = !drafts.done
      drafts.path = saved.path
      drafts.problem = nil
    case .failure(let problem):
      drafts.problem = "the draft could not be saved: \(problem.message) — the message is still here"
      drafts.dirty = true
      if drafts.leaving != nil {
        drafts.leaving = nil
        drafts.quitConfirmed = true
        status = StatusLine(
          error: "not left: the draft could not be saved (\(problem.message)); Ctrl-Q again quits without it")
      }
      return []
    }
    return afterDraftWrite()
  }

  mutating func draftRemoved(id: String, _ result: Result<Void, ComposerProblem>) -> [ComposerEffect] {
    if case .failure(let problem) = result {
      status = StatusLine(error: "the draft could not be removed: \(problem.message)")
    }
    guard id == drafts.id, drafts.busy else { return [] }
    drafts.busy = false
    if case .success = result { drafts.stored = false }
    return afterDraftWrite()
  }

  /// After a save or a removal: leave when that was awaited, else save the edits made meanwhile — at once when
  /// a copy was delivered meanwhile (who has the message is not left to the timer).
  mutating func afterDraftWrite() -> [ComposerEffect] {
    if let leaving = drafts.leaving {
      if drafts.dirty { return flushDraft() }
      drafts.leaving = nil
      return [leaveLine(leaving)]
    }
    if drafts.dirty && !drafts.done
      && ((drafts.saved?.delivered ?? []) != draft.delivered || drafts.saved?.messageID != draft.messageID)
    {
      drafts.timer = nil
      return flushDraft()
    }
    if drafts.dirty && drafts.timer == nil && !drafts.done {
      drafts.timers += 1
      drafts.timer = drafts.timers
      return [.setTimer(id: drafts.timers, after: Self.draftDelay)]
    }
    return []
  }

  func leaveLine(_ leaving: DraftKeeping.Leaving) -> ComposerEffect {
    guard drafts.stored, let path = drafts.path else { return .quit }
    let verb = leaving == .postpone ? "postponed" : "the message is kept as a draft"
    return .leave(line: "\(verb): \(UntrustedText(path).escaped) (sealpost offers it when it starts again)")
  }

  /// The postpone key, and Ctrl-Q with a message on screen: the draft is saved first (a failed save says so
  /// and stays; Ctrl-Q again then quits without it).
  mutating func leave(_ how: DraftKeeping.Leaving) -> [ComposerEffect] {
    if drafts.quitConfirmed && how == .quit { return [.quit] }
    guard account != nil, !drafts.done, !(messageIsEmpty && !drafts.stored) else { return [.quit] }
    if drafts.leaving != nil { return how == .quit ? [.quit] : [] }
    drafts.leaving = how
    drafts.timer = nil
    if drafts.busy {
      drafts.dirty = true
      return []
    }
    let effects = flushDraft()
    if effects.isEmpty {
      drafts.leaving = nil
      return [leaveLine(how)]
    }
    status = StatusLine("saving the draft…")
    return effects
  }

  /// After a send that went (or a message queued): the draft goes, and this message is no longer saved.
  mutating func dropDraft() -> [ComposerEffect] {
    drafts.done = true
    drafts.timer = nil
    drafts.dirty = false
    guard !drafts.id.isEmpty else { return [] }
    drafts.stored = false
    return [.removeDraft(id: drafts.id, folder: draftFolder)]
  }

  /// A new message (after a sent or queued one): a new draft.
  mutating func startNewDraft() {
    let offered = drafts.offered
    let count = drafts.count
    let timers = drafts.timers
    drafts = DraftKeeping()
    drafts.offered = offered
    drafts.count = count
    drafts.timers = timers
  }

  // MARK: - The drafts offered at start

  /// Once, when the first account is picked: ask for the drafts (the compose screen waits for the answer).
  mutating func offerDrafts() {
    guard !drafts.offered else { return }
    drafts.offered = true
    draftList = DraftList()
    draftList.folder = draftFolder
    screen = .drafts
    pendingEffects.append(.listDrafts(folder: draftFolder))
  }

  mutating func draftsListed(_ result: Result<[DraftStore.Draft], ComposerProblem>) {
    guard screen == .drafts, draftList.loading else { return }
    draftList.loading = false
    switch result {
    case .failure(let problem):
      screen = .compose
      status = StatusLine(error: "the drafts cannot be read: \(problem.message)")
    case .success(let list):
      draftList.entries = list
      draftList.selection = 0
      if list.isEmpty { screen = .compose }
    }
  }

  mutating func draftListKey(_ key: Key) -> [ComposerEffect] {
    guard !draftList.loading else { return [] }
    if let id = draftList.confirming {
      switch key {
      case .character("y"):
        draftList.confirming = nil
        draftList.entries.removeAll { $0.id == id }
        draftList.selection = min(draftList.selection, max(0, draftList.entries.count - 1))
        status = StatusLine("draft discarded")
        if draftList.entries.isEmpty { screen = .compose }
        return [.removeDraft(id: id, folder: draftList.folder)]
      case .character("n"), .escape:
        draftList.confirming = nil
      default:
        break
      }
      return []
    }
    switch key {
    case .up, .character("k"): draftList.selection = max(0, draftList.selection - 1)
    case .down, .character("j"):
      draftList.selection = min(max(0, draftList.entries.count - 1), draftList.selection + 1)
    case .enter:
      guard draftList.entries.indices.contains(draftList.selection) else { return [] }
      return continueDraft(draftList.entries[draftList.selection])
    case .character("d"), .delete:
      if draftList.entries.indices.contains(draftList.selection) {
        draftList.confirming = draftList.entries[draftList.selection].id
      }
    case .character("n"), .character("q"), .escape:
      status = nil
      screen = .compose
    default:
      break
    }
    return []
  }

  /// The draft back on the compose screen as it was saved: fields, body, attachments (checked again), cursor;
  /// with its own account when that one can be used.
  mutating func continueDraft(_ saved: DraftStore.Draft) -> [ComposerEffect] {
    status = nil
    if let name = saved.account, name != account?.name {
      if let entry = picker.entries.first(where: { $0.account.name == name && $0.isUsable }) {
        account = entry.account
        overrides = ChannelOverrides()
        draft.setSender(MessageAssembly.accountSender(entry.account) ?? "")
      } else {
        status = StatusLine(
          error:
            "the draft was written with the account \(UntrustedText(name).escaped), which cannot be used "
            + "here: it is sent with \(UntrustedText(account?.name ?? "").escaped)")
      }
    }
    draft.clearMessage()
    if let from = saved.from, !from.isEmpty { draft.from = TextField(from) }
    draft.to = TextField(saved.to.joined(separator: ", "))
    draft.cc = TextField(saved.cc.joined(separator: ", "))
    draft.bcc = TextField(saved.bcc.joined(separator: ", "))
    draft.subject = TextField(saved.subject)
    draft.replaceBody(saved.body)
    draft.attachments = saved.attachments.map { Draft.Attachment(path: $0, size: nil) }
    draft.sign = saved.sign
    draft.encrypt = saved.encrypt
    // Who a partly sent message already reached: shown as before a restart, and left out of the next send.
    // Only this message's recipients count (red-team: a hand-edited list with strangers hid who was left
    // out), and what is dropped is said.
    let (kept, dropped) = DeliveredRecipients.kept(saved.delivered, recipients: draft.recipientAddresses)
    draft.delivered = kept
    // The Date and Message-ID of its first send, kept for this one (both, or neither).
    if let date = saved.date, let messageID = saved.messageID {
      draft.sentDate = date
      draft.messageID = messageID
    }
    if status == nil { status = Self.partlySent(kept) }
    if dropped + saved.deliveredIgnored > 0 {
      let count = dropped + saved.deliveredIgnored
      let note =
        "the draft's list of who already has it named \(count) address\(count == 1 ? "" : "es") that "
        + "\(count == 1 ? "is" : "are") not a recipient of this message: ignored"
      status = StatusLine(error: status.map { $0.text + "; " + note } ?? note)
    }
    let field: Draft.Field =
      switch saved.cursor?.field {
      case "from": .from
      case "cc": .cc
      case "bcc": .bcc
      case "subject": .subject
      case "body": .body
      default: .to
      }
    draft.focus = field
    if field == .body {
      draft.body.moveCursor(toOffset: saved.cursor?.offset ?? 0)
    } else {
      draft[field].moveCursor(to: saved.cursor?.offset ?? 0)
    }
    draft.layout(width: width, height: height)
    drafts.id = saved.id
    drafts.continuedIn = .some(draftList.folder)
    drafts.stored = true
    drafts.saved = draftSnapshot()
    screen = .compose
    return saved.attachments.map { .checkAttachment(path: $0) }
  }

  /// "just now", "5 min ago", "3 h ago", "2 d ago".
  static func age(_ seconds: Double) -> String {
    let whole = Int(max(0, seconds.isFinite ? min(seconds, 1e12) : 0))
    if whole < 60 { return "just now" }
    if whole < 3_600 { return "\(whole / 60) min ago" }
    if whole < 86_400 { return "\(whole / 3_600) h ago" }
    return "\(whole / 86_400) d ago"
  }
}
