/// The SMTP client protocol as a value-type state machine (swift-nio style, DESIGN §2).
///
/// The driver feeds replies and events and carries out the returned `Action`s; the machine does no I/O.
/// Calls that make no sense from the driver's side (a reply while no reply was asked for, `tlsEstablished()`
/// without `.startTLS`) are programmer errors and trap. Nothing a server sends traps: every unexpected reply
/// becomes a failure.
///
/// States (`State`):
/// - `idle` → `start()` → `greeting`
/// - `greeting` → 220 → `ehlo` (RFC 5321 §3.1)
/// - `ehlo` → 2xx → capabilities; 5xx → `helo` only if allowed (RFC 5321 §3.2)
/// - with `.startTLS` outside TLS: `startTLS` → 220 → `tlsHandshake` → `tlsEstablished()` → `ehlo` again with
///   every capability forgotten (RFC 3207 §4.2)
/// - `auth` (RFC 4954) → `mail` → `rcpt(i)` → `data` → `dataEnd` (RFC 5321 §3.3); with PIPELINING the MAIL,
///   RCPT and DATA commands go in one write and the replies are read in order (RFC 2920 §3.1)
/// - `finished` after `.finish`
public struct SMTPClient: Sendable {
  /// What the driver must do next.
  public enum Action: Sendable, Hashable {
    /// Read the next reply and pass it to `received(_:)`.
    case readReply
    /// Write all of these commands in one write, then read replies (one per command).
    case send([SMTPCommand])
    /// After the 220 to STARTTLS: check that nothing is buffered (parser and socket; DESIGN §3.3), run the TLS
    /// handshake, then call `tlsEstablished()`.
    case startTLS
    /// Stream the message through `DataEncoder` (the final ".\r\n" included), then "QUIT\r\n" if `thenQuit`,
    /// in as few writes as possible; then read the reply to the end of data.
    case sendData(thenQuit: Bool)
    /// The session is over: report the result, then close as `then` says.
    case finish(SMTPResult, then: Closing)
  }

  /// How to close the connection after `.finish`.
  public enum Closing: Sendable, Hashable {
    /// Send QUIT, read its reply best-effort, close (RFC 5321 §4.1.1.10).
    case quit
    /// QUIT was already sent (pipelined after the data) or is not wanted: just close.
    case close
    /// Close at once without sending anything: the server may be reading message content, and anything
    /// sent now could end it and deliver (DESIGN §3.9).
    case abort
  }

  /// The protocol step a session is in, or failed in.
  public enum Stage: String, Sendable {
    case greeting, ehlo, helo, startTLS, auth, mail, rcpt, data, dataEnd
  }

  private enum AuthStep: Sendable {
    /// `AUTH PLAIN <ir>` sent; `resent` once the initial response was sent again after a 334.
    case plain(initialResponse: Secret, resent: Bool)
    /// `AUTH LOGIN` sent; waiting for the user name challenge.
    case loginUser(user: Secret, password: Secret)
    /// The user name sent; waiting for the password challenge.
    case loginPassword(password: Secret)
    /// The password sent; waiting for 235.
    case loginOutcome
  }

  private enum State: Sendable {
    case idle
    case greeting
    case ehlo
    case helo
    case startTLS
    case tlsHandshake
    case auth(AuthStep)
    case mail(pipelined: Bool)
    case rcpt(index: Int, pipelined: Bool)
    case data(pipelined: Bool)
    case dataEnd(pipelined: Bool)
    case finished(Stage)
  }

  private let configuration: SMTPClientConfiguration
  private var state: State = .idle
  /// A refusal of a pipelined MAIL; the RCPT and DATA replies after it are read and ignored.
  private var mailRejection: SMTPReply?
  private var refused: [RefusedRecipient] = []

  /// Implicit TLS from the start, or after `tlsEstablished()`.
  public private(set) var isInsideTLS: Bool
  /// The current capability list: `nil` before EHLO and again after STARTTLS until the new EHLO reply;
  /// `.none` after HELO.
  public private(set) var capabilities: Capabilities?

  /// A machine for one session with `configuration`.
  public init(configuration: SMTPClientConfiguration) {
    self.configuration = configuration
    self.isInsideTLS = configuration.security == .implicitTLS
  }

  /// End of data sent (`.sendData` returned) and its final reply not yet received: a drop now means
  /// "delivery unknown", never success (DESIGN §3.9).
  public var isAwaitingFinalReply: Bool {
    if case .dataEnd = state { return true }
    return false
  }

  /// The recipient whose RCPT reply is read next (its index in the configuration), while in the RCPT stage.
  public var pendingRecipientIndex: Int? {
    if case .rcpt(let index, _) = state { return index }
    return nil
  }

  /// The step the session is in, or the one it failed in.
  public var stage: Stage {
    switch state {
    case .idle, .greeting: return .greeting
    case .ehlo: return .ehlo
    case .helo: return .helo
    case .startTLS, .tlsHandshake: return .startTLS
    case .auth: return .auth
    case .mail: return .mail
    case .rcpt: return .rcpt
    case .data: return .data
    case .dataEnd: return .dataEnd
    case .finished(let stage): return stage
    }
  }

  /// Begins the session once connected (with implicit TLS, after the handshake): read the greeting.
  ///
  /// If the configuration cannot be encoded, finishes with `.invalidCommand` and `.close` before anything is
  /// sent.
  public mutating func start() -> Action {
    guard case .idle = state else { preconditionFailure("start() called twice") }
    do {
      try configuration.validate()
    } catch {
      return fail(.invalidCommand(error), at: .greeting, then: .close)
    }
    state = .greeting
    return .readReply
  }

  /// The TLS handshake after STARTTLS succeeded: EHLO again and forget every capability learnt before
  /// (RFC 3207 §4.2).
  public mutating func tlsEstablished() -> Action {
    guard case .tlsHandshake = state else {
      preconditionFailure("tlsEstablished() without a .startTLS action")
    }
    isInsideTLS = true
    capabilities = nil
    state = .ehlo
    return .send([.ehlo(configuration.ehloName)])
  }

  /// Feeds one complete reply.
  public mutating func received(_ reply: SMTPReply) -> Action {
    switch state {
    case .idle, .tlsHandshake, .finished:
      preconditionFailure("received(_:) while no reply was asked for (state \(state))")

    case .greeting:
      // RFC 5321 §3.1, §4.3.2: 220 opens; 554 (or 421) refuses.
      if reply.code == 220 {
        state = .ehlo
        return .send([.ehlo(configuration.ehloName)])
      }
      return failNegativeOrUnexpected(reply, at: .greeting)

    case .ehlo:
      // RFC 5321 §4.3.2: EHLO succeeds with 250 only.
      if reply.code == 250 {
        capabilities = Capabilities(ehloReply: reply)
        return afterGreetingExchange()
      }
      // RFC 5321 §3.2: a server that does not know EHLO answers 5xx; fall back only where policy allows.
      if reply.isPermanent && configuration.heloFallbackAllowed {
        state = .helo
        return .send([.helo(configuration.ehloName)])
      }
      return failNegativeOrUnexpected(reply, at: .ehlo)

    case .helo:
      if reply.code == 250 {
        capabilities = Capabilities.none
        return afterGreetingExchange()
      }
      return failNegativeOrUnexpected(reply, at: .helo)

    case .startTLS:
      // RFC 3207 §4: 220 means "ready to start TLS"; anything else is a refusal (DESIGN §3.3).
      guard reply.code == 220 else { return fail(.startTLSRefused(reply), at: .startTLS, then: .quit) }
      state = .tlsHandshake
      return .startTLS

    case .auth(let step):
      return receivedAuth(reply, step: step)

    case .mail(let pipelined):
      return receivedMail(reply, pipelined: pipelined)

    case .rcpt(let index, let pipelined):
      return receivedRcpt(reply, index: index, pipelined: pipelined)

    case .data(let pipelined):
      return receivedData(reply, pipelined: pipelined)

    case .dataEnd(let pipelined):
      // RFC 5321 §4.1.1.4: only the reply to the end of data says whether the message was accepted.
      let closing: Closing = pipelined ? .close : .quit
      if reply.isPositive {
        state = .finished(.dataEnd)
        return .finish(SMTPResult(finalReply: reply, failure: nil), then: closing)
      }
      if reply.isTransient || reply.isPermanent {
        return fail(.rejected(reply), at: .dataEnd, then: closing)
      }
      return fail(.unexpectedReply(reply), at: .dataEnd, then: closing)
    }
  }

  // MARK: - Steps

  /// After EHLO or HELO: STARTTLS if still needed, then AUTH, then the transaction.
  private mutating func afterGreetingExchange() -> Action {
    let current = capabilities ?? .none
    if configuration.security == .startTLS && !isInsideTLS {
      guard current.startTLS else { return fail(.startTLSNotOffered, at: .startTLS, then: .quit) }
      // STARTTLS is sent alone: it always ends a pipelined group (RFC 3207 §4.2).
      state = .startTLS
      return .send([.startTLS])
    }
    if configuration.goal == .inspect { return stopBeforeTransaction() }
    guard let authentication = configuration.authentication else { return beginTransaction() }
    // DESIGN §3.4: AUTH never goes over plaintext to a non-loopback peer.
    guard isInsideTLS || configuration.plaintextAuthAllowed else {
      return fail(.plaintextAuthRefused, at: .auth, then: .quit)
    }
    let offered = current.authMechanisms
    let useLogin: Bool
    switch authentication.mechanism {
    case .automatic where offered.contains("PLAIN"), .plain where offered.contains("PLAIN"):
      useLogin = false
    case .automatic where offered.contains("LOGIN"), .login where offered.contains("LOGIN"):
      useLogin = true
    default:
      return fail(.authUnavailable(offered: offered), at: .auth, then: .quit)
    }
    do {
      if useLogin {
        let responses = try SASL.loginResponses(user: authentication.user, password: authentication.password)
        state = .auth(.loginUser(user: responses.user, password: responses.password))
        return .send([.auth(mechanism: "LOGIN", initialResponse: nil)])
      }
      let initialResponse = try SASL.plainInitialResponse(
        user: authentication.user, password: authentication.password)
      state = .auth(.plain(initialResponse: initialResponse, resent: false))
      return .send([.auth(mechanism: "PLAIN", initialResponse: initialResponse)])
    } catch {
      return fail(.invalidCommand(error), at: .auth, then: .quit)
    }
  }

  /// RFC 4954 §4, §6: 235 succeeds, 334 asks for the next response, 5xx fails authentication.
  private mutating func receivedAuth(_ reply: SMTPReply, step: AuthStep) -> Action {
    if reply.isPermanent { return fail(.authFailed(reply), at: .auth, then: .quit) }
    if reply.isTransient { return fail(.rejected(reply), at: .auth, then: .quit) }
    switch (step, reply.code) {
    case (.plain, 235), (.loginOutcome, 235):
      return beginTransaction()
    case (.plain(let initialResponse, false), 334):
      // Some servers ignore the initial response and send an empty challenge: answer it once.
      state = .auth(.plain(initialResponse: initialResponse, resent: true))
      return .send([.saslResponse(initialResponse)])
    case (.loginUser(let user, let password), 334):
      state = .auth(.loginPassword(password: password))
      return .send([.saslResponse(user)])
    case (.loginPassword(let password), 334):
      state = .auth(.loginOutcome)
      return .send([.saslResponse(password)])
    default:
      return fail(.unexpectedReply(reply), at: .auth, then: .quit)
    }
  }

  /// `.inspect` and `.authenticate` end here, successfully, with QUIT: nothing of a transaction is sent.
  private mutating func stopBeforeTransaction() -> Action {
    state = .finished(stage)
    return .finish(SMTPResult(finalReply: nil, failure: nil), then: .quit)
  }

  /// Checks what the message needs against the current list, then sends MAIL (and, with PIPELINING, every
  /// RCPT and DATA in the same write: RFC 2920 §3.1).
  private mutating func beginTransaction() -> Action {
    if configuration.goal != .deliver { return stopBeforeTransaction() }
    // Invariant: with STARTTLS the transaction only ever uses the post-TLS list (DESIGN §3.3).
    precondition(configuration.security != .startTLS || isInsideTLS, "transaction before STARTTLS")
    let current = capabilities ?? .none
    if configuration.messageNeeds8BitMIME && !current.eightBitMIME {
      return fail(.extensionMissing("8BITMIME"), at: .mail, then: .quit)
    }
    if configuration.messageNeedsSMTPUTF8 && !current.smtpUTF8 {
      return fail(.extensionMissing("SMTPUTF8"), at: .mail, then: .quit)
    }
    if let size = configuration.messageSize, let limit = current.size, size > limit {
      return fail(.messageTooLarge(limit: limit), at: .mail, then: .quit)
    }
    let mail = SMTPCommand.mail(
      reversePath: configuration.reversePath,
      parameters: configuration.mailParameters(sizeExtension: current.sizeExtension))
    mailRejection = nil
    refused = []
    if current.pipelining {
      state = .mail(pipelined: true)
      let recipients = configuration.recipients.map { SMTPCommand.rcpt(forwardPath: $0, parameters: []) }
      return .send([mail] + recipients + [.data])
    }
    state = .mail(pipelined: false)
    return .send([mail])
  }

  private mutating func receivedMail(_ reply: SMTPReply, pipelined: Bool) -> Action {
    // RFC 5321 §4.3.2: MAIL succeeds with 250 only.
    if reply.code == 250 {
      state = .rcpt(index: 0, pipelined: pipelined)
      return pipelined ? .readReply : .send([rcpt(0)])
    }
    if reply.isTransient || reply.isPermanent {
      guard pipelined else { return fail(.rejected(reply), at: .mail, then: .quit) }
      // The RCPT and DATA replies are still on their way: read them, then report this one.
      mailRejection = reply
      state = .rcpt(index: 0, pipelined: true)
      return .readReply
    }
    return fail(.unexpectedReply(reply), at: .mail, then: pipelined ? .abort : .quit)
  }

  private mutating func receivedRcpt(_ reply: SMTPReply, index: Int, pipelined: Bool) -> Action {
    if reply.isTransient || reply.isPermanent {
      if mailRejection == nil {
        refused.append(RefusedRecipient(address: configuration.recipients[index], reply: reply))
      }
    } else if reply.code != 250 && reply.code != 251 {
      // RFC 5321 §4.3.2: RCPT succeeds with 250 or 251.
      // With DATA pipelined and unread, the server may be about to read content: send nothing more.
      return fail(.unexpectedReply(reply), at: .rcpt, then: pipelined ? .abort : .quit)
    }
    let next = index + 1
    if next < configuration.recipients.count {
      // Without PIPELINING every recipient is still asked, so that each refusal is reported.
      state = .rcpt(index: next, pipelined: pipelined)
      return pipelined ? .readReply : .send([rcpt(next)])
    }
    if pipelined {
      state = .data(pipelined: true)
      return .readReply
    }
    // DESIGN §3.9: all or nothing; DATA is never sent after a refusal.
    guard refused.isEmpty else { return fail(.recipientsRefused(refused), at: .rcpt, then: .quit) }
    state = .data(pipelined: false)
    return .send([.data])
  }

  private mutating func receivedData(_ reply: SMTPReply, pipelined: Bool) -> Action {
    // After a 354 the server reads content: ending it in any way could deliver, so close without a word
    // (RFC 2920 §3.1, DESIGN §3.9). Any other intermediate reply is treated the same.
    let closing: Closing = reply.isIntermediate ? .abort : .quit
    if let mailRejection { return fail(.rejected(mailRejection), at: .mail, then: closing) }
    if !refused.isEmpty { return fail(.recipientsRefused(refused), at: .rcpt, then: closing) }
    if reply.code == 354 {
      state = .dataEnd(pipelined: pipelined)
      return .sendData(thenQuit: pipelined)
    }
    if reply.isTransient || reply.isPermanent { return fail(.rejected(reply), at: .data, then: .quit) }
    return fail(.unexpectedReply(reply), at: .data, then: closing)
  }

  // MARK: - Helpers

  private func rcpt(_ index: Int) -> SMTPCommand {
    .rcpt(forwardPath: configuration.recipients[index], parameters: [])
  }

  private mutating func failNegativeOrUnexpected(_ reply: SMTPReply, at stage: Stage) -> Action {
    let kind: SMTPFailure.Kind =
      reply.isTransient || reply.isPermanent ? .rejected(reply) : .unexpectedReply(reply)
    return fail(kind, at: stage, then: .quit)
  }

  private mutating func fail(_ kind: SMTPFailure.Kind, at stage: Stage, then closing: Closing) -> Action {
    state = .finished(stage)
    return .finish(SMTPResult(finalReply: nil, failure: SMTPFailure(kind: kind, stage: stage)), then: closing)
  }
}
