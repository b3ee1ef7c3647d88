/// An incremental parser of SMTP replies (RFC 5321 §4.2) that never buffers more than `ReplyLimits` allow.
///
/// Feed bytes with `append(_:)` as they arrive, then call `nextReply()` until it returns `nil`. A line ends
/// with CRLF; a bare LF is accepted too (a CR before it is stripped). Errors are final: once `nextReply()` has
/// thrown, it throws the same error again.
///
/// States, swift-nio style:
/// - collecting: `buffer[..<cursor]` holds the complete lines of the reply being assembled (their codes,
///   texts and sizes are in `pending`); `buffer[cursor...]` is a partial line, already searched for LF up to
///   `scanned`.
/// - failed: an error was thrown; it is thrown again.
public struct ReplyParser: Sendable {
  private let limits: ReplyLimits
  private var buffer: [UInt8] = []
  private var cursor = 0
  private var scanned = 0
  private var pending = PendingReply()
  private var failure: SMTPProtocolError?

  private struct PendingReply: Sendable {
    var code: Int?
    var lines: [UntrustedText] = []
    var texts: [UntrustedText] = []
    var octets = 0
  }

  /// A parser that enforces `limits` (DESIGN §3.7).
  public init(limits: ReplyLimits = .standard) {
    self.limits = limits
  }

  /// Bytes appended but not yet consumed by a returned reply, including complete lines of an unfinished
  /// reply. After the `220` to STARTTLS this must be 0, or a server injected bytes (DESIGN §3.3).
  public var bufferedByteCount: Int { buffer.count }

  /// Adds received bytes. Call `nextReply()` until it returns `nil` after each append.
  public mutating func append(_ bytes: some Collection<UInt8>) {
    buffer.append(contentsOf: bytes)
  }

  /// The next complete reply, or `nil` when more bytes are needed.
  ///
  /// Throws as soon as the buffered bytes cannot become a valid reply within the limits: a partial line is
  /// rejected once it is already too long, without waiting for its line ending.
  public mutating func nextReply() throws(SMTPProtocolError) -> SMTPReply? {
    if let failure { throw failure }
    do {
      return try parse()
    } catch {
      failure = error
      throw error
    }
  }

  private mutating func parse() throws(SMTPProtocolError) -> SMTPReply? {
    while true {
      guard let newline = findNewline() else {
        try checkPartialLine()
        return nil
      }
      try checkLength(newline + 1 - cursor)
      let lineOctets = newline + 1 - cursor
      var end = newline
      if end > cursor, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
      let line = buffer[cursor..<end]
      cursor = newline + 1
      scanned = cursor
      let isLast = try addLine(line, octets: lineOctets)
      if isLast {
        let reply = SMTPReply(code: pending.code ?? 0, lines: pending.lines, texts: pending.texts)
        buffer.removeFirst(cursor)
        cursor = 0
        scanned = 0
        pending = PendingReply()
        return reply
      }
    }
  }

  private mutating func findNewline() -> Int? {
    while scanned < buffer.count {
      if buffer[scanned] == UInt8(ascii: "\n") { return scanned }
      scanned += 1
    }
    return nil
  }

  /// A partial line that can no longer end within the limits is an error now (DESIGN §3.7): its line ending
  /// adds at least one more octet.
  private func checkPartialLine() throws(SMTPProtocolError) {
    let partial = buffer.count - cursor
    guard partial > 0 else { return }
    try checkLength(partial + 1)
  }

  /// Refuses a line of `octets` (its line ending included) that breaks the line or the reply limit, before
  /// its code is looked at, so a line split anywhere gives the same error as the line whole: the limit named
  /// is the one a growing line reaches first, which depends only on the reply so far.
  private func checkLength(_ octets: Int) throws(SMTPProtocolError) {
    let lineRoom = limits.lineOctets
    let replyRoom = limits.replyOctets - pending.octets
    guard octets > min(lineRoom, replyRoom) else { return }
    if lineRoom <= replyRoom { throw lineTooLong() }
    throw SMTPProtocolError("reply longer than \(limits.replyOctets) octets")
  }

  /// The same error however the bytes were split: the excerpt comes from the first `lineOctets` bytes,
  /// which are buffered whenever the line is known to be too long.
  private func lineTooLong() -> SMTPProtocolError {
    let end = min(buffer.count, cursor + limits.lineOctets)
    return SMTPProtocolError(
      "reply line longer than \(limits.lineOctets) octets: \(excerpt(buffer[cursor..<end]))")
  }

  /// Validates one line (RFC 5321 §4.2: `Reply-code [ SP / "-" textstring ] CRLF`) and adds it to the pending
  /// reply. Returns whether it is the last line.
  private mutating func addLine(_ line: ArraySlice<UInt8>, octets: Int) throws(SMTPProtocolError) -> Bool {
    let bytes = Array(line)
    guard bytes.count >= 3, isDigit(bytes[0]), isDigit(bytes[1]), isDigit(bytes[2]) else {
      throw SMTPProtocolError("reply line does not start with a 3-digit code: \(excerpt(line))")
    }
    let code =
      Int(bytes[0] - UInt8(ascii: "0")) * 100 + Int(bytes[1] - UInt8(ascii: "0")) * 10
      + Int(bytes[2] - UInt8(ascii: "0"))
    // RFC 5321 §4.2.1: the first digit is 2–5 (1yz is unused in SMTP), the second 0–5.
    guard (2...5).contains(code / 100), (0...5).contains(code / 10 % 10) else {
      throw SMTPProtocolError("reply code \(code) is out of range: \(excerpt(line))")
    }
    let isContinuation: Bool
    if bytes.count == 3 {
      isContinuation = false
    } else if bytes[3] == UInt8(ascii: " ") {
      isContinuation = false
    } else if bytes[3] == UInt8(ascii: "-") {
      isContinuation = true
    } else {
      throw SMTPProtocolError("reply code not followed by a space or hyphen: \(excerpt(line))")
    }
    if let expected = pending.code, expected != code {
      throw SMTPProtocolError(
        "multiline reply changes its code from \(expected) to \(code): \(excerpt(line))")
    }
    pending.code = code
    pending.lines.append(UntrustedText(bytes))
    pending.texts.append(UntrustedText(bytes.count > 4 ? Array(bytes[4...]) : []))
    pending.octets += octets
    if pending.octets > limits.replyOctets {
      throw SMTPProtocolError("reply longer than \(limits.replyOctets) octets")
    }
    if isContinuation {
      // Another line must follow: fail now rather than wait for it.
      if pending.lines.count >= limits.lines {
        throw SMTPProtocolError("reply has more than \(limits.lines) lines")
      }
      if pending.octets >= limits.replyOctets {
        throw SMTPProtocolError("reply longer than \(limits.replyOctets) octets")
      }
    }
    return !isContinuation
  }
}

/// At most 40 characters of escaped server text, quoted, for error messages (DESIGN §3.6).
func excerpt(_ bytes: some Collection<UInt8>, limit: Int = 40) -> String {
  let escaped = UntrustedText.escape(bytes.prefix(limit + 1))
  if escaped.count <= limit && bytes.count <= limit {
    return "\"" + escaped + "\""
  }
  return "\"" + String(escaped.prefix(limit - 1)) + "…\""
}
