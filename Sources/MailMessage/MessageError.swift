/// Input that cannot become a correct message: a bad address, header or body (exit 65, or 64 for a header
/// that has a flag of its own). The message names the offending input, never a secret.
public struct MessageError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Kind: Sendable, Hashable {
    /// The input breaks RFC 5321/5322 or DESIGN §3.8 (exit 65).
    case invalidData
    /// A header that must be set through its own flag (exit 64).
    case reservedHeader
    /// An input file (an attachment) missing, unreadable or not a regular file (exit 66).
    case unreadableInput
  }

  public var kind: Kind
  public var message: String

  public init(_ kind: Kind = .invalidData, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}
