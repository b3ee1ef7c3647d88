/// How a session ended: delivered (a final 2xx after the end of data, DESIGN §3.9) or a failure.
public struct SMTPResult: Sendable, Hashable {
  /// The final reply to the end of data, set when delivered.
  public var finalReply: SMTPReply?
  /// Why the message was not delivered; `nil` means delivered.
  public var failure: SMTPFailure?

  /// A result.
  public init(finalReply: SMTPReply?, failure: SMTPFailure?) {
    self.finalReply = finalReply
    self.failure = failure
  }

  /// Delivered: the final reply after the end of data was 2xx (RFC 5321 §4.1.1.4).
  public var isDelivered: Bool { failure == nil && finalReply?.isPositive == true }
}

/// A recipient the server refused, with its reply (RFC 5321 §4.1.1.3).
public struct RefusedRecipient: Sendable, Hashable {
  /// The forward-path as sent, without angle brackets.
  public var address: String
  /// The 4xx or 5xx reply to its RCPT.
  public var reply: SMTPReply

  /// A refused recipient.
  public init(address: String, reply: SMTPReply) {
    self.address = address
    self.reply = reply
  }
}

/// Why a session did not deliver, and at which stage. Carries server replies (escaped when printed), never a
/// secret of ours; a hostile server may echo one inside its reply text, so the facade scrubs reply text
/// (DESIGN §3.5).
public struct SMTPFailure: Error, Sendable, Hashable, CustomStringConvertible {
  /// What went wrong.
  public enum Kind: Sendable, Hashable {
    /// STARTTLS was required but not in the EHLO list (RFC 3207 §4; DESIGN §3.3: exit 77).
    case startTLSNotOffered
    /// STARTTLS was answered with anything but 220 (exit 77).
    case startTLSRefused(SMTPReply)
    /// AUTH would have gone over plaintext to a non-loopback peer; nothing was sent (DESIGN §3.4: exit 77).
    case plaintextAuthRefused
    /// No AUTH in the (post-TLS) list, or no mechanism we have; lists what the server offers (exit 77).
    case authUnavailable(offered: [String])
    /// A 5xx to AUTH or to a SASL response, e.g. 535 (RFC 4954 §6; exit 77).
    case authFailed(SMTPReply)
    /// The request needs an extension the server lacks: "8BITMIME" or "SMTPUTF8" for the message (exit 65),
    /// "DSN" for notifications (exit 69), "REQUIRETLS" (exit 77). Nothing was sent.
    case extensionMissing(String)
    /// The message is larger than the server's SIZE limit (RFC 1870 §4; exit 69).
    case messageTooLarge(limit: Int)
    /// A 4xx or 5xx at `stage` (greeting, EHLO/HELO, AUTH 4xx, MAIL, DATA, end of data; exit 75 or 69).
    case rejected(SMTPReply)
    /// Some or all recipients were refused; the transaction was abandoned before the end of data (DESIGN §3.9).
    case recipientsRefused([RefusedRecipient])
    /// A reply code that makes no sense at `stage` (DESIGN §4: exit 76).
    case unexpectedReply(SMTPReply)
    /// The configuration cannot be put into commands (control characters, NUL in credentials; exit 65).
    /// Nothing was sent.
    case invalidCommand(SMTPCommandError)
  }

  /// What went wrong.
  public var kind: Kind
  /// Where in the session.
  public var stage: SMTPClient.Stage

  /// A failure of `kind` at `stage`.
  public init(kind: Kind, stage: SMTPClient.Stage) {
    self.kind = kind
    self.stage = stage
  }

  /// One line, server text escaped.
  public var description: String {
    switch kind {
    case .startTLSNotOffered: return "STARTTLS not offered"
    case .startTLSRefused(let reply): return "STARTTLS refused: \(Self.summary(reply))"
    case .plaintextAuthRefused: return "AUTH not sent: the connection is not encrypted"
    case .authUnavailable(let offered):
      return offered.isEmpty
        ? "the server offers no AUTH"
        : "no usable AUTH mechanism; the server offers \(offered.map { UntrustedText.escape($0.utf8) }.joined(separator: ", "))"
    case .authFailed(let reply): return "authentication failed: \(Self.summary(reply))"
    case .extensionMissing(let name): return "the server lacks \(name)"
    case .messageTooLarge(let limit):
      return "the message is larger than the server's limit of \(limit) octets"
    case .rejected(let reply): return "\(stage.label) refused: \(Self.summary(reply))"
    case .recipientsRefused(let refused):
      let list = refused.map { "<\(UntrustedText.escape($0.address.utf8))> \(Self.summary($0.reply))" }
      return "recipients refused: " + list.joined(separator: "; ")
    case .unexpectedReply(let reply): return "unexpected reply to \(stage.label): \(Self.summary(reply))"
    case .invalidCommand(let error): return error.message
    }
  }

  private static func summary(_ reply: SMTPReply) -> String {
    reply.lines.last.map(\.escaped) ?? String(reply.code)
  }
}

extension SMTPClient.Stage {
  /// The step as a person reads it: `greeting`, `EHLO`, `MAIL FROM`, `end of data`…
  public var label: String {
    switch self {
    case .greeting: return "greeting"
    case .ehlo: return "EHLO"
    case .helo: return "HELO"
    case .startTLS: return "STARTTLS"
    case .auth: return "AUTH"
    case .mail: return "MAIL FROM"
    case .rcpt: return "RCPT TO"
    case .data: return "DATA"
    case .dataEnd: return "end of data"
    case .bdat: return "BDAT"
    }
  }
}
