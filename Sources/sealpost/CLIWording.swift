import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning

/// The core words its outcomes without naming any flag (the composer's user never typed one); the CLI adds the
/// flag that helps, chosen by the failure's reason.
enum CLIWording {
  /// What the CLI knows about the session it started, for hints that depend on the request.
  struct Context {
    var security: TransportSecurity?
    var port: UInt16?
    /// A login was configured (`--user`, or an account's `auth on`).
    var hasLogin = false
    /// The server offered AUTH in the list that counts (inside TLS when there was TLS).
    var authOffered = false
    /// `accounts check`, which takes no channel flags: hints name the account's keys instead.
    var accountKeys = false
    /// The trust the session was given: with pins, a key that matches none is shown beside them (DESIGN §6).
    var trust: TLSTrust?
    /// The pin file those pins were recorded in, when they came from it.
    var pinFile: String?
    /// The command takes the channel flags the hints name (`send`, `probe`); `outbox flush` and `sendmail` take
    /// none, so only the hints that name no flag apply to them.
    var takesFlags = true

    init(
      security: TransportSecurity? = nil, port: UInt16? = nil, hasLogin: Bool = false,
      report: SendReport? = nil, accountKeys: Bool = false, trust: TLSTrust? = nil, pinFile: String? = nil
    ) {
      self.security = security
      self.port = port
      self.hasLogin = hasLogin
      self.accountKeys = accountKeys
      self.trust = trust
      self.pinFile = pinFile
      let capabilities = report.flatMap { $0.capabilitiesAfterTLS ?? $0.capabilitiesBeforeTLS }
      authOffered = capabilities?.has("AUTH") == true
    }

    /// The context of a session that sends `request`, planned with `recorded` from the pin file: the trust and
    /// the pin file come from the plan, so every command that sends shows a changed key beside the recorded one
    /// in the same words (DESIGN §6).
    init(
      request: SendRequest, recorded: RecordedPins?, report: SendReport?, accountKeys: Bool = false,
      takesFlags: Bool = true
    ) {
      self.init(
        security: request.security, port: request.port, hasLogin: request.credentials != nil, report: report,
        accountKeys: accountKeys, trust: request.trust, pinFile: recorded?.path)
      self.takesFlags = takesFlags
    }
  }

  /// The line for one message of several (a batch, an outbox flush) that was not sent: `text` — a failure's
  /// words, which for a single send end in "— nothing was sent" — then "— not sent", said once. Of several
  /// messages the others may well have gone, so the single send's "nothing was sent" gives way.
  static func notSent(_ text: String) -> String {
    var text = text
    if text.hasSuffix(" — nothing was sent") { text.removeLast(" — nothing was sent".count) }
    return text + " — not sent"
  }

  /// The verdict line with the CLI's hint, if one helps.
  static func verdict(
    _ line: String, failure: SendFailure?, tls: TLSSessionSummary? = nil, context: Context = Context()
  ) -> String {
    guard let failure, let hint = hint(failure.reason, tls: tls, context: context) else { return line }
    return "\(line); \(hint)"
  }

  static func hint(_ reason: SendFailure.Reason, tls: TLSSessionSummary?, context: Context = Context())
    -> String?
  {
    if case .untrustedCertificate(.pinMismatch(let serverKey)) = reason,
      case .pins(let expected)? = context.trust,
      !expected.isEmpty
    {
      return changedKeyHint(expected: expected, serverKey: serverKey, context: context)
    }
    if context.accountKeys, let hint = accountHint(reason, tls: tls, context: context) { return hint }
    guard context.takesFlags else { return nil }
    switch reason {
    case .noRecipient:
      return "say --to, --cc or --bcc"
    case .plaintextNotAllowed:
      return "--allow-insecure allows plaintext to it (never with a login)"
    case .authenticationUnavailable(_, let startTLSOffered) where startTLSOffered:
      return "try --tls starttls"
    case .untrustedCertificate:
      guard let leaf = tls?.chain.first else { return nil }
      let pin = "--pin sha256/" + TranscriptText.base64(leaf.spkiSHA256)
      if case .certificateAuthorities(caFile: _?)? = context.trust {
        // The CA file was given and did not verify the chain: suggesting one would send the user in a circle.
        return "the CA file given did not verify it; to trust this key alone, \(pin)"
      }
      return "for a private CA give --ca-file CA.pem; to trust this key alone, \(pin)"
    case .plaintextReplyToTLS:
      return "use --tls starttls"
    case .timedOut(.greeting) where context.security != nil && context.security != .implicitTLS:
      let port = context.port.map { " \($0)" } ?? ""
      return "a server that speaks implicit TLS on port\(port) waits silently for the handshake: "
        + "try --tls implicit"
    case .rejected(_, let reply) where reply.code == 530 && !context.hasLogin:
      // RFC 4954 §6: 530 5.7.0 Authentication required.
      return "the server requires a login: give --user (the password comes from --password-command, "
        + "SEALPOST_PASSWORD or a prompt)"
    case .recipientsRefused where !context.hasLogin && context.authOffered,
      .rejected(.envelope, _) where !context.hasLogin && context.authOffered:
      // Found trying the product: Postfix refuses relaying to a client that did not log in ("Access denied").
      return "the server offers AUTH and no login was given: if it takes mail only after one, give --user"
    default:
      return nil
    }
  }

  /// DESIGN §6: a pinned host whose key changed — the pinned key and the server's side by side, then how to
  /// trust the new one where the old one came from (the pin file, the account, `--pin`).
  static func changedKeyHint(expected: [CertificatePin], serverKey: [UInt8], context: Context) -> String {
    let keys = RecordedPins.changedKey(expected: expected, serverKey: serverKey, recordedIn: context.pinFile)
    if context.pinFile != nil {
      return keys + " — if the server's key was changed on purpose, put the new pin in place of the old one "
        + "in that file"
    }
    if context.accountKeys {
      return keys + " — if the server's key was changed on purpose, pin the new one in the account"
    }
    // The pin came with the message (a queued send's own `--pin`): the command takes no flag to change it.
    guard context.takesFlags else { return keys }
    return keys
      + " — if the server's key was changed on purpose, --pin sha256/\(TranscriptText.base64(serverKey))"
  }

  /// The hints of `hint` for `accounts check`, worded as the account's keys (the check takes no such flags).
  static func accountHint(_ reason: SendFailure.Reason, tls: TLSSessionSummary?, context: Context) -> String?
  {
    switch reason {
    case .plaintextNotAllowed:
      return "allow_insecure on in Sealpost's config allows plaintext to it (never with a login)"
    case .authenticationUnavailable(_, let startTLSOffered) where startTLSOffered:
      return "set tls on in the account (STARTTLS)"
    case .untrustedCertificate:
      guard let leaf = tls?.chain.first else { return nil }
      return "for a private CA set tls_trust_file CA.pem in the account; to trust this key alone, pin sha256/"
        + TranscriptText.base64(leaf.spkiSHA256) + " (Sealpost's config) or the certificate's tls_fingerprint"
    case .plaintextReplyToTLS:
      return "the account asks for implicit TLS (tls_starttls off): remove that line for STARTTLS"
    case .timedOut(.greeting) where context.security != nil && context.security != .implicitTLS:
      return "a server that speaks implicit TLS on this port waits silently for the handshake: set "
        + "tls_starttls off in the account"
    default:
      return nil
    }
  }

  /// `accounts check` without a login: what was checked, and whether the server asks for one (issue 11: a check
  /// that said "ok" while every send failed with 530).
  static func checkNote(_ report: SendReport) -> String? {
    guard report.failure == nil, !report.loggedIn else { return nil }
    let capabilities = report.capabilitiesAfterTLS ?? report.capabilitiesBeforeTLS
    guard let mechanisms = capabilities?.authMechanisms, capabilities?.has("AUTH") == true else {
      return nil
    }
    let offered =
      mechanisms.isEmpty ? "" : " " + mechanisms.map { UntrustedText($0).escaped }.joined(separator: " ")
    return "the server offers AUTH\(offered): if it requires a login to send, set auth on and user in the "
      + "account; whether it takes mail without one is not checked"
  }
}
