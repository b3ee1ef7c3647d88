import Accounts
import FoundationEssentials
import MailMessage
import MailSender
import SMTPProtocol

/// The message a person asked for, as fields (the composer's screen, the CLI's flags) or as a complete message.
public struct MessageFields: Sendable {
  /// The sender as written; nil: the account's `from` (with its `display_name`).
  public var from: String?
  public var to: [String] = []
  public var cc: [String] = []
  public var bcc: [String] = []
  public var subject: String?
  public var body: [UInt8] = []
  /// `Name: value` lines for headers without a field of their own.
  public var headers: [String] = []
  /// A complete RFC 5322 message instead of subject, body and headers (DESIGN §3.8).
  public var supplied: [UInt8]?
  /// The content will be a complete message (read after the fields are checked): without recipients or a sender
  /// here, its header gives them (``SuppliedEnvelope``).
  public var isCompleteMessage = false
  /// Files to attach, as paths; each is checked (a regular file this process can read) when the message is
  /// assembled, and read only while the message is written.
  public var attachments: [String] = []

  /// Empty fields; a front end sets those the person filled in.
  public init() {}
}

/// The message ready for the core: its bytes and the envelope.
public struct AssembledMessage: Sendable {
  /// The message for the core: in memory when it was given so, else the streaming ``source`` (the session
  /// writes it for the server's offer).
  public var content: MessageContent
  /// The envelope sender (address only; domains as A-labels, RFC 5891).
  public var reversePath: String
  /// Every recipient once, in order: To, Cc, Bcc (domains as A-labels).
  public var recipients: [String]
  public var messageID: String
  /// What a front end should tell the person (a header recipient left out of the envelope).
  public var notes: [PlanningText] = []
  /// The message as a source the sender can read for the server's offer, as often as it needs.
  public var source: any MessageSource
  /// What the conformance linter found in a supplied message, and what was added to it (issue 10).
  public var findings: [AssemblyFinding] = []

  /// Writes the message as it would be built for a server with no extensions, before dot-stuffing (DESIGN §4
  /// `--dry-run`), a piece at a time.
  public func write(_ output: (ArraySlice<UInt8>) -> Void) throws(PlanningError) {
    do throws(MessageError) {
      var reader = try source.open(for: .plain)
      try reader.forEachPiece(output)
    } catch {
      throw MessageAssembly.planningError(error)
    }
  }
}

/// One finding of the linter, in words that quote no config value.
public struct AssemblyFinding: Sendable, Hashable {
  /// A warning (sent as written but maybe not what was meant) rather than a note.
  public var isWarning: Bool
  public var text: String

  public init(isWarning: Bool, text: String) {
    self.isWarning = isWarning
    self.text = text
  }
}

/// Builds the message every front end sends (DESIGN §3.8, §4): addresses checked, headers checked, Bcc only in
/// the envelope, a supplied message sent unchanged but for what the policy allows.
public enum MessageAssembly {
  /// The most recipients one message takes (RFC 5321 §4.5.3.1.8 asks servers for 100; Postfix takes 1,000).
  public static let maximumRecipients = 1000

  /// The fields with every address and header checked (usage 64, bad data 65), before any file is read, so a
  /// front end reports them first (DESIGN §4: first match wins).
  public struct CheckedFields: Sendable {
    /// nil only for a complete message, whose header then names the sender.
    public var sender: Mailbox?
    public var to: [Mailbox]
    public var cc: [Mailbox]
    public var bcc: [Mailbox]
    public var headers: [HeaderField]
    public var subject: String?
  }

  public static func check(_ fields: MessageFields, account: Account?) throws(PlanningError) -> CheckedFields
  {
    let completeMessage = fields.isCompleteMessage || fields.supplied != nil
    if fields.to.isEmpty && fields.cc.isEmpty && fields.bcc.isEmpty && !completeMessage {
      throw PlanningError(.usage, "no recipient: give \(field: .to), \(field: .cc) or \(field: .bcc)")
    }
    if fields.supplied != nil && (fields.subject != nil || !fields.body.isEmpty || !fields.headers.isEmpty) {
      throw PlanningError(
        .usage,
        "\(field: .message) is a complete message: it cannot be combined with \(field: .subject), "
          + "\(field: .body) or \(field: .header)")
    }
    if fields.supplied != nil && !fields.attachments.isEmpty {
      throw PlanningError(.usage, "\(field: .message) is a complete message: it cannot take attachments")
    }
    let sender: Mailbox?
    if let fromText = fields.from {
      sender = try mailbox(fromText, field: .from)
    } else if let account, let fromText = accountSender(account) {
      sender = try accountMailbox(fromText, of: account)
    } else if completeMessage {
      sender = nil
    } else {
      throw PlanningError(.usage, "no sender: give \(field: .from) (or set from in the account)")
    }
    var checked = CheckedFields(sender: sender, to: [], cc: [], bcc: [], headers: [], subject: fields.subject)
    for text in fields.to { checked.to.append(try mailbox(text, field: .to)) }
    for text in fields.cc { checked.cc.append(try mailbox(text, field: .cc)) }
    for text in fields.bcc { checked.bcc.append(try mailbox(text, field: .bcc)) }
    for line in fields.headers {
      do throws(MessageError) {
        checked.headers.append(try HeaderField.userSupplied(line))
      } catch {
        throw PlanningError(
          error.kind == .reservedHeader ? .usage : .dataError, "\(field: .header): \(error.message)")
      }
    }
    return checked
  }

  /// Checks the fields and builds the message.
  /// - Parameter messageID: the id (without angle brackets) of an earlier send of this message, kept so that
  ///   every recipient of a retry holds the same id; nil: a new one.
  public static func assemble(
    _ fields: MessageFields, account: Account?, date: Date = Date(), messageID: String? = nil
  ) throws(PlanningError) -> AssembledMessage {
    let checked = try check(fields, account: account)
    return try assemble(
      checked, body: fields.body, bodySource: nil, supplied: fields.supplied,
      attachments: try attachments(fields.attachments), date: date, messageID: messageID)
  }

  /// The files at `paths`, each checked now: missing, unreadable or not a regular file is 66, naming the path
  /// escaped. Their bytes are read only while the message is written.
  public static func attachments(_ paths: [String]) throws(PlanningError) -> [MessageAttachment] {
    var attachments: [MessageAttachment] = []
    for path in paths {
      do throws(MessageError) {
        attachments.append(try MessageAttachment(path: path))
      } catch {
        // The path as every other untrusted text is shown (DESIGN §3.6), with the reason after it.
        let quoted = "the attachment \(DisplayText.escaped(path)): "
        guard error.kind == .unreadableInput, error.message.hasPrefix(quoted) else {
          throw planningError(error)
        }
        throw PlanningError(
          .noInput,
          "the attachment \(UntrustedText(path).escaped): \(error.message.dropFirst(quoted.count))"
        )
      }
    }
    return attachments
  }

  /// Builds the message from checked fields and its content: `supplied` (a complete message, sent unchanged but
  /// for what DESIGN §3.8 allows), or `body` with `attachments`.
  public static func assemble(
    _ checked: CheckedFields, body: [UInt8], supplied: [UInt8]?, attachments: [MessageAttachment] = [],
    date: Date = Date()
  ) throws(PlanningError) -> AssembledMessage {
    try assemble(
      checked, body: body, bodySource: nil, supplied: supplied, attachments: attachments, date: date)
  }

  /// Builds the message from checked fields, its text read from `body` (a file, standard input spooled to one)
  /// as the message is written, never held (issue 10): read once now for its encoding, then at each pass.
  public static func assemble(
    _ checked: CheckedFields, body: any ByteSource, attachments: [MessageAttachment] = [], date: Date = Date()
  ) throws(PlanningError) -> AssembledMessage {
    try assemble(checked, body: [], bodySource: body, supplied: nil, attachments: attachments, date: date)
  }

  private static func assemble(
    _ checked: CheckedFields, body: [UInt8], bodySource: (any ByteSource)?, supplied: [UInt8]?,
    attachments: [MessageAttachment], date: Date, messageID givenID: String? = nil
  ) throws(PlanningError) -> AssembledMessage {
    // The envelope: from the fields, or for a complete message from its header when the fields name none.
    var notes: [PlanningText] = []
    let envelopeSender: String
    let envelopeRecipients: [String]
    var composedSender: Mailbox?
    // Parsed and checked once, used twice (a batch of 5,000 files parsed each one twice).
    var parsed: SuppliedMessage?
    if let supplied {
      // The message's own checks first (a bare CR or LF, with its line number), then its header's addresses.
      do throws(MessageError) {
        parsed = try SuppliedMessage(bytes: supplied)
      } catch {
        throw planningError(error)
      }
      let envelope = try SuppliedEnvelope(
        message: supplied, sender: checked.sender, recipients: checked.to + checked.cc + checked.bcc)
      envelopeSender = envelope.reversePath
      envelopeRecipients = envelope.recipients
      notes = envelope.notes
    } else {
      guard let sender = checked.sender else {
        throw PlanningError(.usage, "no sender: give \(field: .from) (or set from in the account)")
      }
      if checked.to.isEmpty && checked.cc.isEmpty && checked.bcc.isEmpty {
        throw PlanningError(.usage, "no recipient: give \(field: .to), \(field: .cc) or \(field: .bcc)")
      }
      composedSender = sender
      envelopeSender = sender.address
      envelopeRecipients = Mailbox.envelope(checked.to + checked.cc + checked.bcc).map(\.address)
    }
    // The same bound as the CLI's flags (red team: a message's header, or the composer's fields, set no limit).
    if envelopeRecipients.count > maximumRecipients {
      let given = supplied == nil || !(checked.to + checked.cc + checked.bcc).isEmpty
      throw PlanningError(
        given ? .usage : .dataError,
        "too many recipients: \(envelopeRecipients.count) in "
          + (given ? "To, Cc and Bcc" : "the message's To, Cc and Bcc")
          + "; one message takes at most \(maximumRecipients) — nothing was sent")
    }
    let reversePath: String
    let recipients: [String]
    let source: any MessageSource
    var findings: [AssemblyFinding] = []
    let messageID: String
    do throws(MessageError) {
      // RFC 5891: A-labels are valid whatever the server offers; a UTF-8 local part needs SMTPUTF8 anyway.
      reversePath = try IDNA.asciiAddress(envelopeSender)
      recipients = try envelopeRecipients.map { (address) throws(MessageError) in
        try IDNA.asciiAddress(address)
      }
      messageID = givenID ?? ComposedMessage.makeMessageID(domain: domain(of: reversePath))
      if let supplied {
        let message: SuppliedMessage
        if let parsed {
          message = parsed
        } else {
          message = try SuppliedMessage(bytes: supplied)
        }
        findings = message.lint(envelopeSender: envelopeSender).map {
          AssemblyFinding(isWarning: $0.level == .warning, text: $0.text)
        }
        source = InMemoryMessage(try message.prepared(date: date, messageID: messageID))
      } else if let sender = composedSender {
        let composed = ComposedMessage(
          from: sender, to: checked.to, cc: checked.cc, bcc: checked.bcc, subject: checked.subject,
          body: body, extraHeaders: checked.headers, date: date, messageID: messageID)
        if let bodySource {
          source = try MIMEMessage(composed, body: bodySource, attachments: attachments)
        } else {
          source = try MIMEMessage(composed, attachments: attachments)
        }
      } else {
        // Not reached: without a supplied message the sender was required above.
        throw MessageError(.invalidData, "no sender")
      }
    } catch {
      throw planningError(error)
    }
    // A message Sealpost builds streams: the session writes it for the offer of the server (8bit text where
    // 8BITMIME is offered, else quoted-printable) a piece at a time, attachments encoded as they are read.
    let content: MessageContent
    if let memory = source as? InMemoryMessage {
      content = MessageContent(bytes: memory.bytes)
    } else {
      content = MessageContent(source: source)
    }
    return AssembledMessage(
      content: content, reversePath: reversePath, recipients: recipients, messageID: messageID, notes: notes,
      source: source, findings: findings)
  }

  /// A message error in the planning layer's terms: an unreadable attachment is 66, the rest bad data (65).
  static func planningError(_ error: MessageError) -> PlanningError {
    let category: SendFailure.Category
    switch error.kind {
    case .unreadableInput: category = .noInput
    case .reservedHeader: category = .usage
    case .invalidData: category = .dataError
    }
    return PlanningError(category, PlanningText(stringLiteral: error.message))
  }

  /// The largest signature file read.
  public static let maximumSignatureSize = 64 << 10

  /// `body` with the account's `signature` below it, after the RFC 3676 §4.3 separator line `-- ` (issue 11:
  /// the key was accepted and ignored). `signature` names a file, so a signature may span lines (a quoted config
  /// value cannot hold a newline). The file is a config value: errors name its line, never the path; missing or
  /// unreadable is 66, writable by others 78 (it would put words in your mail).
  public static func signed(_ body: [UInt8], account: Account?) throws(PlanningError) -> [UInt8] {
    guard let block = try signatureBlock(following: body.last, account: account) else { return body }
    return body + block
  }

  /// `body` with the account's `signature` below it, as for a body in memory, for a body read from a source
  /// instead of held (issue 10): the separator and the signature follow it as a source of their own.
  public static func signed(_ body: DescriptorByteSource, account: Account?) throws(PlanningError)
    -> any ByteSource
  {
    guard account?.signature != nil else { return body }
    let last: UInt8?
    do throws(MessageError) {
      last = try body.lastByte()
    } catch {
      throw planningError(error)
    }
    guard let block = try signatureBlock(following: last, account: account) else { return body }
    return ConcatenatedBytes([body, InMemoryBytes(block)])
  }

  /// What goes after a body whose last octet is `last`: a line end if it has none, the `-- ` line and the
  /// signature ending with a line end; nil without a signature.
  static func signatureBlock(following last: UInt8?, account: Account?) throws(PlanningError) -> [UInt8]? {
    guard let account, let path = account.signature else { return nil }
    let location = account.location(of: "signature")
    let file: CheckedFile
    do throws(CheckedFile.Refusal) {
      file = try CheckedFile.read(
        path: path, what: "signature file", limit: maximumSignatureSize, showsPath: false)
    } catch {
      throw PlanningError(
        error.kind == .unsafe ? .configuration : .noInput,
        "\(location): signature: \(error.message) (signature names a file holding the signature text; account "
          + "\(UntrustedText(account.name).escaped)) — nothing was sent")
    }
    var signature = file.bytes
    // A separator the file already has is not doubled.
    for separator in ["-- \n", "-- \r\n"] where signature.starts(with: Array(separator.utf8)) {
      signature.removeFirst(separator.utf8.count)
    }
    var block: [UInt8] = []
    if let last, last != UInt8(ascii: "\n") { block.append(UInt8(ascii: "\n")) }
    block += Array("-- \n".utf8) + signature
    if let end = block.last, end != UInt8(ascii: "\n") { block.append(UInt8(ascii: "\n")) }
    return block
  }

  /// The account's `from`, with its `display_name` when it has one.
  public static func accountSender(_ account: Account) -> String? {
    guard let from = account.from else { return nil }
    guard let name = account.displayName, !from.contains("<") else { return from }
    let quoted = name.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
    return "\"\(quoted)\" <\(from)>"
  }

  static func mailbox(_ text: String, field: PlanningField) throws(PlanningError) -> Mailbox {
    do throws(MessageError) {
      return try Mailbox(parsing: text)
    } catch {
      throw PlanningError(.dataError, "\(field: field): \(error.message)")
    }
  }

  /// The account's `from` (with its `display_name`), refused with its file:line and without the value: a config
  /// value may be a secret on the wrong line (issue 7).
  static func accountMailbox(_ text: String, of account: Account) throws(PlanningError) -> Mailbox {
    do throws(MessageError) {
      return try Mailbox(parsing: text)
    } catch {
      // The parser's message quotes the input: keep only the reason after it.
      let quoted = "invalid mailbox \"\(DisplayText.escaped(text))\": "
      let reason = error.message.hasPrefix(quoted) ? " (\(error.message.dropFirst(quoted.count)))" : ""
      throw PlanningError(
        .dataError,
        "\(account.location(of: "from")): from: not a valid mailbox\(reason) "
          + "(account \(UntrustedText(account.name).escaped))")
    }
  }

  static func domain(of address: String) -> String {
    guard let at = address.lastIndex(of: "@") else { return "sealpost.invalid" }
    let domain = address[address.index(after: at)...]
    return domain.isEmpty ? "sealpost.invalid" : String(domain)
  }
}
