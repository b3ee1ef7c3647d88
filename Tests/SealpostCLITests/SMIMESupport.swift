import Foundation
import MailSenderTesting
import PropertyTesting

/// A sandbox for S/MIME tests (issue 15): a config whose account signs as alice@example.test, a certificate
/// store, and the oracles — `openssl cms`, GnuPG's `gpgsm` in a private GNUPGHOME, Python's `email`.
struct SMIMESandbox {
  var sandbox: AccountSandbox
  let pki: TestPKI
  var data: String { sandbox.root + "/data" }
  var configPath: String { sandbox.xdg + "/sealpost/config" }
  var keyPath: String { sandbox.root + "/keys/alice.key" }

  /// `extra` lines go into the account.
  init(extra: String = "", keyMode: Int = 0o600, keyText: String? = nil) throws {
    sandbox = try AccountSandbox()
    pki = try TestPKI.shared()
    let alice = try pki.smime(.alice)
    let key = try keyText ?? String(contentsOfFile: alice.keyPath, encoding: .utf8)
    try sandbox.write(key, to: keyPath, mode: keyMode)
    try sandbox.write(
      """
      account default
      host localhost
      tls on
      from alice@example.test
      smime_cert \(alice.certificatePath)
      smime_key \(keyPath)
      smime_ca_file \(pki.smimeCACertificatePath)
      \(extra)

      """, to: configPath)
  }

  func remove() { sandbox.remove() }

  var environment: [String: String] {
    var environment = sandbox.environment
    environment["XDG_DATA_HOME"] = data
    return environment
  }

  /// Runs the binary without a terminal (no prompt can open).
  func run(_ arguments: [String]) throws -> CLIRunner.Result {
    try CLIRunner.run(arguments, environment: environment, detached: true)
  }

  /// `certs add` for each kind.
  func addCertificates(_ kinds: [SMIMETestKind]) throws {
    for kind in kinds {
      let result = try run(["certs", "add", try pki.smime(kind).certificatePath])
      guard result.status == 0 else { throw SMIMETestFailure("certs add failed: \(result.stderr)") }
    }
  }

  /// The copies of a dry run's standard output: each starts with its `From:` line.
  static func copies(_ output: String) -> [String] {
    let bytes = output.components(separatedBy: "From: ")
    return bytes.dropFirst().map { "From: " + $0 }
  }

  /// The DER of an `application/pkcs7-mime` message (its base64 body).
  static func envelopedDER(_ message: String) throws -> Data {
    guard let range = message.range(of: "\r\n\r\n") else { throw SMIMETestFailure("no body") }
    let base64 = message[range.upperBound...].replacingOccurrences(of: "\r\n", with: "")
    guard let data = Data(base64Encoded: base64) else { throw SMIMETestFailure("not base64") }
    return data
  }

  /// The signed octets and the signature of a `multipart/signed` entity (RFC 1847), exactly as sent.
  static func signedParts(_ entity: String) throws -> (content: Data, signature: Data) {
    guard let start = entity.range(of: "boundary=\""),
      let end = entity[start.upperBound...].firstIndex(of: "\"")
    else { throw SMIMETestFailure("no boundary") }
    let boundary = String(entity[start.upperBound..<end])
    let parts = entity.components(separatedBy: "\r\n--" + boundary)
    // parts[0] ends with the preamble; parts[1] is "\r\n" + content; parts[2] the signature part.
    guard parts.count >= 3 else { throw SMIMETestFailure("not two parts") }
    // By octets: "\r\n" is one Character in Swift.
    let content = String(decoding: Array(parts[1].utf8).dropFirst(2), as: UTF8.self)
    let signaturePart = parts[2]
    guard let body = signaturePart.range(of: "\r\n\r\n") else { throw SMIMETestFailure("no signature") }
    let base64 = signaturePart[body.upperBound...].replacingOccurrences(of: "\r\n", with: "")
    guard let signature = Data(base64Encoded: base64) else { throw SMIMETestFailure("bad signature") }
    return (Data(content.utf8), signature)
  }

  /// Defects Python's `email` (policy.default) finds in any part of `message`, and the MIME types of its parts.
  static func pythonDefects(_ message: Data) throws -> (defects: [String], types: [String]) {
    let script = """
      import sys, json, email, email.policy
      msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
      defects = [repr(d) for d in msg.defects]
      types = []
      for part in msg.walk():
          defects += [repr(d) for d in part.defects]
          for name, value in part.items():
              defects += ['%s: %r' % (name, d) for d in getattr(value, 'defects', ())]
          types.append(part.get_content_type())
      json.dump({"defects": defects, "types": types}, sys.stdout)
      """
    let output = try PythonOracle.run(script, input: message)
    let parsed = try JSONSerialization.jsonObject(with: output) as? [String: [String]] ?? [:]
    return (parsed["defects"] ?? ["unreadable"], parsed["types"] ?? [])
  }
}

/// GnuPG's `gpgsm` in a private home: the test CA trusted, the identities' PKCS#12 files imported with an empty
/// passphrase through loopback pinentry; its agent is stopped by `remove()`.
struct GPGSM {
  let home: TemporaryDirectory

  init(pki: TestPKI, identities: [SMIMETestIdentity]) throws {
    home = try TemporaryDirectory(prefix: "sealpost-gnupg")
    try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: home.path)
    try "allow-loopback-pinentry\n".write(
      toFile: home.file("gpg-agent.conf"), atomically: true, encoding: .utf8)
    // The agent started here, ready before gpgsm needs it: gpgsm waits only 5 s for one it starts itself, which
    // a loaded machine can exceed (its first import then fails).
    // (`gpgconf --launch`, not `gpg-agent --daemon` run from here: Foundation's Process never saw that parent
    // exit, and the test hung.)
    Self.gpgconf(home: home.path, ["--launch", "gpg-agent"])
    do {
      try prepare(pki: pki, identities: identities)
    } catch {
      remove()
      throw error
    }
  }

  /// Trusts the test CA, imports the identities' keys and every recipient's certificate.
  private func prepare(pki: TestPKI, identities: [SMIMETestIdentity]) throws {
    _ = try run(["--import", pki.smimeCACertificatePath])
    let fingerprint =
      String(
        decoding: try pki.openssl([
          "x509", "-noout", "-fingerprint", "-sha1", "-in", pki.smimeCACertificatePath,
        ]),
        as: UTF8.self
      ).split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    try "\(fingerprint) S relax\n".write(
      toFile: home.file("trustlist.txt"), atomically: true, encoding: .utf8)
    for identity in identities {
      // The first import starts the agent, which may not come up in gpgsm's 5 s on a loaded machine: try again,
      // and never go on without the key (a later "No secret key" would be the test's fault, not the message's).
      var imported = false
      var errors = ""
      for _ in 0..<3 where !imported {
        errors = try run(["--import", identity.p12Path]).errors
        imported = errors.contains("secret keys imported: 1") || errors.contains("secret keys unchanged: 1")
      }
      guard imported else { throw SMIMETestFailure("gpgsm could not import \(identity.p12Path): \(errors)") }
    }
    // Every recipient's certificate (public part): gpgsm 2.2 logs an error, and exits 2 although it decrypted,
    // for each recipient info whose certificate it does not hold.
    for kind in [SMIMETestKind.alice, .bob, .carol, .dan] {
      _ = try run(["--import", try pki.smime(kind).certificatePath])
    }
  }

  func remove() {
    Self.gpgconf(home: home.path, ["--kill", "all"])
    home.remove()
  }

  static func gpgconf(home: String, _ arguments: [String]) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/gpgconf")
    process.arguments = ["--homedir", home] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    if (try? process.run()) != nil { process.waitUntilExit() }
  }

  /// Runs gpgsm in batch mode; returns (status, stdout, stderr).
  func run(_ arguments: [String]) throws -> (status: Int32, output: Data, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/gpgsm")
    process.arguments =
      [
        "--homedir", home.path, "--batch", "--disable-crl-checks", "--pinentry-mode", "loopback",
        "--passphrase-fd", "0", "--status-fd", "2",
      ] + arguments
    let output = Pipe()
    let errors = TemporaryFile()
    process.standardOutput = output
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors.path))
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = (try? String(contentsOfFile: errors.path, encoding: .utf8)) ?? ""
    errors.remove()
    return (process.terminationStatus, data, text)
  }

  /// Decrypts DER; the clear text, or gpgsm's words when it cannot.
  func decrypt(_ der: Data) throws -> Result<Data, SMIMETestFailure> {
    let file = TemporaryFile(data: der)
    defer { file.remove() }
    let result = try run(["--decrypt", file.path])
    // gpgsm 2.2 exits 2 once it has logged any error, such as a recipient info it holds no key for before the
    // one it holds: its status line says whether it decrypted.
    let decrypted = result.errors.contains("[GNUPG:] DECRYPTION_OKAY") && !result.output.isEmpty
    return decrypted ? .success(result.output) : .failure(SMIMETestFailure(result.errors))
  }

  /// Verifies a detached signature over `content`; gpgsm's words on failure.
  func verify(signature: Data, content: Data) throws -> (good: Bool, text: String) {
    let signatureFile = TemporaryFile(data: signature)
    let contentFile = TemporaryFile(data: content)
    defer {
      signatureFile.remove()
      contentFile.remove()
    }
    let result = try run(["--verify", signatureFile.path, contentFile.path])
    // A good signature by a certificate that chains to the trusted test CA.
    let good =
      result.status == 0 && result.errors.contains("[GNUPG:] GOODSIG")
      && result.errors.contains("[GNUPG:] TRUST_FULLY")
    return (good, result.errors)
  }
}

/// A file in the temp folder, for one call.
struct TemporaryFile {
  let path = NSTemporaryDirectory() + "sealpost-smime-\(UUID().uuidString)"

  init(data: Data = Data()) {
    FileManager.default.createFile(atPath: path, contents: data)
  }

  func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Why an S/MIME test helper could not do its part.
struct SMIMETestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
