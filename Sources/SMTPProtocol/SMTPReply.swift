/// Bounds on what the reply parser buffers (DESIGN §3.7).
public struct ReplyLimits: Sendable, Hashable {
  /// The longest reply line in octets, including its line ending. RFC 5321 §4.5.3.1.5 allows 512; servers
  /// send longer EHLO lines, so the default is 2,048.
  public var lineOctets: Int
  /// The most lines in one reply.
  public var lines: Int
  /// The most octets in one reply, including every line ending.
  public var replyOctets: Int

  /// Limits with the given bounds; the defaults are DESIGN §3.7.
  public init(lineOctets: Int = 2048, lines: Int = 100, replyOctets: Int = 65536) {
    precondition(lineOctets >= 5 && lines >= 1 && replyOctets >= lineOctets, "unusable reply limits")
    self.lineOctets = lineOctets
    self.lines = lines
    self.replyOctets = replyOctets
  }

  /// 2,048 octets a line, 100 lines, 64 KiB a reply.
  public static let standard = ReplyLimits()
}

/// One complete SMTP reply (RFC 5321 §4.2): one or more lines that all carry the same code.
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
  /// The reply code, 200...599 with a second digit 0–5 (RFC 5321 §4.2.1), validated by `ReplyParser`.
  public var code: Int
  /// Each whole line as received, without its line ending, e.g. `250-PIPELINING`.
  public var lines: [UntrustedText]
  /// The text after `NNN-` or `NNN ` on each line; empty for a bare `NNN`.
  public var texts: [UntrustedText]

  /// A reply with the given lines and texts.
  public init(code: Int, lines: [UntrustedText], texts: [UntrustedText]) {
    self.code = code
    self.lines = lines
    self.texts = texts
  }

  /// A reply as a server would send it: `NNN-text` for every line but the last, `NNN text` for the last
  /// (RFC 5321 §4.2.1). An empty `texts` gives a single bare `NNN` line.
  public init(code: Int, texts: [String]) {
    let codeText = String(code)
    let texts = texts.isEmpty ? [""] : texts
    var lines: [UntrustedText] = []
    for (index, text) in texts.enumerated() {
      if text.isEmpty && index == texts.count - 1 {
        lines.append(UntrustedText(codeText))
      } else {
        lines.append(UntrustedText(codeText + (index == texts.count - 1 ? " " : "-") + text))
      }
    }
    self.init(code: code, lines: lines, texts: texts.map { UntrustedText($0) })
  }

  /// 2yz: positive completion (RFC 5321 §4.2.1).
  public var isPositive: Bool { (200...299).contains(code) }
  /// 3yz: positive intermediate.
  public var isIntermediate: Bool { (300...399).contains(code) }
  /// 4yz: transient negative completion.
  public var isTransient: Bool { (400...499).contains(code) }
  /// 5yz: permanent negative completion.
  public var isPermanent: Bool { (500...599).contains(code) }

  /// The enhanced status code at the start of the first text, e.g. `2.0.0` (RFC 3463 §2, RFC 2034 §4).
  ///
  /// Only a code whose class matches the first digit of the reply code counts (RFC 2034 §4); the code must be
  /// followed by a space or the end of the text.
  public var enhancedStatus: String? {
    guard let first = texts.first?.bytes else { return nil }
    // class "." subject "." detail, with class 2/4/5 and subject, detail 1*3DIGIT (RFC 3463 §2).
    var index = 0
    guard first.count >= 5, first[0] == UInt8(ascii: "0") + UInt8(code / 100), first[1] == UInt8(ascii: ".")
    else { return nil }
    index = 2
    for part in 0..<2 {
      let start = index
      while index < first.count, index - start < 4, isDigit(first[index]) { index += 1 }
      let length = index - start
      guard (1...3).contains(length) else { return nil }
      if part == 0 {
        guard index < first.count, first[index] == UInt8(ascii: ".") else { return nil }
        index += 1
      }
    }
    guard index == first.count || first[index] == UInt8(ascii: " ") else { return nil }
    return String(decoding: first[0..<index], as: UTF8.self)
  }

  /// The lines, escaped for display and joined by newlines.
  public var description: String { lines.map(\.escaped).joined(separator: "\n") }
}

func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

/// A violation of the SMTP reply syntax or of `ReplyLimits` (DESIGN §4: exit 76).
///
/// The message says what was wrong and quotes at most 40 escaped characters of the offending input.
public struct SMTPProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What was wrong, safe to print.
  public var message: String

  /// An error with `message`.
  public init(_ message: String) { self.message = message }

  public var description: String { message }
}
