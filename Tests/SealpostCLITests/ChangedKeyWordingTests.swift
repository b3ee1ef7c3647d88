import Foundation
import MailSenderTesting
import Testing

/// DESIGN §6: "a pinned host whose key changes fails (77) and shows the old and the new key side by side" — in
/// every command that sends, in the words `send` and `probe` use (`CLIWording`, one function): `send --batch`,
/// `outbox flush` and `sendmail` included (review: they still said only that no pin matched).
@Suite struct ChangedKeyWordingTests {
  /// A self-signed STARTTLS server (the account's mode), the outbox sandbox and its pin file.
  struct Setup {
    let server: ScriptedSMTPServer
    let sandbox: OutboxCommandTests.Sandbox
    /// The server's own key and a key it does not have.
    let serverPin: String
    let otherPin: String
    var pins: String { sandbox.directory.file("xdg") + "/sealpost/pins" }

    init() throws {
      let pki = try TestPKI.shared()
      let identity = pki.identity(.selfSigned)
      var options = StandardSMTPOptions(tlsIdentity: identity)
      options.credentials = .init(user: OutboxCommandTests.user, password: OutboxCommandTests.password)
      server = try ScriptedSMTPServer(standard: options)
      sandbox = try OutboxCommandTests.Sandbox()
      serverPin = try RecordedPinTests.spkiPin(of: identity.certificatePath)
      otherPin = try RecordedPinTests.spkiPin(of: pki.identity(.valid).certificatePath)
    }

    /// Records `otherPin` for the server: the key it has now is no longer the recorded one.
    func recordOtherPin() throws {
      try FileManager.default.createDirectory(
        atPath: sandbox.directory.file("xdg") + "/sealpost", withIntermediateDirectories: true)
      _ = FileManager.default.createFile(
        atPath: pins, contents: Data("# recorded by a test\nlocalhost:\(server.port) \(otherPin)\n".utf8),
        attributes: [.posixPermissions: 0o600])
    }

    /// The words every command says: the recorded key and the server's side by side, where the old one is and
    /// how to trust the new one.
    var changedKey: String {
      "the key pinned: \(otherPin) (recorded in \(pins)); the server's key now: \(serverPin) — if the server's key "
        + "was changed on purpose, put the new pin in place of the old one in that file"
    }

    func remove() {
      server.stop()
      sandbox.remove()
    }
  }

  @Test func batchShowsTheRecordedKeyBesideTheNewOne() throws {
    let setup = try Setup()
    defer { setup.remove() }
    try setup.sandbox.point(at: setup.server.port)
    try setup.recordOtherPin()
    let folder = setup.sandbox.directory.file("batch")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try Data(OutboxCommandTests.message.utf8).write(to: URL(fileURLWithPath: folder + "/01.eml"))
    let result = try setup.sandbox.run(
      ["send", "--config", setup.sandbox.config, "--batch", folder, "--timeout", "5"])
    #expect(result.status == 77, "\(result.stderr)")
    #expect(result.stderr.contains("01.eml: refused: "), "\(result.stderr)")
    #expect(result.stderr.contains(setup.changedKey), "\(result.stderr)")
    // Not the CA file hint of an unverified chain: the trust was the recorded pin.
    #expect(!result.stderr.contains("--ca-file"), "\(result.stderr)")
    #expect(setup.server.waitForFinishedSessions(1).allSatisfy { $0.messages.isEmpty })
  }

  @Test func outboxFlushShowsTheRecordedKeyBesideTheNewOne() async throws {
    let setup = try Setup()
    defer { setup.remove() }
    // Queued after a temporary failure at a server the CA vouches for, then flushed to the pinned one.
    let refusing = try ScriptedSMTPServer(
      standard: try OutboxCommandTests.options { $0.mailFromReply = "451 4.3.0 Try again later" })
    defer { refusing.stop() }
    try setup.sandbox.point(at: refusing.port)
    let queued = try await setup.sandbox.send()
    #expect(queued.status == 75, "\(queued.stderr)")
    let id = try #require(OutboxCommandTests.id(in: queued.stderr), "\(queued.stderr)")
    try setup.sandbox.point(at: setup.server.port)
    try setup.recordOtherPin()
    let flushed = try await setup.sandbox.run(["outbox", "flush", "--transcript", "none"])
    #expect(flushed.status == 77, "\(flushed.stderr)")
    #expect(flushed.stderr.contains("\(id): refused: "), "\(flushed.stderr)")
    #expect(flushed.stderr.contains(setup.changedKey), "\(flushed.stderr)")
    // A flush takes no channel flag: none is named.
    #expect(!flushed.stderr.contains("--pin"), "\(flushed.stderr)")
    #expect(setup.server.waitForFinishedSessions(1).allSatisfy { $0.messages.isEmpty })
  }

  @Test func sendmailShowsTheRecordedKeyBesideTheNewOne() throws {
    let setup = try Setup()
    defer { setup.remove() }
    try setup.sandbox.point(at: setup.server.port)
    try setup.recordOtherPin()
    let result = try setup.sandbox.run(
      ["sendmail", "--config", setup.sandbox.config, "-t"], stdin: OutboxCommandTests.message)
    #expect(result.status == 77, "\(result.stderr)")
    #expect(result.stderr.hasPrefix("sealpost: refused: "), "\(result.stderr)")
    #expect(result.stderr.contains(setup.changedKey), "\(result.stderr)")
    #expect(!result.stderr.contains("--pin"), "\(result.stderr)")
    #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    #expect(setup.server.waitForFinishedSessions(1).allSatisfy { $0.messages.isEmpty })
  }
}
