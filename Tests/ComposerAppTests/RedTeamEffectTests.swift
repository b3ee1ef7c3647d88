import ComposerApp
import ComposerCore
import ComposerTesting
import Foundation
import MailSender
import MailSenderTesting
import SendPlanning
import Testing

/// Red team findings in the composer's runtime: what the editor leaves behind and what a send may attach are
/// bounded.
@Suite struct RedTeamEffectTests {
  static func editorOutcome(script body: String) throws -> (EditorOutcome?, ComposerSandbox) {
    let sandbox = try ComposerSandbox()
    let script = sandbox.directory.file("hostile-editor")
    try ("#!/bin/sh\n" + body + "\n").write(toFile: script, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: script)
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
      script: "truncate -s \(MessageAssembly.defaultMaximumSize + 1) \"$1\"")
    defer { sandbox.remove() }
    #expect(
      outcome
        == .failed(
          "the edited text is over the limit of \(MessageAssembly.defaultMaximumSize) octets: the body is unchanged"
        ))
  }

  @Test(.timeLimit(.minutes(1))) func anEditorThatLeavesAFIFOIsToldApart() throws {
    // The read back opens without blocking and says what it found instead of a bare "could not be read back".
    let (outcome, sandbox) = try Self.editorOutcome(script: "rm -f \"$1\" && mkfifo \"$1\"")
    defer { sandbox.remove() }
    #expect(outcome == .failed("the editor left something other than a file: the body is unchanged"))
  }

  @Test func theComposersSendRefusesAttachmentsOverTheLimitWithoutReadingThem() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(ComposerSandbox.account("work", port: 9, caFile: nil))
    let file = sandbox.directory.file("huge.bin")
    #expect(FileManager.default.createFile(atPath: file, contents: nil))
    let handle = try #require(FileHandle(forWritingAtPath: file))
    // Sparse: with the body, one file of the limit's size is over it; the send refuses it before reading it.
    try handle.truncate(atOffset: UInt64(MessageAssembly.defaultMaximumSize))
    try handle.close()
    var order = EffectRunnerTests.order()
    order.attachments = [file]
    let harness = EffectRunnerTests.harness(sandbox, keys: [.ctrl("s"): [.send(order)]])
    harness.press(.ctrl("s"))
    #expect(harness.waitFor("send: "))
    let report = try #require(harness.program.lastSendReport)
    #expect(report.failure?.category == .dataError)
    #expect(report.verdictLine.contains("over the limit of \(MessageAssembly.defaultMaximumSize) octets"))
  }
}
