import Accounts
import ComposerApp
import ComposerCore
import ComposerTesting
import Foundation
import MailSender
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import SendPlanning
import Testing

/// The runtime's effects against the scripted SMTP server, driven headless with a test double of the model.
@Suite struct EffectRunnerTests {
  static let password = "pa55-Word-of-alice"

  static func order(account: String = "work", body: String = "Hello from the composer.\n") -> SendOrder {
    var fields = MessageFields()
    fields.to = ["Bob <bob@example.test>"]
    fields.subject = "Composer test"
    fields.body = Array(body.utf8)
    return SendOrder(account: account, fields: fields, attachments: [], overrides: ChannelOverrides())
  }

  static func harness(
    _ sandbox: ComposerSandbox, keys: [Key: [ComposerEffect]], extra: [String: String] = [:]
  ) -> HeadlessComposer<ScriptedProgram> {
    var program = ScriptedProgram()
    program.keys = keys
    program.startEffects = [.loadCatalog]
    let harness = HeadlessComposer(program: program, environment: sandbox.environment(extra: extra))
    harness.start()
    harness.settle()
    return harness
  }

  static func messageBytes(_ sessions: [RecordedSession]) -> String {
    sessions.flatMap(\.messages).map { String(decoding: $0, as: UTF8.self) }.joined()
  }

  @Test func sendsOverTLSAndTheServerGetsTheMessage() throws {
    let pki = try TestPKI.shared()
    let server = try ScriptedSMTPServer(
      standard: StandardSMTPOptions(tlsIdentity: pki.identity(.valid)),
      options: .init(implicitTLS: pki.identity(.valid)))
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(ComposerSandbox.account("work", port: server.port, caFile: pki.caCertificatePath))
    let harness = Self.harness(sandbox, keys: [.ctrl("s"): [.send(Self.order())]])
    #expect(harness.screenText.contains("accounts: [\"work\"]"))
    harness.press(.ctrl("s"))
    #expect(harness.waitFor("send: sent"))
    let sessions = server.waitForFinishedSessions(1)
    let received = Self.messageBytes(sessions)
    #expect(received.contains("Subject: Composer test\r\n"))
    #expect(received.contains("To: Bob <bob@example.test>\r\n"))
    #expect(received.contains("\r\n\r\nHello from the composer.\r\n"))
    #expect(sessions.first?.tlsVersion != nil)
    #expect(harness.screenText.contains("tls: TLS 1."))
    #expect(harness.screenText.contains("reply: 250"))
    // As below: the screen can show the result a moment before the runner counts the work done.
    #expect(harness.settle(timeout: .seconds(5)))
    #expect(harness.runner.isIdle)
  }

  /// The raw view's message is `send --dry-run`'s: the same assembly at the order's date, attachments
  /// included, its first 5,000 lines kept and the rest counted.
  @Test func theRawMessageIsTheDryRunsBoundedWithTheRestCounted() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(ComposerSandbox.account("work", port: 2525, caFile: nil))
    // 400 kB of base64 is about 7,000 lines of 76 characters.
    var generator = SystemRandomNumberGenerator()
    let bytes = (0..<400_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let path = sandbox.home + "/data.bin"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    var order = Self.order()
    order.account = nil
    order.fields.from = "alice@example.test"
    order.attachments = [path]
    order.id = 7
    order.date = Date(timeIntervalSince1970: 1_796_126_400)
    var missing = order
    missing.attachments = [sandbox.home + "/gone.pdf"]
    missing.id = 8
    let harness = Self.harness(
      sandbox, keys: [.ctrl("r"): [.renderRaw(order)], .ctrl("g"): [.renderRaw(missing)]])
    harness.press(.ctrl("r"))
    #expect(harness.waitFor("raw 7: "), "\(harness.screenText)")
    let answer = try #require(harness.program.lastRaw)
    #expect(answer.order == 7)
    let raw = try answer.result.get()

    var fields = order.fields
    fields.attachments = [path]
    let assembled = try MessageAssembly.assemble(fields, account: nil, date: try #require(order.date))
    var written: [UInt8] = []
    try assembled.write { written += $0 }
    var expected = String(decoding: written, as: UTF8.self).components(separatedBy: "\r\n")
    if expected.last == "" { expected.removeLast() }
    #expect(expected.count > RawMessage.lineLimit)
    #expect(raw.lines.count == RawMessage.lineLimit)
    #expect(raw.lines.count + raw.omittedLines == expected.count)
    // The Message-ID and the MIME boundary are new for every message; every other line is the same.
    let boundary = try #require(expected.first { $0.hasPrefix("--") })
    let shownBoundary = try #require(raw.lines.first { $0.hasPrefix("--") })
    for (shown, line) in zip(raw.lines, expected) where !line.hasPrefix("Message-ID:") {
      #expect(
        shown.replacingOccurrences(of: shownBoundary, with: boundary) == line
          || (shown.contains("boundary=") && line.contains("boundary=")))
    }
    let base64 = Data(bytes.prefix(57)).base64EncodedString()
    #expect(raw.lines.contains(base64))
    #expect(
      raw.lines.contains { $0.hasPrefix("Date: Tue, 1 Dec 2026") || $0.hasPrefix("Date: Tue, 01 Dec 2026") })

    harness.press(.ctrl("g"))
    #expect(harness.waitFor("raw 8 failed: "), "\(harness.screenText)")
    guard case .failure(let problem)? = harness.program.lastRaw?.result else {
      Issue.record("a missing attachment cannot be rendered")
      return
    }
    #expect(problem.message.contains("cannot read: the attachment"), "\(problem.message)")
    // The work posts its result before it counts itself done, so the screen can show the failure a moment
    // before the runner is idle (seen under load): settle, then nothing may be left in flight.
    #expect(harness.settle(timeout: .seconds(5)))
    #expect(harness.runner.isIdle)
  }

  @Test func aCertificateFailureThenThePinThenTheSendSucceeds() throws {
    let pki = try TestPKI.shared()
    let server = try ScriptedSMTPServer(
      standard: StandardSMTPOptions(tlsIdentity: pki.identity(.selfSigned)),
      options: .init(implicitTLS: pki.identity(.selfSigned)))
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(ComposerSandbox.account("work", port: server.port, caFile: pki.caCertificatePath))
    let harness = Self.harness(sandbox, keys: [.ctrl("s"): [.send(Self.order())]])
    harness.press(.ctrl("s"))
    #expect(harness.waitFor("send: refused"))
    #expect(harness.program.lastSendReport?.failure?.category == .security)
    // Nothing was sent over the failed connection.
    #expect(server.waitForFinishedSessions(1).allSatisfy { $0.messages.isEmpty })
    let leaf = try #require(harness.program.lastLeaf)
    let pin = "sha256/" + String(decoding: SASL.base64(leaf.spkiSHA256), as: UTF8.self)
    harness.loop.runner.perform(.recordPin(host: "localhost", port: server.port, pin: pin), terminal: harness)
    #expect(harness.waitFor("pin: success"))
    let attributes = try FileManager.default.attributesOfItem(atPath: sandbox.pinPath)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
    let pins = try String(contentsOfFile: sandbox.pinPath, encoding: .utf8)
    #expect(pins.contains("localhost:\(server.port) \(pin)\n"))
    #expect(pins.contains("SHA-256 "))
    // Reconnect: the recorded pin replaces the CA check.
    harness.press(.ctrl("s"))
    #expect(harness.waitFor("send: sent"))
    #expect(Self.messageBytes(server.waitForFinishedSessions(2)).contains("Subject: Composer test"))
  }

  /// Issue 8: the composer's send is checked by the planning layer's one channel check (`ChannelPlan.checked`,
  /// as `send`, a flush and `sendmail` are): the plaintext policy refuses a remote host without TLS before any
  /// connection (77), a broken pin file is 78 naming `file:line`, and the errors name the composer's fields.
  @Test func theChannelCheckIsThePlanningLayersInTheComposersWords() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(
      "account remote\nhost mail.example.test\nport 2525\ntls off\nfrom alice@example.test\n"
        + ComposerSandbox.account("work", port: 2525, caFile: nil))
    var pinAndCA = Self.order()
    pinAndCA.overrides = ChannelOverrides(
      caFile: "/ca.pem", pins: ["sha256/" + String(repeating: "A", count: 43) + "="])
    let harness = Self.harness(
      sandbox,
      keys: [
        .ctrl("r"): [.send(Self.order(account: "remote"))], .ctrl("p"): [.send(pinAndCA)],
        .ctrl("s"): [.send(Self.order())],
      ])
    // The screen of the test program is 80 columns: the words are read from the report.
    func words() -> String { harness.program.lastSendReport?.failure?.description ?? "" }
    harness.press(.ctrl("r"))
    #expect(harness.waitFor("send: refused: "), "\(harness.screenText)")
    #expect(harness.program.lastSendReport?.failure?.exitCode == 77)
    #expect(
      words().contains("account remote has tls off and mail.example.test is not loopback"), "\(words())")
    #expect(words().contains("needs allow_insecure on in Sealpost's config"), "\(words())")
    #expect(words().hasSuffix("— nothing was sent"), "\(words())")

    harness.press(.ctrl("p"))
    #expect(harness.waitFor("send: usage: "), "\(harness.screenText)")
    #expect(words() == "usage: give CA file or pin, not both: a pin replaces the CA check", "\(words())")

    try "localhost 2525 sha256/x\n".write(toFile: sandbox.pinPath, atomically: true, encoding: .utf8)
    harness.press(.ctrl("s"))
    #expect(harness.waitFor("send: configuration: "), "\(harness.screenText)")
    #expect(harness.program.lastSendReport?.failure?.exitCode == 78)
    #expect(words().hasPrefix("configuration: \(sandbox.pinPath):1: "), "\(words())")
    #expect(harness.runner.isIdle)
  }

  @Test func cancellingDuringTheSendKeepsNothingSentAndEndsCancelled() throws {
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    options.stall = .beforeReplyTo(verb: "DATA", seconds: 10)
    let server = try ScriptedSMTPServer(standard: options, options: .init(implicitTLS: pki.identity(.valid)))
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(ComposerSandbox.account("work", port: server.port, caFile: pki.caCertificatePath))
    let harness = Self.harness(
      sandbox, keys: [.ctrl("s"): [.send(Self.order())], .escape: [.cancelSession]])
    harness.press(.ctrl("s"))
    // Wait until the envelope is under way (RCPT answered), then cancel.
    #expect(
      harness.waitUntil { _ in server.sessions.first?.commands.contains { $0.hasPrefix("DATA") } == true })
    let started = ContinuousClock.now
    harness.press(.escape)
    #expect(harness.waitFor("send: cancelled"))
    #expect(ContinuousClock.now - started < .seconds(5))
    #expect(harness.program.lastSendReport?.failure?.category == .cancelled)
    #expect(server.sessions.allSatisfy { $0.messages.isEmpty })
  }

  /// What the runtime does on SIGTERM: the send in flight is cancelled with the signal's status.
  @Test func aSignalCancelsTheSendInFlightWithItsStatus() throws {
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    options.stall = .beforeReplyTo(verb: "DATA", seconds: 10)
    let server = try ScriptedSMTPServer(standard: options, options: .init(implicitTLS: pki.identity(.valid)))
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(ComposerSandbox.account("work", port: server.port, caFile: pki.caCertificatePath))
    let harness = Self.harness(sandbox, keys: [.ctrl("s"): [.send(Self.order())]])
    harness.press(.ctrl("s"))
    #expect(
      harness.waitUntil { _ in server.sessions.first?.commands.contains { $0.hasPrefix("DATA") } == true })
    harness.runner.cancelAll(status: 143)
    #expect(harness.waitFor("send: cancelled"))
    #expect(harness.program.lastSendReport?.exitCode == 143)
    #expect(server.sessions.allSatisfy { $0.messages.isEmpty })
  }

  @Test func thePasswordTypedInTheMaskedFieldIsNeverOnAScreen() throws {
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    options.credentials = .init(user: "alice", password: Self.password)
    let server = try ScriptedSMTPServer(standard: options, options: .init(implicitTLS: pki.identity(.valid)))
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: server.port, caFile: pki.caCertificatePath, user: "alice"))
    let log = try #require(DiagnosticLog(directory: sandbox.stateHome + "/sealpost"))
    var program = ScriptedProgram()
    program.keys = [.ctrl("s"): [.send(Self.order())]]
    program.startEffects = [.loadCatalog]
    let harness = HeadlessComposer(program: program, environment: sandbox.environment(), log: log)
    harness.start()
    harness.settle()
    harness.press(.ctrl("s"))
    #expect(harness.waitFor("Password:"))
    #expect(harness.screenText.contains("asked: Password for alice at localhost"))
    harness.type(Self.password)
    #expect(harness.screenText.contains("Password: " + String(repeating: "*", count: Self.password.count)))
    harness.press(.enter)
    #expect(harness.waitFor("send: sent"))
    let sessions = server.waitForFinishedSessions(1)
    #expect(sessions.first?.commands.contains { $0.hasPrefix("AUTH") } == true)
    for screen in harness.screens {
      #expect(!screen.lines.joined().contains(Self.password))
    }
    let logged = try String(contentsOfFile: log.path, encoding: .utf8)
    #expect(!logged.contains(Self.password))
    #expect(logged.contains("send finished"))
  }

  @Test func aPasswordCommandRunsWithTheTerminalHandedOver() throws {
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    options.credentials = .init(user: "alice", password: Self.password)
    let server = try ScriptedSMTPServer(standard: options, options: .init(implicitTLS: pki.identity(.valid)))
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let secretFile = sandbox.directory.file("secret")
    _ = FileManager.default.createFile(
      atPath: secretFile, contents: Data(Self.password.utf8), attributes: [.posixPermissions: 0o600])
    try sandbox.writeConfig(
      ComposerSandbox.account(
        "work", port: server.port, caFile: pki.caCertificatePath, user: "alice",
        passwordCommand: "\"cat \(secretFile)\""))
    let harness = Self.harness(sandbox, keys: [.ctrl("s"): [.send(Self.order())]])
    harness.press(.ctrl("s"))
    #expect(harness.waitFor("send: sent"), "\(harness.screenText)")
    // The command ran while the screen was given up, and no masked field was needed.
    #expect(harness.suspensions == 1)
    #expect(!harness.program.messages.contains { if case .secretRequested = $0 { true } else { false } })
  }

  @Test func aProbeRunsOffTheUIThreadAndEndsWithItsReport() throws {
    let pki = try TestPKI.shared()
    let server = try ScriptedSMTPServer(
      standard: StandardSMTPOptions(tlsIdentity: pki.identity(.selfSigned)),
      options: .init(implicitTLS: pki.identity(.selfSigned)))
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let order = ProbeOrder(host: "localhost", port: server.port, security: .implicitTLS)
    let harness = Self.harness(sandbox, keys: [.function(2): [.probe(order)]])
    harness.press(.function(2))
    // The system store does not know the test certificate: not trustworthy, and said so.
    #expect(harness.waitFor("probe: not trustworthy"), "\(harness.screenText)")
    #expect(harness.screenText.contains("tls: TLS 1."))
    #expect(server.waitForFinishedSessions(1).allSatisfy { $0.messages.isEmpty })
    // With the key recorded in the pin file, the same probe finds the channel trustworthy.
    let leaf = try #require(harness.program.lastLeaf)
    let pin = "sha256/" + String(decoding: SASL.base64(leaf.spkiSHA256), as: UTF8.self)
    _ = try PinFile.record(
      host: "localhost", port: server.port, pin: pin, comment: "test", path: sandbox.pinPath)
    harness.press(.function(2))
    #expect(harness.waitFor("probe: trustworthy"), "\(harness.screenText)")
  }

  @Test func aCancelledPasswordFieldCancelsTheSend() throws {
    let pki = try TestPKI.shared()
    var options = StandardSMTPOptions(tlsIdentity: pki.identity(.valid))
    options.credentials = .init(user: "alice", password: Self.password)
    let server = try ScriptedSMTPServer(standard: options, options: .init(implicitTLS: pki.identity(.valid)))
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: server.port, caFile: pki.caCertificatePath, user: "alice"))
    let harness = Self.harness(sandbox, keys: [.ctrl("s"): [.send(Self.order())]])
    harness.press(.ctrl("s"))
    #expect(harness.waitFor("Password:"))
    harness.press(.escape)
    #expect(harness.waitFor("send: cancelled"))
    #expect(server.sessions.allSatisfy { $0.messages.isEmpty })
  }

  @Test func aNewAccountIsWrittenWithMode0600AndNoPassword() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let form = AccountForm(
      name: "home", host: "smtp.example.org", port: 587, security: .startTLS, from: "Zoë <zoe@example.org>",
      user: "zoe", passwordCommand: "pass show \"mail\"")
    let harness = Self.harness(
      sandbox, keys: [.ctrl("n"): [.createAccount(form)], .ctrl("r"): [.loadCatalog]])
    harness.press(.ctrl("n"))
    #expect(harness.waitFor("account: success"))
    let attributes = try FileManager.default.attributesOfItem(atPath: sandbox.configPath)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
    let text = try String(contentsOfFile: sandbox.configPath, encoding: .utf8)
    #expect(
      text == """

        # Added by the sealpost composer.
        account home
        host "smtp.example.org"
        port 587
        tls on
        tls_starttls on
        from "Zoë <zoe@example.org>"
        auth on
        user "zoe"
        passwordeval "pass show \\"mail\\""

        account default : home

        """)
    #expect(!text.contains("password "))
    harness.press(.ctrl("r"))
    #expect(harness.waitFor("accounts: [\"home\", \"default\"]"))
    // The same name again is refused, and the file stays as it was.
    harness.press(.ctrl("n"))
    #expect(harness.waitFor("account: failure"))
    #expect(try String(contentsOfFile: sandbox.configPath, encoding: .utf8) == text)
  }

  @Test func theEditorRoundTripEditsA0600FileWithTheScreenGivenUp() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let script = sandbox.directory.file("fake-editor")
    // Appends the file's own mode and a line, as a person would add a line in an editor.
    try TestProgram.write(
      """
      #!/bin/sh
      mode=$(stat -c %a "$1")
      printf 'mode %s\\nadded in the editor\\n' "$mode" >> "$1"
      """, to: script)
    let harness = Self.harness(
      sandbox, keys: [.ctrl("o"): [.openEditor(text: "Dear Bob,\n")]], extra: ["EDITOR": script])
    harness.press(.ctrl("o"))
    harness.settle()
    let outcome = harness.program.messages.compactMap { message -> EditorOutcome? in
      if case .editorFinished(let outcome) = message { outcome } else { nil }
    }
    #expect(outcome == [.edited("Dear Bob,\nmode 600\nadded in the editor\n")])
    #expect(harness.suspensions == 1)
    // The temporary file is gone.
    let left = try FileManager.default.contentsOfDirectory(atPath: sandbox.directory.path)
    #expect(!left.contains { $0.hasPrefix("sealpost-body-") })
  }

  @Test func withoutAnEditorTheMessageSaysWhatToSet() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let harness = Self.harness(sandbox, keys: [.ctrl("o"): [.openEditor(text: "x")]])
    harness.press(.ctrl("o"))
    harness.settle()
    #expect(harness.screenText.contains("editor: failed(\"neither VISUAL nor EDITOR is set"))
    #expect(harness.suspensions == 0)
  }

  @Test func theTranscriptIsSavedAsTextAndJSONLinesWithMode0600() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let events = [
      SendEvent(
        time: 0, insideTLS: false, payload: .connecting(server: "localhost:465", address: "127.0.0.1")),
      SendEvent(
        time: 0.5, insideTLS: true,
        payload: .reply(ReplyRecord(code: 250, enhanced: "2.0.0", lines: ["250 2.0.0 Ok"]))),
    ]
    let outcome = OutcomeRecord(outcome: .sent(finalReply: nil), verdict: "sent: 250 Ok", exitCode: 0)
    let harness = Self.harness(
      sandbox, keys: [.ctrl("s"): [.saveTranscript(events: events, outcome: outcome)]])
    harness.press(.ctrl("s"))
    harness.settle()
    let paths =
      harness.program.messages.compactMap { message -> [String]? in
        if case .transcriptSaved(.success(let paths)) = message { paths } else { nil }
      }.first ?? []
    #expect(paths.count == 2)
    for path in paths {
      #expect(path.hasPrefix(sandbox.stateHome + "/sealpost/transcripts/transcript-"))
      let attributes = try FileManager.default.attributesOfItem(atPath: path)
      #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
    let text = try String(contentsOfFile: paths[0], encoding: .utf8)
    #expect(text.contains("=== +0.000 Connecting to localhost:465 (127.0.0.1)"))
    #expect(text.contains("<~  +0.500 250 2.0.0 Ok"))
    let json = try String(contentsOfFile: paths[1], encoding: .utf8).split(separator: "\n")
    #expect(json.count == 3)
    for line in json {
      #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil)
    }
    #expect(json.last?.contains("\"kind\":\"outcome\"") == true || json.last?.contains("outcome") == true)
  }

  @Test func anAttachmentMustBeAReadableRegularFile() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let file = sandbox.directory.file("notes.txt")
    try "12345".write(toFile: file, atomically: true, encoding: .utf8)
    let harness = Self.harness(
      sandbox,
      keys: [
        .ctrl("a"): [.checkAttachment(path: file)],
        .ctrl("d"): [.checkAttachment(path: sandbox.directory.path)],
        .tab: [.completePath(prefix: sandbox.directory.path + "/no")],
      ])
    harness.press(.ctrl("a"), .ctrl("d"), .tab)
    harness.settle()
    var results: [Result<Int64, ComposerProblem>] = []
    var completions: [String] = []
    for message in harness.program.messages {
      if case .attachmentChecked(_, let result) = message { results.append(result) }
      if case .pathCompletions(_, let candidates, _) = message { completions = candidates }
    }
    #expect(results.count == 2)
    #expect((try? results.first?.get()) == 5)
    if case .failure(let problem)? = results.last {
      #expect(problem.message.hasSuffix("not a regular file"))
    } else {
      Issue.record("a directory was accepted as an attachment")
    }
    #expect(completions == [file])
  }
}

/// The runtime's timers (issue 12: the model reads no clock) and `.leave`.
@Suite struct EffectRunnerTimerTests {
  @Test func aTimerFiresOnceWhenItsTimeHasComeOnTheRuntimesClock() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let clock = TestClock()
    var program = ScriptedProgram()
    program.keys = [
      .character("t"): [.setTimer(id: 7, after: .seconds(2)), .setTimer(id: 8, after: .milliseconds(500))],
      .character("l"): [.leave(line: "postponed: /d/x.eml")],
    ]
    let harness = HeadlessComposer(program: program, environment: sandbox.environment(now: clock.now))
    harness.start()
    harness.press(.character("t"))
    func fired() -> [Int] {
      harness.program.messages.compactMap { if case .timerFired(let id) = $0 { id } else { nil } }
    }
    #expect(harness.runner.nextTimer == clock.now().addingTimeInterval(0.5))
    harness.advance(clock, by: .milliseconds(499))
    #expect(fired().isEmpty)
    harness.advance(clock, by: .milliseconds(1))
    #expect(fired() == [8])
    harness.advance(clock, by: .milliseconds(1_400))
    #expect(fired() == [8], "not before its time")
    harness.advance(clock, by: .seconds(5))
    #expect(fired() == [8, 7], "each once")
    #expect(harness.runner.nextTimer == nil)
    harness.press(.character("l"))
    #expect(harness.loop.hasQuit)
    #expect(harness.runner.farewell == "postponed: /d/x.eml")
  }
}
