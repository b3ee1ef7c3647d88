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
}
