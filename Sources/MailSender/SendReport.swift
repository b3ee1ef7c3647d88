import SMTPProtocol
import SMTPTransport

/// Why a send did not end in "sent", ordered as the exit-code table of DESIGN §4 (first match wins), with a
/// typed `reason` a front end can switch on ("offer to pin this key", "try STARTTLS") without matching text.
public struct SendFailure: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Category: Sendable, Hashable, CaseIterable {
    case usage, dataError, noInput, hostUnknown, security, configuration, protocolViolation
    case permanent, temporary, deliveryUnknown, cancelled

    /// sysexits.h code for this category; 130 (as after SIGINT) for a cancelled session.
    public var exitCode: Int32 {
      switch self {
      case .usage: 64
      case .dataError: 65
      case .noInput: 66
      case .hostUnknown: 68
      case .security: 77
      case .configuration: 78
      case .protocolViolation: 76
      case .permanent: 69
      case .temporary, .deliveryUnknown: 75
      case .cancelled: 130
      }
    }

    /// The verdict word of the stderr line.
    public var verdict: String {
      switch self {
      case .usage: "usage"
      case .dataError: "bad data"
      case .noInput: "cannot read"
      case .hostUnknown: "unknown host"
      case .security: "refused"
      case .configuration: "configuration"
      case .protocolViolation: "protocol violation"
      case .permanent: "failed"
      case .temporary: "temporary failure"
      case .deliveryUnknown: "delivery unknown"
      case .cancelled: "cancelled"
      }
    }
  }

  /// What went wrong, as data. Server text inside is escaped and scrubbed like the message.
  public enum Reason: Sendable, Hashable {
    /// The request cannot be carried out as given (checked before connecting).
    case invalidRequest
    /// No envelope recipient.
    case noRecipient
    /// The CA file cannot be read or holds no certificate.
    case caFileUnusable
    /// The secret could not be had (a failing password command, no source, an empty secret).
    case credentialsUnavailable
    case hostUnknown
    case connectionRefused
    case timedOut(SendStage)
    case connectionLost(SendStage)
    /// Cancelled before the write holding the final dot: nothing was delivered.
    case cancelled
    /// The end of data may have reached the server, but its final reply did not reach us.
    case deliveryUnknown
    /// Plaintext to a host that is not loopback, without the explicit permission (DESIGN §3.4).
    case plaintextNotAllowed
    /// AUTH would have gone over plaintext to a host that is not loopback; there is no override.
    case plaintextAuthentication
    case startTLSMissing
    case startTLSRefused(ReplyRecord)
    /// Bytes after the `220` to STARTTLS, or replies out of turn before TLS.
    case startTLSTampered
    /// The handshake failed (no common version or cipher, an alert, a server that does not speak TLS).
    case tlsHandshakeFailed
    /// The server answered the TLS handshake with a plaintext SMTP reply: it expects STARTTLS on that port.
    case plaintextReplyToTLS
    /// The handshake ended but the peer is not trusted: `.failed(reason:depth:)` or `.pinMismatch`. The chain is
    /// in the report's `tls` summary, so a front end can show it and offer a pin.
    case untrustedCertificate(TLSVerdict)
    /// No AUTH (or no mechanism Sealpost has) in the list that counts; `startTLSOffered` when a plaintext
    /// session's server offers STARTTLS.
    case authenticationUnavailable(offered: [String], startTLSOffered: Bool)
    case authenticationRefused(ReplyRecord)
    /// See `refusedRecipients`.
    case recipientsRefused
    /// A 4xx or 5xx at `stage`.
    case rejected(SendStage, ReplyRecord)
    /// The message needs "8BITMIME" or "SMTPUTF8", or the request "DSN" or "REQUIRETLS", which the server
    /// lacks (or, for REQUIRETLS, the session has no TLS).
    case extensionMissing(String)
    /// Larger than the server's SIZE.
    case messageTooLarge(size: Int, limit: Int)
    /// Malformed, oversized or out-of-turn replies.
    case protocolViolation
    /// The message could not be read, or a pass over it differed from the pass that checked it (a file that
    /// changed meanwhile): nothing was sent.
    case messageUnreadable
    /// A local failure (poll, socket).
    case localError
    /// A batch's session ended before this message's turn: nothing of it was sent.
    case notSent

    /// A stable name for JSON (`outcome.kind`).
    public var name: String {
      switch self {
      case .invalidRequest: "invalid_request"
      case .noRecipient: "no_recipient"
      case .caFileUnusable: "ca_file_unusable"
      case .credentialsUnavailable: "credentials_unavailable"
      case .hostUnknown: "host_unknown"
      case .connectionRefused: "connection_refused"
      case .timedOut: "timed_out"
      case .connectionLost: "connection_lost"
      case .cancelled: "cancelled"
      case .deliveryUnknown: "delivery_unknown"
      case .plaintextNotAllowed: "plaintext_not_allowed"
      case .plaintextAuthentication: "plaintext_authentication"
      case .startTLSMissing: "starttls_missing"
      case .startTLSRefused: "starttls_refused"
      case .startTLSTampered: "starttls_tampered"
      case .tlsHandshakeFailed: "tls_handshake_failed"
      case .plaintextReplyToTLS: "plaintext_reply_to_tls"
      case .untrustedCertificate: "untrusted_certificate"
      case .authenticationUnavailable: "authentication_unavailable"
      case .authenticationRefused: "authentication_refused"
      case .recipientsRefused: "recipients_refused"
      case .rejected: "rejected"
      case .extensionMissing: "extension_missing"
      case .messageTooLarge: "message_too_large"
      case .protocolViolation: "protocol_violation"
      case .messageUnreadable: "message_unreadable"
      case .localError: "local_error"
      case .notSent: "not_sent"
      }
    }
  }

  /// A recipient the server would not take, with its reply (escaped, redacted).
  public struct RefusedRecipient: Sendable, Hashable {
    public var address: String
    public var reply: String
  }

  public var category: Category
  public var reason: Reason
  /// One line, no secret, server text escaped, no command-line flag named.
  public var message: String
  public var refusedRecipients: [RefusedRecipient]

  public init(
    _ category: Category, _ message: String, reason: Reason? = nil, refusedRecipients: [RefusedRecipient] = []
  ) {
    self.category = category
    self.message = message
    self.reason = reason ?? Self.defaultReason(category)
    self.refusedRecipients = refusedRecipients
  }

  private static func defaultReason(_ category: Category) -> Reason {
    switch category {
    case .usage, .dataError, .noInput: .invalidRequest
    case .configuration: .credentialsUnavailable
    case .hostUnknown: .hostUnknown
    case .security: .tlsHandshakeFailed
    case .protocolViolation: .protocolViolation
    case .permanent, .temporary: .localError
    case .deliveryUnknown: .deliveryUnknown
    case .cancelled: .cancelled
    }
  }

  /// The category's code (DESIGN §4), or the status a cancel asked for (130, 143).
  public var exitCode: Int32 {
    get { exitCodeOverride ?? category.exitCode }
    set { exitCodeOverride = newValue }
  }
  private var exitCodeOverride: Int32?

  /// "refused: STARTTLS not offered…"; a cancelled session says only "cancelled — not sent".
  public var description: String { category == .cancelled ? message : "\(category.verdict): \(message)" }
}

/// How a session ended, for a front end to switch on.
public enum SendOutcome: Sendable, Hashable {
  /// A final 2xx after the end of data (DESIGN §3.9).
  case sent(finalReply: ReplyRecord?)
  /// A probe or account check found a trustworthy channel; `loggedIn` when a login was tried and worked.
  case checked(loggedIn: Bool)
  case failed(SendFailure)

  /// "sent", "checked", or the failure reason's name.
  public var kind: String {
    switch self {
    case .sent: "sent"
    case .checked: "checked"
    case .failed(let failure): failure.reason.name
    }
  }
}

/// The result of one send.
public struct SendReport: Sendable {
  /// nil when the message was sent: a final 2xx after the end of data.
  public var failure: SendFailure?
  /// The server's final reply after the end of data, when there was one.
  public var finalReply: ReplyRecord?

  /// What the session set out to do.
  public var goal: SMTPClientConfiguration.Goal = .deliver
  /// Whether AUTH succeeded in this session.
  public var loggedIn = false
  /// The connection was plaintext (by the user's choice): never called trustworthy.
  public var plaintext = false

  /// The TLS outcome and chain when a handshake finished, trusted or not (then nothing else was sent).
  public var tls: TLSSessionSummary? = nil
  /// The EHLO list before TLS (STARTTLS sessions, and plaintext ones); nil with implicit TLS.
  public var capabilitiesBeforeTLS: Capabilities? = nil
  /// The EHLO list inside TLS; nil when the session did not get that far, or without TLS.
  public var capabilitiesAfterTLS: Capabilities? = nil
  /// The address connected to.
  public var peer: PeerAddress? = nil
  /// Waits for the server, TCP handshake included (`SMTPConnection.roundTrips`); nil when no connection was
  /// made.
  public var roundTrips: Int? = nil

  public init(
    failure: SendFailure?, finalReply: ReplyRecord? = nil, goal: SMTPClientConfiguration.Goal = .deliver
  ) {
    self.failure = failure
    self.finalReply = finalReply
    self.goal = goal
  }

  public var exitCode: Int32 { failure?.exitCode ?? 0 }

  public var outcome: SendOutcome {
    if let failure { return .failed(failure) }
    return goal == .deliver ? .sent(finalReply: finalReply) : .checked(loggedIn: loggedIn)
  }

  /// The one line for stderr (without the "sealpost: " prefix).
  public var verdictLine: String {
    if let failure { return failure.description }
    // Issue 11: a channel without TLS is never called trustworthy; say what was checked and what was not.
    let channel =
      plaintext
      ? "the server connects and answers in plaintext, as asked (no TLS: nothing on this channel is protected "
        + "or verified)"
      : "the channel is trustworthy"
    switch goal {
    case .deliver: return "sent: \(finalReply?.text ?? "accepted")"
    case .inspect: return "ok: \(channel); nothing was sent"
    case .authenticate where loggedIn:
      return "ok: \(channel) and the login works; no mail was sent"
    case .authenticate:
      return "ok: \(channel); no login was tried (no credentials); no mail was sent"
    }
  }
}
