import SMTPProtocol
import SMTPTransport

/// Where a session is (DESIGN §5): a front end shows it as a status line, the transcript as stage events.
public enum SendStage: String, Sendable, Hashable, CaseIterable, Codable {
  /// Looking up the secret (a password command, the keyring, a prompt) before connecting.
  case credentials
  /// Resolving the host name and connecting.
  case connecting
  /// Waiting for the server's greeting.
  case greeting
  case ehlo
  /// A probe's check of the server's policy before TLS: `MAIL FROM:<>`, then `RSET` (issue 15).
  case plaintextPolicy = "plaintext_policy"
  case startTLS = "starttls"
  /// The TLS handshake.
  case handshake
  /// The handshake ended and the peer is trusted: chain and name verified, or the key pinned.
  case trusted
  case authenticating
  /// MAIL, RCPT and DATA.
  case envelope
  /// Message content going out; progress events follow.
  case uploading
  /// The end of data has been written; the server's final reply decides.
  case awaitingFinalReply = "awaiting_final_reply"
  /// The outcome is decided (an outcome event follows).
  case done

  /// The step as a person reads it: "the TLS handshake", "the final reply".
  public var label: String {
    switch self {
    case .credentials: "looking up the password"
    case .connecting: "connecting"
    case .greeting: "the greeting"
    case .ehlo: "EHLO"
    case .plaintextPolicy: "the check of MAIL before TLS"
    case .startTLS: "STARTTLS"
    case .handshake: "the TLS handshake"
    case .trusted: "checking the server's certificate"
    case .authenticating: "authentication"
    case .envelope: "the envelope (MAIL, RCPT, DATA)"
    case .uploading: "sending the message"
    case .awaitingFinalReply: "the final reply"
    case .done: "closing"
    }
  }
}

/// A server reply as data: the code, the enhanced status code (RFC 3463) and the lines (escaped, scrubbed).
public struct ReplyRecord: Sendable, Hashable, Codable {
  public var code: Int
  public var enhanced: String?
  /// Whole lines as received, escaped for display (DESIGN §3.6) and free of secrets (§3.5).
  public var lines: [String]

  public init(code: Int, enhanced: String?, lines: [String]) {
    self.code = code
    self.enhanced = enhanced
    self.lines = lines
  }

  /// The lines joined by spaces, as one-line messages quote a reply.
  public var text: String { lines.joined(separator: " ") }
}

/// One recipient's RCPT result.
public struct RecipientResult: Sendable, Hashable, Codable {
  public var address: String
  public var accepted: Bool
  public var reply: ReplyRecord

  public init(address: String, accepted: Bool, reply: ReplyRecord) {
    self.address = address
    self.accepted = accepted
    self.reply = reply
  }
}

/// One thing that happened in a session, as data (DESIGN §5). Text and JSON-lines renderings are derived from
/// events (`TranscriptLine`, `TranscriptFormat`); a terminal UI switches on `payload`.
public struct SendEvent: Sendable, Hashable {
  public enum Payload: Sendable, Hashable {
    /// The session moved on to `stage`.
    case stage(SendStage)
    /// A connection attempt to `address` (one per resolved address); `server` is `host:port` as asked.
    case connecting(server: String, address: String)
    /// A command as written (AUTH arguments redacted, the user name shown).
    case command(String)
    /// A complete server reply.
    case reply(ReplyRecord)
    /// A TLS step; `.established` carries the outcome and the chain. `showsChain` is false for the probe's
    /// version attempts, which show only the outcome line.
    case tls(TLSEvent, showsChain: Bool)
    /// A recipient accepted or refused.
    case recipient(RecipientResult)
    /// Message content written so far, in octets of the message as given (before line ends are made CRLF and
    /// dots stuffed), of `total`, its exact size. At most one each 1 % or 256 KiB, whichever is more, besides
    /// the first (0) and the last (`total`).
    case progress(sent: Int, total: Int)
    /// A line of message content (`showData`), or the one-line summary of the content.
    case data(String)
    /// Information, a warning or an error in words.
    case note(NoteLevel, String)
    /// The outcome: always the last event of a session.
    case outcome(OutcomeRecord)
  }

  public enum NoteLevel: String, Sendable, Hashable, Codable {
    case info, warning, error
  }

  /// Seconds since the start of the session (on the session's clock).
  public var time: Double
  /// Whether the event concerns the TLS-protected channel.
  public var insideTLS: Bool
  public var payload: Payload

  public init(time: Double, insideTLS: Bool, payload: Payload) {
    self.time = time
    self.insideTLS = insideTLS
    self.payload = payload
  }
}

/// The final event's data: what happened, in words and as a kind and exit code a front end can switch on.
public struct OutcomeRecord: Sendable, Hashable {
  public var outcome: SendOutcome
  /// One line, no secret, server text escaped; names no command-line flag.
  public var verdict: String
  /// sysexits.h (DESIGN §4); 130 for a cancelled session.
  public var exitCode: Int32

  public init(outcome: SendOutcome, verdict: String, exitCode: Int32) {
    self.outcome = outcome
    self.verdict = verdict
    self.exitCode = exitCode
  }
}
