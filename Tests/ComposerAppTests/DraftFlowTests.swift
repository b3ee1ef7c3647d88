import ComposerApp
import ComposerCore
import ComposerTesting
import Foundation
import MailSender
import MailSenderTesting
import SMTPProtocol
import SendPlanning
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 12 §1–§2 headless: the real model and runtime, the harness's clock, real files. The draft is saved once
/// the timer falls due on that clock, comes back after a restart, stays after a failed send, goes after a sent
/// one, never holds the password typed into the masked field, and a full disk keeps the previous version.
@Suite(.serialized) struct DraftFlowTests {
  static func composer(_ sandbox: ComposerSandbox, clock: TestClock, width: Int = 100, height: Int = 30)
    -> HeadlessComposer<ComposerModel>
  {
    let model = ComposerModel(
      ComposerModel.Startup(), width: width, height: height, now: Int64(clock.now().timeIntervalSince1970))
    let harness = HeadlessComposer(
      program: model, environment: sandbox.environment(now: clock.now), width: width, height: height)
    harness.start()
    harness.settle()
    return harness
  }

  static func draftFolder(_ sandbox: ComposerSandbox) -> String { sandbox.stateHome + "/sealpost/drafts" }

  static func files(_ folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
  }

  static func mode(_ path: String) -> mode_t {
    var info = stat()
    return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
  }

  static let id = "1796126400-0-1"

  /// The draft file as the store writes it for ComposerFlowTests.compose, written here by hand.
  static let expectedMessage =
    "From: alice@example.test\nTo: Bob <bob@example.test>\nSubject: Flow test — Grüße\nMIME-Version: 1.0\n"
    + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
    + "Hello Bob,\nthis went through the composer. 漢字"

  @Test func theDraftIsSavedOnTheHarnessClockAndContinuedAfterARestart() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(ComposerSandbox.account("work", port: 2525, caFile: nil))
    let clock = TestClock()
    let harness = Self.composer(sandbox, clock: clock)
    ComposerFlowTests.compose(harness)
    let folder = Self.draftFolder(sandbox)
    harness.settle()
    #expect(Self.files(folder).isEmpty, "nothing before the delay")
    harness.advance(clock, by: .milliseconds(500))
    #expect(Self.files(folder).isEmpty, "still nothing at 0.5 s")
    harness.advance(clock, by: .milliseconds(400))
    #expect(Self.files(folder) == ["\(Self.id).eml", "\(Self.id).json"])
    let message = try String(contentsOfFile: "\(folder)/\(Self.id).eml", encoding: .utf8)
    #expect(message == Self.expectedMessage)
    #expect(Self.mode(folder) == 0o700)
    #expect(Self.mode("\(folder)/\(Self.id).eml") == 0o600 && Self.mode("\(folder)/\(Self.id).json") == 0o600)
    let sidecar = try #require(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(Self.id).json")))
        as? [String: Any])
    #expect(sidecar["account"] as? String == "work")
    let cursor = try #require(sidecar["cursor"] as? [String: Any])
    #expect(cursor["field"] as? String == "body" && cursor["offset"] as? Int == 45)

    // Started again: the draft is offered, and Enter continues it where the cursor was.
    let again = Self.composer(sandbox, clock: clock)
    #expect(again.screenText.contains("1 draft kept from earlier"), "\(again.screenText)")
    #expect(
      again.screenText.contains("Flow test — Grüße") && again.screenText.contains("Bob <bob@example.test>"))
    again.press(.enter)
    again.settle()
    #expect(again.screenText.contains("this went through the composer. 漢字"), "\(again.screenText)")
    again.type(" Bye.")
    again.advance(clock, by: .seconds(1))
    #expect(Self.files(folder) == ["\(Self.id).2.eml", "\(Self.id).json"], "the same draft, the other file")
    let saved = try DraftStore(directory: folder).load(Self.id)
    #expect(saved.body == "Hello Bob,\nthis went through the composer. 漢字 Bye.")
  }

  @Test func postponeLeavesWithTheLineThatSaysWhereTheDraftIs() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(ComposerSandbox.account("work", port: 2525, caFile: nil))
    let clock = TestClock()
    let harness = Self.composer(sandbox, clock: clock)
    ComposerFlowTests.compose(harness)
    harness.press(.ctrl("s"))
    harness.settle()
    #expect(harness.loop.hasQuit)
    let path = "\(Self.draftFolder(sandbox))/\(Self.id).eml"
    #expect(harness.runner.farewell == "postponed: \(path) (sealpost offers it when it starts again)")
    #expect(try String(contentsOfFile: path, encoding: .utf8) == Self.expectedMessage)
  }

  /// A temporary failure after the password was typed into the masked field: the draft stays (and never holds
  /// the password), `o` puts the message in the outbox (nor does it hold the password) and removes the draft.
  @Test func aFailedSendKeepsTheDraftAndOQueuesIt() throws {
    let password = ComposerFlowTests.password
    let server = try ComposerFlowTests.server {
      $0.credentials = .init(user: "alice", password: password)
      $0.defaultRecipientReply = "451 4.3.0 Try again later"
    }
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(
      ComposerSandbox.account(
        "work", port: server.port, caFile: try TestPKI.shared().caCertificatePath, user: "alice"))
    let clock = TestClock()
    let harness = Self.composer(sandbox, clock: clock)
    ComposerFlowTests.compose(harness)
    harness.press(.ctrl("x"))
    harness.press(.character("y"))
    #expect(harness.waitFor("Password for alice at localhost"), "\(harness.screenText)")
    harness.type(password)
    harness.press(.enter)
    #expect(harness.waitFor("NOT SENT — temporary failure"), "\(harness.screenText)")
    harness.advance(clock, by: .seconds(2))
    let folder = Self.draftFolder(sandbox)
    // The sidecar and one message file (`ID.eml` or `ID.2.eml`: the send's start saved it, and again with the
    // Date and Message-ID the send fixed).
    let kept = Self.files(folder)
    #expect(
      kept.count == 2 && kept.contains("\(Self.id).json")
        && kept.contains { $0 == "\(Self.id).eml" || $0 == "\(Self.id).2.eml" }, "the draft stays: \(kept)")
    let base64 = String(decoding: SASL.base64(Array("\0alice\0\(password)".utf8)), as: UTF8.self)
    for name in Self.files(folder) {
      let bytes = try String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8)
      #expect(!bytes.contains(password) && !bytes.contains(base64), "\(name)")
    }
    #expect(harness.screenText.contains("o queue"), "\(harness.screenText)")
    harness.press(.character("o"))
    #expect(harness.waitFor("queued in the outbox as "), "\(harness.screenText)")
    harness.settle()
    #expect(Self.files(folder).isEmpty, "in the outbox now: the draft goes")
    let outbox = try Outbox.standard(environment: sandbox.environment().variables)
    let entry = try #require(outbox.entries().first)
    #expect(entry.state == .queued && entry.attempts == 1)
    #expect(entry.route.account == "work")
    #expect(entry.envelope.recipients == ["bob@example.test"])
    #expect(entry.lastError?.contains("451 4.3.0 Try again later") == true)
    let stored = String(decoding: try outbox.message(entry.id), as: UTF8.self)
    #expect(
      stored.contains("Subject: =?UTF-8?B?") && stored.contains("Date: Tue, 01 Dec 2026 12:00:00 +0000"),
      "the message as it was sent")
    for name in Self.files(outbox.directory) {
      let text = try String(contentsOfFile: "\(outbox.directory)/\(name)", encoding: .utf8)
      #expect(!text.contains(password) && !text.contains(base64), "\(name)")
    }
  }

  @Test func aSentMessageRemovesItsDraft() throws {
    let server = try ComposerFlowTests.server()
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: server.port, caFile: try TestPKI.shared().caCertificatePath))
    let clock = TestClock()
    let harness = Self.composer(sandbox, clock: clock)
    ComposerFlowTests.compose(harness)
    harness.advance(clock, by: .seconds(1))
    let folder = Self.draftFolder(sandbox)
    #expect(Self.files(folder).count == 2)
    harness.press(.ctrl("x"))
    harness.press(.character("y"))
    #expect(harness.waitFor("SENT — sent: 250"), "\(harness.screenText)")
    harness.settle()
    #expect(Self.files(folder).isEmpty, "sent: the draft is gone")
  }

  /// The account's `record` Maildir gets the octets the server took (through `SentCopy.record`, as `send` and
  /// `sendmail` do), and the result screen says so.
  @Test func aSentMessageIsRecordedInTheAccountsMaildir() throws {
    let server = try ComposerFlowTests.server()
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let folder = sandbox.home + "/Mail/Sent"
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: server.port, caFile: try TestPKI.shared().caCertificatePath)
        + "record \(folder)\n")
    let clock = TestClock()
    let harness = Self.composer(sandbox, clock: clock)
    ComposerFlowTests.compose(harness)
    harness.press(.ctrl("x"))
    harness.press(.character("y"))
    #expect(
      harness.waitFor("a copy of the message is in the account's record folder"), "\(harness.screenText)")
    let sent = try #require(server.waitForFinishedSessions(1).first?.messages.first)
    let files = Self.files(folder + "/new")
    #expect(files.count == 1 && Self.files(folder + "/tmp").isEmpty && Self.files(folder + "/cur").isEmpty)
    let copy = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/new/\(files.first ?? "")"))
    #expect(Array(copy) == Array(sent), "the copy is the octets sent")
  }

  /// A full disk (a small tmpfs, mounted here as root): the save fails with a status line that says so, the
  /// message on screen stays, and the previous draft is still whole — fields and body of one version.
  @Test func aFullDiskKeepsThePreviousDraft() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let mount = sandbox.home + "/small"
    try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
    let mounted = try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", mount])
    guard mounted.status == 0 else {
      Issue.record("cannot mount a tmpfs for the full-disk test (needs root): \(mounted.output)")
      return
    }
    defer { _ = try? Self.run("/bin/umount", ["-l", mount]) }
    let folder = mount + "/drafts"
    try sandbox.writeConfig(ComposerSandbox.account("work", port: 2525, caFile: nil) + "drafts \(folder)\n")
    let clock = TestClock()
    // Wide enough for the status line with the temporary folder's path.
    let harness = Self.composer(sandbox, clock: clock, width: 400)
    ComposerFlowTests.compose(harness)
    harness.advance(clock, by: .milliseconds(900))
    let store = DraftStore(directory: folder)
    let first = try #require(try? store.load(Self.id), "\(harness.screenText) \(Self.files(folder))")
    #expect(first.subject == ComposerFlowTests.subject)
    // Fill the disk.
    let filler = open(mount + "/filler", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
    let block = [UInt8](repeating: 0x78, count: 4096)
    while block.withUnsafeBytes({ write(filler, $0.baseAddress, $0.count) }) > 0 {}
    close(filler)
    harness.press(.shiftTab)
    harness.type(" — changed")
    harness.press(.tab)
    harness.paste(String(repeating: "more text ", count: 2_000))
    harness.advance(clock, by: .seconds(1))
    #expect(harness.screenText.contains("the draft could not be saved"), "\(harness.screenText)")
    #expect(harness.screenText.contains("No space left on device"), "\(harness.screenText)")
    #expect(harness.screenText.contains("more text more text"), "the message on screen stays")
    let kept = try store.load(Self.id)
    #expect(kept.subject == first.subject && kept.body == first.body, "the previous draft, whole")
    #expect(Self.files(folder).allSatisfy { !$0.contains(".tmp-") }, "no temporary file left")
    // Room again: the next save works and the line goes.
    unlink(mount + "/filler")
    harness.type("!")
    harness.advance(clock, by: .seconds(1))
    #expect(!harness.screenText.contains("the draft could not be saved"), "\(harness.screenText)")
    #expect(try store.load(Self.id).subject == ComposerFlowTests.subject + " — changed")
  }

  static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = try pipe.fileHandleForReading.readToEnd() ?? Data()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}
