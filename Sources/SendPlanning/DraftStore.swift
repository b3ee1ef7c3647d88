import FoundationEssentials

#if canImport(Glibc)
  import Glibc
#endif

/// Drafts of the composer (issue 12 §1): the account's `drafts` folder, else `$XDG_STATE_HOME/sealpost/drafts/`;
/// folder 0700, files 0600, every write atomic (``AtomicFile``), so a crash leaves the previous version or the
/// new one.
///
/// Each draft is an RFC 5322 rendering of the message as typed (readable by any mail tool), `ID.eml` or
/// `ID.2.eml`, and `ID.json`, its sidecar: the fields as typed, the account, the attachment paths, the cursor
/// and the name of its message file. A draft holds what the person typed into the message and nothing else: no
/// password, no password command, no config value.
///
/// The sidecar is the commit point of a save. The message file is written under the name the sidecar does *not*
/// name (the two names take turns), then the sidecar naming it, then the old message file goes: killed at any
/// moment, a save leaves the sidecar naming a whole message of its own version — the previous draft or the new
/// one, never the fields of one with the body of the other (which writing both files in place could leave).
public struct DraftStore: Sendable {
  public let directory: String

  public init(directory: String) {
    self.directory = directory
  }

  /// The store for `drafts` (an account's `drafts` key), else `$XDG_STATE_HOME/sealpost/drafts`.
  public static func standard(drafts: String?, environment: [String: String]) throws(OutboxError)
    -> DraftStore
  {
    if let drafts, !drafts.isEmpty { return DraftStore(directory: drafts) }
    return DraftStore(directory: try Outbox.stateDirectory(environment: environment) + "/drafts")
  }

  /// Where the composer's cursor was.
  public struct Cursor: Codable, Sendable, Hashable {
    /// `to`, `cc`, `bcc`, `subject` or `body`.
    public var field: String
    /// Characters from the start of the field.
    public var offset: Int
    public init(field: String, offset: Int) {
      self.field = field
      self.offset = offset
    }
  }

  /// One draft: the message as typed.
  public struct Draft: Codable, Sendable, Hashable {
    /// Empty for a draft not saved yet: ``DraftStore/save(_:now:)`` gives it one.
    public var id: String
    public var account: String?
    public var from: String?
    public var to: [String]
    public var cc: [String]
    public var bcc: [String]
    public var subject: String
    /// The body as typed (stored in the `.eml` file, not the sidecar).
    public var body: String
    public var attachments: [String]
    public var cursor: Cursor?
    /// Seconds since 1970 of the last save.
    public var saved: Double
    /// The message file's name in the folder (`ID.eml` or `ID.2.eml`), set by a save; nil: `ID.eml`.
    public var message: String?
    /// The composer's S/MIME toggles (issue 15): nil for sign is the account's `smime_sign`. Never a secret.
    public var sign: Bool?
    public var encrypt: Bool
    /// Envelope recipients that already have this message: a send of several copies (S/MIME, each Bcc copy
    /// apart) ended part-way after these were accepted. A send of the draft continued later leaves them out, so
    /// none gets it twice. Empty in a draft written before the field existed.
    public var delivered: [String]
    /// Entries of the sidecar's `delivered` list past ``DeliveredRecipients/maximumCount``, not read (a hand-made
    /// list of 200,000 entries cost seconds): the composer says so. Not written back.
    public var deliveredIgnored = 0
    /// The Date (seconds since 1970) and the Message-ID (without angle brackets) the message was first sent
    /// with: every later send of this draft keeps them, so all its recipients hold one message (threading,
    /// duplicate detection). nil until the first send, and in a draft written before the fields existed.
    public var date: Int64?
    public var messageID: String?

    public init(
      id: String = "", account: String?, from: String? = nil, to: [String] = [], cc: [String] = [],
      bcc: [String] = [], subject: String = "", body: String = "", attachments: [String] = [],
      cursor: Cursor? = nil, sign: Bool? = nil, encrypt: Bool = false, delivered: [String] = []
    ) {
      self.id = id
      self.account = account
      self.from = from
      self.to = to
      self.cc = cc
      self.bcc = bcc
      self.subject = subject
      self.body = body
      self.attachments = attachments
      self.cursor = cursor
      self.saved = 0
      self.message = nil
      self.sign = sign
      self.encrypt = encrypt
      self.delivered = delivered
    }

    enum CodingKeys: String, CodingKey {
      case id, account, from, to, cc, bcc, subject, attachments, cursor, saved, message, sign, encrypt
      case delivered, date, messageID
    }

    public init(from decoder: any Decoder) throws {
      let container = try decoder.container(keyedBy: CodingKeys.self)
      id = try container.decode(String.self, forKey: .id)
      account = try container.decodeIfPresent(String.self, forKey: .account)
      from = try container.decodeIfPresent(String.self, forKey: .from)
      to = try container.decode([String].self, forKey: .to)
      cc = try container.decode([String].self, forKey: .cc)
      bcc = try container.decode([String].self, forKey: .bcc)
      subject = try container.decode(String.self, forKey: .subject)
      attachments = try container.decode([String].self, forKey: .attachments)
      cursor = try container.decodeIfPresent(Cursor.self, forKey: .cursor)
      saved = try container.decode(Double.self, forKey: .saved)
      message = try container.decodeIfPresent(String.self, forKey: .message)
      sign = try container.decodeIfPresent(Bool.self, forKey: .sign)
      encrypt = try container.decodeIfPresent(Bool.self, forKey: .encrypt) ?? false
      // At most `maximumCount` entries: the file may come from a synced folder or a hand (red-team).
      delivered = []
      if container.contains(.delivered), !(try container.decodeNil(forKey: .delivered)) {
        var list = try container.nestedUnkeyedContainer(forKey: .delivered)
        while !list.isAtEnd && delivered.count < DeliveredRecipients.maximumCount {
          delivered.append(try list.decode(String.self))
        }
        deliveredIgnored = max(0, (list.count ?? delivered.count) - delivered.count)
      }
      // A value that is not what a save writes (a hand edit) reads as none: the next send makes new ones.
      date = (try? container.decodeIfPresent(Int64.self, forKey: .date)) ?? nil
      messageID = (try? container.decodeIfPresent(String.self, forKey: .messageID)) ?? nil
      body = ""
    }

    /// The sidecar: `delivered` only when a copy went (a draft that was never partly sent reads as before).
    public func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(id, forKey: .id)
      try container.encodeIfPresent(account, forKey: .account)
      try container.encodeIfPresent(from, forKey: .from)
      try container.encode(to, forKey: .to)
      try container.encode(cc, forKey: .cc)
      try container.encode(bcc, forKey: .bcc)
      try container.encode(subject, forKey: .subject)
      try container.encode(attachments, forKey: .attachments)
      try container.encodeIfPresent(cursor, forKey: .cursor)
      try container.encode(saved, forKey: .saved)
      try container.encodeIfPresent(message, forKey: .message)
      try container.encodeIfPresent(sign, forKey: .sign)
      try container.encode(encrypt, forKey: .encrypt)
      if !delivered.isEmpty { try container.encode(delivered, forKey: .delivered) }
      try container.encodeIfPresent(date, forKey: .date)
      try container.encodeIfPresent(messageID, forKey: .messageID)
    }

    /// The draft as an RFC 5322 message (header fields as typed, a line break in a value made a space, so no
    /// value can add a header), with LF line ends as files on this system have them.
    var rendered: [UInt8] {
      func line(_ name: String, _ value: String) -> String {
        let flat = value.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : String($0) }.joined()
        return "\(name): \(flat)\n"
      }
      var header = ""
      if let from { header += line("From", from) }
      if !to.isEmpty { header += line("To", to.joined(separator: ", ")) }
      if !cc.isEmpty { header += line("Cc", cc.joined(separator: ", ")) }
      if !bcc.isEmpty { header += line("Bcc", bcc.joined(separator: ", ")) }
      header += line("Subject", subject)
      header +=
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"
      return Array((header + "\n").utf8) + Array(body.utf8)
    }
  }

  /// The two names a draft's message file takes in turn.
  static func messageNames(_ id: String) -> [String] { ["\(id).eml", "\(id).2.eml"] }

  /// The message file of the draft `id` as its sidecar names it (`ID.eml` when it names none or another file).
  func messagePath(_ id: String, named name: String? = nil) -> String {
    let names = Self.messageNames(id)
    return "\(directory)/\(name.flatMap { names.contains($0) ? $0 : nil } ?? names[0])"
  }
  func sidecarPath(_ id: String) -> String { "\(directory)/\(id).json" }

  /// The path of the message file of a draft as saved (``save(_:now:)``'s answer).
  public func messagePath(of draft: Draft) -> String { messagePath(draft.id, named: draft.message) }

  /// Saves `draft` (a new id when it has none): the message file under the name the current sidecar does not
  /// name, then the sidecar naming it, each atomically, then the message file before it goes. Returns the draft
  /// as saved.
  @discardableResult
  public func save(_ draft: Draft, now: Date = Date()) throws(OutboxError) -> Draft {
    var saved = draft
    if saved.id.isEmpty { saved.id = Outbox.newID(now: now) }
    guard Outbox.isValidID(saved.id) else { throw OutboxError(.usage, "not a draft id") }
    saved.saved = now.timeIntervalSince1970
    let names = Self.messageNames(saved.id)
    let current = currentMessageName(saved.id)
    saved.message = current == names[0] ? names[1] : names[0]
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    let data: Data
    do { data = try encoder.encode(saved) } catch {
      throw OutboxError(.unreadable, "the draft \(saved.id) cannot be encoded")
    }
    do throws(AtomicFile.Failure) {
      try AtomicFile.write(saved.rendered, to: messagePath(of: saved))
      try AtomicFile.write(Array(data) + [0x0A], to: sidecarPath(saved.id))
    } catch {
      throw OutboxError(.cannotWrite, "cannot save the draft: \(error.description)")
    }
    if let current { unlink("\(directory)/\(current)") }
    return saved
  }

  /// The message file the sidecar of `id` names now; nil when there is no readable sidecar.
  private func currentMessageName(_ id: String) -> String? {
    guard let data = FileManager.default.contents(atPath: sidecarPath(id)),
      let draft = try? JSONDecoder().decode(Draft.self, from: data)
    else { return nil }
    return draft.message.flatMap { Self.messageNames(id).contains($0) ? $0 : nil } ?? Self.messageNames(id)[0]
  }

  /// Every readable draft, the most recently saved first (body included).
  public func list() -> [Draft] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
    return names.filter { $0.hasSuffix(".json") }.compactMap { name in
      try? load(String(name.dropLast(".json".count)))
    }.sorted { ($0.saved, $0.id) > ($1.saved, $1.id) }
  }

  /// The draft `id`: its sidecar, and its body from the message file (after the header's empty line).
  public func load(_ id: String) throws(OutboxError) -> Draft {
    guard Outbox.isValidID(id) else { throw OutboxError(.usage, "not a draft id") }
    guard let data = FileManager.default.contents(atPath: sidecarPath(id)) else {
      throw OutboxError(.missing, "no draft \(id)")
    }
    var draft: Draft
    do { draft = try JSONDecoder().decode(Draft.self, from: data) } catch {
      throw OutboxError(.unreadable, "the draft \(id) is unreadable (\(sidecarPath(id)))")
    }
    guard draft.id == id,
      let message = FileManager.default.contents(atPath: messagePath(id, named: draft.message))
    else { throw OutboxError(.missing, "the message of the draft \(id) is missing") }
    let bytes = Array(message)
    var index = 0
    var body = bytes[...]
    while index < bytes.count {
      if bytes[index] == 0x0A && index + 1 < bytes.count && bytes[index + 1] == 0x0A {
        body = bytes[(index + 2)...]
        break
      }
      index += 1
    }
    draft.body = String(decoding: body, as: UTF8.self)
    return draft
  }

  /// Removes the draft `id` (the sidecar first: from then on it is not listed), then both message files.
  public func remove(_ id: String) throws(OutboxError) {
    guard Outbox.isValidID(id) else { throw OutboxError(.usage, "not a draft id") }
    guard unlink(sidecarPath(id)) == 0 || errno == ENOENT else {
      throw OutboxError(.cannotWrite, "cannot remove the draft \(id): \(String(cString: strerror(errno)))")
    }
    for name in Self.messageNames(id) { unlink("\(directory)/\(name)") }
    let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if descriptor >= 0 {
      _ = fsync(descriptor)
      close(descriptor)
    }
  }
}
