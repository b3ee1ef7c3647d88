import Foundation
import MailSender
import SMTPProtocol
import Testing

@testable import ComposerCore
@testable import SendPlanning

/// Issue 12 §1 and §2 through `update` alone: the draft saved after a timer the runtime runs, the drafts offered
/// at start, the postpone key, the draft removed after a send that went and kept after one that did not, and the
/// queue key on the result screen.
@Suite struct DraftUpdateTests {
  init() { useUTF8Locale() }

  /// The saves a list of effects asks for.
  static func saves(_ effects: [ComposerEffect]) -> [DraftStore.Draft] {
    effects.compactMap { if case .saveDraft(let snapshot, _) = $0 { snapshot.draft } else { nil } }
  }

  static func timers(_ effects: [ComposerEffect]) -> [Int] {
    effects.compactMap {
      if case .setTimer(let id, let after) = $0, after == ComposerModel.draftDelay { id } else { nil }
    }
  }

  @Test func anEditAsksForOneTimerAndTheTimerSavesWhatIsOnScreen() throws {
    var model = try Fixtures.model()
    let first = model.type("bob@example.org")
    #expect(Self.timers(first) == [1], "one timer for a burst of keys: \(first.map(\.name))")
    #expect(Self.saves(first).isEmpty, "nothing is written on the key path")
    model.press(.tab, .tab, .tab)
    model.type("Hi")
    let effects = model.update(.timerFired(id: 1))
    let saved = try #require(Self.saves(effects).first)
    #expect(effects.count == 1)
    #expect(saved.id == "\(Fixtures.now)-0-1")
    #expect(saved.account == "work")
    #expect(saved.from == "alice@example.org")
    #expect(saved.to == ["bob@example.org"] && saved.cc.isEmpty && saved.bcc.isEmpty)
    #expect(saved.subject == "Hi")
    #expect(saved.cursor == DraftStore.Cursor(field: "subject", offset: 2))
    guard case .saveDraft(_, let folder)? = effects.first else { return }
    #expect(folder == nil, "the account has no drafts key: the runtime's default folder")
    // While the save is out, edits ask for no timer: its answer does.
    #expect(Self.timers(model.type("!")).isEmpty)
    let after = model.update(.draftSaved(.success(SavedDraft(id: saved.id, path: "/d/\(saved.id).eml"))))
    #expect(Self.timers(after) == [2])
    let second = Self.saves(model.update(.timerFired(id: 2)))
    #expect(second.map(\.subject) == ["Hi!"] && second.first?.id == saved.id)
    // A timer already fired (or another's) does nothing.
    #expect(model.update(.timerFired(id: 1)).isEmpty)
  }

  @Test func aKeyThatChangesNothingWritesNothing() throws {
    var model = try Fixtures.model()
    model.type("bob@example.org")
    let saved = try #require(Self.saves(model.update(.timerFired(id: 1))).first)
    _ = model.update(.draftSaved(.success(SavedDraft(id: saved.id, path: "/d/x.eml"))))
    let opened = model.press(.ctrl("p"), .character("q"))
    let timer = try #require(Self.timers(opened).first)
    #expect(model.update(.timerFired(id: timer)).isEmpty, "the same message: no write")
  }

  @Test func theDraftHoldsTheBodyAndTheCursorInIt() throws {
    var model = try Fixtures.model()
    model.press(.tab, .tab, .tab, .tab)
    model.type("one")
    model.press(.enter)
    model.type("two")
    model.press(.left)
    let saved = try #require(Self.saves(model.update(.timerFired(id: 1))).first)
    #expect(saved.body == "one\ntwo")
    #expect(saved.cursor == DraftStore.Cursor(field: "body", offset: 6))
  }

  @Test func anEmptiedMessageRemovesItsDraft() throws {
    var model = try Fixtures.model()
    model.type("b")
    let saved = try #require(Self.saves(model.update(.timerFired(id: 1))).first)
    _ = model.update(.draftSaved(.success(SavedDraft(id: saved.id, path: "/d/x.eml"))))
    let timer = try #require(Self.timers(model.press(.backspace)).first)
    let effects = model.update(.timerFired(id: timer))
    guard case .removeDraft(let id, nil)? = effects.first, effects.count == 1 else {
      Issue.record("expected removeDraft, got \(effects.map(\.name))")
      return
    }
    #expect(id == saved.id)
  }

  @Test func postponeSavesThenLeavesSayingWhereTheDraftIs() throws {
    var model = try Fixtures.model()
    model.type("bob@example.org")
    let effects = model.press(.ctrl("s"))
    let saved = try #require(Self.saves(effects).first)
    #expect(effects.count == 1)
    #expect(model.status?.text == "saving the draft…")
    let leave = model.update(.draftSaved(.success(SavedDraft(id: saved.id, path: "/d/\(saved.id).eml"))))
    guard case .leave(let line)? = leave.first, leave.count == 1 else {
      Issue.record("expected leave, got \(leave.map(\.name))")
      return
    }
    #expect(line == "postponed: /d/\(saved.id).eml (sealpost offers it when it starts again)")
  }

  @Test func ctrlQSavesUnsavedEditsAndAnEmptyMessageQuitsAtOnce() throws {
    var empty = try Fixtures.model()
    #expect(empty.press(.ctrl("q")).map(\.name) == ["quit"])
    var model = try Fixtures.model()
    model.type("bob@example.org")
    #expect(model.press(.ctrl("q")).map(\.name) == ["saveDraft"])
    let leave = model.update(.draftSaved(.success(SavedDraft(id: "x", path: "/d/x.eml"))))
    guard case .leave(let line)? = leave.first else {
      Issue.record("expected leave, got \(leave.map(\.name))")
      return
    }
    #expect(line == "the message is kept as a draft: /d/x.eml (sealpost offers it when it starts again)")
  }

  /// A full disk: the status line says so and stays until a save works; the message on screen is untouched;
  /// leaving stops, and Ctrl-Q again quits without the draft.
  @Test func aFailedSaveSaysSoAndKeepsTheMessage() throws {
    var model = try Fixtures.model()
    model.type("bob@example.org")
    #expect(model.press(.ctrl("q")).map(\.name) == ["saveDraft"])
    let problem = "cannot save the draft: cannot write /d/x.eml: No space left on device"
    #expect(model.update(.draftSaved(.failure(ComposerProblem(problem)))).isEmpty)
    #expect(model.screen == .compose && model.draft.to.text == "bob@example.org")
    let theme = try Fixtures.theme()
    #expect(
      model.render(theme: theme, width: 200, height: 24).lines[22].hasPrefix(
        " not left: the draft could not be saved (\(problem)); Ctrl-Q again quits without it"))
    // The next key clears the status line, not the draft's problem.
    model.press(.tab)
    #expect(
      model.render(theme: theme, width: 200, height: 24).lines[22].hasPrefix(
        " the draft could not be saved: \(problem) — the message is still here"))
    // The postpone key tries again; Ctrl-Q, as the line said, quits without the draft.
    #expect(model.press(.ctrl("s")).map(\.name) == ["saveDraft"])
    _ = model.update(.draftSaved(.failure(ComposerProblem(problem))))
    #expect(model.screen == .compose && model.draft.to.text == "bob@example.org")
    #expect(model.press(.ctrl("q")).map(\.name) == ["quit"])
  }

  @Test func aSentMessageRemovesItsDraftAndAFailedOneKeepsIt() throws {
    var model = try Fixtures.model()
    model.type("bob@example.com")
    model.press(.ctrl("x"))
    let send = model.press(.character("y"))
    #expect(send.map(\.name) == ["saveDraft", "send"], "the draft as on screen, then the send")
    let id = try #require(Self.saves(send).first?.id)
    let reply = ReplyRecord(code: 250, enhanced: "2.0.0", lines: ["250 2.0.0 Ok"])
    let sent = model.update(.sendFinished(SendReport(failure: nil, finalReply: reply)))
    guard case .removeDraft(let removed, nil)? = sent.first, sent.count == 1 else {
      Issue.record("expected removeDraft, got \(sent.map(\.name))")
      return
    }
    #expect(removed == id)
    #expect(model.update(.draftSaved(.success(SavedDraft(id: id, path: "/d/x.eml")))).isEmpty)
    model.press(.character("q"))
    #expect(model.draft.to.text.isEmpty)
    // The next message is a new draft.
    model.type("carol@example.com")
    let next = try #require(Self.saves(model.update(.timerFired(id: model.drafts.timer ?? -1))).first)
    #expect(next.id == "\(Fixtures.now)-0-2")

    for failure in [
      SendFailure(.temporary, "451 4.3.0 try later (RCPT)", reason: .recipientsRefused),
      SendFailure(.cancelled, "cancelled — not sent", reason: .cancelled),
      SendFailure(.permanent, "550 5.1.1 no such user (RCPT)", reason: .recipientsRefused),
      SendFailure(.deliveryUnknown, "the connection dropped after the final dot", reason: .deliveryUnknown),
    ] {
      var failing = try ComposerUpdateTests.sending()
      #expect(failing.update(.sendFinished(SendReport(failure: failure))).isEmpty, "kept: \(failure)")
    }
  }

  // MARK: - The drafts offered at start

  static let quarterly = {
    var draft = DraftStore.Draft(
      id: "1796126000-a-1", account: "work", from: "alice@example.org", to: ["bob@example.org"],
      subject: "Quarterly report", body: "Numbers:\nup", attachments: ["/tmp/q.pdf"],
      cursor: DraftStore.Cursor(field: "body", offset: 9))
    draft.saved = Double(Fixtures.now - 300)
    return draft
  }()

  static let untitled = {
    var draft = DraftStore.Draft(
      id: "1796000000-a-2", account: "work", cc: ["Carol <carol@example.net>"], body: "hello")
    draft.saved = Double(Fixtures.now - 172_900)
    return draft
  }()

  /// A model whose account has drafts: the list is on screen.
  static func offered(_ list: [DraftStore.Draft] = [quarterly, untitled]) throws -> ComposerModel {
    var model = ComposerModel(width: 80, height: 24, now: Fixtures.now)
    _ = model.start()
    let effects = model.update(.catalogLoaded(.success(try Fixtures.catalog(Fixtures.oneAccount))))
    #expect(effects.map(\.name) == ["listDrafts"])
    #expect(model.screen == .drafts)
    _ = model.update(.draftsListed(.success(list)))
    return model
  }

  @Test func theDraftsAreOfferedWithSubjectRecipientsAndAge() throws {
    let model = try Self.offered()
    #expect(model.screen == .drafts)
    try Snapshot(named: "drafts-list").verify(
      model.render(theme: try Fixtures.theme(), width: 80, height: 24))
  }

  @Test func noDraftsOpenTheComposeScreenAndTheyAreOfferedOnce() throws {
    var model = try Self.offered([])
    #expect(model.screen == .compose)
    _ = model.update(.catalogLoaded(.success(try Fixtures.catalog(Fixtures.oneAccount))))
    #expect(model.screen == .compose, "not offered again")
  }

  @Test func enterContinuesTheDraftAsItWasSaved() throws {
    var model = try Self.offered()
    let effects = model.press(.enter)
    #expect(effects.map(\.name) == ["checkAttachment"], "its attachment is checked again")
    #expect(model.screen == .compose)
    #expect(model.draft.to.text == "bob@example.org")
    #expect(model.draft.subject.text == "Quarterly report")
    #expect(model.draft.body.text == "Numbers:\nup")
    #expect(model.draft.focus == .body && model.draft.body.cursor == BodyEditor.Position(line: 1, index: 0))
    #expect(model.draft.attachments == [Draft.Attachment(path: "/tmp/q.pdf", size: nil)])
    // Saving again writes the same draft, not a new one.
    model.type("!")
    let saved = try #require(Self.saves(model.update(.timerFired(id: model.drafts.timer ?? -1))).first)
    #expect(saved.id == Self.quarterly.id && saved.body == "Numbers:\n!up")
  }

  /// Red-team: a hand-edited sidecar says 40 strangers and victim, a To recipient, already have the message.
  /// The review listed `RCPT TO <victim@y.org>`, its warning was cut off before victim's name, and the send
  /// left victim out under SENT. Now only the message's recipients count (the strangers are dropped, with a
  /// note), the envelope holds exactly the RCPT TO lines sent, and the warning names exactly who is left out.
  @Test func aHostileDeliveredListCountsOnlyTheMessagesRecipients() throws {
    var hostile = DraftStore.Draft(
      id: "1796126000-a-3", account: "work", to: ["alice@x.org, victim@y.org"], subject: "Hi", body: "text",
      delivered: (1...40).map { "other\($0)@z.org" } + ["victim@y.org"])
    hostile.saved = Double(Fixtures.now - 60)
    var model = try Self.offered([hostile])
    model.press(.enter)
    #expect(model.draft.delivered == ["victim@y.org"])
    #expect(
      model.status?.text
        == "partly sent: victim@y.org already has it; sending again goes only to the others; the draft's list "
        + "of who already has it named 40 addresses that are not a recipient of this message: ignored")
    model.press(.ctrl("x"))
    let review = try #require(model.review)
    #expect(review.envelope.map(\.1) == ["<alice@example.org>", "<alice@x.org>"])
    #expect(review.leftOut == ["victim@y.org"])
    #expect(review.warnings.first == "already sent to victim@y.org: y sends only to the other recipients")
    let screen = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines.joined(
      separator: "\n")
    #expect(screen.contains("! already sent to victim@y.org"), "\(screen)")
    #expect(!screen.contains("RCPT TO    <victim@y.org>") && !screen.contains("other1@z.org"), "\(screen)")
    guard case .send(let order)? = model.press(.character("y")).last else {
      Issue.record("no send")
      return
    }
    #expect(order.delivered == ["victim@y.org"])
  }

  /// Every recipient already has it: the envelope has no RCPT TO and the warning names them (the planning
  /// then refuses: "every recipient already has this message").
  @Test func aDraftWhoseRecipientsAllHaveItCannotBeSent() throws {
    var done = DraftStore.Draft(
      id: "1796126000-a-4", account: "work", to: ["alice@x.org"], subject: "Hi", body: "text",
      delivered: ["ALICE@x.org", "alice@X.ORG"])
    done.saved = Double(Fixtures.now - 60)
    var model = try Self.offered([done])
    model.press(.enter)
    #expect(model.draft.delivered == ["alice@x.org"])
    model.press(.ctrl("x"))
    #expect(model.review?.envelope.map(\.0) == ["MAIL FROM"])
    #expect(
      model.review?.warnings.first == "already sent to alice@x.org: y sends only to the other recipients")
  }

  /// A draft written with another usable account is continued with it, and stays in the folder it was listed
  /// from.
  @Test func aDraftOfAnotherAccountIsContinuedWithItInTheFolderItCameFrom() throws {
    let config = """
      account work
      host mail.example.org
      tls on
      from alice@example.org
      drafts /d/work

      account home
      host smtp.example.com
      tls on
      from alice@example.com
      drafts /d/home

      """
    var model = ComposerModel(.init(account: "home"), width: 80, height: 24, now: Fixtures.now)
    _ = model.start()
    let listed = model.update(.catalogLoaded(.success(try Fixtures.catalog(config))))
    guard case .listDrafts(let folder)? = listed.first else {
      Issue.record("expected listDrafts, got \(listed.map(\.name))")
      return
    }
    #expect(folder == "/d/home")
    var draft = Self.untitled
    draft.from = "alice@example.org"
    _ = model.update(.draftsListed(.success([draft])))
    // Red team: the list says which account the draft continues with before Enter switches to it.
    let rows = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines
    #expect(rows[4].hasPrefix(">[work] (no subject)"), "\(rows[4])")
    model.press(.enter)
    #expect(model.account?.name == "work")
    #expect(model.draft.from.text == "alice@example.org")
    model.type("!")
    let effects = model.update(.timerFired(id: model.drafts.timer ?? -1))
    guard case .saveDraft(let snapshot, let savedFolder)? = effects.first else {
      Issue.record("expected saveDraft, got \(effects.map(\.name))")
      return
    }
    #expect(snapshot.draft.id == draft.id && snapshot.draft.account == "work")
    #expect(savedFolder == "/d/home")
  }

  @Test func discardAsksFirstAndNStartsANewMessage() throws {
    var model = try Self.offered()
    model.press(.down)
    #expect(model.press(.character("d")).isEmpty)
    let asking = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines
    #expect(asking[22].hasPrefix(" discard the draft \"(no subject)\" for good? y discards it, n keeps it"))
    #expect(asking[23].hasPrefix(" y discard  n Esc keep"))
    #expect(model.press(.character("n")).isEmpty)
    #expect(model.draftList.entries.count == 2, "n keeps it")
    model.press(.character("d"))
    let effects = model.press(.character("y"))
    guard case .removeDraft(let id, nil)? = effects.first, effects.count == 1 else {
      Issue.record("expected removeDraft, got \(effects.map(\.name))")
      return
    }
    #expect(id == Self.untitled.id)
    #expect(model.draftList.entries.map(\.id) == [Self.quarterly.id])
    model.press(.character("n"))
    #expect(model.screen == .compose && model.draft.to.text.isEmpty)
  }

  // MARK: - The queue key

  static func temporaryFailure() throws -> ComposerModel {
    var model = try ComposerUpdateTests.sending()
    let failure = SendFailure(
      .temporary, "451 4.3.0 Try again later (RCPT)", reason: .recipientsRefused)
    _ = model.update(.sendFinished(SendReport(failure: failure)))
    return model
  }

  @Test func afterATemporaryFailureOQueuesTheMessage() throws {
    var model = try Self.temporaryFailure()
    let theme = try Fixtures.theme()
    try Snapshot(named: "send-queue-offered").verify(model.render(theme: theme, width: 80, height: 24))
    let effects = model.press(.character("o"))
    guard case .queueMessage(let order, let lastError)? = effects.first, effects.count == 1 else {
      Issue.record("expected queueMessage, got \(effects.map(\.name))")
      return
    }
    #expect(order.fields.to == ["bob@example.com"])
    #expect(lastError == "temporary failure: 451 4.3.0 Try again later (RCPT)")
    #expect(model.press(.character("o")).isEmpty, "once")
    let queued = model.update(.messageQueued(.success("1796126400000-abc")))
    #expect(queued.map(\.name) == ["removeDraft"], "the outbox has it now: the draft goes")
    let lines = model.render(theme: theme, width: 80, height: 24).lines
    #expect(
      lines[21].hasPrefix(" queued in the outbox as 1796126400000-abc: 'sealpost outbox flush' sends it"))
    #expect(lines[23].hasPrefix(" q back  s save  ↑↓ scroll"))
    model.press(.character("q"))
    #expect(model.screen == .compose && model.draft.to.text.isEmpty, "a new message")
  }

  @Test func aQueueThatFailsKeepsTheDraft() throws {
    var model = try Self.temporaryFailure()
    model.press(.character("o"))
    #expect(model.update(.messageQueued(.failure(ComposerProblem("cannot write to the outbox")))).isEmpty)
    let lines = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines
    #expect(lines[21].hasPrefix(" not queued: cannot write to the outbox — the draft is kept"))
    model.press(.character("q"))
    #expect(model.draft.to.text == "bob@example.com", "the message stays")
  }

  @Test(arguments: [
    SendFailure(.permanent, "550 5.1.1 no such user (RCPT)", reason: .recipientsRefused),
    SendFailure(.deliveryUnknown, "the connection dropped after the final dot", reason: .deliveryUnknown),
    SendFailure(.security, "the certificate is not trusted", reason: .invalidRequest),
  ])
  func onlyWhatSendQueueQueuesCanBeQueued(_ failure: SendFailure) throws {
    var model = try ComposerUpdateTests.sending()
    _ = model.update(.sendFinished(SendReport(failure: failure)))
    #expect(model.press(.character("o")).isEmpty)
    let keys = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines[23]
    #expect(!keys.contains("o queue"))
  }

  @Test func theRecordCopyIsSaidOnTheResultScreen() throws {
    var model = try ComposerUpdateTests.sending()
    let reply = ReplyRecord(code: 250, enhanced: "2.0.0", lines: ["250 2.0.0 Ok"])
    _ = model.update(.sendFinished(SendReport(failure: nil, finalReply: reply)))
    _ = model.update(
      .sentCopyRecorded(.failed("sent, but no copy was recorded: record (config:9): cannot create")))
    let lines = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines
    #expect(lines[21].hasPrefix(" warning: sent, but no copy was recorded: record (config:9): cannot create"))
    #expect(lines[22].hasPrefix(" SENT"))
  }

  @Test func theAgeOfADraft() {
    #expect(ComposerModel.age(-5) == "just now")
    #expect(ComposerModel.age(59) == "just now")
    #expect(ComposerModel.age(600) == "10 min ago")
    #expect(ComposerModel.age(7_300) == "2 h ago")
    #expect(ComposerModel.age(172_900) == "2 d ago")
    #expect(ComposerModel.age(.infinity) == "just now")
  }
}
