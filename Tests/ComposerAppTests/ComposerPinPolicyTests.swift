import ComposerApp
import ComposerCore
import ComposerTesting
import Foundation
import MailSender
import MailSenderTesting
import SMTPProtocol
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 8 ("one engine"), DESIGN §3 and §6: the composer applies the pin file as the CLI does, through the
/// planning layer (`ChannelPlan.checked`), not a copy of the rule of its own. The real composer and runtime,
/// headless, against the scripted server.
@Suite struct ComposerPinPolicyTests {
  /// A pin file the CLI refuses (78), and the words it is refused with.
  enum BrokenPinFile: String, CaseIterable, Sendable {
    case malformed, danglingLink, writableFolder

    /// Breaks the sandbox's pin file; the text the refusal must hold.
    func make(in sandbox: ComposerSandbox) throws -> String {
      let folder = sandbox.configHome + "/sealpost"
      switch self {
      case .malformed:
        _ = FileManager.default.createFile(
          atPath: sandbox.pinPath, contents: Data("localhost-without-a-pin\n".utf8),
          attributes: [.posixPermissions: 0o600])
        return "\(sandbox.pinPath):1: expected `HOST:PORT sha256/BASE64`"
      case .danglingLink:
        #expect(symlink(sandbox.directory.file("nowhere"), sandbox.pinPath) == 0)
        return
          "\(sandbox.pinPath): cannot read the pin file: No such file or directory (it is a symbolic link"
      case .writableFolder:
        _ = FileManager.default.createFile(
          atPath: sandbox.pinPath, contents: Data("# no pins yet\n".utf8),
          attributes: [.posixPermissions: 0o600])
        #expect(chmod(folder, 0o777) == 0)
        return "group or others may write the pin file's folder"
      }
    }
  }

  static func selfSignedServer() throws -> ScriptedSMTPServer {
    let identity = try TestPKI.shared().identity(.selfSigned)
    return try ScriptedSMTPServer(
      standard: StandardSMTPOptions(tlsIdentity: identity), options: .init(implicitTLS: identity))
  }

  /// The composer started for probing `port` on localhost (implicit TLS), wide enough for the verdict line to
  /// hold the sandbox's long paths.
  static func prober(_ sandbox: ComposerSandbox, port: UInt16) -> HeadlessComposer<ComposerModel> {
    let order = ProbeOrder(host: "localhost", port: port, security: .implicitTLS)
    let model = ComposerModel(
      ComposerModel.Startup(probe: order), width: 240, height: 40, now: Int64(Date().timeIntervalSince1970))
    let harness = HeadlessComposer(program: model, environment: sandbox.environment(), width: 240, height: 40)
    harness.start()
    return harness
  }

  /// Item 1: the composer's probe read the pin file with `try?`, so a pin file the CLI refuses was passed over
  /// and the probe went on with the CA check. Now it is refused before connecting, in the composer's words.
  @Test(arguments: BrokenPinFile.allCases)
  func aProbeRefusesAPinFileTheCLIRefuses(_ broken: BrokenPinFile) throws {
    let server = try Self.selfSignedServer()
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer {
      chmod(sandbox.configHome + "/sealpost", 0o700)
      sandbox.remove()
    }
    let words = try broken.make(in: sandbox)
    let harness = Self.prober(sandbox, port: server.port)
    #expect(harness.waitFor("configuration: "), "\(harness.screenText)")
    #expect(harness.settle())
    let screen = harness.screens.map { $0.lines.joined(separator: "\n") }.joined(separator: "\n")
    #expect(screen.contains(words), "\(harness.screenText)")
    #expect(!screen.contains("trustworthy"), "\(harness.screenText)")
    // Never a flag's name: the person typed none.
    #expect(!screen.contains("--"), "\(harness.screenText)")
    // Nothing connected: the refusal comes before the probe.
    #expect(server.sessions.isEmpty)
  }

  /// Item 2: the review described the channel without the pin file ("Picker/Review display checks do not apply
  /// recorded pins") while the send trusted the recorded pin. The review's rows now come from the send's own
  /// plan: it names the recorded pin and the file, and the send then goes on that pin.
  @Test func theReviewNamesTheRecordedPinTheSendThenTrusts() throws {
    let server = try Self.selfSignedServer()
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    // The account trusts the test CA, which did not sign the server's certificate: only the pin lets it in.
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: server.port, caFile: try TestPKI.shared().caCertificatePath))
    let pin = try Self.spkiPin(of: try TestPKI.shared().identity(.selfSigned).certificatePath)
    _ = FileManager.default.createFile(
      atPath: sandbox.pinPath, contents: Data("# test\nlocalhost:\(server.port) \(pin)\n".utf8),
      attributes: [.posixPermissions: 0o600])
    let harness = ComposerFlowTests.composer(sandbox, width: 240, height: 40)
    ComposerFlowTests.compose(harness)
    harness.press(.ctrl("x"))
    let trust = "pinned key \(pin) (recorded in \(sandbox.pinPath); chain and name shown, not required)"
    #expect(harness.waitFor(trust), "\(harness.screenText)")
    #expect(!harness.screenText.contains("tls_trust_file"), "\(harness.screenText)")
    harness.press(.character("y"))
    #expect(harness.waitFor("SENT — sent: 250"), "\(harness.screenText)")
    #expect(ComposerFlowTests.received(server).contains("Hello Bob,"))
  }

  /// A pin file the send would refuse (broken while the message was written) stops the send at the review,
  /// with the send's words, and nothing connects.
  @Test func theReviewRefusesTheSendWhenThePinFileCannotBeUsed() throws {
    let server = try Self.selfSignedServer()
    defer { server.stop() }
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: server.port, caFile: try TestPKI.shared().caCertificatePath))
    let harness = ComposerFlowTests.composer(sandbox, width: 240, height: 40)
    ComposerFlowTests.compose(harness)
    let words = try BrokenPinFile.malformed.make(in: sandbox)
    harness.press(.ctrl("x"))
    #expect(harness.settle())
    harness.press(.character("y"))
    #expect(harness.screenText.contains("cannot send: configuration: \(words)"), "\(harness.screenText)")
    #expect(harness.settle())
    #expect(server.sessions.isEmpty)
  }

  /// Two accounts, `work` on `localhost:2465` and `home` on `localhost:3465` (implicit TLS, the system store).
  static func twoAccounts(_ sandbox: ComposerSandbox) throws {
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: 2465, caFile: nil)
        + ComposerSandbox.account("home", port: 3465, caFile: nil))
  }

  /// The picker's row of `account`.
  static func row(_ account: String, in harness: HeadlessComposer<ComposerModel>) -> String? {
    harness.screen.lines.first { $0.dropFirst().hasPrefix(account + " ") && $0.contains("localhost") }
  }

  /// The picker describes the channel a send plans too: an account whose HOST:PORT has a pin recorded is
  /// "pinned", as the send then trusts that pin (it said "implicit" alone: the display check skipped the file).
  @Test func thePickerSaysPinnedForAnAccountWithARecordedPin() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try Self.twoAccounts(sandbox)
    let pin = "sha256/" + Data(repeating: 7, count: 32).base64EncodedString()
    _ = FileManager.default.createFile(
      atPath: sandbox.pinPath, contents: Data("# test\nlocalhost:2465 \(pin)\n".utf8),
      attributes: [.posixPermissions: 0o600])
    let harness = ComposerFlowTests.composer(sandbox, width: 240, height: 40)
    #expect(harness.waitFor("Accounts in"), "\(harness.screenText)")
    let work = try #require(Self.row("work", in: harness), "\(harness.screenText)")
    #expect(work.contains("implicit, pinned"), "\(work)")
    let home = try #require(Self.row("home", in: harness), "\(harness.screenText)")
    #expect(home.contains("implicit") && !home.contains("pinned"), "\(home)")
  }

  /// A pin file no send can use makes every account unusable in the picker, with the send's words.
  @Test func thePickerRefusesTheAccountsWhenThePinFileCannotBeUsed() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    try Self.twoAccounts(sandbox)
    let words = try BrokenPinFile.malformed.make(in: sandbox)
    let harness = ComposerFlowTests.composer(sandbox, width: 240, height: 40)
    #expect(harness.waitFor("Accounts in"), "\(harness.screenText)")
    let refusals = harness.screen.lines.filter { $0.contains("unusable: \(words)") }
    #expect(refusals.count == 2, "\(harness.screenText)")
  }

  /// `sha256/BASE64` of the SPKI of the certificate at `path`, as openssl computes it.
  static func spkiPin(of path: String) throws -> String {
    let pki = try TestPKI.shared()
    let key = try pki.openssl(["x509", "-in", path, "-noout", "-pubkey"])
    let der = try pki.openssl(["pkey", "-pubin", "-outform", "DER"], input: key)
    let digest = try pki.openssl(["dgst", "-sha256", "-binary"], input: der)
    return "sha256/" + digest.base64EncodedString()
  }
}
