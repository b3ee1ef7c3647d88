import ComposerApp
import ComposerCore
import ComposerTesting
import Foundation
import MailSender
import MailSenderTesting
import Testing

/// Review: the S/MIME key's passphrase was awaited on the runtime's file-work queue, so while the masked field
/// waited for the person, every other file effect (attachment checks, path completion, the review's checks)
/// waited behind it. Planning now has a queue of its own.
@Suite struct PassphraseWaitTests {
  /// Carries out `effect` on the runner and waits (at most `timeout`) for the message it answers with.
  static func answer(
    to effect: ComposerEffect, _ harness: HeadlessComposer<ComposerModel>, timeout: Duration = .seconds(5),
    matching: (ComposerMessage) -> Bool
  ) -> Bool {
    harness.runner.perform(effect, terminal: harness)
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
      for delivery in harness.runner.collect() {
        if case .message(let message) = delivery, matching(message) { return true }
      }
      Thread.sleep(forTimeInterval: 0.01)
    }
    return false
  }

  @Test func fileWorkGoesOnWhileThePassphraseIsAskedFor() throws {
    let server = try ComposerFlowTests.server()
    defer { server.stop() }
    let sandbox = try ProtectedSendFlowTests.sandbox(port: server.port, stored: [.bob, .carol])
    defer { sandbox.remove() }
    let file = sandbox.directory.file("notes.txt")
    try "12345".write(toFile: file, atomically: true, encoding: .utf8)
    let harness = ComposerFlowTests.composer(sandbox, width: 160, height: 40)
    ProtectedSendFlowTests.composeAndProtect(harness, bcc: "carol@example.test")
    #expect(harness.waitFor("bob@example.test: usable, valid until"), "\(harness.screenText)")
    harness.press(.character("y"))
    #expect(harness.waitFor("Passphrase of the S/MIME key of account work"), "\(harness.screenText)")

    // The masked field is open and nobody answers: file work still gets done.
    let checked = Self.answer(to: .checkAttachment(path: file), harness) {
      if case .attachmentChecked(_, .success(5)) = $0 { true } else { false }
    }
    #expect(checked, "the attachment check waited behind the passphrase")
    let completed = Self.answer(to: .completePath(prefix: sandbox.directory.path + "/no"), harness) {
      if case .pathCompletions(_, let candidates, _) = $0 { candidates == [file] } else { false }
    }
    #expect(completed, "the completion waited behind the passphrase")

    // And the send still goes once the passphrase is given.
    harness.type(ProtectedSendFlowTests.passphrase)
    harness.press(.enter)
    #expect(harness.waitFor("SENT — sent: 250"), "\(harness.screenText)")
    #expect(server.waitForFinishedSessions(2).count == 2)
  }

  /// Cancelled at the passphrase, the send never got built; `o` then plans it again to queue it. That planning
  /// must not ask (nothing is on screen to answer, and it would hold the file-work queue for good): the key
  /// needs its passphrase, so it is not queued, and says why.
  @Test func queueingAfterACancelAtThePassphraseNeverWaitsForAnAnswer() throws {
    let server = try ComposerFlowTests.server()
    defer { server.stop() }
    let sandbox = try ProtectedSendFlowTests.sandbox(port: server.port, stored: [.bob, .carol])
    defer { sandbox.remove() }
    let harness = ComposerFlowTests.composer(sandbox, width: 160, height: 40)
    ProtectedSendFlowTests.composeAndProtect(harness, bcc: "carol@example.test")
    #expect(harness.waitFor("bob@example.test: usable, valid until"), "\(harness.screenText)")
    harness.press(.character("y"))
    #expect(harness.waitFor("Passphrase of the S/MIME key of account work"), "\(harness.screenText)")
    harness.press(.escape)
    #expect(harness.waitFor("CANCELLED"), "\(harness.screenText)")
    harness.press(.character("o"))
    #expect(harness.waitFor("not queued:", timeout: .seconds(8)), "\(harness.screenText)")
    #expect(harness.screenText.contains("passphrase"), "\(harness.screenText)")
    #expect(!harness.screenText.contains("Passphrase of the S/MIME key"))
    #expect(harness.settle(timeout: .seconds(5)), "nothing is left waiting")
    #expect(server.sessions.isEmpty)
  }
}
