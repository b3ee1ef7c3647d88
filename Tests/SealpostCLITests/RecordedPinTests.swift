import Foundation
import MailSenderTesting
import Testing

/// `sealpost send` honours the pins the composer records in `$XDG_CONFIG_HOME/sealpost/pins` (DESIGN §6).
@Suite struct RecordedPinTests {
  static func spkiPin(of certificate: String) throws -> String {
    let pki = try TestPKI.shared()
    let key = try pki.openssl(["x509", "-in", certificate, "-noout", "-pubkey"])
    let der = try pki.openssl(["pkey", "-pubin", "-outform", "DER"], input: key)
    let digest = try pki.openssl(["dgst", "-sha256", "-binary"], input: der)
    return "sha256/" + digest.base64EncodedString()
  }

  @Test func aRecordedPinLetsASelfSignedServerInAndAWrongOneIsRefused() throws {
    let pki = try TestPKI.shared()
    let identity = pki.identity(.selfSigned)
    let server = try ScriptedSMTPServer(
      standard: StandardSMTPOptions(tlsIdentity: identity), options: .init(implicitTLS: identity))
    defer { server.stop() }
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let pins = directory.path + "/sealpost/pins"
    try FileManager.default.createDirectory(
      atPath: directory.path + "/sealpost", withIntermediateDirectories: true)
    let arguments = [
      "send", "--server", "localhost:\(server.port)", "--tls", "implicit", "--from", "a@example.test", "--to",
      "b@example.test", "--transcript", "none",
    ]
    let environment = ["XDG_CONFIG_HOME": directory.path]

    // Without a pin: the CA check fails.
    #expect(try CLIRunner.run(arguments, environment: environment).status == 77)

    let pin = try Self.spkiPin(of: identity.certificatePath)
    _ = FileManager.default.createFile(
      atPath: pins, contents: Data("# test\nlocalhost:\(server.port) \(pin)\n".utf8),
      attributes: [.posixPermissions: 0o600])
    let pinned = try CLIRunner.run(arguments, environment: environment)
    #expect(pinned.status == 0, "\(pinned.stderr)")

    // A pin for another key: refused, nothing sent.
    let other = try Self.spkiPin(of: pki.identity(.valid).certificatePath)
    try Data("localhost:\(server.port) \(other)\n".utf8).write(to: URL(fileURLWithPath: pins))
    let wrong = try CLIRunner.run(arguments, environment: environment)
    #expect(wrong.status == 77)
    #expect(server.waitForFinishedSessions(3).filter { !$0.messages.isEmpty }.count == 1)

    // A broken pin file is a configuration error naming file:line.
    try Data("localhost \(pin)\n".utf8).write(to: URL(fileURLWithPath: pins))
    let broken = try CLIRunner.run(arguments, environment: environment)
    #expect(broken.status == 78)
    #expect(broken.stderr.contains("\(pins):1: "))
  }
}
