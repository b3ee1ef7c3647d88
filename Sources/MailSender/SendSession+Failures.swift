import SMTPProtocol
import SMTPTransport

/// How the session's failures become the exit-code categories of DESIGN §4 (first match wins) and typed reasons,
/// with one line for the user that names the host, the step and the server's words (escaped; redacted by the
/// caller). No line names a command-line flag: each front end adds its own hint from the reason.
extension SendSession {
  func deliveryUnknown(_ why: String) -> SendFailure {
    var failure = SendFailure(
      .deliveryUnknown,
      "\(why) after the end of data — the server may or may not have accepted the message",
      reason: .deliveryUnknown)
    // Cancelled after the dot: still "delivery unknown", with the cancel's exit status (DESIGN §4).
    if cancellation.isCancelled { failure.exitCode = cancellation.status }
    return failure
  }

  func cancelled() -> SendFailure {
    var failure = SendFailure(.cancelled, "cancelled — not sent", reason: .cancelled)
    failure.exitCode = cancellation.status
    return failure
  }

  func failure(from error: TransportError, awaitingFinalReply: Bool) -> SendFailure {
    if awaitingFinalReply {
      switch error.kind {
      case .timedOut, .connectionLost, .cancelled, .io:
        return deliveryUnknown(error.message)
      default:
        break
      }
    }
    let stage = self.stage ?? .connecting
    switch error.kind {
    case .hostNotFound: return SendFailure(.hostUnknown, error.message, reason: .hostUnknown)
    case .connectionRefused: return SendFailure(.permanent, error.message, reason: .connectionRefused)
    case .cancelled: return cancelled()
    case .timedOut:
      return SendFailure(.temporary, "\(error.message) (\(stage.label))", reason: .timedOut(stage))
    case .connectionLost: return SendFailure(.temporary, error.message, reason: .connectionLost(stage))
    case .io: return SendFailure(.temporary, error.message, reason: .localError)
    case .tlsHandshakeFailed:
      return SendFailure(.security, "\(error.message) — nothing was sent", reason: .tlsHandshakeFailed)
    case .untrustedPeer(let summary):
      return SendFailure(
        .security, "\(error.message) — nothing was sent", reason: .untrustedCertificate(summary.verdict))
    }
  }

  func failure(from error: any Error, awaitingFinalReply: Bool) -> SendFailure {
    if let error = error as? TransportError {
      return failure(from: error, awaitingFinalReply: awaitingFinalReply)
    }
    return SendFailure(.temporary, "\(error)", reason: .localError)
  }

  /// - Parameters:
  ///   - insideTLS: whether the session was inside TLS when it failed.
  ///   - capabilities: the server's last capability list, for a hint when AUTH is missing.
  ///   - record: turns a reply into its escaped, scrubbed record.
  static func failure(
    from failure: SMTPFailure, request: SendRequest, insideTLS: Bool = true,
    capabilities: Capabilities? = nil, messageSize: Int? = nil,
    record: (SMTPReply) -> ReplyRecord
  ) -> SendFailure {
    let host = request.host
    switch failure.kind {
    case .startTLSNotOffered:
      return SendFailure(
        .security, "STARTTLS not offered by \(host) — nothing was sent", reason: .startTLSMissing)
    case .startTLSRefused(let reply):
      let reply = record(reply)
      return SendFailure(
        .security, "STARTTLS refused by \(host) (\(reply.text)) — nothing was sent",
        reason: .startTLSRefused(reply))
    case .plaintextAuthRefused:
      return SendFailure(
        .security, "AUTH is never sent over plaintext to a non-loopback host — nothing was sent",
        reason: .plaintextAuthentication)
    case .authUnavailable(let offered):
      let list = offered.isEmpty ? "no AUTH at all" : "only " + offered.joined(separator: " ")
      let startTLSOffered = !insideTLS && capabilities?.startTLS == true
      let reason = SendFailure.Reason.authenticationUnavailable(
        offered: offered, startTLSOffered: startTLSOffered)
      if insideTLS {
        return SendFailure(
          .security, "cannot authenticate: inside TLS \(host) offers \(list) — nothing was sent",
          reason: reason)
      }
      let hint = startTLSOffered ? " (it offers STARTTLS)" : ""
      return SendFailure(
        .security, "cannot authenticate: without TLS \(host) offers \(list)\(hint) — nothing was sent",
        reason: reason)
    case .authFailed(let reply):
      let reply = record(reply)
      return SendFailure(
        .security, "authentication failed: \(reply.text) — nothing was sent",
        reason: .authenticationRefused(reply))
    case .extensionMissing("DSN"):
      // A notification request the server cannot pass on: sending without it would silently drop what was
      // asked for, and no other server will do better for this message (69, as a permanent refusal).
      return SendFailure(
        .permanent,
        "delivery status notifications were asked for, but \(host) does not offer DSN — nothing was sent",
        reason: .extensionMissing("DSN"))
    case .extensionMissing("REQUIRETLS"):
      let list = insideTLS ? "its list inside TLS" : "its list"
      return SendFailure(
        .security,
        "REQUIRETLS was asked for, but \(host) does not offer it (\(list)) — nothing was sent",
        reason: .extensionMissing("REQUIRETLS"))
    case .extensionMissing("SMTPUTF8")
    where ([request.reversePath] + request.recipients).contains { !$0.unicodeScalars.allSatisfy(\.isASCII) }:
      // Domains are sent as A-labels, so only a local part is left without an ASCII form (RFC 6531 §3.3).
      let address = ([request.reversePath] + request.recipients).first {
        !$0.unicodeScalars.allSatisfy(\.isASCII)
      }
      return SendFailure(
        .dataError,
        "the address \(UntrustedText(address ?? "").escaped) has a UTF-8 local part, which needs SMTPUTF8; "
          + "\(host) does not offer it — nothing was sent",
        reason: .extensionMissing("SMTPUTF8"))
    case .extensionMissing(let name):
      return SendFailure(
        .dataError, "the message needs \(name), which \(host) does not offer — nothing was sent",
        reason: .extensionMissing(name))
    case .messageTooLarge(let limit):
      let size = messageSize ?? request.message.byteCount ?? 0
      return SendFailure(
        .permanent,
        "the message (\(size) octets) is larger than \(host) accepts (SIZE \(limit)) — nothing was sent",
        reason: .messageTooLarge(size: size, limit: limit))
    case .rejected(let reply):
      let reply = record(reply)
      let category: SendFailure.Category = (400...499).contains(reply.code) ? .temporary : .permanent
      return SendFailure(
        category, "\(failure.stage.label) rejected: \(reply.text)",
        reason: .rejected(failure.stage.sendStage, reply))
    case .recipientsRefused(let refused):
      let anyPermanent = refused.contains { !$0.reply.isTransient }
      let list = refused.map {
        SendFailure.RefusedRecipient(address: $0.address, reply: record($0.reply).text)
      }
      let names = list.map { "<\($0.address)> (\($0.reply))" }.joined(separator: ", ")
      let scope = refused.count == request.recipients.count ? "every recipient" : "some recipients"
      return SendFailure(
        anyPermanent ? .permanent : .temporary,
        "\(scope) refused: \(names) — nothing was delivered", reason: .recipientsRefused,
        refusedRecipients: list)
    case .unexpectedReply(let reply):
      return SendFailure(
        .protocolViolation, "unexpected reply to \(failure.stage.label): \(record(reply).text)")
    case .invalidCommand(let error):
      return SendFailure(.dataError, error.message)
    }
  }
}

extension SMTPClient.Stage {
  /// The session stage an SMTP step belongs to.
  var sendStage: SendStage {
    switch self {
    case .greeting: .greeting
    case .ehlo, .helo: .ehlo
    case .startTLS: .startTLS
    case .auth: .authenticating
    case .mail, .rcpt, .data: .envelope
    case .dataEnd: .awaitingFinalReply
    case .bdat: .uploading
    }
  }
}
