import ComposerApp
import ComposerCore
import ComposerTesting
import Foundation
import MailSender
import MailSenderTesting
import SMTPProtocol
import Testing

/// The real composer (`ComposerModel`) and the real runtime, headless, driven with the documented keys against
/// the scripted SMTP server (issue 9): what the screens show and what the server received.
@Suite struct ComposerFlowTests {
  static let password = "Masked-Pa55-word!"
  static let subject = "Flow test — Grüße"
  static let body = "Hello Bob,\nthis went through the composer. 漢字"

  static func composer(
    _ sandbox: ComposerSandbox, extra: [String: String] = [:], width: Int = 100, height: Int = 30
  ) -> HeadlessComposer<ComposerModel> {
    let model = ComposerModel(
      ComposerModel.Startup(), width: width, height: height, now: Int64(Date().timeIntervalSince1970))
    let harness = HeadlessComposer(
      program: model, environment: sandbox.environment(extra: extra), width: width, height: height)
    harness.start()
    harness.settle()
    return harness
  }

  /// To, Cc, Bcc, Subject, body in that order; the cursor starts in To.
  static func compose(_ harness: HeadlessComposer<ComposerModel>) {
    harness.type("Bob <bob@example.test>")
    harness.press(.tab, .tab, .tab)
    harness.type(subject)
    harness.press(.tab)
    for (index, line) in body.split(separator: "\n").enumerated() {
      if index > 0 { harness.press(.enter) }
      harness.type(String(line))
    }
  }

  static func server(
    _ kind: TestIdentityKind = .valid, configure: (inout StandardSMTPOptions) -> Void = { _ in }
  ) throws -> ScriptedSMTPServer {
    let identity = try TestPKI.shared().identity(kind)
    var options = StandardSMTPOptions(tlsIdentity: identity)
    configure(&options)
    return try ScriptedSMTPServer(standard: options, options: .init(implicitTLS: identity))
  }

  static func received(_ server: ScriptedSMTPServer, sessions: Int = 1) -> String {
    server.waitForFinishedSessions(sessions).flatMap(\.messages).map { String(decoding: $0, as: UTF8.self) }
      .joined()
  }

  @Test func composePreviewReviewAndSendOverTLS() throws {
    let server = try Self.server()
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: server.port, caFile: try TestPKI.shared().caCertificatePath))
    let harness = Self.composer(sandbox)
    Self.compose(harness)
    harness.press(.ctrl("p"))
    #expect(harness.screenText.contains(Self.subject))
    harness.press(.character("q"))
    harness.press(.ctrl("x"))
    #expect(harness.screenText.contains("localhost"))
    #expect(harness.screenText.contains("\(server.port)"))
    harness.press(.character("y"))
    #expect(harness.waitFor("SENT — sent: 250"), "\(harness.screenText)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    let version = try #require(session.tlsVersion)
    #expect(
      harness.screens.contains {
        $0.lines.joined().contains(version.replacingOccurrences(of: "v", with: " "))
      })
    let received = Self.received(server)
    #expect(received.contains("To: Bob <bob@example.test>\r\n"))
    #expect(received.contains("Hello Bob,\r\nthis went through the composer."))
    #expect(!received.contains("Bcc"))
  }

  @Test func aCertificateFailureOffersThePinAndTheResendSucceeds() throws {
    let server = try Self.server(.selfSigned)
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: server.port, caFile: try TestPKI.shared().caCertificatePath))
    let harness = Self.composer(sandbox)
    Self.compose(harness)
    harness.press(.ctrl("x"))
    harness.press(.character("y"))
    #expect(harness.waitFor("NOT SENT"), "\(harness.screenText)")
    #expect(server.waitForFinishedSessions(1).allSatisfy { $0.messages.isEmpty })
    harness.press(.character("p"))
    #expect(
      harness.screenText.contains("Pin this key for localhost:\(server.port)?"), "\(harness.screenText)")
    harness.press(.character("y"))
    #expect(harness.waitFor("SENT — sent: 250"), "\(harness.screenText)")
    let pins = try String(contentsOfFile: sandbox.pinPath, encoding: .utf8)
    #expect(pins.contains("localhost:\(server.port) sha256/"))
    #expect(Self.received(server, sessions: 2).contains("Hello Bob,"))
  }

  @Test func cancellingDuringTheSendKeepsTheMessageInTheComposer() throws {
    let server = try Self.server { $0.stall = .beforeReplyTo(verb: "DATA", seconds: 10) }
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: server.port, caFile: try TestPKI.shared().caCertificatePath))
    let harness = Self.composer(sandbox)
    Self.compose(harness)
    harness.press(.ctrl("x"))
    harness.press(.character("y"))
    #expect(
      harness.waitUntil { _ in server.sessions.first?.commands.contains { $0.hasPrefix("DATA") } == true })
    harness.press(.escape)
    #expect(harness.waitFor("CANCELLED, NOT SENT"), "\(harness.screenText)")
    #expect(server.sessions.allSatisfy { $0.messages.isEmpty })
    harness.press(.character("q"))
    #expect(harness.screenText.contains(Self.subject))
    #expect(harness.screenText.contains("this went through the composer."))
  }

  @Test func ctrlQDuringTheSendQuitsAndCancelsIt() throws {
    let server = try Self.server { $0.stall = .beforeReplyTo(verb: "DATA", seconds: 10) }
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: server.port, caFile: try TestPKI.shared().caCertificatePath))
    let harness = Self.composer(sandbox)
    Self.compose(harness)
    harness.press(.ctrl("x"))
    harness.press(.character("y"))
    #expect(
      harness.waitUntil { _ in server.sessions.first?.commands.contains { $0.hasPrefix("DATA") } == true })
    harness.press(.ctrl("q"))
    #expect(harness.loop.hasQuit)
    // The session was cancelled: the connection closes at once and no content went out.
    let sessions = server.waitForFinishedSessions(1, timeout: 5)
    #expect(sessions.first?.isFinished == true)
    #expect(sessions.allSatisfy { $0.messages.isEmpty })
  }

  @Test func thePasswordTypedInTheMaskedFieldIsNeverOnAnyScreen() throws {
    let server = try Self.server { $0.credentials = .init(user: "alice", password: Self.password) }
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(
      ComposerSandbox.account(
        "work", port: server.port, caFile: try TestPKI.shared().caCertificatePath, user: "alice"))
    let harness = Self.composer(sandbox)
    Self.compose(harness)
    harness.press(.ctrl("x"))
    harness.press(.character("y"))
    #expect(harness.waitFor("Password for alice at localhost"), "\(harness.screenText)")
    harness.type(Self.password)
    harness.press(.enter)
    #expect(harness.waitFor("SENT — sent: 250"), "\(harness.screenText)")
    #expect(server.waitForFinishedSessions(1).first?.commands.contains { $0.hasPrefix("AUTH") } == true)
    let base64 = String(decoding: SASL.base64(Array("\0alice\0\(Self.password)".utf8)), as: UTF8.self)
    // The wire transcript shows the login redacted, as `sealpost send` does.
    #expect(harness.transcript.contains(" ~> AUTH PLAIN <redacted> (user alice)"), "\(harness.transcript)")
    #expect(!harness.transcript.joined().contains(Self.password))
    for screen in harness.screens {
      let text = screen.lines.joined(separator: "\n")
      #expect(!text.contains(Self.password))
      #expect(!text.contains(base64))
    }
  }

  @Test func withoutAnAccountTheFormWritesOneWithMode0600() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let harness = Self.composer(sandbox)
    #expect(harness.screenText.contains("create an account"), "\(harness.screenText)")
    harness.type("home")
    harness.press(.tab)
    harness.type("smtp.example.org")
    harness.press(.tab, .tab, .tab)
    harness.type("Zoë <zoe@example.org>")
    harness.press(.tab)
    harness.type("zoe")
    harness.press(.tab)
    harness.type("pass show mail")
    harness.press(.enter)
    harness.settle()
    let attributes = try FileManager.default.attributesOfItem(atPath: sandbox.configPath)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
    let text = try String(contentsOfFile: sandbox.configPath, encoding: .utf8)
    #expect(text.contains("account home\nhost \"smtp.example.org\"\nport 465\ntls on\ntls_starttls off\n"))
    #expect(text.contains("passwordeval \"pass show mail\""))
    #expect(!text.contains("\npassword "))
  }

  @Test func theExternalEditorRoundTrip() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(ComposerSandbox.account("work", port: 465, caFile: nil))
    let script = sandbox.directory.file("fake-editor")
    try TestProgram.write(
      "#!/bin/sh\nprintf 'written in the editor, mode %s\\n' \"$(stat -c %a \"$1\")\" >> \"$1\"\n", to: script
    )
    let harness = Self.composer(sandbox, extra: ["VISUAL": script])
    harness.press(.tab, .tab, .tab, .tab)
    harness.type("first line")
    harness.press(.ctrl("o"))
    harness.settle()
    #expect(harness.suspensions == 1)
    #expect(harness.screenText.contains("written in the editor, mode 600"), "\(harness.screenText)")
    #expect(harness.screenText.contains("first line"))
  }

  /// A small binary file attached with Ctrl-T, its bytes as the raw view shows them (base64, 57 bytes a line).
  static func attach(_ harness: HeadlessComposer<ComposerModel>, in sandbox: ComposerSandbox) throws
    -> [UInt8]
  {
    let bytes = (0..<300).map { UInt8(($0 * 7 + 3) % 256) }
    let path = sandbox.home + "/chart.bin"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    harness.press(.ctrl("t"))
    harness.type(path)
    harness.press(.enter)
    harness.settle()
    harness.press(.escape)
    return bytes
  }

  @Test func theRawViewIsTheMessageThatWouldBeSentWithItsAttachments() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(ComposerSandbox.account("work", port: 2525, caFile: nil))
    let harness = Self.composer(sandbox, width: 120, height: 60)
    Self.compose(harness)
    let bytes = try Self.attach(harness, in: sandbox)
    harness.press(.ctrl("p"))
    #expect(harness.screenText.contains("chart.bin"), "\(harness.screenText)")
    harness.press(.character("r"))
    #expect(harness.waitFor("Content-Disposition: attachment"), "\(harness.screenText)")
    let firstLine = Data(bytes.prefix(57)).base64EncodedString()
    #expect(harness.waitFor(firstLine), "the attachment's first base64 line: \(harness.screenText)")
  }
}
