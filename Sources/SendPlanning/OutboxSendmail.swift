import MailMessage

/// What `sendmail` reads from a message's header (issue 12 §3): the same unfolding and address-list rules as
/// ``SuppliedEnvelope``.
extension SuppliedEnvelope {
  /// The lowercased names of the header fields of `message`.
  public static func headerFieldNames(_ message: [UInt8]) -> Set<String> {
    Set(headerFields(message).map(\.name))
  }

  /// The addresses of To, Cc and Bcc, in that order (`sendmail -t`).
  public static func headerRecipients(_ message: [UInt8]) throws(PlanningError) -> [String] {
    let fields = headerFields(message)
    var result: [String] = []
    for name in recipientFields {
      for field in fields where field.name == name {
        result += try addresses(field.value, field: name)
      }
    }
    return result
  }

  /// The address of the message's Sender, else its first From; nil when it has neither.
  public static func senderAddress(_ message: [UInt8]) throws(PlanningError) -> String? {
    let fields = headerFields(message)
    guard
      let field = fields.first(where: { $0.name == "sender" }) ?? fields.first(where: { $0.name == "from" })
    else { return nil }
    return try addresses(field.value, field: field.name).first
  }
}

extension MessageAssembly {
  /// The address part of a mailbox as written (`Name <a@example.org>` → `a@example.org`); nil when it is not one.
  public static func address(of mailbox: String) -> String? {
    try? Mailbox(parsing: mailbox).address
  }
}
