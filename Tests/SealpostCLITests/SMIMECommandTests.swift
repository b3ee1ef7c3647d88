import Foundation
import MailSenderTesting
import PropertyTesting
import Testing

/// `send --sign`, `--encrypt`, `--recipient-cert` and `certs` at the binary level (issue 15), checked by two
/// independent implementations (`openssl cms`, GnuPG's `gpgsm`) and by Python's `email`.
@Suite(.serialized) struct SMIMECommandTests {
  static let body =
    "Grüße, Bob.\n.a line with a dot\nFrom the start of a line\n" + String(repeating: "x", count: 1200)
    + "\n"

  /// Issue 15's "done when": `--sign --encrypt` to two recipients (To and Cc) and a Bcc: the To/Cc copy is
  /// decrypted and verified by gpgsm for each of the two and by openssl, it does not list the Bcc recipient in
  /// its recipient infos, and the Bcc recipient decrypts (and verifies) a copy of its own.
  @Test func signedAndEncryptedToTwoRecipientsAndABccDecryptAndVerifyWithGpgsmAndOpenSSL() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    try box.addCertificates([.bob, .carol, .dan])
    let result = try box.run([
      "send", "--dry-run", "--sign", "--encrypt", "--to", "Bob <bob@example.test>", "--cc",
      "carol@example.test",
      "--bcc", "dan@example.test", "--subject", "Quarterly numbers", "--body", Self.body,
    ])
    #expect(result.status == 0, "\(result.stderr)")
    // Each copy is preceded on stderr by who it is for.
    #expect(
      result.stderr
        == "sealpost: copy 1 of 2 for bob@example.test, carol@example.test (encrypted for bob@example.test, "
        + "carol@example.test, alice@example.test)\n"
        + "sealpost: copy 2 of 2 for dan@example.test (encrypted for dan@example.test, alice@example.test)\n")
    let copies = SMIMESandbox.copies(result.stdout)
    try #require(copies.count == 2)
    for copy in copies {
      #expect(copy.contains("\r\nSubject: Quarterly numbers\r\n"))
      #expect(
        copy.contains(
          "\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data;\r\n name=smime.p7m\r\n"))
      #expect(!copy.contains("Bcc:") && !copy.contains("Grüße") && !copy.contains("line with a dot"))
      #expect(copy.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
      let python = try SMIMESandbox.pythonDefects(Data(copy.utf8))
      #expect(python.defects == [])
    }
    // The To/Cc copy lists bob, carol and alice, never dan; the Bcc copy lists dan and alice.
    let pki = box.pki
    func serial(_ kind: SMIMETestKind) throws -> String {
      let text = String(
        decoding: try pki.openssl(["x509", "-noout", "-serial", "-in", try pki.smime(kind).certificatePath]),
        as: UTF8.self)
      return Self.normalisedSerial(text.replacingOccurrences(of: "serial=", with: "0x"))
    }
    func recipientSerials(_ copy: String) throws -> [String] {
      let file = TemporaryFile(data: try SMIMESandbox.envelopedDER(copy))
      defer { file.remove() }
      let printed = String(
        decoding: try pki.openssl(["cms", "-cmsout", "-print", "-inform", "DER", "-in", file.path]),
        as: UTF8.self)
      return printed.components(separatedBy: "\n").filter { $0.contains("serialNumber:") }.map { line in
        Self.normalisedSerial(line.components(separatedBy: "serialNumber:").last ?? line)
      }
    }
    let serials = try [SMIMETestKind.alice, .bob, .carol, .dan].map(serial)
    #expect(try Set(recipientSerials(copies[0])) == Set([serials[0], serials[1], serials[2]]))
    #expect(try Set(recipientSerials(copies[1])) == Set([serials[0], serials[3]]))

    let gpgsm = try GPGSM(
      pki: pki, identities: [try pki.smime(.bob), try pki.smime(.carol), try pki.smime(.dan)])
    defer { gpgsm.remove() }
    // gpgsm holds bob's, carol's and dan's keys: check each copy with one key in each home is overkill; instead
    // openssl decrypts with each named key, and gpgsm (any key it holds) decrypts and verifies.
    for (copy, readers) in [(copies[0], [SMIMETestKind.bob, .carol]), (copies[1], [.dan])] {
      let der = try SMIMESandbox.envelopedDER(copy)
      let decrypted = try gpgsm.decrypt(der).get()
      let entity = String(decoding: decrypted, as: UTF8.self)
      #expect(
        entity.hasPrefix("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"))
      #expect(entity.contains("micalg=sha-256"))
      let parts = try SMIMESandbox.signedParts(entity)
      let verdict = try gpgsm.verify(signature: parts.signature, content: parts.content)
      #expect(verdict.good, "\(verdict.text)")
      #expect(verdict.text.contains("alice@example.test"))
      #expect(try SMIMESandbox.pythonDefects(decrypted).defects == [])
      for reader in readers {
        let identity = try pki.smime(reader)
        let input = TemporaryFile(data: der)
        defer { input.remove() }
        let clear = try pki.openssl([
          "cms", "-decrypt", "-inform", "DER", "-in", input.path, "-recip", identity.certificatePath,
          "-inkey",
          identity.keyPath,
        ])
        #expect(clear == decrypted)
        let signed = TemporaryFile(data: clear)
        defer { signed.remove() }
        let content = try pki.openssl([
          "cms", "-verify", "-CAfile", pki.smimeCACertificatePath, "-in", signed.path,
        ])
        #expect(
          String(decoding: content, as: UTF8.self).contains("Content-Transfer-Encoding: quoted-printable"))
      }
    }
    // Dan cannot open the To/Cc copy: he is not among its recipients.
    let dan = try pki.smime(.dan)
    let first = TemporaryFile(data: try SMIMESandbox.envelopedDER(copies[0]))
    defer { first.remove() }
    #expect(throws: TestPKIError.self) {
      try pki.openssl([
        "cms", "-decrypt", "-inform", "DER", "-in", first.path, "-recip", dan.certificatePath, "-inkey",
        dan.keyPath,
      ])
    }
  }

  /// A serial number as OpenSSL prints it (`0x1A2B`, or decimal for small ones) in upper-case hex digits.
  static func normalisedSerial(_ text: String) -> String {
    let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if value.hasPrefix("0x") {
      let digits = String(value.dropFirst(2).prefix { $0.isHexDigit }).uppercased()
      return String(digits.drop { $0 == "0" })
    }
    return UInt64(value.prefix { $0.isNumber }).map { String($0, radix: 16, uppercase: true) } ?? value
  }

  /// Each recipient of a gpgsm home decrypts its copy alone: two homes, one key each.
  @Test func eachOfTwoRecipientsDecryptsWithOnlyItsOwnKeyInGpgsm() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    try box.addCertificates([.bob, .carol])
    let result = try box.run([
      "send", "--dry-run", "--sign", "--encrypt", "--to", "bob@example.test", "--to", "carol@example.test",
      "--subject", "two", "--body", Self.body,
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let copies = SMIMESandbox.copies(result.stdout)
    try #require(copies.count == 1)
    let der = try SMIMESandbox.envelopedDER(copies[0])
    for kind in [SMIMETestKind.bob, .carol] {
      let gpgsm = try GPGSM(pki: box.pki, identities: [try box.pki.smime(kind)])
      defer { gpgsm.remove() }
      let decrypted = try gpgsm.decrypt(der).get()
      let parts = try SMIMESandbox.signedParts(String(decoding: decrypted, as: UTF8.self))
      let verdict = try gpgsm.verify(signature: parts.signature, content: parts.content)
      #expect(verdict.good, "\(verdict.text)")
    }
  }

  /// Signing only: `multipart/signed` whose first part is exactly what was signed, 7-bit (quoted-printable for
  /// UTF-8 and long lines), verified by openssl and gpgsm, read by Python without defects.
  @Test func aSignedMessageVerifiesWithOpenSSLAndGpgsm() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    let result = try box.run([
      "send", "--dry-run", "--sign", "--to", "bob@example.test", "--bcc", "dan@example.test", "--subject",
      "s",
      "--body", Self.body,
    ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.isEmpty)
    let message = result.stdout
    #expect(message.unicodeScalars.allSatisfy { $0.isASCII })
    #expect(message.contains("\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed;"))
    let python = try SMIMESandbox.pythonDefects(Data(message.utf8))
    #expect(python.defects == [])
    #expect(python.types == ["multipart/signed", "text/plain", "application/pkcs7-signature"])
    let file = TemporaryFile(data: Data(message.utf8))
    defer { file.remove() }
    let pki = box.pki
    let content = try pki.openssl(["cms", "-verify", "-CAfile", pki.smimeCACertificatePath, "-in", file.path])
    #expect(String(decoding: content, as: UTF8.self).contains("H=C3=A4") == false)
    #expect(String(decoding: content, as: UTF8.self).contains("Gr=C3=BC=C3=9Fe, Bob."))
    let gpgsm = try GPGSM(pki: pki, identities: [])
    defer { gpgsm.remove() }
    let start = try #require(message.range(of: "Content-Type: multipart/signed"))
    let parts = try SMIMESandbox.signedParts(String(message[start.lowerBound...]))
    let verdict = try gpgsm.verify(signature: parts.signature, content: parts.content)
    #expect(verdict.good, "\(verdict.text)")
  }

  /// `smime_sign on` signs every send of the account, as `--sign` does.
  @Test func anAccountWithSmimeSignOnSignsWithoutTheFlag() throws {
    let box = try SMIMESandbox(extra: "smime_sign on")
    defer { box.remove() }
    let result = try box.run(["send", "--dry-run", "--to", "bob@example.test", "--body", "hi"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(
      result.stdout.contains("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\""))
  }

  /// All or nothing: each refusal names the address and the reason, in one error (65), nothing printed or sent.
  @Test func everyRecipientWithoutAUsableCertificateIsNamedWithItsReason() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    try box.addCertificates([.bob])
    let pki = box.pki
    let result = try box.run([
      "send", "--dry-run", "--encrypt", "--to", "bob@example.test", "--to", "dave@example.test", "--to",
      "erin@example.test", "--to", "zed@example.test", "--to", "frank@example.test", "--cc",
      "nobody@example.test",
      "--recipient-cert", "dave@example.test=\(try pki.smime(.expired).certificatePath)",
      "--recipient-cert", "erin@example.test=\(try pki.smime(.signOnly).certificatePath)",
      "--recipient-cert", "zed@example.test=\(try pki.smime(.carol).certificatePath)",
      "--recipient-cert", "frank@example.test=\(try pki.smime(.unknownCA).certificatePath)",
      "--body", "secret plans",
    ])
    #expect(result.status == 65)
    #expect(result.stdout.isEmpty)
    let line = result.stderr
    #expect(line.hasPrefix("sealpost: bad data: cannot encrypt for every recipient, so nothing was sent"))
    #expect(line.contains("dave@example.test: the certificate expired on 2021-01-01"))
    #expect(line.contains("erin@example.test: the certificate's key usage does not allow encryption"))
    #expect(line.contains("zed@example.test: the certificate is for carol@example.test, not this address"))
    #expect(line.contains("frank@example.test: the certificate is not trusted: unable to get local issuer"))
    #expect(line.contains("nobody@example.test: no certificate"))
    #expect(!line.contains("bob@example.test:"))
    #expect(line.components(separatedBy: "\n").count == 2)
  }

  /// A refusal comes before connecting: the server given does not exist, and the error is still the certificate.
  @Test func aMissingCertificateRefusesBeforeConnecting() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    let result = try box.run([
      "send", "--account", "default", "--server", "127.0.0.1:1", "--tls", "starttls", "--encrypt", "--to",
      "bob@example.test", "--body",
      "secret plans",
    ])
    #expect(result.status == 65)
    #expect(result.stdout.isEmpty)
    #expect(result.stderr.contains("bob@example.test: no certificate"))
  }

  @Test func aKeyFileOthersMayReadIsRefused() throws {
    let box = try SMIMESandbox(keyMode: 0o644)
    defer { box.remove() }
    let result = try box.run(["send", "--dry-run", "--sign", "--to", "bob@example.test", "--body", "hi"])
    #expect(result.status == 78)
    #expect(result.stdout.isEmpty)
    #expect(result.stderr.contains("smime_key: group or others may read the private key file (mode 644)"))
    #expect(!result.stderr.contains("PRIVATE KEY"))
  }

  /// An encrypted key: its passphrase from `smime_passphrase_eval`; a wrong one is 78 without the passphrase in
  /// any output; no source and no terminal is 78.
  @Test func anEncryptedKeyTakesItsPassphraseFromItsCommandAndAWrongOneIsAClearError() throws {
    let pki = try TestPKI.shared()
    let alice = try pki.smime(.alice)
    let encrypted = String(
      decoding: try pki.openssl([
        "pkey", "-in", alice.keyPath, "-aes256", "-passout", "pass:Right-Horse-Battery-31",
      ]), as: UTF8.self)
    #expect(encrypted.contains("ENCRYPTED PRIVATE KEY"))

    var box = try SMIMESandbox(
      extra: "smime_passphrase_eval cat \(NSTemporaryDirectory())", keyText: encrypted)
    box.remove()
    box = try SMIMESandbox(extra: "smime_passphrase_eval /bin/cat PASSFILE", keyText: encrypted)
    defer { box.remove() }
    let passfile = box.sandbox.root + "/pass"
    let config = try String(contentsOfFile: box.configPath, encoding: .utf8)
      .replacingOccurrences(of: "PASSFILE", with: passfile)
    var sandbox = box.sandbox
    try sandbox.write(config, to: box.configPath)

    try sandbox.write("Right-Horse-Battery-31", to: passfile)
    let good = try box.run(["send", "--dry-run", "--sign", "--to", "bob@example.test", "--body", "hi"])
    #expect(good.status == 0, "\(good.stderr)")
    #expect(good.stdout.contains("multipart/signed"))

    try sandbox.write("Wrong-Zebra-Staple-77", to: passfile)
    let wrong = try box.run(["send", "--dry-run", "--sign", "--to", "bob@example.test", "--body", "hi"])
    #expect(wrong.status == 78)
    #expect(wrong.stdout.isEmpty)
    #expect(
      wrong.stderr.contains("smime_key: the passphrase does not open the private key (wrong passphrase?)"))
    for secret in ["Wrong-Zebra-Staple-77", "Right-Horse-Battery-31"] {
      #expect(!wrong.stderr.contains(secret) && !good.stderr.contains(secret))
    }

    let noSource = try SMIMESandbox(keyText: encrypted)
    defer { noSource.remove() }
    let none = try noSource.run(["send", "--dry-run", "--sign", "--to", "bob@example.test", "--body", "hi"])
    #expect(none.status == 78)
    #expect(none.stderr.contains("no passphrase source"))
  }

  @Test func aSuppliedMessageCannotBeProtected() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    let result = try CLIRunner.run(
      ["send", "--dry-run", "--sign", "--to", "bob@example.test", "--message", "-"],
      stdin: Array("From: alice@example.test\r\nSubject: x\r\n\r\nhi\r\n".utf8), environment: box.environment)
    #expect(result.status == 64)
    #expect(result.stderr.contains("--message is sent unchanged, so it cannot be signed or encrypted"))
  }

  /// `certs add` refuses what is not a certificate (65) or is missing (66); `certs list` shows address,
  /// subject, expiry and fingerprint, and `--json` the same as data.
  @Test func certsAddAndList() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    let pki = box.pki
    let added = try box.run(["certs", "add", try pki.smime(.bob).certificatePath])
    #expect(added.status == 0, "\(added.stderr)")
    #expect(added.stdout.hasPrefix("stored the certificate for bob@example.test (expires "))
    var info = stat()
    #expect(stat(box.data + "/sealpost/certs", &info) == 0 && info.st_mode & 0o777 == 0o700)
    let list = try box.run(["certs", "list"])
    #expect(list.status == 0)
    #expect(list.stdout.hasPrefix("bob@example.test  expires "))
    #expect(list.stdout.contains("\n  subject CN=Bob Test\n  sha256 "))
    let json = try box.run(["certs", "list", "--json"])
    let records = try #require(
      try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
    #expect(records.first?["addresses"] as? [String] == ["bob@example.test"])
    #expect((records.first?["fingerprint"] as? String)?.hasPrefix("sha256:") == true)

    let notPEM = box.sandbox.root + "/note.txt"
    var sandbox = box.sandbox
    try sandbox.write("hello\n", to: notPEM)
    let refused = try box.run(["certs", "add", notPEM])
    #expect(refused.status == 65)
    #expect(refused.stderr.contains("expected a PEM certificate"))
    let missing = try box.run(["certs", "add", box.sandbox.root + "/none.pem"])
    #expect(missing.status == 66)
  }

  /// A real send: one session per copy, and the transcript's data line says what the content is.
  @Test func aSendSaysSignedAndEncryptedOnTheDataLineAndSendsEachCopyApart() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    try box.addCertificates([.bob, .dan])
    let server = try ScriptedSMTPServer(
      standard: StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid)))
    let result = try box.run([
      "send", "--account", "default", "--server", "localhost:\(server.port)", "--tls", "starttls",
      "--ca-file",
      try TestPKI.shared().caCertificatePath, "--timeout", "5", "--sign", "--encrypt", "--to",
      "bob@example.test",
      "--bcc", "dan@example.test", "--body", "hi",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(
      result.stdout.contains("; signed by alice@example.test, encrypted for 2 recipients]"))
    #expect(result.stderr.contains("sealpost: copy 1 of 2 for bob@example.test\n"))
    #expect(result.stderr.contains("sealpost: copy 2 of 2 for dan@example.test\n"))
    let sessions = server.sessions.filter { !$0.messages.isEmpty }
    #expect(sessions.count == 2)
    #expect(
      sessions.map { $0.commands.filter { $0.hasPrefix("RCPT") } }.sorted { $0[0] < $1[0] } == [
        ["RCPT TO:<bob@example.test>"], ["RCPT TO:<dan@example.test>"],
      ])
  }

  /// Red team: when one encrypted copy failed, the copies after it were neither sent nor named. Each copy is
  /// its own message: every one is tried, each gets its line, and the exit status is the most serious.
  @Test func aFailedCopyDoesNotStopTheOthers() throws {
    let box = try SMIMESandbox()
    defer { box.remove() }
    try box.addCertificates([.bob, .dan])
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid))
    options.recipientReplies["bob@example.test"] = "451 4.3.0 Try again later"
    let server = try ScriptedSMTPServer(standard: options)
    let result = try box.run([
      "send", "--account", "default", "--server", "localhost:\(server.port)", "--tls", "starttls",
      "--ca-file", try TestPKI.shared().caCertificatePath, "--timeout", "5", "--sign", "--encrypt",
      "--to", "bob@example.test", "--bcc", "dan@example.test", "--body", "hi",
    ])
    #expect(result.status == 75, "\(result.stderr)")
    #expect(result.stderr.contains("sealpost: copy 2 of 2 for dan@example.test\n"), "\(result.stderr)")
    #expect(result.stderr.contains("1 of 2 copies sent"), "\(result.stderr)")
    let delivered = server.sessions.filter { !$0.messages.isEmpty }
    #expect(delivered.map { $0.commands.filter { $0.hasPrefix("RCPT") } } == [["RCPT TO:<dan@example.test>"]])
  }
}
