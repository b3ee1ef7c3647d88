import Foundation
import MailSender
import Testing

@testable import SendPlanning

/// Message assembly with attachments, the linter and IDN (issue 10): what the CLI and the composer share.
@Suite struct AttachmentAssemblyTests {
  static let date = Date(timeIntervalSince1970: 1_790_000_000)

  static func fields(to: [String] = ["b@example.org"], attachments: [String] = [], supplied: [UInt8]? = nil)
    -> MessageFields
  {
    var fields = MessageFields()
    fields.from = "Zoë <zoe@bücher.example>"
    fields.to = to
    fields.attachments = attachments
    fields.supplied = supplied
    if supplied == nil { fields.body = Array("Hi\n".utf8) }
    return fields
  }

  @Test func attachmentsMakeAMultipartMessageAndTheEnvelopeUsesALabels() throws {
    let path = NSTemporaryDirectory() + "sealpost-assembly-\(UUID().uuidString).png"
    try Data([0x89, 0x50, 0x4E, 0x47]).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let message = try MessageAssembly.assemble(
      Self.fields(to: ["b@blåbær.example"], attachments: [path]), account: nil, date: Self.date)
    #expect(message.reversePath == "zoe@xn--bcher-kva.example")
    #expect(message.recipients == ["b@xn--blbr-roah.example"])
    #expect(message.messageID.hasSuffix("@xn--bcher-kva.example"))
    let text = String(decoding: message.content.bytes, as: UTF8.self)
    #expect(text.contains("Content-Type: multipart/mixed; boundary=\"=_"))
    #expect(text.contains("Content-Type: image/png\r\n"))
    #expect(text.contains("\r\n\r\niVBORw==\r\n"))
    // The bytes handed to the core are one pass of the source for the assumed offer; --dry-run writes the same.
    var written: [UInt8] = []
    try message.write { written += $0 }
    #expect(written == message.content.bytes)
  }

  @Test func aMissingAttachmentIsNoInputNamingThePath() throws {
    let path = NSTemporaryDirectory() + "sealpost-missing-\(UUID().uuidString)\u{7}.pdf"
    let error = #expect(throws: PlanningError.self) {
      try MessageAssembly.assemble(Self.fields(attachments: [path]), account: nil, date: Self.date)
    }
    #expect(error?.category == .noInput)
    let text = error?.text.worded { $0.rawValue } ?? ""
    #expect(text.contains("\\u{0007}.pdf: No such file or directory"), "\(text)")
  }

  @Test func attachmentsAndASuppliedMessageDoNotGoTogether() {
    let error = #expect(throws: PlanningError.self) {
      try MessageAssembly.assemble(
        Self.fields(attachments: ["x"], supplied: Array("From: a@example.org\r\n\r\nhi\r\n".utf8)),
        account: nil)
    }
    #expect(error?.category == .usage)
  }

  @Test func aSuppliedMessageCarriesTheLintersFindings() throws {
    let message = try MessageAssembly.assemble(
      Self.fields(supplied: Array("From: other@example.net\r\nTo: b@example.org\r\n\r\nhi\r\n".utf8)),
      account: nil, date: Self.date)
    #expect(
      message.findings.map(\.text) == [
        "the message has no Date field: one is added", "the message has no Message-ID field: one is added",
        "line 1: the From field (other@example.net) is not the envelope sender: replies go to From, "
          + "bounces to the envelope sender",
      ])
    #expect(message.findings.map(\.isWarning) == [false, false, true])
  }
}
