import Foundation
import MailSenderTesting
import Testing

@testable import MessageProtection

/// How a built message is split and wrapped (issue 15): Content-* fields (with their continuation lines) go
/// inside the protected part, every other field stays outside; only 7-bit CRLF content is signed.
@Suite struct SMIMEMessageTests {
  static let message = Array(
    ("From: a@example.test\r\nTo: b@example.test\r\nSubject: a long\r\n subject, folded\r\nDate: x\r\n"
      + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"=_b\"\r\n"
      + "Content-Transfer-Encoding: 7bit\r\n\r\n--=_b\r\nbody\r\n--=_b--\r\n").utf8)

  @Test func contentFieldsGoInsideAndTheRestStaysOutside() throws {
    let (outer, entity) = try SMIMEMessage.split(Self.message)
    #expect(
      String(decoding: outer, as: UTF8.self)
        == "From: a@example.test\r\nTo: b@example.test\r\nSubject: a long\r\n subject, folded\r\nDate: x\r\n"
        + "MIME-Version: 1.0\r\n")
    #expect(
      String(decoding: entity, as: UTF8.self)
        == "Content-Type: multipart/mixed;\r\n boundary=\"=_b\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        + "--=_b\r\nbody\r\n--=_b--\r\n")
  }

  @Test(arguments: [
    ("8-bit", "Subject: x\r\n\r\nGr\u{FC}\u{DF}e\r\n", "not 7-bit"),
    ("bare LF", "Subject: x\r\n\r\none\ntwo\r\n", "bare line feed"),
    ("long line", "Subject: x\r\n\r\n" + String(repeating: "a", count: 999) + "\r\n", "over 998 octets"),
    ("no header end", "Subject: x\r\n", "no end of header"),
  ])
  func contentThatCouldChangeOnTheWayIsNotSigned(name: String, text: String, reason: String) {
    #expect {
      _ = try SMIMEMessage.split(Array(text.utf8))
    } throws: { error in
      (error as? ProtectionError)?.message.contains(reason) == true
    }
  }

  @Test func base64LinesAreSeventySixColumnsWithCRLF() {
    let lines = SMIMEMessage.base64Lines(Array(repeating: 0xAB, count: 200))
    let text = String(decoding: lines, as: UTF8.self)
    let split = text.components(separatedBy: "\r\n")
    #expect(split.dropLast().allSatisfy { $0.count <= 76 })
    #expect(split[0].count == 76 && split.last == "")
    #expect(Data(base64Encoded: split.joined()) == Data(repeating: 0xAB, count: 200))
  }

  /// The boundary of `multipart/signed` never occurs in the signed content: another is drawn.
  @Test func aBoundaryFoundInTheContentIsDrawnAgain() throws {
    let pki = try TestPKI.shared()
    let alice = try pki.smime(.alice)
    let signer = try SMIMESigner(
      certificatePEM: Array(try Data(contentsOf: URL(fileURLWithPath: alice.certificatePath))),
      keyPEM: Array(try Data(contentsOf: URL(fileURLWithPath: alice.keyPath))), passphrase: nil)
    var candidates = ["=_taken", "=_free"]
    let message = Array("Subject: s\r\n\r\n--=_taken\r\n".utf8)
    let signed = try SMIMEMessage.protect(message, signer: signer, recipients: []) {
      candidates.removeFirst()
    }
    let text = String(decoding: signed, as: UTF8.self)
    #expect(text.contains("boundary=\"=_free\""))
    #expect(candidates.isEmpty)
  }
}
