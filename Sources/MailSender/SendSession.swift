import MailMessage
import SMTPProtocol
import SMTPTransport

#if canImport(Glibc)
  import Glibc
#endif

/// One send, from the secret lookup to close, on the session's own thread. Not reusable.
struct SendSession {
  let request: SendRequest
  let cancellation: Cancellation
  let clock: any SessionClock
  let start: Duration
  let sink: @Sendable (SendEvent) -> Void
  /// Built once the secret is known.
  var redactor = Redactor(secrets: [])
  /// DESIGN §3.5, issue 7: a server can only echo a secret it has received, so received text is scrubbed only
  /// once AUTH has gone out (scrubbing before would blank harmless text that happens to contain a short secret).
  var secretSent = false
  /// The login with the secret resolved.
  var login: SMTPClientConfiguration.Authentication?
  var stage: SendStage?

  var connection: SMTPConnection?
  var parser = ReplyParser()
  var insideTLS = false
  /// Bytes of content written so far, counted in the message as given (before dot-stuffing).
  var uploaded = 0
  /// What the check pass found; the pass that is sent must find the same.
  var checkedContent: CheckedContent?
  /// A batch's transactions: no stage or progress events per message (issue 12 §4: a few events a message).
  var quietTransactions = false
  /// Small writes are kept until the session waits (a batch's transactions); see `transmit`.
  var coalescesWrites = false
  var pendingOutput: [UInt8] = []
  static let coalescedLimit = 64 << 10
  /// A batch's hook before each message's final write, and the message being written.
  var batchHook: (@Sendable (Int) throws(SendFailure) -> Void)?
  var batchIndex = 0

  // What the probe needs beyond the report (issue 3); `send` fills them too.
  /// The versions offered; the probe's version attempts offer one at a time.
  var tlsVersions: ClosedRange<TLSVersion> = .tls12 ... .tls13
  /// End right after the handshake (and close): a probe's version attempt.
  var stopAfterHandshake = false
  /// End with the outcome event; the probe words its own.
  var emitsOutcome = true
  /// Show each certificate of the chain after the handshake (version attempts show only the outcome).
  var showsChain = true
  /// Before STARTTLS, ask whether the server takes mail without TLS: `MAIL FROM:<>`, then `RSET` (issue 15).
  /// A probe's own session only; never inside TLS, never with implicit TLS or plaintext.
  var checksPlaintextMail = false
  /// The reply to that `MAIL FROM:<>` (escaped), once read.
  var plaintextMailReply: ReplyRecord?
  /// A TLS handshake was started (so its outcome says something about the server's TLS).
  var reachedHandshake = false
  var peer: PeerAddress?
  var tlsSummary: TLSSessionSummary?
  var capabilitiesBeforeTLS: Capabilities?
  var capabilitiesAfterTLS: Capabilities?
  /// The DSN request with its envelope ID settled once (the message's Message-ID, or random).
  let dsn: DSNRequest?

  /// The size at which a BDAT chunk goes, in octets as sent (it ends with the read that reaches it, so it is at
  /// most this plus one encoded read of `readSize`): bounded memory for any message size, few enough replies in
  /// flight that they never fill a socket buffer.
  static let maximumChunkOctets = 1 << 20

  /// Each pass reads the message in pieces of this size into one buffer of the session's: memory stays the
  /// same whatever the size of the message.
  static let readSize = 256 << 10

  /// What the check pass found: the send pass must read the same size and traits for the same offer.
  struct CheckedContent {
    var offer: ContentOffer
    var size: Int
    var traits: MessageTraits

    var needs: ContentNeeds {
      ContentNeeds(eightBitMIME: traits.eightBitBody, smtpUTF8: traits.eightBitHeaders, size: size)
    }
  }

  init(
    request: SendRequest, cancellation: Cancellation, clock: any SessionClock, start: Duration? = nil,
    sink: @escaping @Sendable (SendEvent) -> Void
  ) {
    self.request = request
    self.cancellation = cancellation
    self.clock = clock
    self.start = start ?? clock.now()
    self.sink = sink
    var dsn = request.dsn
    if dsn != nil && dsn?.envelopeID == nil {
      if let id = request.message.messageID,
        DSNRequest.xtext(id).count <= DSNRequest.maximumEnvelopeIDLength
      {
        dsn?.envelopeID = id
      } else {
        var generator = SystemRandomNumberGenerator()
        let hex = (0..<4).map { _ in
          let value = generator.next() as UInt32
          let digits = String(value, radix: 16)
          return String(repeating: "0", count: 8 - digits.count) + digits
        }
        dsn?.envelopeID = hex.joined()
      }
    }
    self.dsn = dsn
  }

  // MARK: - Events

  func emit(_ payload: SendEvent.Payload, insideTLS: Bool? = nil) {
    let elapsed = clock.now() - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    sink(SendEvent(time: seconds, insideTLS: insideTLS ?? self.insideTLS, payload: scrubbed(payload)))
  }

  func note(_ level: SendEvent.NoteLevel, _ text: String, insideTLS: Bool? = nil) {
    emit(.note(level, text), insideTLS: insideTLS)
  }

  mutating func enter(_ next: SendStage) {
    guard stage != next else { return }
    stage = next
    if !quietTransactions { emit(.stage(next)) }
  }

  func scrub(_ text: String) -> String { secretSent ? redactor.scrub(text) : text }

  func scrubbed(_ payload: SendEvent.Payload) -> SendEvent.Payload {
    guard secretSent else { return payload }
    switch payload {
    case .reply(let reply): return .reply(scrubbed(reply))
    case .recipient(var result):
      result.reply = scrubbed(result.reply)
      return .recipient(result)
    case .note(let level, let text): return .note(level, redactor.scrub(text))
    case .data(let text): return .data(redactor.scrub(text))
    case .outcome(var record):
      record.verdict = redactor.scrub(record.verdict)
      return .outcome(record)
    case .stage, .connecting, .command, .tls, .progress: return payload
    }
  }

  func scrubbed(_ reply: ReplyRecord) -> ReplyRecord {
    var copy = reply
    copy.lines = reply.lines.map(redactor.scrub)
    return copy
  }

  func record(_ reply: SMTPReply) -> ReplyRecord {
    ReplyRecord(
      code: reply.code, enhanced: reply.enhancedStatus, lines: reply.lines.map { scrub($0.escaped) })
  }

  var deadline: Deadline { .after(request.timeout, on: clock) }

  // MARK: - Run

  mutating func run() -> SendReport {
    var report: SendReport
    do {
      try checkRequest()
      try resolveCredentials()
      report = try converse()
    } catch let failure as SendFailure {
      report = SendReport(failure: scrubbed(failure))
    } catch {
      report = SendReport(failure: SendFailure(.temporary, scrub("\(error)"), reason: .localError))
    }
    report.roundTrips = connection?.roundTrips
    connection?.close()
    connection = nil
    report.goal = request.goal
    report.plaintext = request.security == .plaintext
    report.tls = tlsSummary
    report.capabilitiesBeforeTLS = capabilitiesBeforeTLS
    report.capabilitiesAfterTLS = capabilitiesAfterTLS
    report.peer = peer
    if emitsOutcome {
      enter(.done)
      emit(
        .outcome(
          OutcomeRecord(outcome: report.outcome, verdict: report.verdictLine, exitCode: report.exitCode)))
    }
    return report
  }

  func scrubbed(_ failure: SendFailure) -> SendFailure {
    guard secretSent else { return failure }
    var copy = failure
    copy.message = redactor.scrub(failure.message)
    copy.refusedRecipients = failure.refusedRecipients.map {
      SendFailure.RefusedRecipient(address: $0.address, reply: redactor.scrub($0.reply))
    }
    return copy
  }

  /// Checks that need no network (DESIGN §3.8: bad data refused before connecting).
  func checkRequest() throws {
    if case .certificateAuthorities(let caFile?) = request.trust,
      let problem = CertificateFile.problem(atPath: caFile)
    {
      throw SendFailure(
        .noInput, "the CA file \(UntrustedText(caFile).escaped) cannot be used: \(problem)",
        reason: .caFileUnusable)
    }
    if request.goal == .deliver && request.recipients.isEmpty {
      throw SendFailure(.usage, "no recipient", reason: .noRecipient)
    }
    // RFC 8689: REQUIRETLS promises TLS on every hop, starting with this one.
    if request.goal == .deliver && request.requireTLS && request.security == .plaintext {
      throw SendFailure(
        .security, "REQUIRETLS was asked for on a plaintext connection — nothing was sent",
        reason: .invalidRequest)
    }
    try validate(authentication: nil)
  }

  func validate(authentication: SMTPClientConfiguration.Authentication?) throws {
    var configuration = clientConfiguration(
      ehloName: request.ehloName ?? "[127.0.0.1]", peerIsLoopback: false)
    // The local address literal is not known yet; any literal stands in for it here.
    configuration.authentication = authentication
    do {
      try configuration.validate()
    } catch {
      throw SendFailure(.dataError, error.message)
    }
  }

  /// The secret, from the request or its lookup (a password command, the keyring, a prompt): bounded by the
  /// step's deadline and cancelled with the send.
  mutating func resolveCredentials() throws {
    guard let credentials = request.credentials else { return }
    let password: Secret
    switch credentials.password {
    case .secret(let secret):
      password = secret
    case .lookup(let lookup):
      enter(.credentials)
      do {
        password = try lookup(SecretLookupContext(cancellation: cancellation, deadline: deadline))
      } catch {
        throw cancellation.isCancelled ? cancelled() : error
      }
      if cancellation.isCancelled { throw cancelled() }
    }
    let authentication = SMTPClientConfiguration.Authentication(
      user: credentials.user, password: password, mechanism: credentials.mechanism)
    var secrets = [password, Secret(SASL.base64(password.bytes))]
    if let blob = try? SASL.plainInitialResponse(user: credentials.user, password: password) {
      secrets.append(blob)
    }
    redactor = Redactor(secrets: secrets)
    try validate(authentication: authentication)
    login = authentication
  }

  func clientConfiguration(ehloName: String, peerIsLoopback: Bool) -> SMTPClientConfiguration {
    SMTPClientConfiguration(
      security: request.security,
      ehloName: ehloName,
      authentication: login,
      plaintextAuthAllowed: peerIsLoopback,
      heloFallbackAllowed: request.security == .implicitTLS
        || (peerIsLoopback && request.credentials == nil),
      reversePath: request.reversePath,
      recipients: request.recipients,
      messageNeedsSMTPUTF8: request.envelopeNeedsSMTPUTF8,
      goal: request.goal,
      dsn: dsn,
      requireTLS: request.requireTLS,
      examinesContent: request.goal == .deliver
    )
  }

  /// Connects, applies the plaintext policy and, with implicit TLS, runs the handshake: the channel up to the
  /// greeting, the same for a send, a probe and a batch.
  mutating func openChannel() throws -> SMTPConnection {
    let connection = try connect()
    self.connection = connection
    peer = connection.peer
    if request.security == .plaintext {
      try ChannelPolicy.checkPlaintext(
        peer: connection.peer, allowInsecure: request.allowInsecure,
        hasCredentials: request.credentials != nil)
      note(.warning, "plaintext session: no TLS, everything below is readable on the network")
    }
    if request.security == .implicitTLS { try handshake() }
    return connection
  }

  mutating func converse() throws -> SendReport {
    let connection = try openChannel()
    let peer = connection.peer
    if request.security == .implicitTLS && stopAfterHandshake {
      return SendReport(failure: nil, goal: request.goal)
    }

    let configuration = clientConfiguration(
      ehloName: request.ehloName ?? connection.local.addressLiteral, peerIsLoopback: peer.isLoopback)
    var client = SMTPClient(configuration: configuration)
    var action = client.start()
    enter(.greeting)
    while true {
      if cancellation.isCancelled {
        throw client.isAwaitingFinalReply ? deliveryUnknown("cancelled") : cancelled()
      }
      switch action {
      case .readReply:
        let reply = try readReply(awaitingFinalReply: client.isAwaitingFinalReply)
        if client.stage == .rcpt, let index = client.pendingRecipientIndex, index < request.recipients.count {
          emit(
            .recipient(
              RecipientResult(
                address: request.recipients[index], accepted: reply.isPositive, reply: record(reply))))
        }
        action = client.received(reply)
      case .send(let commands):
        try checkServerWaitedItsTurn(insideTLS: client.isInsideTLS)
        if checksPlaintextMail && commands == [.startTLS] && request.security == .startTLS
          && !client.isInsideTLS
        {
          checksPlaintextMail = false
          try checkPlaintextMail(client)
        }
        try send(commands, utf8Paths: client.usesSMTPUTF8)
        action = .readReply
      case .examineContent(let offer):
        let needs = try examineContent(for: offer)
        action = client.contentExamined(needs)
      case .startTLS:
        capabilitiesBeforeTLS = client.capabilities
        try checkNothingFollowsStartTLS(connection)
        try handshake()
        if stopAfterHandshake { return SendReport(failure: nil, goal: request.goal) }
        action = client.tlsEstablished()
      case .sendData(let thenQuit):
        try checkServerWaitedItsTurn(insideTLS: client.isInsideTLS)
        try sendMessage(thenQuit: thenQuit)
        action = .readReply
      case .sendChunks(let prefix):
        try checkServerWaitedItsTurn(insideTLS: client.isInsideTLS)
        let count = try sendChunks(after: prefix, utf8Paths: client.usesSMTPUTF8)
        action = client.chunksSent(count)
      case .finish(let result, let closing):
        if client.isInsideTLS {
          capabilitiesAfterTLS = client.capabilities
        } else {
          capabilitiesBeforeTLS = client.capabilities
        }
        return finish(result, closing: closing)
      }
    }
  }

  // MARK: - Steps

  mutating func connect() throws -> SMTPConnection {
    enter(.connecting)
    let host = request.host
    let port = request.port
    let display = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    do {
      return try SMTPConnection.connect(
        host: host, port: port, deadline: deadline, cancellation: cancellation,
        onAttempt: { peer in
          emit(.connecting(server: display, address: peer.host))
        })
    } catch {
      throw failure(from: error, awaitingFinalReply: false)
    }
  }

  mutating func handshake() throws {
    guard let connection else { preconditionFailure("handshake without a connection") }
    enter(.handshake)
    let configuration = TLSClientConfiguration(
      serverName: request.host, trust: request.trust, versions: tlsVersions)
    reachedHandshake = true
    // The ClientHello's details (SNI, versions) and the message itself become one event.
    var pendingClientHello: TLSEvent?
    do {
      tlsSummary = try connection.startTLS(
        configuration, deadline: deadline,
        onEvent: { event in
          switch event {
          case .clientHello:
            pendingClientHello = event
            return
          case .handshakeMessage(.sent, 1, _):
            if let hello = pendingClientHello {
              pendingClientHello = nil
              return emitTLS(hello, insideTLS: false)
            }
          default:
            if let hello = pendingClientHello {
              pendingClientHello = nil
              emitTLS(hello, insideTLS: false)
            }
          }
          emitTLS(event, insideTLS: false)
        })
    } catch {
      if let hello = pendingClientHello { emitTLS(hello, insideTLS: false) }
      if case .untrustedPeer(let summary) = error.kind { tlsSummary = summary }
      // Issue 11: implicit TLS to a port where the server greets in plaintext. (After STARTTLS the same bytes
      // are a server that accepted STARTTLS and stayed plaintext: a handshake failure like any other.)
      if error.kind == .tlsHandshakeFailed, request.security == .implicitTLS,
        connection.handshakeSawPlaintextReply
      {
        let server =
          request.host.contains(":") ? "[\(request.host)]:\(request.port)" : "\(request.host):\(request.port)"
        throw SendFailure(
          .security,
          "TLS handshake failed: \(server) answered in plaintext, with an SMTP reply where "
            + "a TLS ServerHello should be: the server expects STARTTLS (or no TLS) on this port — nothing was sent",
          reason: .plaintextReplyToTLS)
      }
      throw failure(from: error, awaitingFinalReply: false)
    }
    insideTLS = true
    parser = ReplyParser()
    enter(.trusted)
  }

  func emitTLS(_ event: TLSEvent, insideTLS: Bool) {
    emit(.tls(event, showsChain: showsChain), insideTLS: insideTLS)
  }

  /// Every reply the client asked for has been read, so any byte still buffered was sent out of turn: a reply
  /// to a command not yet sent, which would desynchronise the dialogue (reply injection). Before STARTTLS that
  /// is tampering with the channel (77); elsewhere a protocol violation (76). RFC 5321 §4.3.1, RFC 2920 §3.
  /// The parser's buffer is checked, and the connection too: a read boundary may leave the injected bytes in
  /// the socket (or in OpenSSL) with the parser's buffer empty.
  func checkServerWaitedItsTurn(insideTLS: Bool) throws {
    let buffered = parser.bufferedByteCount
    guard buffered > 0 || connection?.hasUnreadReplyBytes() == true else { return }
    let amount = buffered > 0 ? "\(buffered) bytes of replies" : "replies"
    if request.security == .startTLS && !insideTLS {
      throw SendFailure(
        .security,
        "STARTTLS tampered: the server sent \(amount) to commands not yet sent, before TLS — nothing was sent",
        reason: .startTLSTampered)
    }
    throw SendFailure(
      .protocolViolation, "the server sent \(amount) to commands not yet sent (reply injection)")
  }

  /// DESIGN §3.3: any byte after the `220` to STARTTLS and before the handshake is an injection attempt.
  func checkNothingFollowsStartTLS(_ connection: SMTPConnection) throws {
    if parser.bufferedByteCount > 0 || connection.hasPendingInput() {
      throw SendFailure(
        .security,
        "STARTTLS tampered: the server sent data after its 220 reply, before the TLS handshake — nothing was sent",
        reason: .startTLSTampered)
    }
  }

  /// Issue 15: whether the server takes mail before TLS. `MAIL FROM:<>` (the null sender: no address leaks), its
  /// reply kept for the probe's report, then `RSET` so that STARTTLS starts on a session with no transaction
  /// (RFC 5321 §4.1.1.5; STARTTLS discards it anyway, RFC 3207 §4.2). Each reply is read within the step's
  /// deadline, and a reply sent out of turn is tampering before TLS, as everywhere before STARTTLS.
  private mutating func checkPlaintextMail(_ client: SMTPClient) throws {
    enter(.plaintextPolicy)
    try send([.mail(reversePath: "", parameters: [])], utf8Paths: false, entersStage: false)
    let reply = try readReply(awaitingFinalReply: false)
    let recorded = record(reply)
    plaintextMailReply = recorded
    func unexpected(_ reply: ReplyRecord, to command: String) -> SendFailure {
      SendFailure(.protocolViolation, PlaintextMailCheck.invalidReply(reply, to: command))
    }
    // RFC 5321 §4.3.2: MAIL is answered 250 or refused (4xx, 5xx); 1xx and 3xx make no sense here.
    if PlaintextMailCheck(reply: recorded, port: request.port).verdict == .invalidReply {
      throw unexpected(recorded, to: "MAIL")
    }
    // RFC 5321 §3.8: 421 says the server is closing the channel; nothing more can be asked.
    if reply.code == 421 {
      throw SendFailure(
        .temporary, "\(SendStage.plaintextPolicy.label) rejected: \(recorded.text)",
        reason: .rejected(.plaintextPolicy, recorded))
    }
    try checkServerWaitedItsTurn(insideTLS: client.isInsideTLS)
    try send([.rset], utf8Paths: false, entersStage: false)
    let reset = try readReply(awaitingFinalReply: false)
    if !(reset.isPositive || reset.isTransient || reset.isPermanent) {
      throw unexpected(record(reset), to: "RSET")
    }
    if reset.code == 421 {
      throw SendFailure(
        .temporary, "\(SendStage.plaintextPolicy.label) rejected: \(record(reset).text)",
        reason: .rejected(.plaintextPolicy, record(reset)))
    }
    // A refused RSET leaves no transaction open that STARTTLS would not discard: noted, and the probe goes on.
    if !reset.isPositive {
      note(
        .info, "RSET was refused (\(record(reset).text)); STARTTLS resets the session anyway (RFC 3207 §4.2)")
    }
    try checkServerWaitedItsTurn(insideTLS: client.isInsideTLS)
  }

  mutating func send(_ commands: [SMTPCommand], utf8Paths: Bool, entersStage: Bool = true) throws {
    let bytes = try encode(commands, utf8Paths: utf8Paths, entersStage: entersStage)
    do {
      try transmit(bytes)
    } catch {
      throw failure(from: error, awaitingFinalReply: false)
    }
  }

  /// Writes `bytes`, or with `coalescesWrites` keeps them (up to `coalescedLimit`) for one write when the
  /// session next waits: back-to-back transactions of a batch then go in few TLS records and system calls.
  mutating func transmit(_ bytes: [UInt8]) throws(TransportError) {
    guard let connection else { preconditionFailure("write without a connection") }
    if coalescesWrites && pendingOutput.count + bytes.count <= Self.coalescedLimit {
      pendingOutput += bytes
      return
    }
    try flushOutput()
    try connection.write(bytes, deadline: deadline)
  }

  mutating func transmit(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
    guard let connection else { preconditionFailure("write without a connection") }
    if coalescesWrites && pendingOutput.count + bytes.count <= Self.coalescedLimit {
      pendingOutput.append(contentsOf: bytes)
      return
    }
    try flushOutput()
    try connection.write(bytes, deadline: deadline)
  }

  /// Writes what `transmit` kept, if anything.
  mutating func flushOutput() throws(TransportError) {
    guard !pendingOutput.isEmpty, let connection else { return }
    let bytes = pendingOutput
    pendingOutput.removeAll(keepingCapacity: true)
    try connection.write(bytes, deadline: deadline)
  }

  /// The wire form of `commands`, each shown as it will go out (secrets redacted).
  mutating func encode(_ commands: [SMTPCommand], utf8Paths: Bool, entersStage: Bool = true) throws
    -> [UInt8]
  {
    if entersStage, let first = commands.first, let next = Self.stage(of: first) { enter(next) }
    var bytes: [UInt8] = []
    var carriesSecret = false
    for command in commands {
      do {
        bytes += try command.encoded(utf8Paths: utf8Paths)
      } catch {
        throw SendFailure(.dataError, error.message)
      }
      var text = command.transcriptText
      switch command {
      case .auth:
        carriesSecret = true
        if let user = login?.user { text += " (user \(UntrustedText(user).escaped))" }
      case .saslResponse:
        carriesSecret = true
      default:
        break
      }
      emit(.command(text))
    }
    // From the first write that may carry the secret on, a reply might echo it.
    if carriesSecret { secretSent = true }
    return bytes
  }

  static func stage(of command: SMTPCommand) -> SendStage? {
    switch command {
    case .ehlo, .helo: .ehlo
    case .startTLS: .startTLS
    case .auth, .saslResponse: .authenticating
    case .mail, .rcpt, .data: .envelope
    case .bdat: .uploading
    case .rset, .noop, .quit: nil
    }
  }

  // MARK: - Content

  /// The check pass (issue 10): reads the message once as written for a server offering `offer`, for what it
  /// needs (8-bit body, UTF-8 headers) and its exact size, before MAIL. A message that cannot be read ends the
  /// session here, with QUIT: nothing was sent.
  mutating func examineContent(for offer: ContentOffer) throws -> ContentNeeds {
    let checked: CheckedContent
    do {
      checked = try examine(request.message.source, for: offer)
    } catch let error as MessageError {
      quitBestEffort()
      throw SendFailure(.dataError, "\(error.message) — nothing was sent", reason: .messageUnreadable)
    }
    checkedContent = checked
    return checked.needs
  }

  /// One whole pass over `source` as written for `offer`: its size and traits.
  func examine(_ source: any MessageSource, for offer: ContentOffer) throws -> CheckedContent {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readSize, alignment: 16)
    defer { buffer.deallocate() }
    var pass = try ContentPass(source.open(for: offer))
    while try pass.read(into: buffer) > 0 {
      if cancellation.isCancelled { throw cancelled() }
    }
    return CheckedContent(offer: offer, size: pass.scanner.size, traits: pass.scanner.traits)
  }

  /// The pass that is sent: the same offer as the check pass, and it must read the same.
  func openSendPass(_ source: any MessageSource, _ checked: CheckedContent) throws -> ContentPass {
    do throws(MessageError) {
      return try ContentPass(source.open(for: checked.offer))
    } catch {
      throw notSent(error.message)
    }
  }

  /// The message of a single send and what its check pass found.
  private var singleContent: (any MessageSource, CheckedContent) {
    guard let checked = checkedContent else { preconditionFailure("content sent before it was examined") }
    return (request.message.source, checked)
  }

  /// Reads the next piece of the send pass; a piece that takes the pass past the checked size fails at once.
  func readNext(
    _ pass: inout ContentPass, into buffer: UnsafeMutableRawBufferPointer, checked: CheckedContent
  ) throws -> Int {
    let count: Int
    do throws(MessageError) {
      count = try pass.read(into: buffer)
    } catch {
      throw notSent(error.message)
    }
    if pass.scanner.size > checked.size { throw changed(checked, pass) }
    return count
  }

  /// The end of the send pass: it must have read what the check pass read, or the end of data must not go.
  func verify(_ pass: ContentPass, against checked: CheckedContent) throws {
    guard pass.scanner.size == checked.size, pass.scanner.traits == checked.traits else {
      throw changed(checked, pass)
    }
  }

  func changed(_ checked: CheckedContent, _ pass: ContentPass) -> SendFailure {
    let what =
      pass.scanner.size != checked.size
      ? "\(pass.scanner.size > checked.size ? "more than" : "only") \(Self.grouped(pass.scanner.size)) octets "
        + "where the check read \(Self.grouped(checked.size))"
      : "octets of another kind (8-bit) than the check read"
    return notSent("the message changed while it was sent: it gave \(what)")
  }

  /// The message failed during the send pass, before the end of data: the connection is closed without it, so
  /// the server discards what it received.
  func notSent(_ message: String) -> SendFailure {
    SendFailure(
      .dataError, "\(message) — the message was not sent (the end of data never went)",
      reason: .messageUnreadable)
  }

  /// DATA: the send pass through the dot-stuffing encoder, one read at a time from the session's buffers; the
  /// end of data (and QUIT when pipelined) only once the pass proved to be the one checked.
  mutating func sendMessage(thenQuit: Bool) throws {
    let (source, checked) = singleContent
    try sendMessage(source, checked: checked, then: thenQuit ? [.quit] : [], label: "message")
  }

  /// DATA content of `source`, then the commands `then` (the next message's envelope, or QUIT) in the write of
  /// the end of data (RFC 2920 §3.1); `label` names the message in its summary line.
  mutating func sendMessage(
    _ source: any MessageSource, checked: CheckedContent, then following: [SMTPCommand], label: String
  ) throws {
    guard let connection else { preconditionFailure("data without a connection") }
    do {
      try flushOutput()
    } catch {
      throw failure(from: error, awaitingFinalReply: false)
    }
    enter(.uploading)
    var pass = try openSendPass(source, checked)
    let input = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readSize, alignment: 16)
    defer { input.deallocate() }
    let output = UnsafeMutableRawBufferPointer.allocate(
      byteCount: DataEncoder.maximumEncodedCount(Self.readSize), alignment: 16)
    defer { output.deallocate() }
    var encoder = DataEncoder()
    var meter = ProgressMeter(total: checked.size)
    // Until the write holding the final dot starts, a failure means the server cannot have the message;
    // once it has started, the dot may have gone out: "delivery unknown".
    var finalWriteStarted = false
    if !quietTransactions { emit(.progress(sent: 0, total: checked.size)) }
    // The envelope that follows is encoded (and shown) after the dot, where it goes.
    var followingBytes: [UInt8] = []
    do {
      while true {
        let count = try readNext(&pass, into: input, checked: checked)
        if count == 0 { break }
        if cancellation.isCancelled {
          throw TransportError(.cancelled, "cancelled while sending the message")
        }
        let written = encoder.encode(UnsafeRawBufferPointer(rebasing: input[0..<count]), into: output)
        try writeData(UnsafeRawBufferPointer(rebasing: output[0..<written]), connection)
        uploaded = pass.scanner.size
        if meter.isDue(uploaded) { emit(.progress(sent: uploaded, total: checked.size)) }
      }
      try verify(pass, against: checked)
      var tail: [UInt8] = []
      encoder.finish(into: &tail)
      if !following.isEmpty {
        followingBytes = try encodeQuietly(following)
        tail += followingBytes
      }
      // Issue 12 §3: the last moment the message can still be held back.
      try runFinalWriteHook()
      finalWriteStarted = true
      try tail.withUnsafeBytes { try writeData($0, connection) }
      uploaded = checked.size
    } catch let error as TransportError {
      throw uploadFailure(error, finalWriteStarted: finalWriteStarted)
    }
    uploadDone(encoder, total: checked.size, label: label)
    emit(.command("."))
    for command in following { emit(.command(command.transcriptText)) }
    enter(.awaitingFinalReply)
  }

  /// Issue 12 §3: called just before the write that carries the final dot or the LAST chunk; a failure it
  /// throws ends the message as not sent.
  func runFinalWriteHook() throws(SendFailure) {
    if let hook = request.beforeFinalWrite { try hook() }
    if let hook = batchHook { try hook(batchIndex) }
  }

  /// The wire form of commands whose transcript lines are emitted by the caller where they go.
  func encodeQuietly(_ commands: [SMTPCommand]) throws -> [UInt8] {
    var bytes: [UInt8] = []
    for command in commands {
      do {
        bytes += try command.encoded(utf8Paths: true)
      } catch {
        throw SendFailure(.dataError, error.message)
      }
    }
    return bytes
  }

  /// BDAT (RFC 3030 §2): `prefix` (MAIL and RCPT, or nothing), then the content in chunks of about
  /// `maximumChunkOctets` at most, the last with LAST, then QUIT, in as few writes as possible: a message that
  /// fits one chunk goes out in the same write as its envelope. No dot-stuffing; line endings as for DATA.
  /// The LAST chunk only goes once the pass proved to be the one checked. Returns the number of chunks
  /// written.
  mutating func sendChunks(after prefix: [SMTPCommand], utf8Paths: Bool) throws -> Int {
    let (source, checked) = singleContent
    return try sendChunks(
      source, checked: checked, after: prefix, utf8Paths: utf8Paths, then: [.quit], label: "message")
  }

  /// BDAT content of `source` after `prefix`, then the commands `then` (QUIT after the last message), as the
  /// single-message form below describes.
  mutating func sendChunks(
    _ source: any MessageSource, checked: CheckedContent, after prefix: [SMTPCommand], utf8Paths: Bool,
    then following: [SMTPCommand], label: String
  ) throws -> Int {
    guard connection != nil else { preconditionFailure("data without a connection") }
    var envelope = try encode(prefix, utf8Paths: utf8Paths)
    enter(.uploading)
    var pass = try openSendPass(source, checked)
    let input = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readSize, alignment: 16)
    defer { input.deallocate() }
    // One chunk with room before it for the envelope (first chunk only) and its BDAT line, and after it for
    // the last line end and QUIT: each write is one piece of memory, so the envelope, the chunk and QUIT go in
    // one write (one round trip for a single recipient).
    let headroom = envelope.count + 32
    let capacity =
      headroom + Self.maximumChunkOctets + DataEncoder.maximumEncodedCount(Self.readSize)
      + DataEncoder.maximumFinishCount + 8
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
    defer { buffer.deallocate() }
    guard let base = buffer.baseAddress else { preconditionFailure("no chunk buffer") }
    var filled = 0
    var encoder = DataEncoder(framing: .chunked)
    var meter = ProgressMeter(total: checked.size)
    var chunks = 0
    // As with the final dot: once the write holding the LAST chunk starts, a failure is "delivery unknown".
    var finalWriteStarted = false
    if !quietTransactions { emit(.progress(sent: 0, total: checked.size)) }

    /// Writes the envelope (first time only), `BDAT n [LAST]` and the chunk, then `trailer`, in one write.
    func writeChunk(last: Bool, trailer: [UInt8]) throws(TransportError) {
      let command = SMTPCommand.bdat(size: filled, last: last)
      emit(.command(command.transcriptText))
      if request.showData {
        showLines(UnsafeRawBufferPointer(rebasing: buffer[headroom..<(headroom + filled)]))
      }
      // The size is a count of octets we produced: encoding cannot fail.
      let head = envelope + Array("\(command.transcriptText)\r\n".utf8)
      envelope = []
      let start = headroom - head.count
      head.withUnsafeBytes {
        if let from = $0.baseAddress { (base + start).copyMemory(from: from, byteCount: $0.count) }
      }
      var end = headroom + filled
      trailer.withUnsafeBytes {
        if let from = $0.baseAddress { (base + end).copyMemory(from: from, byteCount: $0.count) }
      }
      end += trailer.count
      try transmit(UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
      chunks += 1
      filled = 0
    }

    do {
      while true {
        let count = try readNext(&pass, into: input, checked: checked)
        if count == 0 { break }
        if cancellation.isCancelled {
          throw TransportError(.cancelled, "cancelled while sending the message")
        }
        filled += encoder.encode(
          UnsafeRawBufferPointer(rebasing: input[0..<count]),
          into: UnsafeMutableRawBufferPointer(rebasing: buffer[(headroom + filled)...]))
        uploaded = pass.scanner.size
        if filled >= Self.maximumChunkOctets && uploaded < checked.size {
          try writeChunk(last: false, trailer: [])
        }
        if meter.isDue(uploaded) { emit(.progress(sent: uploaded, total: checked.size)) }
      }
      try verify(pass, against: checked)
      var end: [UInt8] = []
      encoder.finish(into: &end)
      end.withUnsafeBytes {
        if let from = $0.baseAddress {
          (base + headroom + filled).copyMemory(from: from, byteCount: $0.count)
        }
      }
      filled += end.count
      let trailer = try encodeQuietly(following)
      // Issue 12 §3: the last moment the message can still be held back.
      try runFinalWriteHook()
      finalWriteStarted = true
      try writeChunk(last: true, trailer: trailer)
      uploaded = checked.size
    } catch let error as TransportError {
      throw uploadFailure(error, finalWriteStarted: finalWriteStarted)
    }
    uploadDone(encoder, total: checked.size, label: label)
    for command in following { emit(.command(command.transcriptText)) }
    enter(.awaitingFinalReply)
    return chunks
  }

  /// `showData`: each line of `bytes` (as sent) as a data event.
  func showLines(_ bytes: UnsafeRawBufferPointer) {
    var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    if lines.last?.isEmpty == true { lines.removeLast() }
    for line in lines {
      let text = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
      emit(.data(UntrustedText(Array(text)).escaped))
    }
  }

  func writeData(_ output: UnsafeRawBufferPointer, _ connection: SMTPConnection)
    throws(TransportError)
  {
    if request.showData {
      // Show the lines as they go on the wire (dot-stuffed), the final "." excepted.
      var lines = output.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
      if lines.last?.isEmpty == true { lines.removeLast() }
      for line in lines {
        let text = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
        if text.elementsEqual([UInt8(ascii: ".")]) || text.elementsEqual(Array("QUIT".utf8)) { continue }
        emit(.data(UntrustedText(Array(text)).escaped))
      }
    }
    try connection.write(output, deadline: deadline)
  }

  /// QUIT with a short deadline of its own and its reply, best effort: the outcome is already decided.
  mutating func quitBestEffort() {
    guard let connection else { return }
    let quitDeadline = Deadline.after(min(request.timeout, .seconds(2)), on: clock)
    if (try? connection.write(Array("QUIT\r\n".utf8), deadline: quitDeadline)) != nil {
      emit(.command("QUIT"))
      if let bytes = try? connection.read(maxBytes: 4096, deadline: quitDeadline), !bytes.isEmpty {
        parser.append(bytes)
        if let reply = try? parser.nextReply() { emit(.reply(record(reply))) }
      }
    }
  }

  mutating func readReply(awaitingFinalReply: Bool) throws -> SMTPReply {
    guard let connection else { preconditionFailure("read without a connection") }
    var stepDeadline = deadline
    if stage == .greeting, let limit = request.greetingTimeout, limit < request.timeout {
      stepDeadline = .after(limit, on: clock)
    }
    while true {
      let reply: SMTPReply?
      do {
        reply = try parser.nextReply()
      } catch {
        throw SendFailure(.protocolViolation, error.message)
      }
      if let reply {
        emit(.reply(record(reply)))
        return reply
      }
      let bytes: [UInt8]
      do {
        // A TLS 1.3 NewSessionTicket arrives with the first read after the handshake: shown where it happens.
        bytes = try connection.read(
          maxBytes: 4096, deadline: stepDeadline,
          onTLSEvent: { event in emitTLS(event, insideTLS: true) })
      } catch {
        throw failure(from: error, awaitingFinalReply: awaitingFinalReply)
      }
      if bytes.isEmpty {
        let lost = TransportError(.connectionLost, "the server closed the connection")
        throw failure(from: lost, awaitingFinalReply: awaitingFinalReply)
      }
      parser.append(bytes)
    }
  }

  mutating func finish(_ result: SMTPResult, closing: SMTPClient.Closing) -> SendReport {
    if connection != nil {
      switch closing {
      case .quit:
        // The outcome is decided; QUIT and its reply only let the server log a clean end, so they get a short
        // deadline of their own instead of another full step.
        quitBestEffort()
      case .close:
        // QUIT went with the end of data; its reply may already be here.
        if let reply = try? parser.nextReply() { emit(.reply(record(reply))) }
      case .abort:
        note(.info, "closing the connection without ending the data: nothing will be delivered")
      }
    }
    if let failure = result.failure {
      let mapped = Self.failure(
        from: failure, request: request, insideTLS: insideTLS,
        capabilities: insideTLS ? capabilitiesAfterTLS : capabilitiesBeforeTLS,
        messageSize: checkedContent?.size,
        record: record)
      return SendReport(failure: scrubbed(mapped))
    }
    if request.goal != .deliver {
      var report = SendReport(failure: nil, goal: request.goal)
      report.loggedIn = request.goal == .authenticate && request.credentials != nil
      return report
    }
    return SendReport(failure: nil, finalReply: result.finalReply.map(record))
  }

  /// Until the write holding the end of the message starts, a failure means the server cannot have it; once it
  /// has started, the end may have gone out: "delivery unknown".
  func uploadFailure(_ error: TransportError, finalWriteStarted: Bool) -> SendFailure {
    guard finalWriteStarted else {
      if error.kind == .cancelled { return cancelled() }
      return SendFailure(
        .temporary, "\(error.message) while sending the message — it was not delivered",
        reason: error.kind == .timedOut ? .timedOut(.uploading) : .connectionLost(.uploading))
    }
    return failure(from: error, awaitingFinalReply: true)
  }

  /// The last progress event and, unless every line was shown, the content's one-line summary.
  func uploadDone(_ encoder: DataEncoder, total: Int, label: String) {
    if !quietTransactions { emit(.progress(sent: total, total: total)) }
    if !request.showData {
      emit(
        .data(
          "[\(label): \(Self.grouped(encoder.lineCount)) lines, \(Self.grouped(encoder.byteCount)) bytes"
            + (request.contentSummary.map { $0.isEmpty ? "" : "; " + $0 } ?? "") + "]"))
    }
  }

  // MARK: - Helpers

  /// 1873 → "1,873", as the transcript shows sizes.
  static func grouped(_ value: Int) -> String {
    let digits = Array(String(value))
    var out = ""
    for (index, digit) in digits.enumerated() {
      if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
      out.append(digit)
    }
    return out
  }
}

/// One pass over the message: the reader, and what its bytes showed so far.
struct ContentPass {
  var reader: any MessageReader
  var scanner = MessageScanner()

  init(_ reader: any MessageReader) { self.reader = reader }

  /// The next piece into the start of `buffer`; 0 at the end of the message.
  mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int {
    let count = try reader.read(into: buffer)
    guard (0...buffer.count).contains(count) else {
      throw MessageError(.invalidData, "the message source gave an impossible count (\(count) octets)")
    }
    scanner.scan(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    return count
  }
}

/// Progress events at a bounded rate (issue 10): one each time another 1 % of the message, or 256 KiB if that
/// is more, has gone — never one per write; the first (0) and the last (all of it) are the session's.
struct ProgressMeter {
  let total: Int
  let step: Int
  private var next: Int

  init(total: Int) {
    self.total = total
    self.step = max(total / 100, 256 << 10)
    self.next = step
  }

  mutating func isDue(_ sent: Int) -> Bool {
    guard sent >= next, sent < total else { return false }
    next = (sent / step + 1) * step
    return true
  }
}
