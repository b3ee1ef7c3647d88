import Foundation
import Testing

/// Red team: sendmail mode without a usable account said "no server: give --server or --account", flags
/// sendmail mode does not have. It names what sendmail mode takes: an account of a config file (DESIGN §6).
@Suite struct SendmailNoAccountTests {
  static let message = Array("From: a@example.org\nTo: b@example.org\nSubject: s\n\nbody\n".utf8)

  @Test func withoutAConfigFileItNamesNoFlagItLacks() async throws {
    let result = try await CLIRunner.run(["sendmail", "-t"], stdin: Self.message)
    #expect(result.status == 64, "\(result.stderr)")
    #expect(
      result.stderr.contains("sendmail mode sends through an account of a config file"), "\(result.stderr)")
    #expect(!result.stderr.contains("--server") && !result.stderr.contains("--account"), "\(result.stderr)")
  }

  @Test func withAConfigWithoutADefaultAccountItSaysHowToName() async throws {
    let folder = NSTemporaryDirectory() + "sealpost-sendmail-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let config = folder + "/msmtprc"
    try "account work\nhost mail.example.org\nfrom w@example.org\n".write(
      toFile: config, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: config)
    let result = try await CLIRunner.run(["sendmail", "--config", config, "-t"], stdin: Self.message)
    #expect(result.status == 64, "\(result.stderr)")
    #expect(result.stderr.contains("add `account default : NAME`"), "\(result.stderr)")
    #expect(!result.stderr.contains("--server") && !result.stderr.contains("--account"), "\(result.stderr)")
  }
}
