import Accounts
import Foundation
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

  /// Empty fields; a front end sets those the person filled in.
  public init() {}
}

/// The message ready for the core: its bytes and the envelope.
public struct AssembledMessage: Sendable {
  public var content: MessageContent
  /// The envelope sender (address only).
  public var reversePath: String
  /// Every recipient once, in order: To, Cc, Bcc.
  public var recipients: [String]
  public var messageID: String
}

/// Builds the message every front end sends (DESIGN §3.8, §4): addresses checked, headers checked, Bcc only in
/// the envelope, a supplied message sent unchanged but for what the policy allows.
public enum MessageAssembly {
  /// The most recipients one message takes (RFC 5321 §4.5.3.1.8 asks servers for 100; Postfix takes 1,000).
  public static let maximumRecipients = 1000

  /// The fields with every address and header checked (usage 64, bad data 65), before any file is read, so a
  /// front end reports them first (DESIGN §4: first match wins).
  public struct CheckedFields: Sendable {
    public var sender: Mailbox
    public var to: [Mailbox]
    public var cc: [Mailbox]
    public var bcc: [Mailbox]
    public var headers: [HeaderField]
    public var subject: String?
  }

  public static func check(_ fields: MessageFields, account: Account?) throws(PlanningError) -> CheckedFields
  {
    if fields.to.isEmpty && fields.cc.isEmpty && fields.bcc.isEmpty {
      throw PlanningError(.usage, "no recipient: give \(field: .to), \(field: .cc) or \(field: .bcc)")
    }
    if fields.supplied != nil && (fields.subject != nil || !fields.body.isEmpty || !fields.headers.isEmpty) {
      throw PlanningError(
        .usage,
        "\(field: .message) is a complete message: it cannot be combined with \(field: .subject), "
          + "\(field: .body) or \(field: .header)")
    }
    guard let fromText = fields.from ?? account.flatMap(accountSender) else {
      throw PlanningError(.usage, "no sender: give \(field: .from) (or set from in the account)")
    }
    let sender: Mailbox
    if fields.from == nil, let account {
      sender = try accountMailbox(fromText, of: account)
    } else {
      sender = try mailbox(fromText, field: .from)
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
  public static func assemble(_ fields: MessageFields, account: Account?, date: Date = Date())
    throws(PlanningError) -> AssembledMessage
  {
    try assemble(check(fields, account: account), body: fields.body, supplied: fields.supplied, date: date)
  }

  /// Builds the message from checked fields and its content: `supplied` (a complete message, sent unchanged but
  /// for what DESIGN §3.8 allows) or `body`.
  public static func assemble(
    _ checked: CheckedFields, body: [UInt8], supplied: [UInt8]?, date: Date = Date()
  ) throws(PlanningError) -> AssembledMessage {
    let messageID = ComposedMessage.makeMessageID(domain: domain(of: checked.sender.address))
    let content: MessageContent
    do throws(MessageError) {
      if let supplied {
        content = MessageContent(
          bytes: try SuppliedMessage(bytes: supplied).prepared(date: date, messageID: messageID))
      } else {
        let composed = ComposedMessage(
          from: checked.sender, to: checked.to, cc: checked.cc, bcc: checked.bcc, subject: checked.subject,
          body: body, extraHeaders: checked.headers, date: date, messageID: messageID)
        content = MessageContent(bytes: try composed.rendered())
      }
    } catch {
      throw PlanningError(.dataError, PlanningText(stringLiteral: error.message))
    }
    return AssembledMessage(
      content: content, reversePath: checked.sender.address,
      recipients: Mailbox.envelope(checked.to + checked.cc + checked.bcc).map(\.address), messageID: messageID
    )
  }

  /// The account's `from`, with its `display_name` when it has one.
  public static func accountSender(_ account: Account) -> String? {
    guard let from = account.from else { return nil }
    guard let name = account.displayName, !from.contains("<") else { return from }
    let quoted = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
      of: "\"", with: "\\\"")
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
