import Foundation
import MailSenderTesting
import PropertyTesting
import Testing

/// Review fixes for the recipients of an encrypted send and for `certs add`: one mailbox spelled twice gets one
/// copy and one recipient info; a certificate given for someone who gets no copy is a usage error; every
/// certificate of a multi-certificate file is looked at, and none is skipped silently.
@Suite(.serialized) struct SMIMERecipientTests {
  /// The serial numbers of the recipient infos of an `application/pkcs7-mime` copy, as `openssl cms` prints
  /// them (one per recipient info).
  static func recipientSerials(_ copy: String, pki: TestPKI) throws -> [String] {
    let file = TemporaryFile(data: try SMIMESandbox.envelopedDER(copy))
    defer { file.remove() }
    let printed = String(
      decoding: try pki.openssl(["cms", "-cmsout", "-print", "-inform", "DER", "-in", file.path]),
      as: UTF8.self)
    return printed.components(separatedBy: "\n").filter { $0.contains("serialNumber:") }.map { line in
      SMIMECommandTests.normalisedSerial(line.components(separatedBy: "serialNumber:").last ?? line)
    }
  }

  /// A PEM file in the sandbox holding the certificates of `paths`, in that order.
  static func bundle(_ box: SMIMESandbox, _ paths: [String]) throws -> String {
    let path = box.sandbox.root + "/bundle-\(paths.count).pem"
    var sandbox = box.sandbox
    try sandbox.write(try paths.map { try String(contentsOfFile: $0, encoding: .utf8) }.joined(), to: path)
    return path
  }

  static func serial(_ kind: SMIMETestKind, pki: TestPKI) throws -> String {
    let text = String(
      decoding: try pki.openssl(["x509", "-noout", "-serial", "-in", try pki.smime(kind).certificatePath]),
      as: UTF8.self)
    return SMIMECommandTests.normalisedSerial(text.replacingOccurrences(of: "serial=", with: "0x"))
  }

  /// RFC 5321 §2.4: the domain is case-insensitive. Bob in To and again in Bcc with the domain in capitals is
  /// one mailbox: one copy, no second copy "for the Bcc"; the sender in Cc with its domain in capitals is the
  /// sender: one recipient info for it, not two.
  @Test func oneMailboxSpelledTwiceGetsOneCopyAndOneRecipientInfo() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    try box.addCertificates([.bob])
    let result = try box.run([
      "send", "--dry-run", "--encrypt", "--to", "bob@example.test", "--cc", "alice@EXAMPLE.test", "--bcc",
      "bob@Example.TEST", "--body", "hi",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.isEmpty, "one copy: no 'copy 1 of 2' lines")
    let copies = SMIMESandbox.copies(result.stdout)
    try #require(copies.count == 1)
    let serials = try Self.recipientSerials(copies[0], pki: box.pki)
    #expect(serials.count == 2, "\(serials)")
    #expect(
      Set(serials) == Set([try Self.serial(.bob, pki: box.pki), try Self.serial(.alice, pki: box.pki)]))
  }

  /// `--recipient-cert` for an address that is neither a recipient nor the sender was ignored without a word:
  /// a typo (`dna@…`) sent the message encrypted without the certificate meant for it, or refused it for a
  /// reason that named another address. It is a usage error now, naming the address, before anything is read
  /// or connected (the server given does not exist).
  @Test func aRecipientCertificateForSomeoneWhoGetsNoCopyIsAUsageError() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    let dan = try box.pki.smime(.dan).certificatePath
    let result = try box.run([
      "send", "--account", "default", "--server", "127.0.0.1:1", "--tls", "starttls", "--encrypt", "--to",
      "dan@example.test", "--recipient-cert", "dna@example.test=\(dan)", "--recipient-cert",
      "DAN@example.test=/nonexistent/dan.pem", "--body", "hi",
    ])
    #expect(result.status == 64, "\(result.stderr)")
    #expect(result.stdout.isEmpty)
    #expect(
      result.stderr
        == "sealpost: usage: --recipient-cert for dna@example.test, DAN@example.test: not recipients of this "
        + "message (--to, --cc, --bcc) nor its sender, so the certificate would not be used — correct the "
        + "address or add the recipient\n")
    // The same for a dry run; the domain is compared in any case, so these are recipients and the sender.
    let accepted = try box.run([
      "send", "--dry-run", "--encrypt", "--to", "dan@example.test", "--recipient-cert",
      "dan@EXAMPLE.test=\(dan)", "--recipient-cert",
      "alice@Example.Test=\(try box.pki.smime(.alice).certificatePath)", "--body", "hi",
    ])
    #expect(accepted.status == 0, "\(accepted.stderr)")
    let refused = try box.run([
      "send", "--dry-run", "--encrypt", "--to", "dan@example.test", "--recipient-cert",
      "bob@example.test=\(dan)",
      "--body", "hi",
    ])
    #expect(refused.status == 64)
    #expect(refused.stderr.contains("--recipient-cert for bob@example.test: not a recipient"))
  }

  /// A PEM file with two people's certificates, the CA's and a server's (no e-mail address): both people's are
  /// stored, the CA's goes with them as their chain, and the other two are named on stderr with the reason.
  @Test func certsAddStoresEveryPersonsCertificateOfAFileAndNamesTheOthers() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    let pki = box.pki
    func pem(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
    let bundle = try Self.bundle(
      box,
      [
        try pki.smime(.bob).certificatePath, pki.smimeCACertificatePath,
        try pki.smime(.carol).certificatePath,
        pki.identity(.valid).certificatePath,
      ])
    let added = try box.run(["certs", "add", bundle])
    #expect(added.status == 0, "\(added.stderr)")
    let stdout = added.stdout.components(separatedBy: "\n").filter { !$0.isEmpty }
    #expect(stdout.count == 2, "\(added.stdout)")
    #expect(stdout.first?.hasPrefix("stored the certificate for bob@example.test (expires ") == true)
    #expect(
      stdout.first?.hasSuffix(") as bob@example.test.pem, with the file's CA certificates as its chain")
        == true)
    #expect(stdout.last?.hasPrefix("stored the certificate for carol@example.test (expires ") == true)
    let notes = added.stderr.components(separatedBy: "\n").filter { !$0.isEmpty }
    #expect(notes.count == 2, "\(added.stderr)")
    #expect(
      notes.first?.hasPrefix(
        "sealpost: note: not stored: CN=Sealpost SMIME Test CA,O=Sealpost Tests (sha256 ")
        == true, "\(notes)")
    #expect(
      notes.first?.hasSuffix("): a certificate authority's (basicConstraints CA:TRUE), not a person's")
        == true)
    #expect(
      notes.last?.hasSuffix("): it names no e-mail address (subjectAltName or emailAddress)") == true,
      "\(notes)")
    let list = try box.run(["certs", "list"])
    #expect(list.stdout.hasPrefix("bob@example.test  expires "), "\(list.stdout)")
    #expect(list.stdout.contains("\ncarol@example.test  expires "), "\(list.stdout)")
    // Each stored file holds the person's certificate first, then the CA's as its chain.
    let stored = try pem(box.data + "/sealpost/certs/carol@example.test.pem")
    #expect(stored == (try pem(pki.smime(.carol).certificatePath) + pem(pki.smimeCACertificatePath)))
    // Both can be encrypted to with no --recipient-cert.
    let send = try box.run([
      "send", "--dry-run", "--encrypt", "--to", "bob@example.test", "--to", "carol@example.test", "--body",
      "hi",
    ])
    #expect(send.status == 0, "\(send.stderr)")
  }

  /// Red-team: `certs add alice.pem`, then a bundle of bob's, the CA's and a self-signed certificate for alice
  /// replaced alice's CA-issued certificate silently, "with the file's CA certificates as its chain". Now the
  /// replacement is named on stderr (file, fingerprint, date), and only bob's line speaks of a chain.
  @Test func certsAddSaysWhichStoredCertificateItReplaces() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    let pki = box.pki
    let alice = try pki.smime(.alice).certificatePath
    #expect(try box.run(["certs", "add", alice]).status == 0)
    let config = box.sandbox.root + "/evil.cnf"
    var sandbox = box.sandbox
    try sandbox.write(
      "[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n[dn]\nCN = Evil\n[ext]\n"
        + "basicConstraints = critical,CA:FALSE\nsubjectAltName = email:alice@example.test\n", to: config)
    let evil = box.sandbox.root + "/evil.pem"
    _ = try pki.openssl([
      "req", "-x509", "-config", config, "-newkey", "rsa:2048", "-nodes", "-keyout",
      box.sandbox.root + "/evil.key", "-out", evil, "-days", "90",
    ])
    let fingerprint =
      String(
        decoding: try pki.openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", alice]), as: UTF8.self
      ).split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    let added = try box.run([
      "certs", "add",
      try Self.bundle(box, [pki.smime(.bob).certificatePath, pki.smimeCACertificatePath, evil]),
    ])
    #expect(added.status == 0, "\(added.stderr)")
    let stdout = added.stdout.components(separatedBy: "\n").filter { !$0.isEmpty }
    #expect(stdout.count == 2, "\(added.stdout)")
    #expect(
      stdout.first?.hasSuffix(") as bob@example.test.pem, with the file's CA certificates as its chain")
        == true)
    #expect(stdout.last?.hasSuffix(") as alice@example.test.pem") == true, "\(added.stdout)")
    #expect(
      added.stderr.contains(
        "sealpost: note: it replaces the certificate alice@example.test.pem (sha256 \(fingerprint)) stored on "
      ),
      "\(added.stderr)")
  }

  /// A file with no person's certificate (a CA's and a server's) stores nothing and says why (65).
  @Test func certsAddRefusesAFileWithNoPersonsCertificate() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    let bundle = try Self.bundle(
      box, [box.pki.smimeCACertificatePath, box.pki.identity(.valid).certificatePath])
    let result = try box.run(["certs", "add", bundle])
    #expect(result.status == 65, "\(result.stderr)")
    #expect(result.stdout.isEmpty)
    #expect(
      result.stderr.hasPrefix(
        "sealpost: bad data: no certificate in the file can be stored for a recipient: CN=Sealpost SMIME Test "
          + "CA,O=Sealpost Tests: a certificate authority's (basicConstraints CA:TRUE), not a person's; "),
      "\(result.stderr)")
    #expect(result.stderr.hasSuffix(": it names no e-mail address (subjectAltName or emailAddress)\n"))
    #expect(!FileManager.default.fileExists(atPath: box.data + "/sealpost/certs"))
  }
}
