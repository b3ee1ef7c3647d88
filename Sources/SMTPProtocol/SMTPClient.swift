import MailMessage

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
/// - with `examinesContent`, before MAIL: `.examineContent(offer)` → `contentExamined(_:)` with what the message
///   needs and its size, checked against the list that counts (issue 10)
/// - `auth` (RFC 4954) → `mail` → `rcpt(i)` → `data` → `dataEnd` (RFC 5321 §3.3); with PIPELINING the MAIL,
///   RCPT and DATA commands go in one write and the replies are read in order (RFC 2920 §3.1)
/// - with PIPELINING and CHUNKING the content goes in BDAT chunks instead of DATA (RFC 3030): for one
///   recipient MAIL, RCPT, every chunk and QUIT in one write (`.sendChunks`, then `chunksSent(_:)`), the
///   replies read in order, `chunk(i)` for each chunk; for several, MAIL and every RCPT first, and the chunks
///   only once every recipient is accepted (DESIGN §3.9)
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
    /// Write `prefix`, then the message through `DataEncoder(framing: .chunked)` as BDAT chunks of bounded
    /// size (each `.bdat(size:last:)` followed by exactly that many octets, the last with `LAST`), then
    /// "QUIT\r\n", in as few writes as possible (RFC 3030 §2, §4.2; RFC 2920 §3.1). Then call
    /// `chunksSent(_:)` with the number of BDAT commands written, and read replies: one per command of
    /// `prefix`, then one per chunk.
    case sendChunks(prefix: [SMTPCommand])
    /// Find what the message needs when it is written for a server offering `offer` (a pass over it), then
    /// call `contentExamined(_:)`. Only with `examinesContent`, once per transaction, before MAIL.
    case examineContent(ContentOffer)
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
    /// A BDAT chunk before the last (the last one's reply is the `dataEnd` reply).
    case bdat
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
    /// Reading the reply to BDAT chunk `index` (of `chunkCount`).
    case chunk(index: Int)
    case finished(Stage)
  }

  /// How this transaction sends the content.
  private enum Transfer: Sendable {
    case data
    /// BDAT, with MAIL and RCPT in the same write as the chunks (one recipient).
    case chunksWithEnvelope
    /// BDAT once every recipient is accepted (several recipients).
    case chunksAfterRecipients
  }

  private var configuration: SMTPClientConfiguration
  /// `.examineContent` returned and `contentExamined(_:)` not yet called.
  private var awaitingExamination = false
  private var state: State = .idle
  /// A refusal of a pipelined MAIL; the RCPT and DATA replies after it are read and ignored.
  private var mailRejection: SMTPReply?
  private var refused: [RefusedRecipient] = []
  private var transfer = Transfer.data
  /// `.sendChunks` returned and `chunksSent(_:)` not yet called.
  private var awaitingChunkCount = false
  /// BDAT chunks written (their replies are read after those of the prefix).
  private var chunkCount = 0
  /// The BDAT LAST chunk was written: whatever is read now, the server may have the whole message.
  private var contentSent = false
  /// The first refused chunk before the last; the replies after it are read, then it is reported.
  private var chunkRejection: SMTPReply?

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
  ///
  /// With BDAT this holds from the write of the LAST chunk on, through the replies to MAIL, RCPT and every
  /// chunk, until the server has refused something: after a refused MAIL, recipient or chunk the transaction
  /// has failed (RFC 3030 §2), so a drop then means nothing was delivered.
  public var isAwaitingFinalReply: Bool {
    switch state {
    case .dataEnd: return true
    case .finished, .idle: return false
    default: return contentSent && mailRejection == nil && refused.isEmpty && chunkRejection == nil
    }
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
    case .chunk(let index): return index == chunkCount - 1 ? .dataEnd : .bdat
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

  /// After `.sendChunks`: `count` BDAT commands (at least one, the last with LAST) were written. Read the
  /// replies next.
  public mutating func chunksSent(_ count: Int) -> Action {
    guard awaitingChunkCount, count >= 1 else {
      preconditionFailure("chunksSent(\(count)) without a .sendChunks action")
    }
    awaitingChunkCount = false
    chunkCount = count
    contentSent = true
    return .readReply
  }

  /// The envelope uses SMTPUTF8 (RFC 6531): its addresses may be UTF-8. Settled once the content is examined.
  public var usesSMTPUTF8: Bool { configuration.messageNeedsSMTPUTF8 }

  /// After `.examineContent`: what the message needs and its size. The transaction goes on (MAIL), or fails
  /// before it when the server lacks what the message needs.
  public mutating func contentExamined(_ needs: ContentNeeds) -> Action {
    guard awaitingExamination else {
      preconditionFailure("contentExamined(_:) without an .examineContent action")
    }
    awaitingExamination = false
    configuration.messageNeeds8BitMIME = configuration.messageNeeds8BitMIME || needs.eightBitMIME
    configuration.messageNeedsSMTPUTF8 = configuration.messageNeedsSMTPUTF8 || needs.smtpUTF8
    configuration.messageSize = needs.size
    configuration.examinesContent = false
    return beginTransaction()
  }

  /// Feeds one complete reply.
  public mutating func received(_ reply: SMTPReply) -> Action {
    precondition(!awaitingChunkCount, "received(_:) before chunksSent(_:)")
    precondition(!awaitingExamination, "received(_:) before contentExamined(_:)")
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

    case .chunk(let index):
      return receivedChunk(reply, index: index)
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
    if configuration.examinesContent {
      awaitingExamination = true
      return .examineContent(ContentOffer(eightBitMIME: current.eightBitMIME, smtpUTF8: current.smtpUTF8))
    }
    if let refusal = Self.refusalBeforeMail(configuration, capabilities: current, isInsideTLS: isInsideTLS) {
      return fail(refusal, at: .mail, then: .quit)
    }
    let mail = SMTPCommand.mail(
      reversePath: configuration.reversePath,
      parameters: configuration.mailParameters(sizeExtension: current.sizeExtension))
    mailRejection = nil
    refused = []
    if current.pipelining {
      state = .mail(pipelined: true)
      let recipients = configuration.recipients.indices.map(rcpt)
      // RFC 3030 §4.2: BDAT may be pipelined; without PIPELINING DATA is kept (one round trip fewer is the
      // only gain, and it needs the replies in flight).
      if current.chunking {
        if recipients.count == 1 {
          // One recipient: all or nothing holds whatever its reply, so nothing needs to wait.
          transfer = .chunksWithEnvelope
          awaitingChunkCount = true
          return .sendChunks(prefix: [mail] + recipients)
        }
        transfer = .chunksAfterRecipients
        return .send([mail] + recipients)
      }
      return .send([mail] + recipients + [.data])
    }
    state = .mail(pipelined: false)
    return .send([mail])
  }

  /// What the server lacks for this transaction (checked before MAIL, so nothing of it is sent): an extension
  /// the message or the request needs, or room for its size. One rule for a single send and for a batch.
  static func refusalBeforeMail(
    _ configuration: SMTPClientConfiguration, capabilities current: Capabilities, isInsideTLS: Bool
  ) -> SMTPFailure.Kind? {
    if configuration.messageNeeds8BitMIME && !current.eightBitMIME { return .extensionMissing("8BITMIME") }
    if configuration.messageNeedsSMTPUTF8 && !current.smtpUTF8 { return .extensionMissing("SMTPUTF8") }
    if configuration.dsn != nil && !current.dsn { return .extensionMissing("DSN") }
    // RFC 8689 §4.1: REQUIRETLS only over TLS, and only to a server that lists it (inside TLS).
    if configuration.requireTLS && (!current.requireTLS || !isInsideTLS) {
      return .extensionMissing("REQUIRETLS")
    }
    if let size = configuration.messageSize, let limit = current.size, size > limit {
      return .messageTooLarge(limit: limit)
    }
    return nil
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
    return fail(.unexpectedReply(reply), at: .mail, then: pipelined ? closingMidPipeline : .quit)
  }

  private mutating func receivedRcpt(_ reply: SMTPReply, index: Int, pipelined: Bool) -> Action {
    if reply.isTransient || reply.isPermanent {
      if mailRejection == nil {
        refused.append(RefusedRecipient(address: configuration.recipients[index], reply: reply))
      }
    } else if reply.code != 250 && reply.code != 251 {
      // RFC 5321 §4.3.2: RCPT succeeds with 250 or 251.
      // With DATA pipelined and unread, the server may be about to read content: send nothing more.
      return fail(.unexpectedReply(reply), at: .rcpt, then: pipelined ? closingMidPipeline : .quit)
    }
    let next = index + 1
    if next < configuration.recipients.count {
      // Without PIPELINING every recipient is still asked, so that each refusal is reported.
      state = .rcpt(index: next, pipelined: pipelined)
      return pipelined ? .readReply : .send([rcpt(next)])
    }
    if pipelined {
      switch transfer {
      case .data:
        state = .data(pipelined: true)
        return .readReply
      case .chunksWithEnvelope:
        state = .chunk(index: 0)
        return .readReply
      case .chunksAfterRecipients:
        // DESIGN §3.9: all or nothing; no chunk is sent after a refusal, and nothing is pending.
        if let mailRejection { return fail(.rejected(mailRejection), at: .mail, then: .quit) }
        guard refused.isEmpty else { return fail(.recipientsRefused(refused), at: .rcpt, then: .quit) }
        state = .chunk(index: 0)
        awaitingChunkCount = true
        return .sendChunks(prefix: [])
      }
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

  /// RFC 3030 §2: each chunk gets one reply; the reply to the LAST chunk is the reply to the whole message.
  /// Every reply is already on its way (QUIT went after the last chunk), so all are read and the first
  /// failure is reported.
  private mutating func receivedChunk(_ reply: SMTPReply, index: Int) -> Action {
    let isLast = index == chunkCount - 1
    if !isLast {
      if reply.isTransient || reply.isPermanent {
        if chunkRejection == nil { chunkRejection = reply }
      } else if reply.code != 250 {
        return fail(.unexpectedReply(reply), at: .bdat, then: .close)
      }
      state = .chunk(index: index + 1)
      return .readReply
    }
    if let mailRejection { return fail(.rejected(mailRejection), at: .mail, then: .close) }
    if !refused.isEmpty { return fail(.recipientsRefused(refused), at: .rcpt, then: .close) }
    if let chunkRejection {
      // A refused chunk means the transaction failed (RFC 3030 §2); a 2xx for the whole message after it
      // contradicts that, and the message may have been delivered incomplete: a protocol violation.
      if reply.isPositive { return fail(.unexpectedReply(reply), at: .dataEnd, then: .close) }
      return fail(.rejected(chunkRejection), at: .bdat, then: .close)
    }
    if reply.isPositive {
      state = .finished(.dataEnd)
      return .finish(SMTPResult(finalReply: reply, failure: nil), then: .close)
    }
    if reply.isTransient || reply.isPermanent { return fail(.rejected(reply), at: .dataEnd, then: .close) }
    return fail(.unexpectedReply(reply), at: .dataEnd, then: .close)
  }

  // MARK: - Helpers

  /// Closing after an out-of-turn reply inside a pipelined group: with DATA in flight the server may be
  /// reading content, so nothing more is sent; once the LAST chunk (and QUIT) went, there is nothing to add.
  private var closingMidPipeline: Closing { contentSent ? .close : .abort }

  private func rcpt(_ index: Int) -> SMTPCommand {
    let recipient = configuration.recipients[index]
    return .rcpt(forwardPath: recipient, parameters: configuration.rcptParameters(forwardPath: recipient))
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
