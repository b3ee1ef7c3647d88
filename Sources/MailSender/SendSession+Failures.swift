import SMTPProtocol
import SMTPTransport

/// How the session's failures become the exit-code categories of DESIGN §4 (first match wins), with one line
/// for the user that names the host, the step and the server's words (escaped; redacted by the caller).
extension SendSession {
  func deliveryUnknown(_ why: String) -> SendFailure {
    SendFailure(
      .deliveryUnknown,
      "\(why) after the end of data — the server may or may not have accepted the message")
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
    switch error.kind {
    case .hostNotFound: return SendFailure(.hostUnknown, error.message)
    case .connectionRefused: return SendFailure(.permanent, error.message)
    case .timedOut, .connectionLost, .cancelled, .io: return SendFailure(.temporary, error.message)
    case .tlsHandshakeFailed, .untrustedPeer:
      return SendFailure(.security, "\(error.message) — nothing was sent")
    }
  }

  func failure(from error: any Error, awaitingFinalReply: Bool) -> SendFailure {
    if let error = error as? TransportError {
      return failure(from: error, awaitingFinalReply: awaitingFinalReply)
    }
    return SendFailure(.temporary, "\(error)")
  }

  /// - Parameters:
  ///   - insideTLS: whether the session was inside TLS when it failed.
  ///   - capabilities: the server's last capability list, for a hint when AUTH is missing.
  static func failure(
    from failure: SMTPFailure, request: SendRequest, insideTLS: Bool = true, capabilities: Capabilities? = nil
  ) -> SendFailure {
    let host = request.host
    func text(_ reply: SMTPReply) -> String { reply.lines.map(\.escaped).joined(separator: " ") }
    switch failure.kind {
    case .startTLSNotOffered:
      return SendFailure(.security, "STARTTLS not offered by \(host) — nothing was sent")
    case .startTLSRefused(let reply):
      return SendFailure(.security, "STARTTLS refused by \(host) (\(text(reply))) — nothing was sent")
    case .plaintextAuthRefused:
      return SendFailure(
        .security, "AUTH is never sent over plaintext to a non-loopback host — nothing was sent")
    case .authUnavailable(let offered):
      let list = offered.isEmpty ? "no AUTH at all" : "only " + offered.joined(separator: " ")
      if insideTLS {
        return SendFailure(
          .security, "cannot authenticate: inside TLS \(host) offers \(list) — nothing was sent")
      }
      let hint = capabilities?.startTLS == true ? " (it offers STARTTLS: try --tls starttls)" : ""
      return SendFailure(
        .security, "cannot authenticate: without TLS \(host) offers \(list)\(hint) — nothing was sent")
    case .authFailed(let reply):
      return SendFailure(.security, "authentication failed: \(text(reply)) — nothing was sent")
    case .extensionMissing(let name):
      return SendFailure(
        .dataError, "the message needs \(name), which \(host) does not offer — nothing was sent")
    case .messageTooLarge(let limit):
      return SendFailure(
        .permanent, "the message is larger than \(host) accepts (SIZE \(limit)) — nothing was sent")
    case .rejected(let reply):
      let category: SendFailure.Category = reply.isTransient ? .temporary : .permanent
      let stage = failure.stage.label
      return SendFailure(category, "\(stage) rejected: \(text(reply))")
    case .recipientsRefused(let refused):
      let anyPermanent = refused.contains { !$0.reply.isTransient }
      let list = refused.map { SendFailure.RefusedRecipient(address: $0.address, reply: text($0.reply)) }
      let names = list.map { "<\($0.address)> (\($0.reply))" }.joined(separator: ", ")
      let scope = refused.count == request.recipients.count ? "every recipient" : "some recipients"
      return SendFailure(
        anyPermanent ? .permanent : .temporary,
        "\(scope) refused: \(names) — nothing was delivered", refusedRecipients: list)
    case .unexpectedReply(let reply):
      return SendFailure(.protocolViolation, "unexpected reply to \(failure.stage.label): \(text(reply))")
    case .invalidCommand(let error):
      return SendFailure(.dataError, error.message)
    }
  }
}
