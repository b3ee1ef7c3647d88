import Foundation

/// How the standard script behaves; the defaults are a well-behaved ESMTP server with STARTTLS. Hostile knobs
/// (DESIGN §3.3, §3.5, §3.6, §3.7) are plain values, so a test states exactly which lie it tells.
public struct StandardSMTPOptions: Sendable {
  /// What happens around STARTTLS (plaintext sessions only).
  public enum StartTLSBehavior: Sendable, Hashable {
    /// Advertise STARTTLS; answer "220 2.0.0 Ready to start TLS"; handshake with `tlsIdentity`.
    case accept
    /// Leave STARTTLS out of EHLO; answer "502 5.5.1 …" if it is sent anyway.
    case notAdvertised
    /// Advertise it, then answer STARTTLS with this reply (e.g. "454 4.7.0 TLS not available").
    case refuse(reply: String)
    /// Answer "220 go ahead\r\n" followed by `line` + CRLF in the same segment (one write), then handshake.
    case injectInSameSegment(line: String)
    /// Answer "220 go ahead", then after `delay` seconds send `line` + CRLF as a second segment, before the
    /// client's handshake; then handshake.
    case injectAfterReady(line: String, delay: Double)
    /// Answer "220 2.0.0 Ready to start TLS" and then go on in plaintext (never handshake): the bytes that
    /// come next (a ClientHello) are answered with a plaintext 500 reply.
    case stayPlaintext
    /// Answer with a multiline 220 of exactly `octets` octets (`StandardSMTPOptions.reply(code:last:octets:)`)
    /// followed by `line` + CRLF, in one write; then handshake. A client that reads `octets` (or a divisor of
    /// it) at a time has the whole 220 at the end of a read and nothing in its parser, while the injected line
    /// waits in its socket.
    case injectAtReadBoundary(line: String, octets: Int)
  }

  /// Where the server goes quiet.
  public enum Stall: Sendable, Hashable {
    case none
    /// Accept, then say nothing for this many seconds before the greeting.
    case beforeGreeting(seconds: Double)
    /// Answer STARTTLS with 220, then do not answer the ClientHello for this many seconds. (For implicit TLS
    /// use `ScriptedSMTPServer.Options.implicitTLSDelay`.)
    case midHandshake(seconds: Double)
    /// Read the message through the final ".", then wait this long before the final reply.
    case afterFinalDot(seconds: Double)
    /// Read a command with this verb (EHLO, AUTH, MAIL…), then wait this long before answering it.
    case beforeReplyTo(verb: String, seconds: Double)
    /// Answer DATA with 354, then read nothing for this long (a large message fills the socket buffers).
    case beforeReadingData(seconds: Double)
  }

  /// A reply that never ends, sent until the client stops reading or disconnects.
  public enum EndlessReply: Sendable, Hashable {
    /// "220 xxxxxxxx…" with no CRLF, ever.
    case singleLine
    /// "220-xxxx\r\n" lines forever, never a last line.
    case multiline
  }

  public struct Credentials: Sendable, Hashable {
    public var user: String
    public var password: String
    public init(user: String, password: String) {
      self.user = user
      self.password = password
    }
  }

  /// Escape sequences and controls a hostile server may put into replies: clear screen, set window title,
  /// BEL, bidi override, a C1 CSI. Put it into `greeting`, `finalReply`…
  public static let hostileEscapeText = "\u{1B}[2J\u{1B}]0;owned\u{07}\u{202E}evil\u{9B}31m"

  /// The name in the greeting and EHLO reply.
  public var serverName = "mx.sealpost.test"
  /// The greeting line(s); nil: "220 <serverName> ESMTP Sealpost scripted server". Several lines may be given
  /// separated by CRLF.
  public var greeting: String?
  /// EHLO keywords before TLS. "STARTTLS" is added by the script according to `startTLS` (do not list it).
  public var capabilitiesBeforeTLS = ["PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME"]
  /// EHLO keywords inside TLS (STARTTLS or implicit).
  public var capabilitiesAfterTLS = [
    "PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME", "AUTH PLAIN LOGIN",
  ]
  /// The certificate for STARTTLS; nil means STARTTLS is neither advertised nor possible.
  public var tlsIdentity: TestIdentity?
  public var tlsVersions: ClosedRange<ServerTLSVersion> = .tls12 ... .tls13
  /// The STARTTLS handshake sends a CertificateRequest (a client without a certificate may go on).
  public var requestClientCertificate = false
  public var startTLS: StartTLSBehavior = .accept
  /// AUTH PLAIN/LOGIN succeed (235) only with these; nil: AUTH is answered with 502.
  public var credentials: Credentials?
  /// A failed AUTH is answered "535 5.7.8 bad <the last base64 blob received>" (a server echoing secrets).
  public var echoAuthBlobInFailure = false
  public var mailFromReply = "250 2.1.0 Ok"
  /// Reply per recipient (address lowercased, without brackets), e.g. "c@example.org": "550 5.1.1 no such user".
  /// A 2xx reply counts as accepted.
  public var recipientReplies: [String: String] = [:]
  public var defaultRecipientReply = "250 2.1.5 Ok"
  public var dataReply = "354 End data with <CR><LF>.<CR><LF>"
  public var finalReply = "250 2.0.0 Ok: queued"
  /// Replies to BDAT chunks before the last, by chunk index (from 0); the others get "250 2.0.0 Ok: n octets".
  /// The reply to `BDAT … LAST` is `finalReply`. After a refused chunk every later chunk of the transaction is
  /// answered "503 5.5.1 Error: transaction failed" and nothing is recorded (RFC 3030 §2).
  public var chunkReplies: [Int: String] = [:]
  public var quitReply = "221 2.0.0 Bye"
  public var stall: Stall = .none
  /// The stall waits for this many messages of the session to be received first (0: from the start): a batch
  /// test stalls at its second message with 1.
  public var stallAfterMessages = 0
  /// Sent instead of the greeting.
  public var endlessGreeting: EndlessReply?
  /// Sent instead of the EHLO reply.
  public var endlessEHLOReply: EndlessReply?

  public init(tlsIdentity: TestIdentity? = nil) {
    self.tlsIdentity = tlsIdentity
  }

  /// A multiline reply of exactly `octets` octets, CRLFs included: `code-xxx…` lines of at most 1,000 octets
  /// (well within the 2,048-octet line limit), then `code last`. `octets` must leave room for the last line and
  /// for continuation lines of at least 6 octets.
  public static func reply(code: Int, last: String, octets: Int) -> [UInt8] {
    let lastLine = Array("\(code) \(last)\r\n".utf8)
    let padding = octets - lastLine.count
    precondition(padding == 0 || padding >= 6, "no room for a \(octets)-octet reply ending in \(last)")
    let lineCount = (padding + 999) / 1000
    var bytes: [UInt8] = []
    for index in 0..<lineCount {
      let length = padding / lineCount + (index < padding % lineCount ? 1 : 0)
      bytes += Array("\(code)-".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: length - 6) + [13, 10]
    }
    return bytes + lastLine
  }
}

extension ScriptedSMTPServer {
  /// A server running `standardSMTP(options:)`.
  public convenience init(standard: StandardSMTPOptions, options: Options = Options()) throws {
    try self.init(options: options, script: Self.standardSMTP(options: standard))
  }

  /// A well-behaved ESMTP conversation (with the hostile knobs of `StandardSMTPOptions`): greeting, EHLO/HELO,
  /// STARTTLS, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Commands are read line by line as they
  /// come, so pipelined commands work.
  public static func standardSMTP(options: StandardSMTPOptions) -> @Sendable (ServerSession) throws -> Void {
    { session in
      var conversation = StandardSMTPConversation(options: options, session: session)
      try conversation.run()
    }
  }
}

private struct StandardSMTPConversation {
  let options: StandardSMTPOptions
  let session: ServerSession
  var hasSender = false
  var acceptedRecipients = 0
  /// BDAT content of the transaction so far, its chunk count, and whether a chunk was refused.
  var chunkedContent: [UInt8] = []
  var chunkIndex = 0
  var chunkFailed = false
  /// Messages received in this session (DATA or BDAT LAST).
  var received = 0
  var stallDue: Bool { received >= options.stallAfterMessages }

  init(options: StandardSMTPOptions, session: ServerSession) {
    self.options = options
    self.session = session
  }

  mutating func run() throws {
    if case .beforeGreeting(let seconds) = options.stall { try session.stall(seconds) }
    if let endless = options.endlessGreeting { return try sendEndless(endless) }
    try session.send(options.greeting ?? "220 \(options.serverName) ESMTP Sealpost scripted server")
    while let line = try session.readLine() {
      let text = String(decoding: line, as: UTF8.self)
      let verb = text.prefix { $0 != " " }.uppercased()
      let argument = text.drop { $0 != " " }.dropFirst()
      if case .beforeReplyTo(let stalled, let seconds) = options.stall, stalled.uppercased() == verb, stallDue
      {
        try session.stall(seconds)
      }
      switch verb {
      case "EHLO":
        if let endless = options.endlessEHLOReply { return try sendEndless(endless) }
        resetTransaction()
        try session.send(ehloReply(greeted: String(argument)))
      case "HELO":
        resetTransaction()
        try session.send("250 \(options.serverName)")
      case "STARTTLS":
        try startTLS()
      case "AUTH":
        try authenticate(String(argument))
      case "MAIL":
        hasSender = true
        acceptedRecipients = 0
        try session.send(options.mailFromReply)
        if !options.mailFromReply.hasPrefix("2") { hasSender = false }
      case "RCPT":
        let address = Self.address(in: String(argument)).lowercased()
        let reply = options.recipientReplies[address] ?? options.defaultRecipientReply
        if !hasSender {
          try session.send("503 5.5.1 Error: need MAIL command")
        } else {
          if reply.hasPrefix("2") { acceptedRecipients += 1 }
          try session.send(reply)
        }
      case "DATA":
        try data()
      case "BDAT":
        try bdat(String(argument))
      case "RSET":
        resetTransaction()
        try session.send("250 2.0.0 Ok")
      case "NOOP":
        try session.send("250 2.0.0 Ok")
      case "QUIT":
        try session.send(options.quitReply)
        return
      default:
        try session.send("502 5.5.2 Error: command not recognized")
      }
    }
  }

  private mutating func resetTransaction() {
    hasSender = false
    acceptedRecipients = 0
    chunkedContent = []
    chunkIndex = 0
    chunkFailed = false
  }

  private var advertisesStartTLS: Bool {
    guard !session.isTLS, options.tlsIdentity != nil else { return false }
    if case .notAdvertised = options.startTLS { return false }
    return true
  }

  private func ehloReply(greeted: String) -> String {
    var keywords = session.isTLS ? options.capabilitiesAfterTLS : options.capabilitiesBeforeTLS
    if advertisesStartTLS { keywords.append("STARTTLS") }
    let lines = ["\(options.serverName) greets \(greeted)"] + keywords
    return lines.enumerated().map { index, line in
      (index == lines.count - 1 ? "250 " : "250-") + line
    }.joined(separator: "\r\n")
  }

  private mutating func startTLS() throws {
    if session.isTLS { return try session.send("503 5.5.1 Error: TLS already active") }
    guard let identity = options.tlsIdentity else { return try session.send("454 4.7.0 TLS not available") }
    switch options.startTLS {
    case .notAdvertised:
      return try session.send("502 5.5.1 Error: command not implemented")
    case .refuse(let reply):
      return try session.send(reply)
    case .stayPlaintext:
      // A server that never switches: whatever the client sends next (its ClientHello) is answered as a
      // garbled command, in plaintext.
      try session.send("220 2.0.0 Ready to start TLS")
      if !(try session.readAvailable()).isEmpty {
        try session.send("500 5.5.2 Error: command not recognized")
      }
      return
    case .accept:
      try session.send("220 2.0.0 Ready to start TLS")
    case .injectInSameSegment(let line):
      try session.sendRaw(Array("220 go ahead\r\n\(line)\r\n".utf8))
    case .injectAfterReady(let line, let delay):
      try session.send("220 go ahead")
      try session.stall(delay)
      try session.send(line)
    case .injectAtReadBoundary(let line, let octets):
      let ready = StandardSMTPOptions.reply(code: 220, last: "2.0.0 Ready to start TLS", octets: octets)
      try session.sendRaw(ready + Array("\(line)\r\n".utf8))
    }
    if case .midHandshake(let seconds) = options.stall { try session.stall(seconds) }
    try session.startTLS(
      identity: identity, versions: options.tlsVersions,
      requestClientCertificate: options.requestClientCertificate)
    resetTransaction()
  }

  private func authenticate(_ argument: String) throws {
    let parts = argument.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    guard let credentials = options.credentials, let mechanism = parts.first?.uppercased() else {
      return try session.send("502 5.5.1 Error: authentication not enabled")
    }
    var lastBlob = ""
    func challenge(_ text: String) throws -> String? {
      try session.send("334 \(text)")
      guard let line = try session.readLine() else { return nil }
      lastBlob = String(decoding: line, as: UTF8.self)
      return lastBlob
    }
    let accepted: Bool
    switch mechanism {
    case "PLAIN":
      let blob: String
      if parts.count > 1 {
        blob = parts[1]
        lastBlob = blob
      } else {
        guard let answer = try challenge("") else { return }
        blob = answer
      }
      if blob == "*" { return try session.send("501 5.7.0 Authentication aborted") }
      let fields = Self.decode(blob).split(separator: 0, omittingEmptySubsequences: false)
      accepted =
        fields.count == 3 && Array(fields[1]) == Array(credentials.user.utf8)
        && Array(fields[2]) == Array(credentials.password.utf8)
    case "LOGIN":
      let userBlob: String
      if parts.count > 1 {
        userBlob = parts[1]
        lastBlob = userBlob
      } else {
        guard let answer = try challenge("VXNlcm5hbWU6") else { return }
        userBlob = answer
      }
      if userBlob == "*" { return try session.send("501 5.7.0 Authentication aborted") }
      guard let passwordBlob = try challenge("UGFzc3dvcmQ6") else { return }
      if passwordBlob == "*" { return try session.send("501 5.7.0 Authentication aborted") }
      accepted =
        Self.decode(userBlob) == Array(credentials.user.utf8)
        && Self.decode(passwordBlob) == Array(credentials.password.utf8)
    default:
      return try session.send("504 5.5.4 Unrecognized authentication type")
    }
    if accepted {
      try session.send("235 2.7.0 Authentication successful")
    } else if options.echoAuthBlobInFailure {
      try session.send("535 5.7.8 bad " + lastBlob)
    } else {
      try session.send("535 5.7.8 Error: authentication failed: authentication failure")
    }
  }

  private mutating func data() throws {
    guard hasSender else { return try session.send("503 5.5.1 Error: need MAIL command") }
    guard acceptedRecipients > 0 else { return try session.send("554 5.5.1 Error: no valid recipients") }
    try session.send(options.dataReply)
    guard options.dataReply.hasPrefix("3") else { return }
    if case .beforeReadingData(let seconds) = options.stall, stallDue { try session.stall(seconds) }
    _ = try session.readData()
    if case .afterFinalDot(let seconds) = options.stall, stallDue { try session.stall(seconds) }
    received += 1
    try session.send(options.finalReply)
    resetTransaction()
  }

  /// RFC 3030 §2: `BDAT size [LAST]`; the chunk is read whatever the reply, so the stream stays in step.
  private mutating func bdat(_ argument: String) throws {
    let words = argument.split(separator: " ")
    guard let sizeWord = words.first, let size = Int(sizeWord), size >= 0, words.count <= 2,
      words.count == 1 || words[1].uppercased() == "LAST"
    else { return try session.send("501 5.5.4 Syntax: BDAT size [LAST]") }
    let last = words.count == 2
    let chunk = try session.readBytes(size)
    let index = chunkIndex
    chunkIndex += 1
    guard hasSender else { return try session.send("503 5.5.1 Error: need MAIL command") }
    guard acceptedRecipients > 0 else { return try session.send("554 5.5.1 Error: no valid recipients") }
    if chunkFailed {
      if last { resetTransaction() }
      return try session.send("503 5.5.1 Error: transaction failed")
    }
    chunkedContent += chunk
    if !last {
      let reply = options.chunkReplies[index] ?? "250 2.0.0 Ok: \(size) octets"
      if !reply.hasPrefix("2") { chunkFailed = true }
      return try session.send(reply)
    }
    session.recordMessage(chunkedContent)
    if case .afterFinalDot(let seconds) = options.stall, stallDue { try session.stall(seconds) }
    received += 1
    try session.send(options.finalReply)
    resetTransaction()
  }

  /// Sends an endless reply until the client stops reading (write timeout) or goes away.
  private func sendEndless(_ kind: StandardSMTPOptions.EndlessReply) throws {
    let filler = [UInt8](repeating: UInt8(ascii: "x"), count: 1000)
    var sent = 0
    do {
      switch kind {
      case .singleLine:
        try session.sendRaw(Array("220 ".utf8))
        while sent < 256 << 20 {
          try session.sendRaw(filler, timeout: 2)
          sent += filler.count
        }
      case .multiline:
        let line = Array("220-".utf8) + filler + [13, 10]
        while sent < 256 << 20 {
          try session.sendRaw(line, timeout: 2)
          sent += line.count
        }
      }
    } catch {
      // The client stopped reading or closed: the point of the exercise.
    }
  }

  static func address(in argument: String) -> String {
    guard let open = argument.firstIndex(of: "<"), let close = argument[open...].firstIndex(of: ">") else {
      return argument.split(separator: ":").last.map(String.init) ?? argument
    }
    return String(argument[argument.index(after: open)..<close])
  }

  static func decode(_ base64: String) -> [UInt8] {
    Data(base64Encoded: base64).map { Array($0) } ?? []
  }
}
