import Foundation
import MailSenderTesting
import Testing

/// Issue 14: without `--ca-file`, a send trusts the system store through its subject-hash directory, reading the
/// one CA a chain needs, instead of parsing the whole bundle file (all ~140 certificates, 230 M instructions).
/// The servers' certificates are the test CA's; the test makes a store directory that holds that CA under its
/// subject-hash name, as `update-ca-certificates` does for /etc/ssl/certs.
@Suite struct SystemTrustStoreTests {
  /// A folder with the test CA under its subject-hash name (`HASH.0`), one with the CA under another name, and
  /// one with an unrelated certificate under a hash name; and the test CA's subject hash.
  static func storeFolders() throws -> (
    hashed: String, unhashed: String, other: String, hash: String, remove: () -> Void
  ) {
    let pki = try TestPKI.shared()
    let hash = String(
      decoding: try pki.openssl(["x509", "-hash", "-noout", "-in", pki.caCertificatePath]), as: UTF8.self
    ).trimmingCharacters(in: .whitespacesAndNewlines)
    let root = NSTemporaryDirectory() + "sealpost-store-\(UUID().uuidString)"
    let hashed = root + "/hashed"
    let unhashed = root + "/unhashed"
    let other = root + "/other"
    for folder in [hashed, unhashed, other] {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    try FileManager.default.createSymbolicLink(
      atPath: hashed + "/\(hash).0", withDestinationPath: pki.caCertificatePath)
    try FileManager.default.createSymbolicLink(
      atPath: unhashed + "/test-ca.pem", withDestinationPath: pki.caCertificatePath)
    try FileManager.default.createSymbolicLink(
      atPath: other + "/00000000.0", withDestinationPath: pki.identity(.selfSigned).certificatePath)
    return (hashed, unhashed, other, hash, { try? FileManager.default.removeItem(atPath: root) })
  }

  /// `send` over STARTTLS without `--ca-file`, under `strace` (opens and stats): the result and the paths the
  /// process opened or looked at.
  static func send(environment: [String: String]) throws -> (
    result: CLIRunner.Result, opened: [String], looked: [String]
  ) {
    let server = try ScriptedSMTPServer(standard: try SendCommandTests.standard())
    defer { server.stop() }
    var arguments = try SendCommandTests.baseArguments(port: server.port, mode: "starttls")
    let caFlag = try #require(arguments.firstIndex(of: "--ca-file"))
    arguments.removeSubrange(caFlag...(caFlag + 1))
    let trace = NSTemporaryDirectory() + "sealpost-trace-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: trace) }
    let result = try CLIRunner.run(
      arguments + ["--subject", "store", "--body", "b"], environment: environment,
      launcher: [
        "/usr/bin/strace", "-f", "-qq", "-e", "trace=openat,open,stat,lstat,newfstatat,statx", "-o", trace,
      ])
    let lines = (try? String(contentsOfFile: trace, encoding: .utf8)) ?? ""
    var opened: [String] = []
    var looked: [String] = []
    for line in lines.split(separator: "\n") {
      guard let start = line.firstIndex(of: "\""),
        let end = line[line.index(after: start)...].firstIndex(of: "\"")
      else { continue }
      let path = String(line[line.index(after: start)..<end])
      // `PID openat(AT_FDCWD, "path", …)`: the call's name is the word before its parenthesis.
      let call = line[..<start].split(separator: " ").last.map { $0.prefix { $0 != "(" } } ?? ""
      if call == "openat" || call == "open" { opened.append(path) } else { looked.append(path) }
    }
    return (result, opened, looked + opened)
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
    let (result, opened, _) = try Self.send(
      environment: ["SSL_CERT_FILE": Self.systemBundle, "SSL_CERT_DIR": folders.hashed])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("sent: 250"), "\(result.stderr)")
    // The CA the chain needed, read from the folder; the bundle never opened.
    #expect(opened.contains { $0.hasPrefix(folders.hashed + "/") }, "\(opened)")
    #expect(!opened.contains(where: Self.isBundle), "\(opened)")
  }

  @Test func foldersWithoutHashNamesFallBackToTheDefaultPaths() throws {
    try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "apt-get install strace")
    let folders = try Self.storeFolders()
    defer { folders.remove() }
    // The test CA is in the folder but not under its hash name: OpenSSL's default paths (the bundle parsed), in
    // which the test CA is not either: refused (77).
    let (result, opened, _) = try Self.send(
      environment: ["SSL_CERT_FILE": Self.systemBundle, "SSL_CERT_DIR": folders.unhashed])
    #expect(result.status == 77, "\(result.stderr)")
    #expect(result.stderr.contains("not trusted"), "\(result.stderr)")
    #expect(opened.contains(where: Self.isBundle), "the default paths parse the bundle: \(opened)")
  }

  @Test func theDefaultDirectoryIsNotAddedToSSLCertDir() throws {
    try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "apt-get install strace")
    let folders = try Self.storeFolders()
    defer { folders.remove() }
    // Red team: SSL_CERT_DIR replaces the default directory in OpenSSL's default paths, so a lookup there must
    // not fall through to /usr/lib/ssl/certs (which may hold certificates the bundle lacks). The folder given
    // has hash names, not the test CA's: refused, and the test CA's hash looked up in that folder only.
    let (result, opened, looked) = try Self.send(
      environment: ["SSL_CERT_FILE": Self.systemBundle, "SSL_CERT_DIR": folders.other])
    #expect(result.status == 77, "\(result.stderr)")
    #expect(looked.contains(folders.other + "/\(folders.hash).0"), "\(looked)")
    #expect(!opened.contains(where: Self.isBundle), "\(opened)")
    let elsewhere = looked.filter { $0.hasSuffix("/\(folders.hash).0") && !$0.hasPrefix(folders.other + "/") }
    #expect(elsewhere.isEmpty, "\(elsewhere)")
  }

  @Test func sslCertFileNamingAnotherFileIsThatFile() throws {
    try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "apt-get install strace")
    let folders = try Self.storeFolders()
    defer { folders.remove() }
    // SSL_CERT_FILE names a bundle of its own: it is loaded, as OpenSSL's default paths do.
    let pki = try TestPKI.shared()
    let (result, opened, _) = try Self.send(
      environment: ["SSL_CERT_FILE": pki.caCertificatePath, "SSL_CERT_DIR": folders.unhashed])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(opened.contains(pki.caCertificatePath), "\(opened)")
  }
}
