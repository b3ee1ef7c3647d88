import SMTPProtocol
import SMTPTransport

#if canImport(Glibc)
  import Glibc
#endif

/// One send, from connect to close. Not reusable.
struct SendSession {
  let request: SendRequest
  let cancellation: Cancellation
  let observer: @Sendable (TranscriptEvent) -> Void
  let redactor: Redactor
  let clock = ContinuousClock()
  let start: ContinuousClock.Instant

  var connection: SMTPConnection?
  var parser = ReplyParser()
  var insideTLS = false

  // What the probe needs beyond the report (issue 3); `send` fills them too.
  /// The versions offered; the probe's `--versions` attempts offer one at a time.
  var tlsVersions: ClosedRange<TLSVersion> = .tls12 ... .tls13
  /// End right after the handshake (and close): a `--versions` attempt.
  var stopAfterHandshake = false
  /// Emit the verdict (or error) as the last event; the probe words its own.
  var emitsVerdict = true
  /// Show each certificate of the chain after the handshake (version attempts show only the outcome).
  var showsChain = true
  /// A TLS handshake was started (so its outcome says something about the server's TLS).
  var reachedHandshake = false
  var peer: PeerAddress?
  var tlsSummary: TLSSessionSummary?
  var capabilitiesBeforeTLS: Capabilities?
  var capabilitiesAfterTLS: Capabilities?

  init(
    request: SendRequest, cancellation: Cancellation,
    observer: @escaping @Sendable (TranscriptEvent) -> Void, start: ContinuousClock.Instant? = nil
  ) {
    self.request = request
    self.cancellation = cancellation
    self.observer = observer
    var secrets: [Secret] = []
    if let credentials = request.credentials {
      secrets.append(credentials.password)
      if let blob = try? SASL.plainInitialResponse(user: credentials.user, password: credentials.password) {
        secrets.append(blob)
      }
      secrets.append(Secret(SASL.base64(credentials.password.bytes)))
    }
    self.redactor = Redactor(secrets: secrets)
    self.start = start ?? clock.now
  }

  // MARK: - Events

  func emit(_ kind: TranscriptEvent.Kind, _ line: String, tls: TLSEvent? = nil, insideTLS: Bool? = nil) {
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    observer(
      TranscriptEvent(
        time: seconds, kind: kind, insideTLS: insideTLS ?? self.insideTLS, line: redactor.scrub(line),
        tls: tls))
  }

  var deadline: ContinuousClock.Instant { clock.now + request.timeout }

  // MARK: - Run

  mutating func run() -> SendReport {
    var report: SendReport
    do {
      try checkRequest()
      report = try converse()
    } catch let failure as SendFailure {
      report = SendReport(failure: scrubbed(failure), finalReply: nil)
    } catch {
      report = SendReport(failure: SendFailure(.temporary, redactor.scrub("\(error)")), finalReply: nil)
    }
    connection?.close()
    connection = nil
    report.goal = request.goal
    report.tls = tlsSummary
    report.capabilitiesBeforeTLS = capabilitiesBeforeTLS
    report.capabilitiesAfterTLS = capabilitiesAfterTLS
    report.peer = peer
    if emitsVerdict {
      if let failure = report.failure {
        emit(.error, failure.description)
      } else {
        emit(.info, report.verdictLine)
      }
    }
    return report
  }

  private func scrubbed(_ failure: SendFailure) -> SendFailure {
    var copy = failure
    copy.message = redactor.scrub(failure.message)
    copy.refusedRecipients = failure.refusedRecipients.map {
      SendFailure.RefusedRecipient(address: $0.address, reply: redactor.scrub($0.reply))
    }
    return copy
  }

  /// Checks that need no network (DESIGN §3.8: bad data refused before connecting).
  private func checkRequest() throws {
    if case .certificateAuthorities(let caFile?) = request.trust,
      let problem = CertificateFile.problem(atPath: caFile)
    {
      throw SendFailure(.noInput, "the CA file \(UntrustedText(caFile).escaped) cannot be used: \(problem)")
    }
    if request.goal == .deliver && request.recipients.isEmpty {
      throw SendFailure(.usage, "no recipient: say --to, --cc or --bcc")
    }
    do {
      // The local address literal is not known yet; any literal stands in for it here.
      try clientConfiguration(ehloName: request.ehloName ?? "[127.0.0.1]", peerIsLoopback: false).validate()
    } catch {
      throw SendFailure(.dataError, error.message)
    }
  }

  private func clientConfiguration(ehloName: String, peerIsLoopback: Bool) -> SMTPClientConfiguration {
    SMTPClientConfiguration(
      security: request.security.clientSecurity,
      ehloName: ehloName,
      authentication: request.credentials.map {
        .init(user: $0.user, password: $0.password, mechanism: $0.mechanism)
      },
      plaintextAuthAllowed: peerIsLoopback,
      heloFallbackAllowed: request.security == .implicitTLS
        || (peerIsLoopback && request.credentials == nil),
      reversePath: request.reversePath,
      recipients: request.recipients,
      messageNeeds8BitMIME: request.message.needs8BitMIME,
      messageNeedsSMTPUTF8: request.message.needsSMTPUTF8,
      messageSize: request.message.byteCount,
      goal: request.goal
    )
  }

  private mutating func converse() throws -> SendReport {
    let connection = try connect()
    self.connection = connection
    let peer = connection.peer
    self.peer = peer

    if request.security == .plaintext {
      try ChannelPolicy.checkPlaintext(
        peer: peer, allowInsecure: request.allowInsecure, hasCredentials: request.credentials != nil)
      emit(.warning, "plaintext session: no TLS, everything below is readable on the network")
    }

    if request.security == .implicitTLS {
      try handshake()
      if stopAfterHandshake { return SendReport(failure: nil, finalReply: nil, goal: request.goal) }
    }

    let configuration = clientConfiguration(
      ehloName: request.ehloName ?? connection.local.addressLiteral, peerIsLoopback: peer.isLoopback)
    var client = SMTPClient(configuration: configuration)
    var action = client.start()
    while true {
      if cancellation.isCancelled {
        throw client.isAwaitingFinalReply
          ? deliveryUnknown("cancelled") : SendFailure(.temporary, "cancelled")
      }
      switch action {
      case .readReply:
        let reply = try readReply(awaitingFinalReply: client.isAwaitingFinalReply)
        action = client.received(reply)
      case .send(let commands):
        try checkServerWaitedItsTurn(client)
        try send(commands)
        action = .readReply
      case .startTLS:
        capabilitiesBeforeTLS = client.capabilities
        try checkNothingFollowsStartTLS(connection)
        try handshake()
        if stopAfterHandshake { return SendReport(failure: nil, finalReply: nil, goal: request.goal) }
        action = client.tlsEstablished()
      case .sendData(let thenQuit):
        try checkServerWaitedItsTurn(client)
        try sendMessage(thenQuit: thenQuit)
        action = .readReply
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

  private mutating func connect() throws -> SMTPConnection {
    let host = request.host
    let port = request.port
    let display = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    do {
      return try SMTPConnection.connect(
        host: host, port: port, deadline: deadline, cancellation: cancellation,
        onAttempt: { peer in
          emit(.connect, "Connecting to \(display) (\(peer.host))")
        })
    } catch {
      throw failure(from: error, awaitingFinalReply: false)
    }
  }

  private mutating func handshake() throws {
    guard let connection else { preconditionFailure("handshake without a connection") }
    let configuration = TLSClientConfiguration(
      serverName: request.host, trust: request.trust, versions: tlsVersions)
    reachedHandshake = true
    // The ClientHello's details (SNI, versions) and the message itself become one line.
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
      throw failure(from: error, awaitingFinalReply: false)
    }
    insideTLS = true
    parser = ReplyParser()
  }

  /// One TLS step as transcript lines; the structured event rides on the first.
  private func emitTLS(_ event: TLSEvent, insideTLS: Bool) {
    var lines = TranscriptText.lines(for: event, now: Int64(time(nil)))
    if !showsChain, case .established = event { lines = Array(lines.prefix(1)) }
    for (index, line) in lines.enumerated() {
      emit(.tls, line, tls: index == 0 ? event : nil, insideTLS: insideTLS)
    }
  }

  /// Every reply the client asked for has been read, so any byte still buffered was sent out of turn: a reply
  /// to a command not yet sent, which would desynchronise the dialogue (reply injection). Before STARTTLS that
  /// is tampering with the channel (77); elsewhere a protocol violation (76). RFC 5321 §4.3.1, RFC 2920 §3.
  /// The parser's buffer is checked, and the connection too: a read boundary may leave the injected bytes in
  /// the socket (or in OpenSSL) with the parser's buffer empty.
  private func checkServerWaitedItsTurn(_ client: SMTPClient) throws {
    let buffered = parser.bufferedByteCount
    guard buffered > 0 || connection?.hasUnreadReplyBytes() == true else { return }
    let amount = buffered > 0 ? "\(buffered) bytes of replies" : "replies"
    if request.security == .startTLS && !client.isInsideTLS {
      throw SendFailure(
        .security,
        "STARTTLS tampered: the server sent \(amount) to commands not yet sent, before TLS — nothing was sent"
      )
    }
    throw SendFailure(
      .protocolViolation, "the server sent \(amount) to commands not yet sent (reply injection)")
  }

  /// DESIGN §3.3: any byte after the `220` to STARTTLS and before the handshake is an injection attempt.
  private func checkNothingFollowsStartTLS(_ connection: SMTPConnection) throws {
    if parser.bufferedByteCount > 0 || connection.hasPendingInput() {
      throw SendFailure(
        .security,
        "STARTTLS tampered: the server sent data after its 220 reply, before the TLS handshake — nothing was sent"
      )
    }
  }

  private mutating func send(_ commands: [SMTPCommand]) throws {
    guard let connection else { preconditionFailure("send without a connection") }
    var bytes: [UInt8] = []
    for command in commands {
      do {
        bytes += try command.encoded()
      } catch {
        throw SendFailure(.dataError, error.message)
      }
      var text = command.transcriptText
      if case .auth = command, let user = request.credentials?.user {
        text += " (user \(UntrustedText(user).escaped))"
      }
      emit(.send, text)
    }
    do {
      try connection.write(bytes, deadline: deadline)
    } catch {
      throw failure(from: error, awaitingFinalReply: false)
    }
  }

  private mutating func sendMessage(thenQuit: Bool) throws {
    guard let connection else { preconditionFailure("data without a connection") }
    var encoder = DataEncoder()
    var output: [UInt8] = []
    let content = request.message.bytes
    let chunkSize = 64 * 1024
    var index = 0
    // Until the write holding the final dot starts, a failure means the server cannot have the message;
    // once it has started, the dot may have gone out: "delivery unknown".
    var finalWriteStarted = false
    do throws(TransportError) {
      while index < content.count {
        let end = min(index + chunkSize, content.count)
        encoder.encode(content[index..<end], into: &output)
        index = end
        if output.count >= chunkSize {
          try writeData(&output, connection)
        }
      }
      encoder.finish(into: &output)
      if thenQuit { output += Array("QUIT\r\n".utf8) }
      finalWriteStarted = true
      try writeData(&output, connection)
    } catch {
      if !finalWriteStarted {
        throw SendFailure(.temporary, "\(error.message) while sending the message — it was not delivered")
      }
      throw failure(from: error, awaitingFinalReply: true)
    }
    if !request.showData {
      emit(
        .data,
        "[message: \(Self.grouped(encoder.lineCount)) lines, \(Self.grouped(encoder.byteCount)) bytes]")
    }
    emit(.send, ".")
    if thenQuit { emit(.send, "QUIT") }
  }

  private func writeData(_ output: inout [UInt8], _ connection: SMTPConnection) throws(TransportError) {
    if request.showData {
      // Show the lines as they go on the wire (dot-stuffed), the final "." excepted.
      var lines = output.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
      if lines.last?.isEmpty == true { lines.removeLast() }
      for line in lines {
        let text = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
        if text.elementsEqual([UInt8(ascii: ".")]) || text.elementsEqual(Array("QUIT".utf8)) { continue }
        emit(.data, UntrustedText(Array(text)).escaped)
      }
    }
    try connection.write(output, deadline: deadline)
    output.removeAll(keepingCapacity: true)
  }

  private mutating func readReply(awaitingFinalReply: Bool) throws -> SMTPReply {
    guard let connection else { preconditionFailure("read without a connection") }
    let stepDeadline = deadline
    while true {
      let reply: SMTPReply?
      do {
        reply = try parser.nextReply()
      } catch {
        throw SendFailure(.protocolViolation, error.message)
      }
      if let reply {
        for line in reply.lines { emit(.recv, line.escaped) }
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

  private mutating func finish(_ result: SMTPResult, closing: SMTPClient.Closing) -> SendReport {
    if let connection {
      switch closing {
      case .quit:
        // The outcome is decided; QUIT and its reply only let the server log a clean end, so they get a short
        // deadline of their own instead of another full step.
        let quitDeadline = clock.now + min(request.timeout, .seconds(2))
        if (try? connection.write(Array("QUIT\r\n".utf8), deadline: quitDeadline)) != nil {
          emit(.send, "QUIT")
          if let bytes = try? connection.read(maxBytes: 4096, deadline: quitDeadline), !bytes.isEmpty {
            parser.append(bytes)
            if let reply = try? parser.nextReply() {
              for line in reply.lines { emit(.recv, line.escaped) }
            }
          }
        }
      case .close:
        // QUIT went with the end of data; its reply may already be here.
        if let reply = try? parser.nextReply() {
          for line in reply.lines { emit(.recv, line.escaped) }
        }
      case .abort:
        emit(.info, "closing the connection without ending the data: nothing will be delivered")
      }
    }
    if let failure = result.failure {
      let mapped = Self.failure(
        from: failure, request: request, insideTLS: insideTLS,
        capabilities: insideTLS ? capabilitiesAfterTLS : capabilitiesBeforeTLS)
      return SendReport(failure: scrubbed(mapped), finalReply: nil)
    }
    if request.goal != .deliver {
      return SendReport(
        failure: nil, finalReply: nil, goal: request.goal,
        loggedIn: request.goal == .authenticate && request.credentials != nil)
    }
    let final = result.finalReply.map { $0.lines.map(\.escaped).joined(separator: " ") }
    return SendReport(failure: nil, finalReply: final.map(redactor.scrub))
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

extension TransportSecurity {
  var clientSecurity: SMTPClientConfiguration.Security {
    switch self {
    case .implicitTLS: .implicitTLS
    case .startTLS: .startTLS
    case .plaintext: .plaintext
    }
  }
}
