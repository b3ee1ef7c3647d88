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
}
