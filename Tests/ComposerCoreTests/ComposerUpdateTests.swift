import Foundation
import MailSender
import SMTPProtocol
import SMTPTransport
import Testing

@testable import ComposerCore
@testable import SendPlanning

/// The key contract (issue 9 §3, README "Composer keys") and the screens' flow, through `update` alone.
@Suite struct ComposerUpdateTests {
  init() { useUTF8Locale() }

  @Test func startReadsTheAccountsAndOneUsableAccountSkipsThePicker() throws {
    var model = ComposerModel(width: 80, height: 24, now: Fixtures.now)
    #expect(model.start().map(\.name) == ["loadCatalog"])
    #expect(model.screen == .loading)
    let listed = model.update(.catalogLoaded(.success(try Fixtures.catalog(Fixtures.oneAccount))))
    #expect(listed.map(\.name) == ["listDrafts"], "the drafts of the account are offered first")
    #expect(model.screen == .drafts)
    _ = model.update(.draftsListed(.success([])))
    #expect(model.screen == .compose)
    #expect(model.draft.from.text == "alice@example.org")
    #expect(model.draft.focus == .to)
  }

  static let twoAccounts = """
    account work
    host mail.example.org
    tls on
    from alice@example.org

    account broken
    host relay.example.net
    tls off
    from alice@example.net

    account home
    host smtp.example.com
    port 587
    tls on
    from alice@example.com

    """

  @Test func unusableAccountsAreListedWithTheirReasonAndCannotBePicked() throws {
    var model = try Fixtures.model(Self.twoAccounts)
    #expect(model.screen == .picker)
    #expect(model.picker.entries.map(\.isUsable) == [true, false, true])
    let reason = try #require(model.picker.entries[1].problem)
    // The planning layer's own words, with the file and line of the key.
    #expect(reason.hasPrefix("config:8: tls: account broken has tls off"))
    #expect(model.picker.selection == 0)
    model.press(.down)
    #expect(model.picker.selection == 2, "the cursor skips the unusable account")
    model.press(.character("k"))
    #expect(model.picker.selection == 0)
    model.press(.character("j"), .enter)
    _ = model.update(.draftsListed(.success([])))
    #expect(model.screen == .compose)
    #expect(model.account?.name == "home")
    #expect(model.draft.from.text == "alice@example.com")
  }

  @Test func anAccountGivenAtStartIsPicked() throws {
    let model = try Fixtures.model(Self.twoAccounts, startup: .init(account: "home"))
    #expect(model.screen == .compose)
    #expect(model.account?.name == "home")
  }

  @Test func noAccountOpensTheFormThatCreatesOne() throws {
    var model = try Fixtures.model("")
    #expect(model.screen == .accountForm)
    model.type("mine")
    model.press(.tab)
    model.type("smtp.example.org")
    model.press(.tab, .tab)
    model.press(.right)  // TLS: implicit → starttls
    model.press(.tab)
    model.type("me@example.org")
    model.press(.tab)
    model.type("me")
    let effects = model.press(.enter)
    guard case .createAccount(let form)? = effects.first, effects.count == 1 else {
      Issue.record("expected one createAccount, got \(effects.map(\.name))")
      return
    }
    #expect(
      form
        == AccountForm(
          name: "mine", host: "smtp.example.org", port: 587, security: .startTLS, from: "me@example.org",
          user: "me", passwordCommand: nil))
    #expect(
      model.update(.accountCreated(.success("/home/me/.config/sealpost/config"))).map(\.name) == [
        "loadCatalog"
      ])
    _ = model.update(
      .catalogLoaded(
        .success(
          try Fixtures.catalog(
            "account mine\nhost smtp.example.org\nport 587\ntls on\ntls_starttls on\nfrom me@example.org\n")))
    )
    _ = model.update(.draftsListed(.success([])))
    #expect(model.screen == .compose)
    #expect(model.account?.name == "mine")
  }

  @Test func theFormSaysWhatIsWrongAndWritesNothing() throws {
    var model = try Fixtures.model("")
    model.type("mine")
    model.press(.tab)
    model.type("smtp.example.org")
    #expect(model.press(.enter).isEmpty)
    #expect(model.accountForm.form.problem?.hasPrefix("From:") == true)
  }

  @Test func theProbeScreenIsReachableWithoutAnAccount() throws {
    var model = try Fixtures.model("")
    model.press(.function(2))
    #expect(model.screen == .probeForm)
    model.type("mx.example.org:587")
    model.press(.tab, .tab, .right)
    let effects = model.press(.enter)
    guard case .probe(let order)? = effects.first else {
      Issue.record("expected a probe, got \(effects.map(\.name))")
      return
    }
    #expect(order == ProbeOrder(host: "mx.example.org", port: 587, security: .startTLS))
    #expect(model.screen == .probe)
  }

  @Test func fieldsGoInTheContractsOrderWithTabAndShiftTab() throws {
    var model = try Fixtures.model()
    var seen: [Draft.Field] = [model.draft.focus]
    for _ in 0..<6 {
      model.press(.tab)
      seen.append(model.draft.focus)
    }
    #expect(seen == [.to, .cc, .bcc, .subject, .body, .from, .to])
    model.press(.shiftTab)
    #expect(model.draft.focus == .from)
    model.press(.shiftTab)
    #expect(model.draft.focus == .body)
  }

  @Test func printableKeysTypeTextInFieldsAndReadlineKeysEdit() throws {
    var model = try Fixtures.model()
    model.type("q? bob@example.org")
    #expect(model.draft.to.text == "q? bob@example.org", "q and ? are text in a field")
    #expect(model.screen == .compose && !model.showsHelp)
    model.press(.ctrl("a"))
    model.press(.alt("f"))
    model.press(.ctrl("k"))
    #expect(model.draft.to.text == "q")
    model.press(.ctrl("e"))
    model.type(" x")
    model.press(.ctrl("w"))
    #expect(model.draft.to.text == "q ")
    model.press(.ctrl("u"))
    #expect(model.draft.to.text == "")
    model.type("one two")
    model.press(.alt("b"))
    model.type("+")
    #expect(model.draft.to.text == "one +two")
  }

  @Test func addressesAreCheckedWhenLeavingAFieldWithTheReasonBesideIt() throws {
    var model = try Fixtures.model()
    model.type("bob@example.org, carol@")
    #expect(model.draft.problems[.to] == nil, "not while typing")
    model.press(.tab)
    let problem = try #require(model.draft.problems[.to])
    let screen = model.render(theme: try Fixtures.theme(), width: 80, height: 24)
    #expect(screen.lines[2].hasPrefix("To:      bob@example.org, carol@ "))
    #expect(screen.lines[2].contains("  " + problem.prefix(20)), "the reason beside the field: \(problem)")
    model.press(.shiftTab)
    model.press(.backspace)
    #expect(model.draft.problems[.to] == nil, "editing clears the old reason")
    model.type("@example.org")
    model.press(.tab)
    #expect(model.draft.problems[.to] == nil)
  }

  @Test func theCommandKeysOfCompose() throws {
    var model = try Fixtures.model()
    model.type("bob@example.org")
    model.press(.ctrl("p"))
    #expect(model.screen == .preview)
    model.press(.character("q"))
    #expect(model.screen == .compose)
    model.press(.ctrl("x"))
    #expect(model.screen == .review)
    model.press(.character("e"))
    #expect(model.screen == .compose)
    model.press(.tab, .tab, .tab, .tab)
    #expect(model.draft.focus == .body)
    model.type("Hi")
    let editor = model.press(.ctrl("o"))
    guard case .openEditor(let text)? = editor.first else {
      Issue.record("expected openEditor, got \(editor.map(\.name))")
      return
    }
    #expect(text == "Hi")
    _ = model.update(.editorFinished(.edited("Hello\nfrom the editor")))
    #expect(model.draft.body.text == "Hello\nfrom the editor")
    _ = model.update(.editorFinished(.failed("neither VISUAL nor EDITOR is set")))
    #expect(model.status?.text == "neither VISUAL nor EDITOR is set")
    #expect(model.draft.body.text == "Hello\nfrom the editor", "a failed editor keeps the body")
    // Issue 12: Ctrl-Q with a message on screen saves it as a draft first.
    #expect(model.press(.ctrl("q")).map(\.name) == ["saveDraft"])
  }

  /// Review: when the runtime found more matches than it lists, the panel says so, and the path is not
  /// completed to the common start of only some of them.
  @Test func aCompletionWithMoreMatchesSaysSoAndDoesNotComplete() throws {
    var model = try Fixtures.model()
    model.press(.ctrl("t"))
    model.type("/d/re")
    _ = model.press(.tab)
    _ = model.update(
      .pathCompletions(prefix: "/d/re", candidates: ["/d/report-1.txt", "/d/report-2.txt"], more: true))
    #expect(model.draft.attachPanel?.path?.text == "/d/re", "some matches only: not completed")
    let screen = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines.joined(
      separator: "\n")
    #expect(screen.contains("/d/report-2.txt"))
    #expect(screen.contains("more… (only some matches are listed: type more of the name)"), "\(screen)")
    model.type("port-1")
    let after = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines.joined(separator: "\n")
    #expect(!after.contains("more…"), "typing clears the list")
  }

  @Test func ctrlTAttachesWithPathCompletionAndRemoves() throws {
    var model = try Fixtures.model()
    model.press(.ctrl("t"))
    #expect(model.draft.attachPanel?.path != nil, "no attachment yet: straight to the path")
    model.type("/tmp/re")
    #expect(model.press(.tab).map(\.name) == ["completePath"])
    _ = model.update(
      .pathCompletions(prefix: "/tmp/re", candidates: ["/tmp/report.pdf", "/tmp/results.csv"]))
    #expect(model.draft.attachPanel?.path?.text == "/tmp/re", "no longer common prefix")
    #expect(model.draft.attachPanel?.candidates.count == 2)
    model.type("p")
    _ = model.press(.tab)
    _ = model.update(.pathCompletions(prefix: "/tmp/rep", candidates: ["/tmp/report.pdf"]))
    #expect(model.draft.attachPanel?.path?.text == "/tmp/report.pdf")
    let check = model.press(.enter)
    guard case .checkAttachment(let path)? = check.first else {
      Issue.record("expected checkAttachment, got \(check.map(\.name))")
      return
    }
    #expect(path == "/tmp/report.pdf")
    _ = model.update(.attachmentChecked(path: path, result: .success(12_390)))
    #expect(model.draft.attachments == [Draft.Attachment(path: "/tmp/report.pdf", size: 12_390)])
    model.press(.character("a"))
    model.type("/nope")
    _ = model.press(.enter)
    _ = model.update(
      .attachmentChecked(path: "/nope", result: .failure(ComposerProblem("/nope: no such file"))))
    #expect(model.draft.attachments.count == 1)
    #expect(model.status?.text == "not attached: /nope: no such file")
    model.press(.character("?"))
    #expect(model.showsHelp, "? is help in the attachment list")
    model.press(.character("?"))
    model.press(.character("d"))
    #expect(model.draft.attachments.isEmpty)
    model.press(.escape)
    #expect(model.draft.attachPanel == nil)
    #expect(model.screen == .compose)
  }

  /// A model on the review screen with a message that gives every warning.
  static func reviewWithWarnings() throws -> ComposerModel {
    var model = try Fixtures.model(
      """
      account work
      host mail.example.org
      port 587
      tls on
      tls_starttls on
      auth on
      user alice@example.net
      from alice@example.org
      passwordeval pass show mail

      """)
    model.type("bob@example.com")
    model.press(.tab, .tab, .tab, .tab)
    model.type("The report is attached.")
    model.press(.ctrl("x"))
    return model
  }

  @Test func reviewWarnsAndYSends() throws {
    var model = try Self.reviewWithWarnings()
    let review = try #require(model.review)
    #expect(
      review.warnings == [
        "the subject is empty",
        "the body says \"attached\" but nothing is attached (Ctrl-T attaches)",
        "the From domain example.org differs from the login's (example.net): the server may refuse or rewrite it",
      ])
    // The draft as on screen first (issue 12), then the send.
    let effects = model.press(.character("y"))
    guard case .send(let order)? = effects.last, effects.map(\.name) == ["saveDraft", "send"] else {
      Issue.record("expected one send, got \(effects.map(\.name))")
      return
    }
    #expect(order.account == "work")
    #expect(order.fields.to == ["bob@example.com"])
    #expect(order.fields.from == nil, "the account's own From")
    #expect(order.fields.body == Array("The report is attached.".utf8))
    #expect(model.screen == .send)
  }

  /// The assembly's findings and notes (issue 10's linter, the planning layer's notes) come from the runtime,
  /// which builds the message; the review shows them with its warnings, and a message that cannot be built
  /// cannot be sent.
  @Test func theReviewShowsTheAssemblysFindingsAndNotes() throws {
    var model = try Fixtures.model()
    model.type("bob@example.com")
    model.press(.tab, .tab, .tab)
    model.type("Report")
    let effects = model.press(.ctrl("x"))
    guard case .checkMessage(let order)? = effects.first, effects.count == 1 else {
      Issue.record("expected one checkMessage, got \(effects.map(\.name))")
      return
    }
    #expect(order.fields.to == ["bob@example.com"])
    #expect(order.date == Date(timeIntervalSince1970: Double(Fixtures.now)))
    let remarks = MessageRemarks(
      warnings: ["line 3 is longer than 998 octets"], notes: ["Cc carol@example.org is not in the envelope"])
    _ = model.update(.messageChecked(order: order.id + 1, .success(remarks)))
    #expect(model.review?.remarks == MessageRemarks(), "an answer to another order is ignored")
    _ = model.update(.messageChecked(order: order.id, .success(remarks)))
    let lines = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines
    let warning = try #require(lines.firstIndex { $0.hasPrefix(" ! line 3 is longer than 998 octets") })
    #expect(lines[warning + 1].hasPrefix(" · note: Cc carol@example.org is not in the envelope"))
    guard case .send? = model.press(.character("y")).last else {
      Issue.record("remarks do not stop the send")
      return
    }

    // A message the assembly cannot build (an attachment gone since it was added) is not sent.
    var broken = try Fixtures.model()
    broken.type("bob@example.com")
    let asked = broken.press(.ctrl("x"))
    guard case .checkMessage(let brokenOrder)? = asked.first else {
      Issue.record("expected checkMessage, got \(asked.map(\.name))")
      return
    }
    _ = broken.update(
      .messageChecked(order: brokenOrder.id, .failure(ComposerProblem("cannot read plan.pdf"))))
    #expect(broken.press(.character("y")).isEmpty)
    #expect(broken.status == StatusLine(error: "cannot send: cannot read plan.pdf"))
    let screen = broken.render(theme: try Fixtures.theme(), width: 80, height: 24).lines
    #expect(screen.contains { $0.hasPrefix(" ✗ cannot send: cannot read plan.pdf") })
  }

  @Test func noRecipientStopsTheSendOnTheReview() throws {
    var model = try Fixtures.model()
    model.press(.ctrl("x"))
    #expect(model.review?.warnings.first == "no recipient: fill in To, Cc or Bcc")
    #expect(model.press(.character("y")).isEmpty)
    #expect(model.screen == .review)
    #expect(model.status?.isError == true)
  }

  @Test func aBadAddressStopsTheSend() throws {
    var model = try Fixtures.model()
    model.type("bob@")
    model.press(.ctrl("x"))
    #expect(model.review?.blocking.first?.hasPrefix("To:") == true)
    #expect(model.press(.character("y")).isEmpty)
  }

  static func sending() throws -> ComposerModel {
    var model = try Fixtures.model()
    model.type("bob@example.com")
    model.press(.tab, .tab, .tab)
    model.type("Hello")
    model.press(.tab)
    model.type("Body text")
    model.press(.ctrl("x"))
    model.press(.character("y"))
    return model
  }

  @Test func cancelDuringTheSendKeepsTheMessage() throws {
    var model = try Self.sending()
    _ = model.update(.session(SendEvent(time: 0, insideTLS: false, payload: .stage(.connecting))))
    #expect(model.press(.character("q")).isEmpty, "q does not leave a running send")
    #expect(model.press(.escape).map(\.name) == ["cancelSession"])
    let cancelled = SendFailure(.cancelled, "cancelled — not sent", reason: .cancelled)
    _ = model.update(.sendFinished(SendReport(failure: cancelled)))
    #expect(model.session?.result == .cancelled("cancelled — not sent"))
    model.press(.character("q"))
    #expect(model.screen == .compose)
    #expect(model.draft.to.text == "bob@example.com")
    #expect(model.draft.subject.text == "Hello")
    #expect(model.draft.body.text == "Body text")
  }

  @Test func ctrlCCancelsAndCtrlQDuringASendCancelsAndQuits() throws {
    var model = try Self.sending()
    #expect(model.press(.ctrl("c")).map(\.name) == ["cancelSession"])
    #expect(model.press(.ctrl("q")).map(\.name) == ["cancelSession", "quit"])
  }

  @Test func aSentMessageClearsTheDraftOnTheWayBack() throws {
    var model = try Self.sending()
    let reply = ReplyRecord(code: 250, enhanced: "2.0.0", lines: ["250 2.0.0 Ok: queued as 4XyZ"])
    var report = SendReport(failure: nil, finalReply: reply)
    report.loggedIn = true
    _ = model.update(.sendFinished(report))
    #expect(model.session?.result == .sent("sent: 250 2.0.0 Ok: queued as 4XyZ"))
    #expect(model.press(.character("s")).map(\.name) == ["saveTranscript"])
    _ = model.update(.transcriptSaved(.success(["/tmp/t.txt", "/tmp/t.jsonl"])))
    let screen = model.render(theme: try Fixtures.theme(), width: 80, height: 24)
    #expect(screen.lines[21].contains("transcript saved: /tmp/t.txt, /tmp/t.jsonl"))
    model.press(.character("q"))
    #expect(model.screen == .compose)
    #expect(model.draft.to.text.isEmpty && model.draft.body.text.isEmpty)
    #expect(model.draft.from.text == "alice@example.org")
  }

  static func certificateFailure() throws -> ComposerModel {
    var model = try Self.sending()
    let summary = Transcripts.summary(verdict: .failed(reason: "self-signed certificate", depth: 0))
    _ = model.update(
      .session(SendEvent(time: 0.1, insideTLS: false, payload: .tls(.established(summary), showsChain: true)))
    )
    let failure = SendFailure(
      .security,
      "the certificate of mail.example.org is not trusted: self-signed certificate — nothing was sent",
      reason: .untrustedCertificate(summary.verdict))
    var report = SendReport(failure: failure)
    report.tls = summary
    _ = model.update(.sendFinished(report))
    return model
  }

  @Test func thePinFlowNeverSendsWithoutConfirmation() throws {
    var model = try Self.certificateFailure()
    let offer = try #require(model.session?.pin)
    #expect(offer.stage == .offered)
    #expect(offer.pin == "sha256/" + TranscriptText.base64(Transcripts.leaf.spkiSHA256))
    #expect(model.press(.character("y")).isEmpty, "y before the offer is opened does nothing")
    #expect(model.update(.pinRecorded(.success("/pins"))).isEmpty, "a pin nobody asked for sends nothing")
    model.press(.character("p"))
    #expect(model.session?.pin?.stage == .confirming)
    #expect(model.press(.character("n")).isEmpty)
    #expect(model.session?.pin?.stage == .offered)
    model.press(.character("p"))
    #expect(model.press(.escape).isEmpty)
    model.press(.character("p"))
    let record = model.press(.character("y"))
    guard case .recordPin(let host, let port, let pin)? = record.first, record.count == 1 else {
      Issue.record("expected recordPin alone, got \(record.map(\.name))")
      return
    }
    #expect(host == "mail.example.org" && port == 465 && pin == offer.pin)
    let resend = model.update(.pinRecorded(.success("/home/me/.local/state/sealpost/pins")))
    guard case .send(let order)? = resend.first, resend.count == 1 else {
      Issue.record("expected one send, got \(resend.map(\.name))")
      return
    }
    #expect(order.overrides.pins == [offer.pin])
    #expect(order.fields.to == ["bob@example.com"])
    #expect(model.session?.isRunning == true)
  }

  @Test func aPinThatCouldNotBeRecordedSendsNothing() throws {
    var model = try Self.certificateFailure()
    model.press(.character("p"))
    model.press(.character("y"))
    #expect(model.update(.pinRecorded(.failure(ComposerProblem("the pin file is not private")))).isEmpty)
    #expect(model.session?.pin?.stage == .offered)
    #expect(model.session?.isRunning == false)
  }

  @Test func theSecretIsAskedMaskedAndNeverDrawn() throws {
    var model = try Self.sending()
    let theme = try Fixtures.theme()
    _ = model.update(.secretRequested(prompt: "Password for alice@example.org at mail.example.org:465:"))
    model.type("hunter2?q")
    let screen = model.render(theme: theme, width: 80, height: 24)
    let text = screen.lines.joined(separator: "\n")
    #expect(!text.contains("hunter2"))
    #expect(screen.lines[22].contains("•••••••••"))
    #expect(!model.showsHelp, "? is typed into the field")
    model.press(.backspace)
    // Reflection (a failed expectation, dump) never shows it either.
    var dumped = ""
    dump(model, to: &dumped)
    #expect(!dumped.contains("hunter") && !String(describing: model.session?.secretField).contains("hunter"))
    #expect(!dumped.contains("pass show mail"), "nor an account's settings")
    let effects = model.press(.enter)
    guard case .answerSecret(let secret)? = effects.first else {
      Issue.record("expected answerSecret, got \(effects.map(\.name))")
      return
    }
    #expect(secret == Secret("hunter2?"))
    #expect(model.session?.secretPrompt == nil)
    #expect(model.session?.secretField.count == 0, "the typed secret is not kept")
    let after = model.render(theme: theme, width: 80, height: 24).lines.joined(separator: "\n")
    #expect(!after.contains("hunter2"))
  }

  @Test func escAtThePasswordFieldAnswersNothingAndCancels() throws {
    var model = try Self.sending()
    _ = model.update(.secretRequested(prompt: "Password:"))
    model.type("abc")
    #expect(model.press(.escape).map(\.name) == ["answerSecret", "cancelSession"])
    #expect(model.session?.secretPrompt == nil)
  }

  @Test func resizeKeepsEveryStateAndTooSmallIgnoresKeys() throws {
    var model = try Fixtures.model()
    model.type("bob@example.org")
    model.press(.tab, .tab, .tab)
    model.type("Subject")
    model.press(.tab)
    model.type("line one")
    model.press(.enter)
    model.type("line two")
    _ = model.update(.input(.resize(width: 60, height: 20)))
    #expect(!model.hasRoom)
    #expect(model.press(.character("x"), .ctrl("x")).isEmpty)
    _ = model.update(.input(.paste("pasted")))
    _ = model.update(.input(.resize(width: 200, height: 60)))
    #expect(model.draft.to.text == "bob@example.org")
    #expect(model.draft.subject.text == "Subject")
    #expect(model.draft.body.text == "line one\nline two", "the keys typed while too small were dropped")
    #expect(model.draft.body.viewWidth == 200 && model.draft.body.viewHeight == 50)
    #expect(model.press(.ctrl("q")).map(\.name) == ["saveDraft"], "the message is kept as a draft first")
  }

  @Test func helpListsEveryKeyOfTheScreen() throws {
    var model = try Fixtures.model(width: 100, height: 40)
    model.press(.function(1))
    #expect(model.showsHelp)
    let screen = model.render(theme: try Fixtures.theme(), width: 100, height: 40).lines.joined(
      separator: "\n")
    for key in ComposerModel.composeKeys {
      #expect(screen.contains(key.keys), "help lacks \(key.keys)")
    }
    model.press(.escape)
    #expect(!model.showsHelp)
    model.press(.ctrl("x"))
    model.press(.character("?"))
    #expect(model.showsHelp, "? opens help where no text is typed")
    model.press(.character("q"))
    #expect(!model.showsHelp && model.screen == .review, "q closes the help, not the screen")
  }
}
