import Foundation
import MailSenderTesting
import Testing

/// Issue 14: without `--ca-file`, a send trusts the system store through its subject-hash directory, reading the
/// one CA a chain needs, instead of parsing the whole bundle file (all ~140 certificates, 230 M instructions).
/// The servers' certificates are the test CA's; the test makes a store directory that holds that CA under its
/// subject-hash name, as `update-ca-certificates` does for /etc/ssl/certs.
@Suite struct SystemTrustStoreTests {
  /// A folder with the test CA under its subject-hash name (`HASH.0`), and one with the CA under another name.
  static func storeFolders() throws -> (hashed: String, unhashed: String, remove: () -> Void) {
    let pki = try TestPKI.shared()
    let hash = String(
      decoding: try pki.openssl(["x509", "-hash", "-noout", "-in", pki.caCertificatePath]), as: UTF8.self
    ).trimmingCharacters(in: .whitespacesAndNewlines)
    let root = NSTemporaryDirectory() + "sealpost-store-\(UUID().uuidString)"
    let hashed = root + "/hashed"
    let unhashed = root + "/unhashed"
    for folder in [hashed, unhashed] {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    try FileManager.default.createSymbolicLink(
      atPath: hashed + "/\(hash).0", withDestinationPath: pki.caCertificatePath)
    try FileManager.default.createSymbolicLink(
      atPath: unhashed + "/test-ca.pem", withDestinationPath: pki.caCertificatePath)
    return (hashed, unhashed, { try? FileManager.default.removeItem(atPath: root) })
  }

  /// `send` over STARTTLS without `--ca-file`, under `strace` (file opens only): the result and the paths the
  /// process opened.
  static func send(environment: [String: String]) throws -> (result: CLIRunner.Result, opened: [String]) {
    let server = try ScriptedSMTPServer(standard: try SendCommandTests.standard())
    defer { server.stop() }
    var arguments = try SendCommandTests.baseArguments(port: server.port, mode: "starttls")
    let caFlag = try #require(arguments.firstIndex(of: "--ca-file"))
    arguments.removeSubrange(caFlag...(caFlag + 1))
    let trace = NSTemporaryDirectory() + "sealpost-trace-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: trace) }
    let result = try CLIRunner.run(
      arguments + ["--subject", "store", "--body", "b"], environment: environment,
      launcher: ["/usr/bin/strace", "-f", "-qq", "-e", "trace=openat,open", "-o", trace])
    let lines = (try? String(contentsOfFile: trace, encoding: .utf8)) ?? ""
    let opened = lines.split(separator: "\n").compactMap { line -> String? in
      guard let start = line.firstIndex(of: "\""),
        let end = line[line.index(after: start)...].firstIndex(of: "\"")
      else { return nil }
      return String(line[line.index(after: start)..<end])
    }
    return (result, opened)
  }

  /// OpenSSL's compiled-in bundle path on Debian (a link to /etc/ssl/certs/ca-certificates.crt): named in
  /// SSL_CERT_FILE, it is the system store as if nothing were set (this machine's environment may set it).
  static let systemBundle = "/usr/lib/ssl/cert.pem"

  static func isBundle(_ path: String) -> Bool {
    path == systemBundle || path.hasSuffix("/ca-certificates.crt")
  }

  @Test func theStoreIsReadByHashAndTheBundleIsNotParsed() throws {
    try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "apt-get install strace")
    let folders = try Self.storeFolders()
    defer { folders.remove() }
    // SSL_CERT_DIR adds the folder with the test CA, searched before the system's directory, as OpenSSL does.
    let (result, opened) = try Self.send(
      environment: ["SSL_CERT_FILE": Self.systemBundle, "SSL_CERT_DIR": folders.hashed])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("sent: 250"), "\(result.stderr)")
    // The CA the chain needed, read from the folder; the bundle never opened.
    #expect(opened.contains { $0.hasPrefix(folders.hashed + "/") }, "\(opened)")
    #expect(!opened.contains(where: Self.isBundle), "\(opened)")
  }

  @Test func aCANotInTheStoreIsStillRefused() throws {
    try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "apt-get install strace")
    let folders = try Self.storeFolders()
    defer { folders.remove() }
    // The test CA is in the folder but not under its hash name, and not in the system's store: refused (77),
    // the trust not widened by reading the store lazily.
    let (result, opened) = try Self.send(
      environment: ["SSL_CERT_FILE": Self.systemBundle, "SSL_CERT_DIR": folders.unhashed])
    #expect(result.status == 77, "\(result.stderr)")
    #expect(result.stderr.contains("not trusted"), "\(result.stderr)")
    #expect(!opened.contains(where: Self.isBundle), "\(opened)")
  }

  @Test func sslCertFileNamingAnotherFileIsThatFile() throws {
    try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "apt-get install strace")
    let folders = try Self.storeFolders()
    defer { folders.remove() }
    // SSL_CERT_FILE names a bundle of its own: it is loaded, as OpenSSL's default paths do.
    let pki = try TestPKI.shared()
    let (result, opened) = try Self.send(
      environment: ["SSL_CERT_FILE": pki.caCertificatePath, "SSL_CERT_DIR": folders.unhashed])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(opened.contains(pki.caCertificatePath), "\(opened)")
  }
}
