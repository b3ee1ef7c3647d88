import Foundation
import Testing

@testable import MailMessage

@Suite struct HeaderRenderingTests {
  @Test(arguments: [
    ("Subject", "Zoë", ["Subject: =?UTF-8?B?Wm/Dqw==?="]),
    ("Subject", "Grüße aus Köln", ["Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?="]),
    ("Subject", "plain words", ["Subject: plain words"]),
    ("Subject", "", ["Subject:"]),
    ("X-Tab", "a\tb", ["X-Tab: a\tb"]),
    // A literal "=?…?=" in ASCII text would be decoded by a reader, so the text is encoded.
    ("Subject", "=?UTF-8?B?Wm/Dqw==?=", ["Subject: =?UTF-8?B?PT9VVEYtOD9CP1dtL0Rxdz09Pz0=?="]),
    // "Subject: " leaves 69 columns: the first word holds 42 octets (21 × "ä"), the next up to 45.
    (
      "Subject", String(repeating: "ä", count: 40),
      [
        "Subject: =?UTF-8?B?w6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOk?=",
        " =?UTF-8?B?w6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6Q=?=",
      ]
    ),
    // ASCII folds before the whitespace that passes column 78; the whitespace starts the next line.
    (
      "Subject",
      "The quarterly report is attached; please review the figures before Thursday's meeting  at noon",
      [
        "Subject: The quarterly report is attached; please review the figures before",
        " Thursday's meeting  at noon",
      ]
    ),
  ])
  func rendersUnstructured(name: String, value: String, expected: [String]) throws {
    #expect(HeaderRendering.unstructured(name: name, value: value) == expected)
  }

  @Test func aWordTooLongForALineIsEncoded() throws {
    let value = String(repeating: "a", count: 1200)
    let lines = try #require(HeaderRendering.unstructured(name: "Subject", value: value))
    #expect(lines.allSatisfy { $0.utf8.count <= 78 })
    #expect(try Self.decodedUnstructured(lines, name: "Subject") == value)
  }

  @Test func aLongWordThatFitsIsNotEncoded() throws {
    let value = "see " + String(repeating: "a", count: 900)
    let lines = try #require(HeaderRendering.unstructured(name: "X-Long", value: value))
    #expect(lines == ["X-Long: see", " " + String(repeating: "a", count: 900)])
  }

  static let texts: [String] = [
    "Zoë",
    "Grüße aus Köln — Sommer 2026",
    String(repeating: "Ünïcödé ", count: 30),
    String(repeating: "日本語のテキスト", count: 12),
    "👨‍👩‍👧‍👦 family and flags 🇩🇰🇩🇪🇫🇷 " + String(repeating: "👨‍👩‍👧‍👦", count: 6),
    // One character (a base letter and 40 combining marks) that cannot fit in one encoded word.
    "Z" + String(repeating: "\u{0301}", count: 40) + "algo",
    "mixed   spaces\tand ascii with one é",
    String(repeating: "x", count: 300) + "é",
  ]

  /// The encoded words decode (with an independent base64 decoder) to the text, each word is at most 75
  /// characters and holds whole UTF-8 sequences, and lines stay within 78 columns.
  @Test(arguments: texts)
  func encodedWordsRoundTrip(text: String) throws {
    let lines = try #require(HeaderRendering.unstructured(name: "Subject", value: text))
    #expect(lines.allSatisfy { $0.utf8.count <= 78 })
    #expect(lines.allSatisfy { $0.unicodeScalars.allSatisfy(\.isASCII) })
    #expect(try Self.decodedUnstructured(lines, name: "Subject") == text)
  }

  /// Splits folded lines into encoded words and decodes each on its own, so a word that splits a UTF-8
  /// sequence fails.
  static func decodedUnstructured(_ lines: [String], name: String) throws -> String {
    let unfolded = lines.joined()
    let prefix = name + ": "
    #expect(unfolded.hasPrefix(prefix))
    var text = ""
    for word in unfolded.dropFirst(prefix.count).split(separator: " ") {
      #expect(word.count <= 75)
      #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
      let base64 = String(word.dropFirst(10).dropLast(2))
      let data = try #require(Data(base64Encoded: base64))
      text += try #require(String(data: data, encoding: .utf8))
    }
    return text
  }

  @Test func foldsAddressListsAfterCommas() throws {
    let mailboxes = try [
      "\"Doe, Jane\" <jane@example.com>", "bob@example.net",
      "Carol Longname-Example <carol.longname@example.com>", "Zoë <zoe@example.org>",
    ].map { text throws(MessageError) in try Mailbox(parsing: text) }
    let lines = HeaderRendering.addressList(name: "To", mailboxes: mailboxes)
    #expect(
      lines == [
        "To: \"Doe, Jane\" <jane@example.com>, bob@example.net, Carol Longname-Example",
        " <carol.longname@example.com>, =?UTF-8?B?Wm/Dqw==?= <zoe@example.org>",
      ])
  }

  /// 28 columns are left after the first address: too few for "Jörg Müller" in one word, so the whole
  /// word moves to the next line rather than being split in two.
  @Test func keepsAShortEncodedDisplayNameInOneWord() throws {
    let mailboxes = try ["abcdefghijklmnopqrstuvwxyz.abcde@example.org", "Jörg Müller <jm@example.de>"].map {
      text throws(MessageError) in try Mailbox(parsing: text)
    }
    #expect(
      HeaderRendering.addressList(name: "To", mailboxes: mailboxes) == [
        "To: abcdefghijklmnopqrstuvwxyz.abcde@example.org,",
        " =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <jm@example.de>",
      ])
  }

  @Test func aDisplayNameTooLongForALineIsEncoded() throws {
    let name = String(repeating: "n", count: 1000)
    let mailbox = try Mailbox(displayName: name + ".", address: "a@example.org")
    let lines = try #require(HeaderRendering.addressList(name: "From", mailboxes: [mailbox]))
    #expect(lines.allSatisfy { $0.utf8.count <= 78 })
    let unfolded = lines.joined()
    #expect(unfolded.hasSuffix(" <a@example.org>"))
    let words = String(unfolded.dropLast(" <a@example.org>".count))
    #expect(try Self.decodedUnstructured([words], name: "From") == name + ".")
  }
}
