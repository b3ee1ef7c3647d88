import ComposerApp
import ComposerCore
import ComposerTesting
import Foundation
import MailSender
import MailSenderTesting
import SendPlanning
import Testing

/// S/MIME from the composer (issue 15), headless against the scripted server: sign and encrypt turned on in the
/// review, the key's passphrase typed into the masked field, the To copy and the Bcc copy sent apart, each
/// decrypted and verified by `openssl cms` for its recipient; and a recipient without a certificate refuses the
/// send before anything connects.
@Suite struct ProtectedSendFlowTests {
  static let passphrase = "Key-Pa55phrase-7"

  /// A home whose account `work` signs as alice@example.test with an encrypted copy of alice's key, and whose
  /// certificate store holds the certificates of `stored`.
  static func sandbox(port: UInt16, stored: [SMIMETestKind]) throws -> ComposerSandbox {
    let pki = try TestPKI.shared()
    let sandbox = try ComposerSandbox()
    let alice = try pki.smime(.alice)
    let keyPath = sandbox.home + "/alice.key"
    // The key encrypted with the passphrase (AES-256), as `openssl pkey` writes it; mode 0600.
    let key = try pki.openssl([
      "pkey", "-in", alice.keyPath, "-aes256", "-passout", "pass:" + passphrase,
    ])
    _ = FileManager.default.createFile(atPath: keyPath, contents: key, attributes: [.posixPermissions: 0o600])
    try sandbox.writeConfig(
      ComposerSandbox.account("work", port: port, caFile: try pki.caCertificatePath)
        + "smime_cert \(alice.certificatePath)\nsmime_key \(keyPath)\n"
        + "smime_ca_file \(pki.smimeCACertificatePath)\n")
    let store = CertificateStore(directory: sandbox.home + "/.local/share/sealpost/certs")
    for kind in stored {
      try store.add(try CertificateStore.readCertificate(path: try pki.smime(kind).certificatePath))
    }
    return sandbox
  }

  /// To bob, Bcc `bcc`, a subject and a body; then the review with encryption and signing on.
  static func composeAndProtect(_ harness: HeadlessComposer<ComposerModel>, bcc: String) {
    harness.type("Bob <bob@example.test>")
    harness.press(.tab, .tab)
    harness.type(bcc)
    harness.press(.tab)
    harness.type("Quarterly numbers")
    harness.press(.tab)
    harness.type("The numbers are in.")
    harness.press(.ctrl("x"))
    harness.settle()
    harness.press(.character("s"), .character("c"))
  }

  /// The DER of an `application/pkcs7-mime` message as the server received it (its base64 body).
  static func envelopedDER(_ message: String) throws -> Data {
    let range = try #require(message.range(of: "\r\n\r\n"))
    let base64 = message[range.upperBound...].replacingOccurrences(of: "\r\n", with: "")
    return try #require(Data(base64Encoded: base64))
  }

  /// `openssl cms -decrypt` with `kind`'s key, then `-verify` against the S/MIME test CA: the signed content.
  static func decryptAndVerify(_ der: Data, as kind: SMIMETestKind, in directory: TemporaryDirectory) throws
    -> String
  {
    let pki = try TestPKI.shared()
    let identity = try pki.smime(kind)
    let input = directory.file("in-\(kind.rawValue).p7m")
    try der.write(to: URL(fileURLWithPath: input))
    let clear = try pki.openssl([
      "cms", "-decrypt", "-inform", "DER", "-in", input, "-recip", identity.certificatePath, "-inkey",
      identity.keyPath,
    ])
    let signed = directory.file("signed-\(kind.rawValue).eml")
    try clear.write(to: URL(fileURLWithPath: signed))
    let content = try pki.openssl(["cms", "-verify", "-CAfile", pki.smimeCACertificatePath, "-in", signed])
    return String(decoding: content, as: UTF8.self)
  }

  @Test func signedAndEncryptedFromTheReviewDecryptsAndVerifiesForEachRecipient() throws {
    let server = try ComposerFlowTests.server()
    defer { server.stop() }
    let sandbox = try Self.sandbox(port: server.port, stored: [.bob, .carol])
    defer { sandbox.remove() }
    let harness = ComposerFlowTests.composer(sandbox, width: 160, height: 40)
    Self.composeAndProtect(harness, bcc: "carol@example.test")
    #expect(harness.waitFor("bob@example.test: usable, valid until"), "\(harness.screenText)")
    #expect(harness.screenText.contains("carol@example.test: usable, valid until"))
    #expect(harness.screenText.contains("alice@example.test: usable, valid until"))
    #expect(harness.screenText.contains("Bcc recipients each get a separately encrypted copy"))
    harness.press(.character("y"))
    // The key is encrypted: its passphrase is asked for in the masked field.
    #expect(harness.waitFor("Passphrase of the S/MIME key of account work"), "\(harness.screenText)")
    #expect(server.sessions.isEmpty, "nothing connects before the message is protected")
    harness.type(Self.passphrase)
    harness.press(.enter)
    #expect(harness.waitFor("SENT — sent: 250"), "\(harness.screenText)")
    // The result says what went: signed, encrypted, and the Bcc copy apart (after "copy 2 of 2" in the
    // transcript).
    #expect(
      harness.screenText.contains(
        "; signed by alice@example.test, encrypted for 2 recipients (and 1 Bcc copy encrypted apart)"),
      "\(harness.screenText)")
    #expect(harness.transcript.contains("=== copy 2 of 2 for carol@example.test"))
    // The passphrase was never drawn, nor written anywhere in the home (drafts, log, transcripts).
    #expect(!harness.screens.contains { $0.lines.joined().contains(Self.passphrase) })
    let files = FileManager.default.enumerator(atPath: sandbox.home)?.allObjects as? [String] ?? []
    for file in files {
      let data = FileManager.default.contents(atPath: sandbox.home + "/" + file) ?? Data()
      #expect(data.range(of: Data(Self.passphrase.utf8)) == nil, "\(file)")
    }

    // Two sessions: the To copy (bob), then the Bcc copy (carol), each with its own envelope.
    let sessions = server.waitForFinishedSessions(2)
    try #require(sessions.count == 2)
    #expect(
      sessions.map { $0.commands.filter { $0.hasPrefix("RCPT") } } == [
        ["RCPT TO:<bob@example.test>"], ["RCPT TO:<carol@example.test>"],
      ])
    let copies = sessions.flatMap(\.messages).map { String(decoding: $0, as: UTF8.self) }
    try #require(copies.count == 2)
    let scratch = try TemporaryDirectory(prefix: "sealpost-cms")
    defer { scratch.remove() }
    for (copy, reader) in zip(copies, [SMIMETestKind.bob, .carol]) {
      #expect(copy.contains("Content-Type: application/pkcs7-mime; smime-type=enveloped-data;"))
      #expect(!copy.contains("The numbers are in."), "never a clear copy")
      #expect(!copy.contains("Bcc:"))
      let content = try Self.decryptAndVerify(try Self.envelopedDER(copy), as: reader, in: scratch)
      #expect(content.contains("The numbers are in."))
    }
    // Carol is not among the To copy's recipients: her key cannot open it.
    #expect(throws: TestPKIError.self) {
      _ = try Self.decryptAndVerify(try Self.envelopedDER(copies[0]), as: .carol, in: scratch)
    }
    // A sent message removes its draft (the toggles had been saved with it, never the passphrase).
    harness.settle()
  }

  @Test func aRecipientWithoutACertificateRefusesTheSendAndNothingConnects() throws {
    let server = try ComposerFlowTests.server()
    defer { server.stop() }
    let sandbox = try Self.sandbox(port: server.port, stored: [.bob])
    defer { sandbox.remove() }
    let harness = ComposerFlowTests.composer(sandbox, width: 160, height: 40)
    Self.composeAndProtect(harness, bcc: "dan@example.test")
    #expect(harness.waitFor("dan@example.test: ✗ no certificate"), "\(harness.screenText)")
    #expect(
      harness.screenText.contains(
        "cannot send: no usable certificate for dan@example.test — encryption is on"),
      "\(harness.screenText)")
    harness.press(.character("y"))
    harness.settle()
    #expect(harness.screenText.contains("Sealpost · review"), "\(harness.screenText)")
    #expect(!harness.screenText.contains("Passphrase"))
    #expect(server.sessions.isEmpty, "nothing connects")
  }
}
