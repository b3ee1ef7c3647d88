import MailMessage

/// Who of a message's recipients already has it: a draft's `delivered` list (a send of several copies ended
/// part-way). The one rule the review and the planning share, so the envelope shown is the envelope sent.
///
/// The list comes from a file a person or a sync may have edited: only the message's own recipients count
/// (red-team: a hand-edited list of 41 addresses left a To recipient out while the review named other people),
/// and no more than ``maximumCount`` entries are read.
public enum DeliveredRecipients {
  /// The most entries of a `delivered` list read: a message has at most this many recipients
  /// (``MessageAssembly/maximumRecipients``), so a longer list holds strangers.
  public static let maximumCount = MessageAssembly.maximumRecipients

  /// `recipients` split in the message's order: those a send goes to, and those left out because `delivered`
  /// names them (``Mailbox/sameAddress(_:_:)``: the local part byte for byte, the domain as its A-label).
  public static func split(_ recipients: [String], delivered: [String]) -> (sent: [String], leftOut: [String])
  {
    guard !delivered.isEmpty else { return (recipients, []) }
    let have = Set(delivered.map(Mailbox.key(of:)))
    var sent: [String] = []
    var leftOut: [String] = []
    for recipient in recipients {
      if have.contains(Mailbox.key(of: recipient)) {
        leftOut.append(recipient)
      } else {
        sent.append(recipient)
      }
    }
    return (sent, leftOut)
  }

  /// The recipients of `recipients` that `delivered` names: the send leaves them out.
  public static func leftOut(_ recipients: [String], delivered: [String]) -> [String] {
    split(recipients, delivered: delivered).leftOut
  }

  /// `delivered` reduced to the message's recipients, as the message spells them: what a draft keeps. `dropped`
  /// counts the entries that name no recipient (and those past ``maximumCount``), for a note.
  public static func kept(_ delivered: [String], recipients: [String]) -> (kept: [String], dropped: Int) {
    let left = Mailbox.unique(leftOut(recipients, delivered: Array(delivered.prefix(maximumCount))))
    return (left, delivered.count - left.count)
  }
}
