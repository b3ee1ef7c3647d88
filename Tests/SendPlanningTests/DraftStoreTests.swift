import Foundation
import MailSenderTesting
import Testing

@testable import SendPlanning

#if canImport(Glibc)
  import Glibc
#endif

/// The draft store (issue 12 §1), on its own: the composer uses it next.
@Suite struct DraftStoreTests {
  static func draft() -> DraftStore.Draft {
    DraftStore.Draft(
      account: "work", from: "Zoë <z@example.org>", to: ["b@example.org", "\"Doe, J\" <j@example.org>"],
      cc: ["c@example.org"], bcc: ["hidden@example.org"], subject: "Grüße",
      body: "Line one\n\nLine three, after an empty line.\n", attachments: ["/tmp/report.pdf"],
      cursor: DraftStore.Cursor(field: "body", offset: 12))
  }

  @Test func savedDraftsComeBackAsTheyWereTyped() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = DraftStore(directory: directory.file("drafts"))
    let saved = try store.save(Self.draft(), now: Date(timeIntervalSince1970: 1_800_000_000))
    #expect(Outbox.isValidID(saved.id))
    var expected = Self.draft()
    expected.id = saved.id
    expected.saved = 1_800_000_000
    expected.message = "\(saved.id).eml"
    #expect(try store.load(saved.id) == expected)
    #expect(store.list() == [expected])
    // The message file is RFC 5322 as typed, written by hand here.
    let file = try String(contentsOfFile: store.messagePath(saved.id), encoding: .utf8)
    #expect(
      file
        == "From: Zoë <z@example.org>\nTo: b@example.org, \"Doe, J\" <j@example.org>\nCc: c@example.org\n"
        + "Bcc: hidden@example.org\nSubject: Grüße\nMIME-Version: 1.0\n"
        + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        + "Line one\n\nLine three, after an empty line.\n")
    #expect(OutboxStoreTests.mode(store.directory) == 0o700)
    #expect(OutboxStoreTests.mode(store.messagePath(saved.id)) == 0o600)
    #expect(OutboxStoreTests.mode(store.sidecarPath(saved.id)) == 0o600)
  }

  @Test func savingAgainReplacesTheDraftAndTheNewestIsListedFirst() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = DraftStore(directory: directory.path)
    var first = try store.save(Self.draft(), now: Date(timeIntervalSince1970: 100))
    let second = try store.save(
      DraftStore.Draft(account: nil, subject: "other"), now: Date(timeIntervalSince1970: 200))
    #expect(store.list().map(\.id) == [second.id, first.id])
    first.body = "changed\n"
    first = try store.save(first, now: Date(timeIntervalSince1970: 300))
    #expect(store.list().map(\.id) == [first.id, second.id])
    #expect(try store.load(first.id).body == "changed\n")
    try store.remove(first.id)
    #expect(store.list().map(\.id) == [second.id])
    #expect(throws: OutboxError.self) { _ = try store.load(first.id) }
  }

  @Test func aLineBreakInAFieldCannotAddAHeader() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = DraftStore(directory: directory.path)
    let saved = try store.save(
      DraftStore.Draft(account: nil, to: ["b@example.org\nBcc: evil@example.org"], subject: "a\r\nX-Evil: 1"))
    let file = try String(contentsOfFile: store.messagePath(saved.id), encoding: .utf8)
    #expect(!file.contains("\nBcc:"))
    #expect(!file.contains("\nX-Evil"))
    // The fields themselves come back as typed.
    #expect(try store.load(saved.id).subject == "a\r\nX-Evil: 1")
  }

  @Test func theSidecarHoldsTheFieldsAndNoOtherKey() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = DraftStore(directory: directory.path)
    let saved = try store.save(Self.draft())
    let json = try #require(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: store.sidecarPath(saved.id))))
        as? [String: Any])
    // No body (it is in the message file) and nothing but what was typed: never a secret. The composer's
    // S/MIME toggles are two booleans (sign only when the person chose, not the account's default).
    #expect(
      Set(json.keys) == [
        "id", "account", "from", "to", "cc", "bcc", "subject", "attachments", "cursor", "saved", "message",
        "encrypt",
      ])
  }

  /// The composer's S/MIME toggles (issue 15) come back as saved; a sidecar written before them reads as
  /// "the account's default, not encrypted".
  @Test func theSMIMETogglesComeBackAndOlderSidecarsReadAsOff() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = DraftStore(directory: directory.path)
    let saved = try store.save(DraftStore.Draft(account: "work", subject: "s", sign: false, encrypt: true))
    let loaded = try store.load(saved.id)
    #expect(loaded.sign == false && loaded.encrypt)
    let older = Data(
      #"{"id":"x","to":[],"cc":[],"bcc":[],"subject":"","attachments":[],"saved":1}"#.utf8)
    let decoded = try JSONDecoder().decode(DraftStore.Draft.self, from: older)
    #expect(decoded.sign == nil && !decoded.encrypt)
  }

  /// Who already has a partly sent message is in the sidecar (the commit point, so a save killed half-way
  /// leaves the list of the version it belongs to), and comes back; a sidecar written before the field, or by a
  /// draft never partly sent, reads as "nobody has it".
  @Test func whoAlreadyHasTheMessageComesBackAndOlderSidecarsReadAsNobody() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = DraftStore(directory: directory.path)
    var draft = DraftStore.Draft(account: "work", to: ["b@example.org"], bcc: ["c@example.org"], subject: "s")
    draft.delivered = ["b@example.org"]
    let saved = try store.save(draft)
    #expect(try store.load(saved.id).delivered == ["b@example.org"])
    let json = try #require(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: store.sidecarPath(saved.id))))
        as? [String: Any])
    #expect(json["delivered"] as? [String] == ["b@example.org"])

    // Older: the sidecar of an earlier version, written by hand, loads with its message and nobody delivered.
    let sidecar =
      #"{"id":"1700000000-1-1","account":"work","to":["b@example.org"],"cc":[],"bcc":[],"subject":"old","#
      + #""attachments":[],"saved":1700000000,"message":"1700000000-1-1.eml","encrypt":false}"#
    try Data(sidecar.utf8).write(to: URL(fileURLWithPath: directory.file("1700000000-1-1.json")))
    try Data("To: b@example.org\nSubject: old\n\nbody\n".utf8).write(
      to: URL(fileURLWithPath: directory.file("1700000000-1-1.eml")))
    let older = try store.load("1700000000-1-1")
    #expect(older.delivered.isEmpty && older.subject == "old" && older.body == "body\n")
    #expect(store.list().map(\.id).contains("1700000000-1-1"))
  }

  /// Red-team: a sidecar with a `delivered` list of 200,000 entries cost 8 s of CPU in the composer. At most
  /// ``DeliveredRecipients/maximumCount`` entries are read (a message has no more recipients); the rest are
  /// counted, for a note, and not kept.
  @Test func aDeliveredListIsReadUpToTheRecipientLimit() throws {
    let entries = (0..<200_000).map { "\"r\($0)@example.org\"" }.joined(separator: ",")
    let sidecar =
      #"{"id":"x","to":["b@example.org"],"cc":[],"bcc":[],"subject":"","attachments":[],"saved":1,"#
      + #""delivered":["b@example.org","# + entries + "]}"
    let started = ContinuousClock.now
    let decoded = try JSONDecoder().decode(DraftStore.Draft.self, from: Data(sidecar.utf8))
    let elapsed = ContinuousClock.now - started
    #expect(decoded.delivered.count == DeliveredRecipients.maximumCount)
    #expect(decoded.delivered.first == "b@example.org")
    #expect(decoded.deliveredIgnored == 200_001 - DeliveredRecipients.maximumCount)
    print("200,000 delivered entries decoded in \(elapsed)")
    // Only the message's own recipients are kept, each once; the others are counted.
    let kept = DeliveredRecipients.kept(decoded.delivered, recipients: ["b@example.org", "c@example.org"])
    #expect(kept.kept == ["b@example.org"] && kept.dropped == DeliveredRecipients.maximumCount - 1)
    // A list that is not a list of strings is still an unreadable draft, and `null` reads as nobody.
    let nothing =
      #"{"id":"x","to":[],"cc":[],"bcc":[],"subject":"","attachments":[],"saved":1,"delivered":null}"#
    #expect(try JSONDecoder().decode(DraftStore.Draft.self, from: Data(nothing.utf8)).delivered.isEmpty)
    let wrong =
      #"{"id":"x","to":[],"cc":[],"bcc":[],"subject":"","attachments":[],"saved":1,"delivered":[1]}"#
    #expect(throws: DecodingError.self) {
      try JSONDecoder().decode(DraftStore.Draft.self, from: Data(wrong.utf8))
    }
  }

  /// Planning and review share one rule for who is left out: the message's recipients that the list names,
  /// compared as mailboxes (domain case, IDN A-label; the local part byte for byte), in the message's order.
  @Test func whoIsLeftOutIsDecidedByMailbox() {
    let split = DeliveredRecipients.split(
      ["a@x.org", "b\u{F6}b@x.org", "c@b\u{FC}cher.example", "d@y.org"],
      delivered: ["stranger@z.org", "A@x.org", "bo\u{308}b@X.org", "c@XN--BCHER-KVA.example", "d@Y.ORG"])
    #expect(split.sent == ["a@x.org", "b\u{F6}b@x.org"])
    #expect(split.leftOut == ["c@b\u{FC}cher.example", "d@y.org"])
  }

  /// The sidecar is the commit point: each save writes the message under the other name, then the sidecar
  /// naming it, then removes the old message file. A message file written by a save that was killed before its
  /// sidecar (left here by hand) is never read with the other version's fields.
  @Test func eachSaveWritesTheOtherMessageFileAndTheSidecarNamesIt() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = DraftStore(directory: directory.path)
    var draft = try store.save(DraftStore.Draft(account: nil, subject: "one", body: "first\n"))
    let id = draft.id
    #expect(draft.message == "\(id).eml")
    draft.subject = "two"
    draft.body = "second\n"
    draft = try store.save(draft)
    #expect(draft.message == "\(id).2.eml")
    #expect(!FileManager.default.fileExists(atPath: directory.file("\(id).eml")), "the old message file goes")
    #expect(try store.load(id).body == "second\n")
    // A save killed after its message file and before its sidecar: the sidecar still names the second version.
    try Data("Subject: three\n\nthird\n".utf8).write(to: URL(fileURLWithPath: directory.file("\(id).eml")))
    let loaded = try store.load(id)
    #expect(loaded.subject == "two" && loaded.body == "second\n")
    draft.subject = "three"
    draft = try store.save(draft)
    #expect(draft.message == "\(id).eml")
    #expect(try store.load(id).subject == "three")
    try store.remove(id)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
  }

  @Test func theFolderIsTheAccountsOrTheStateFolder() throws {
    #expect(try DraftStore.standard(drafts: "/d", environment: [:]).directory == "/d")
    #expect(
      try DraftStore.standard(drafts: nil, environment: ["XDG_STATE_HOME": "/s"]).directory
        == "/s/sealpost/drafts")
  }
}
