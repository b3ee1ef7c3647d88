import Accounts
import FoundationEssentials
import MailMessage
import MailSender
import SMTPProtocol

/// The envelope of a complete message sent as written (`--message`; issue 11: a `Bcc:` recipient was removed
/// from the header and never reached the envelope, without a word).
///
/// - No recipient given apart from the message: the recipients are the addresses of its To, Cc and Bcc fields,
///   as `sendmail -t` takes them.
/// - Recipients given: they are the envelope, and each address of To, Cc or Bcc that is not among them is named in
///   a note, so no recipient is dropped silently.
/// - The sender: the one given, else the account's `from`, else the message's Sender, else its first From.
public struct SuppliedEnvelope: Sendable, Hashable {
  public var reversePath: String
  public var recipients: [String]
  /// Notes for the person: header recipients that are not in the envelope.
  public var notes: [PlanningText]

  /// The most header recipients named one note each; the rest are counted in one note.
  static let maximumNamedNotes = 20

  /// The header fields that name recipients, in the order their addresses are taken.
  static let recipientFields = ["to", "cc", "bcc"]

  /// - Parameters:
  ///   - message: the message's bytes, already accepted by `SuppliedMessage` (a header block, then the body).
  ///   - sender: the sender given (a flag, the account's `from`), if any.
  ///   - recipients: the recipients given, if any.
  public init(message: [UInt8], sender: Mailbox?, recipients: [Mailbox]) throws(PlanningError) {
    let fields = Self.headerFields(message)
    var named: [(field: String, address: String)] = []
    for name in Self.recipientFields {
      for value in fields where value.name == name {
        for address in try Self.addresses(value.value, field: name) { named.append((name, address)) }
      }
    }
    if recipients.isEmpty {
      self.recipients = Mailbox.unique(named.map(\.address))
      guard !self.recipients.isEmpty else {
        throw PlanningError(
          .usage,
          "no recipient: the message has no address in To, Cc or Bcc; give \(field: .to), \(field: .cc) or "
            + "\(field: .bcc)")
      }
      notes = []
    } else {
      self.recipients = Mailbox.envelope(recipients).map(\.address)
      let envelope = Set(self.recipients.map(Mailbox.key(of:)))
      let left = Mailbox.unique(named, by: \.address).filter {
        !envelope.contains(Mailbox.key(of: $0.address))
      }
      notes = left.prefix(Self.maximumNamedNotes).map { field, address in
        let header = field == "bcc" ? "Bcc" : field.prefix(1).uppercased() + field.dropFirst()
        return "the message's \(header) names \(UntrustedText(address).escaped), which is not a recipient: "
          + "\(field: .to), \(field: .cc) and \(field: .bcc) set the envelope (without them, To, Cc and Bcc do)"
      }
      // Red team: a header naming 50,000 addresses printed 50,000 notes.
      if left.count > Self.maximumNamedNotes {
        notes.append(
          "and \(left.count - Self.maximumNamedNotes) more addresses of the message's To, Cc and Bcc are not "
            + "recipients")
      }
    }
    if let sender {
      reversePath = sender.address
    } else {
      let senderField = fields.first { $0.name == "sender" } ?? fields.first { $0.name == "from" }
      guard let senderField, let first = try Self.addresses(senderField.value, field: senderField.name).first
      else {
        throw PlanningError(
          .usage, "no sender: the message's From holds no address; give \(field: .from)")
      }
      reversePath = first
    }
  }

  /// The header fields, unfolded (RFC 5322 §2.2.3), names lowercased; the header ends at the first empty line.
  static func headerFields(_ bytes: [UInt8]) -> [(name: String, value: String)] {
    var fields: [(name: String, value: String)] = []
    var start = 0
    while start < bytes.count {
      var end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
      let next = end + 1
      if end > start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
      let line = bytes[start..<end]
      start = next
      guard let first = line.first else { break }
      if first == 0x20 || first == 0x09 {
        if !fields.isEmpty { fields[fields.count - 1].value += String(decoding: line, as: UTF8.self) }
        continue
      }
      guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
      let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self)
        .trimmingSpacesAndTabs().lowercased()
      fields.append((name, String(decoding: line[(colon + 1)...], as: UTF8.self)))
    }
    return fields
  }

  /// The addresses (addr-spec, without angle brackets) of an address list (RFC 5322 §3.4): mailboxes and
  /// groups, quoted strings and comments honoured; each checked like a mailbox given as a flag.
  static func addresses(_ value: String, field: String) throws(PlanningError) -> [String] {
    var items: [String] = []
    var current = ""
    var quoted = false
    var escaped = false
    var comment = 0
    var angle = false
    for character in value {
      if escaped {
        escaped = false
        if comment == 0 { current.append(character) }
        continue
      }
      if quoted {
        if character == "\\" { escaped = true } else if character == "\"" { quoted = false }
        current.append(character)
        continue
      }
      if comment > 0 {
        if character == "\\" {
          escaped = true
        } else if character == "(" {
          comment += 1
        } else if character == ")" {
          comment -= 1
        }
        continue
      }
      switch character {
      case "\"":
        quoted = true
        current.append(character)
      case "(": comment = 1
      case "<":
        angle = true
        current.append(character)
      case ">":
        angle = false
        current.append(character)
      case ":" where !angle:
        // A group's display name: its members follow.
        current = ""
      case "," where !angle, ";" where !angle:
        items.append(current)
        current = ""
      default:
        current.append(character)
      }
    }
    items.append(current)
    var result: [String] = []
    for item in items {
      let text = item.trimmingSpacesAndTabs()
      guard !text.isEmpty else { continue }
      let address: String
      if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
        address = String(text[text.index(after: open)..<close]).trimmingSpacesAndTabs()
      } else {
        address = text
      }
      do throws(MessageError) {
        result.append(try Mailbox(parsing: address).address)
      } catch {
        let header = field.prefix(1).uppercased() + field.dropFirst()
        throw PlanningError(.dataError, "\(field: .message): the \(header) field: \(error.message)")
      }
    }
    return result
  }
}
