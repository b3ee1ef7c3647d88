import ComposerApp
import ComposerCore
import ComposerTesting
import Foundation
import MailSender
import MailSenderTesting
import SendPlanning
import Testing

/// Red team findings in the composer's runtime: what the editor leaves behind is bounded.
@Suite struct RedTeamEffectTests {
  static func editorOutcome(script body: String) throws -> (EditorOutcome?, ComposerSandbox) {
    let sandbox = try ComposerSandbox()
    let script = sandbox.directory.file("hostile-editor")
    try TestProgram.write("#!/bin/sh\n" + body + "\n", to: script)
    let harness = EffectRunnerTests.harness(
      sandbox, keys: [.ctrl("o"): [.openEditor(text: "Dear Bob,\n")]], extra: ["EDITOR": script])
    harness.press(.ctrl("o"))
    #expect(harness.waitFor("editor: "))
    let outcome = harness.program.messages.compactMap { message -> EditorOutcome? in
      if case .editorFinished(let outcome) = message { outcome } else { nil }
    }.first
    return (outcome, sandbox)
  }

  @Test func anEditedFileOverTheLimitLeavesTheBodyUnchanged() throws {
    // A sparse file one octet over the limit: without the bound it was read whole into the body.
    let (outcome, sandbox) = try Self.editorOutcome(
      script: "truncate -s \(EffectRunner.maximumEditedSize + 1) \"$1\"")
    defer { sandbox.remove() }
    #expect(
      outcome
        == .failed(
          "the edited text is over the limit of \(EffectRunner.maximumEditedSize) octets: the body is unchanged"
        ))
  }

  @Test(.timeLimit(.minutes(1))) func anEditorThatLeavesAFIFOIsToldApart() throws {
    // The read back opens without blocking and says what it found instead of a bare "could not be read back".
    let (outcome, sandbox) = try Self.editorOutcome(script: "rm -f \"$1\" && mkfifo \"$1\"")
    defer { sandbox.remove() }
    #expect(outcome == .failed("the editor left something other than a file: the body is unchanged"))
  }
}
