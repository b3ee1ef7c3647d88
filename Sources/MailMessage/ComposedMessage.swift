import FoundationEssentials

/// A plain-text message that Sealpost builds from flags (DESIGN §4): RFC 5322 headers, a UTF-8 body, and
/// always CRLF line endings with no line over 998 octets (RFC 5322 §2.1.1).
public struct ComposedMessage: Sendable {
  public var from: Mailbox
  public var to: [Mailbox]
  public var cc: [Mailbox]
  /// Envelope recipients only: never written into the message.
  public var bcc: [Mailbox]
  /// The subject text; nil leaves out the `Subject` field.
  public var subject: String?
  /// UTF-8 text with any line endings.
  public var body: [UInt8]
  /// Fields from `--header`, written after `Message-ID` in the given order.
  public var extraHeaders: [HeaderField]
  public var date: Date
  /// The zone the `Date` field is written in; nil (the default) is the local zone.
  public var timeZone: TimeZone?
  /// The id without angle brackets, e.g. `3f2a…@example.org` (see ``makeMessageID(domain:)``).
  public var messageID: String

  public init(
    from: Mailbox, to: [Mailbox], cc: [Mailbox] = [], bcc: [Mailbox] = [], subject: String? = nil,
    body: [UInt8] = [], extraHeaders: [HeaderField] = [], date: Date, messageID: String,
    timeZone: TimeZone? = nil
  ) {
    self.from = from
    self.to = to
    self.cc = cc
    self.bcc = bcc
    self.subject = subject
    self.body = body
    self.extraHeaders = extraHeaders
    self.date = date
    self.messageID = messageID
    self.timeZone = timeZone
  }

  /// To, Cc and Bcc in that order, each address once: the envelope's `RCPT TO` list.
  public var recipients: [Mailbox] { Mailbox.envelope(to + cc + bcc) }

  /// True when a local part (Bcc included) or the Message-ID is not ASCII: the envelope and the headers then
  /// need SMTPUTF8 (RFC 6531). Everything else in a composed message has an ASCII form: domains as A-labels,
  /// text as RFC 2047 encoded words or quoted-printable.
  public var requiresSMTPUTF8: Bool {
    hasUTF8LocalPart || !messageID.unicodeScalars.allSatisfy(\.isASCII)
  }

  /// A new id: 128 random bits as 32 hex digits, `@domain`.
  public static func makeMessageID(domain: String) -> String {
    var generator = SystemRandomNumberGenerator()
    let bits = (0..<2).map { _ in generator.next() as UInt64 }
    let hex = bits.map { value in
      let digits = String(value, radix: 16)
      return String(repeating: "0", count: 16 - digits.count) + digits
    }
    return hex.joined() + "@" + domain
  }

  /// RFC 5322 §3.3 date-time with a numeric zone, e.g. `Sun, 29 Nov 2026 01:02:03 +0000`.
  public static func rfc5322Date(_ date: Date, timeZone: TimeZone? = nil) -> String {
    MessageDate.format(date, timeZone: timeZone)
  }

  /// The complete message as written for a server with no extensions (DESIGN §4: what `--dry-run` shows):
  /// header fields, an empty line, the body; CRLF line endings throughout.
  public func rendered() throws(MessageError) -> [UInt8] {
    try MIMEMessage(self).bytes(for: .plain)
  }

  /// True when a local part (Bcc included) is not ASCII: such an address has no ASCII form, so the envelope and
  /// the headers need SMTPUTF8 whatever the offer (RFC 6531). A domain alone has one (IDNA A-labels).
  public var hasUTF8LocalPart: Bool {
    ([from] + to + cc + bcc).contains { !$0.localPart.unicodeScalars.allSatisfy(\.isASCII) }
  }

  /// The mailbox as written in headers for `offer`: without SMTPUTF8, and when no local part needs it, its
  /// domain as A-labels (RFC 5891); otherwise as typed.
  func headerMailbox(_ mailbox: Mailbox, for offer: ContentOffer) throws(MessageError) -> Mailbox {
    guard !offer.smtpUTF8, !hasUTF8LocalPart, !mailbox.domain.unicodeScalars.allSatisfy(\.isASCII) else {
      return mailbox
    }
    return try Mailbox(displayName: mailbox.displayName, address: try IDNA.asciiAddress(mailbox.address))
  }

  /// The header fields up to the MIME fields (From, To, Cc, Subject, Date, Message-ID, `--header` fields), as
  /// folded lines without line ends.
  func headerLines(for offer: ContentOffer) throws(MessageError) -> [String] {
    let id = try MessageID.validated(messageID)
    var lines: [String] = []
    func add(_ name: String, _ fieldLines: [String]?) throws(MessageError) {
      guard let fieldLines else {
        throw MessageError(.invalidData, "the \(name) field cannot be written in lines of 998 octets")
      }
      lines += fieldLines
    }
    func mailboxes(_ list: [Mailbox]) throws(MessageError) -> [Mailbox] {
      var out: [Mailbox] = []
      for mailbox in list { out.append(try headerMailbox(mailbox, for: offer)) }
      return out
    }

    try add("From", HeaderRendering.addressList(name: "From", mailboxes: try mailboxes([from])))
    if to.isEmpty && cc.isEmpty {
      // RFC 5322 §3.6.3 group syntax: the recipients are all blind.
      lines.append("To: undisclosed-recipients:;")
    } else if !to.isEmpty {
      try add("To", HeaderRendering.addressList(name: "To", mailboxes: try mailboxes(to)))
    }
    if !cc.isEmpty {
      try add("Cc", HeaderRendering.addressList(name: "Cc", mailboxes: try mailboxes(cc)))
    }
    if let subject {
      if let control = subject.unicodeScalars.first(where: { DisplayText.isControl($0) && $0 != "\t" }) {
        throw MessageError(
          .invalidData,
          "invalid subject \"\(DisplayText.escaped(subject))\": it contains \(DisplayText.describeControl(control))"
        )
      }
      try add("Subject", HeaderRendering.unstructured(name: "Subject", value: subject))
    }
    lines.append("Date: " + Self.rfc5322Date(date, timeZone: timeZone))
    lines.append("Message-ID: <" + id + ">")
    for field in extraHeaders {
      try add(field.name, HeaderRendering.unstructured(name: field.name, value: field.value))
    }
    return lines
  }
}
