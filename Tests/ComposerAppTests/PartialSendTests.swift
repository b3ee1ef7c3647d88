import ComposerApp
import ComposerCore
import ComposerTesting
import Foundation
import MailSender
import MailSenderTesting
import SendPlanning
import Synchronization
import Testing

/// Review: an encrypted send goes as several copies (To/Cc together, each Bcc recipient apart). When the Bcc
/// copy failed after the To/Cc copy was accepted, sending again sent the To/Cc copy a second time, and `o`
/// queued only the failed copy. Now the composer knows which copies went: a new send goes only to the others,
/// the screens say who already has it, and the outbox gets only what is unsent.
@Suite struct PartialSendTests {
  /// A server that takes bob and puts carol off (450: a temporary failure, the kind `o` can queue).
  static func server() throws -> ScriptedSMTPServer {
    try ComposerFlowTests.server { options in
      options.recipientReplies["carol@example.test"] = "450 4.2.1 mailbox busy, try later"
    }
  }

  static func recipients(_ sessions: [RecordedSession]) -> [[String]] {
    sessions.map { $0.commands.filter { $0.hasPrefix("RCPT") } }
  }

  /// To bob, Bcc carol (and `more` Bcc recipients), encrypted: the To copy goes, carol's copy is put off (and
  /// the copies after it are never tried).
  static func sendPartly(
    _ harness: HeadlessComposer<ComposerModel>, server: ScriptedSMTPServer, more: String = ""
  ) {
    ProtectedSendFlowTests.composeAndProtect(harness, bcc: "carol@example.test" + more)
    #expect(harness.waitFor("carol@example.test: usable, valid until"), "\(harness.screenText)")
    harness.press(.character("y"))
    #expect(harness.waitFor("Passphrase of the S/MIME key"), "\(harness.screenText)")
    harness.type(ProtectedSendFlowTests.passphrase)
    harness.press(.enter)
    #expect(harness.waitFor("NOT SENT"), "\(harness.screenText)")
    #expect(
      harness.screenText.contains("PARTLY SENT: bob@example.test already has it; NOT SENT — "),
      "\(harness.screenText)")
    #expect(
      Self.recipients(server.waitForFinishedSessions(2)) == [
        ["RCPT TO:<bob@example.test>"], ["RCPT TO:<carol@example.test>"],
      ])
  }

  @Test func sendingAgainGoesOnlyToTheRecipientsWithoutIt() throws {
    let server = try Self.server()
    defer { server.stop() }
    let sandbox = try ProtectedSendFlowTests.sandbox(port: server.port, stored: [.bob, .carol])
    defer { sandbox.remove() }
    let harness = ComposerFlowTests.composer(sandbox, width: 160, height: 40)
    Self.sendPartly(harness, server: server)

    // Back to the message: the status line says who has it; the review says the send leaves them out.
    harness.press(.character("q"))
    #expect(
      harness.screenText.contains(
        "partly sent: bob@example.test already has it; sending again goes only to the others"),
      "\(harness.screenText)")
    harness.press(.ctrl("x"))
    #expect(harness.waitFor("carol@example.test: usable, valid until"), "\(harness.screenText)")
    #expect(
      harness.screenText.contains("already sent to bob@example.test: y sends only to the other recipients"),
      "\(harness.screenText)")
    harness.press(.character("y"))
    #expect(harness.waitFor("Passphrase of the S/MIME key"), "\(harness.screenText)")
    harness.type(ProtectedSendFlowTests.passphrase)
    harness.press(.enter)
    #expect(harness.waitFor("NOT SENT"), "\(harness.screenText)")
    // Only carol's copy went again; bob got his copy once.
    let sessions = server.waitForFinishedSessions(3)
    #expect(
      Self.recipients(sessions) == [
        ["RCPT TO:<bob@example.test>"], ["RCPT TO:<carol@example.test>"], ["RCPT TO:<carol@example.test>"],
      ])
    #expect(
      harness.screenText.contains("PARTLY SENT: bob@example.test already has it"), "\(harness.screenText)")
    harness.settle()
  }

  /// The draft records who already has the message (review: its sidecar had no field for them, so a draft
  /// continued after a restart went to bob a second time, and leaving warned instead). Continued in a new
  /// runtime, the status line and the review say who has it, and the send leaves bob out.
  @Test func aDraftContinuedAfterARestartLeavesOutWhoAlreadyHasIt() throws {
    let server = try Self.server()
    defer { server.stop() }
    let sandbox = try ProtectedSendFlowTests.sandbox(port: server.port, stored: [.bob, .carol])
    defer { sandbox.remove() }
    let harness = ComposerFlowTests.composer(sandbox, width: 160, height: 40)
    Self.sendPartly(harness, server: server)
    harness.settle()
    let store = DraftStore(directory: DraftFlowTests.draftFolder(sandbox))
    let saved = try #require(store.list().first)
    #expect(saved.delivered == ["bob@example.test"])
    // Leaving keeps the draft without a warning.
    harness.press(.character("q"))
    harness.press(.ctrl("q"))
    harness.settle()
    #expect(!harness.screenText.contains("not left"), "\(harness.screenText)")

    let again = ComposerFlowTests.composer(sandbox, width: 160, height: 40)
    #expect(again.screenText.contains("1 draft kept from earlier"), "\(again.screenText)")
    again.press(.enter)
    #expect(
      again.waitFor("partly sent: bob@example.test already has it; sending again goes only to the others"),
      "\(again.screenText)")
    again.press(.ctrl("x"))
    #expect(again.waitFor("carol@example.test: usable, valid until"), "\(again.screenText)")
    #expect(
      again.screenText.contains("already sent to bob@example.test: y sends only to the other recipients"),
      "\(again.screenText)")
    again.press(.character("y"))
    #expect(again.waitFor("Passphrase of the S/MIME key"), "\(again.screenText)")
    again.type(ProtectedSendFlowTests.passphrase)
    again.press(.enter)
    #expect(again.waitFor("NOT SENT"), "\(again.screenText)")
    // Bob got his copy once, before the restart; only carol's went again.
    #expect(
      Self.recipients(server.waitForFinishedSessions(3)) == [
        ["RCPT TO:<bob@example.test>"], ["RCPT TO:<carol@example.test>"], ["RCPT TO:<carol@example.test>"],
      ])
    #expect(again.screenText.contains("PARTLY SENT: bob@example.test already has it"), "\(again.screenText)")
    again.settle()
  }

  /// A server that puts carol off (450) in its second session only: the retry of her copy is accepted.
  static func serverTakingCarolLater() throws -> ScriptedSMTPServer {
    let identity = try TestPKI.shared().identity(.valid)
    var busy = StandardSMTPOptions(tlsIdentity: identity)
    busy.recipientReplies["carol@example.test"] = "450 4.2.1 mailbox busy, try later"
    let scripts = [
      ScriptedSMTPServer.standardSMTP(options: StandardSMTPOptions(tlsIdentity: identity)),
      ScriptedSMTPServer.standardSMTP(options: busy),
    ]
    let sessions = Mutex(0)
    return try ScriptedSMTPServer(options: .init(implicitTLS: identity)) { session in
      let index = sessions.withLock { count in
        defer { count += 1 }
        return count
      }
      try scripts[index == 1 ? 1 : 0](session)
    }
  }

  /// The value of the header field `name` of a message as received (CRLF line ends), nil when it has none.
  static func header(_ name: String, of message: [UInt8]) -> String? {
    let text = String(decoding: message, as: UTF8.self)
    let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
    return head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
      .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
  }

  /// Review: a retry of a partly sent message was assembled again, with a new Date and a new Message-ID, so
  /// carol (the retry) held another message than bob (the first send): threading and duplicate detection
  /// broke. The first send fixes them, the draft keeps them, and the retry an hour later — in the same
  /// runtime, or in a new one after a restart, from the draft — goes with the same ones.
  @Test(arguments: [false, true]) func aRetryKeepsTheDateAndMessageIDOfTheFirstSend(restart: Bool) throws {
    let server = try Self.serverTakingCarolLater()
    defer { server.stop() }
    let sandbox = try ProtectedSendFlowTests.sandbox(port: server.port, stored: [.bob, .carol])
    defer { sandbox.remove() }
    let clock = TestClock(Date())
    func composer() -> HeadlessComposer<ComposerModel> {
      let model = ComposerModel(
        ComposerModel.Startup(), width: 160, height: 40, now: Int64(clock.now().timeIntervalSince1970))
      let harness = HeadlessComposer(
        program: model, environment: sandbox.environment(now: clock.now), width: 160, height: 40)
      harness.start()
      harness.settle()
      return harness
    }
    var harness = composer()
    Self.sendPartly(harness, server: server)
    harness.settle()
    harness.press(.character("q"))
    if restart {
      harness.press(.ctrl("q"))
      harness.settle()
      harness = composer()
      #expect(harness.screenText.contains("1 draft kept from earlier"), "\(harness.screenText)")
      harness.press(.enter)
    }
    harness.advance(clock, by: .seconds(3_600))
    harness.press(.ctrl("x"))
    #expect(harness.waitFor("carol@example.test: usable, valid until"), "\(harness.screenText)")
    harness.press(.character("y"))
    #expect(harness.waitFor("Passphrase of the S/MIME key"), "\(harness.screenText)")
    harness.type(ProtectedSendFlowTests.passphrase)
    harness.press(.enter)
    #expect(harness.waitFor("SENT — sent: 250"), "\(harness.screenText)")
    let sessions = server.waitForFinishedSessions(3)
    #expect(Self.recipients(sessions).last == ["RCPT TO:<carol@example.test>"])
    let first = try #require(sessions.first?.messages.first)
    let retry = try #require(sessions.last?.messages.first)
    let id = try #require(Self.header("Message-ID", of: first))
    let date = try #require(Self.header("Date", of: first))
    #expect(Self.header("Message-ID", of: retry) == id)
    #expect(Self.header("Date", of: retry) == date)
    harness.settle()
  }

  /// `o` queues what is unsent: carol's copy, which failed, and dan's, which was never tried (before, only the
  /// failed copy was queued, and dan's was lost with the draft); never bob's, which went.
  @Test func theOutboxGetsEveryUnsentCopyAndOnlyThose() throws {
    let server = try Self.server()
    defer { server.stop() }
    let sandbox = try ProtectedSendFlowTests.sandbox(port: server.port, stored: [.bob, .carol, .dan])
    defer { sandbox.remove() }
    let harness = ComposerFlowTests.composer(sandbox, width: 160, height: 40)
    Self.sendPartly(harness, server: server, more: ", dan@example.test")
    harness.press(.character("o"))
    #expect(harness.waitFor("queued in the outbox as"), "\(harness.screenText)")
    let outbox = try Outbox.standard(environment: sandbox.environment().variables)
    let entries = outbox.entries()
    #expect(
      Set(entries.map(\.envelope.recipients)) == [["carol@example.test"], ["dan@example.test"]],
      "\(entries.map(\.envelope.recipients))")
    // Each queued copy is the one encrypted for its recipient (never a clear one, never bob's).
    let scratch = try TemporaryDirectory(prefix: "sealpost-cms")
    defer { scratch.remove() }
    for entry in entries {
      let queued = String(decoding: try outbox.message(entry.id), as: UTF8.self)
      #expect(queued.contains("application/pkcs7-mime"))
      let reader: SMIMETestKind = entry.envelope.recipients == ["dan@example.test"] ? .dan : .carol
      let content = try ProtectedSendFlowTests.decryptAndVerify(
        try ProtectedSendFlowTests.envelopedDER(queued), as: reader, in: scratch)
      #expect(content.contains("The numbers are in."))
    }
    harness.settle()
  }
}
