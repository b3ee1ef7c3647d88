import PropertyTesting
import SMTPProtocol
import Testing

/// Records a failure that names the case and its seed; returns whether the property held, so a loop can stop
/// at the first failing case.
@discardableResult
func holds(
  _ condition: Bool, _ propertyCase: PropertyCase, _ what: @autoclosure () -> String,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
  if !condition { Issue.record("\(what()) — \(propertyCase)", sourceLocation: sourceLocation) }
  return condition
}

/// Property tests of `ReplyParser` (DESIGN §2, §3.7, §8): random byte streams and mutated valid replies, fed
/// whole and in random chunks, compared with a reference parser written from RFC 5321 §4.2 and DESIGN §3.7.
@Suite struct ReplyParserPropertyTests {
  /// What one feeding produced: the replies, then the error that ended the stream (if any).
  struct Outcome: Equatable {
    var replies: [SMTPReply] = []
    var error: String?
  }

  /// Feeds `chunks` as the transport does, checking after every step that the parser holds no more than the
  /// limits allow (DESIGN §3.7: "the transport never buffers more than these limits before parsing").
  static func feed(
    _ chunks: [[UInt8]], limits: ReplyLimits, _ propertyCase: PropertyCase
  ) -> Outcome {
    var parser = ReplyParser(limits: limits)
    var outcome = Outcome()
    // The stream so far, tracked incrementally: octets since the last LF, and whether the line before that
    // LF (already accepted, so well formed) was the last line of a reply.
    var partial: [UInt8] = []
    var lastLineEndsReply = false
    for chunk in chunks {
      let before = parser.bufferedByteCount
      parser.append(chunk)
      holds(
        parser.bufferedByteCount == before + chunk.count, propertyCase,
        "append buffers exactly the chunk")
      for byte in chunk {
        if byte == 0x0A {
          lastLineEndsReply = partial.count < 4 || partial[3] != UInt8(ascii: "-")
          partial = []
        } else {
          partial.append(byte)
        }
      }
      do {
        while let reply = try parser.nextReply() { outcome.replies.append(reply) }
      } catch {
        outcome.error = error.message
        // Errors are final: the same error again.
        do {
          _ = try parser.nextReply()
          holds(false, propertyCase, "nextReply() returned after an error")
        } catch let again {
          holds(again == error, propertyCase, "a second nextReply() threw \(again), not \(error)")
        }
        return outcome
      }
      // Between replies only the partial line is held, and it is shorter than a line; inside a multiline
      // reply its complete lines are held too, never reaching the reply limit.
      holds(partial.count < limits.lineOctets, propertyCase, "a partial line of \(partial.count) octets")
      holds(
        parser.bufferedByteCount < limits.replyOctets, propertyCase,
        "\(parser.bufferedByteCount) octets buffered, limit \(limits.replyOctets)")
      if lastLineEndsReply {
        holds(
          parser.bufferedByteCount == partial.count, propertyCase,
          "\(parser.bufferedByteCount) octets buffered after a complete reply, \(partial.count) expected")
      }
    }
    return outcome
  }

  /// A reference parser over the whole stream: RFC 5321 §4.2 (`Reply-code [SP / "-" text] CRLF`, a bare LF
  /// accepted, one code per reply, first digit 2–5, second 0–5) and DESIGN §3.7's limits, failing as soon as
  /// the bytes cannot become a reply within them.
  static func reference(_ bytes: [UInt8], limits: ReplyLimits) -> (replies: [SMTPReply], failed: Bool) {
    var replies: [SMTPReply] = []
    var lines: [[UInt8]] = []
    var octets = 0
    var start = 0
    for (index, byte) in bytes.enumerated() where byte == 0x0A {
      let lineOctets = index + 1 - start
      var line = Array(bytes[start..<index])
      start = index + 1
      if line.last == 0x0D { line.removeLast() }
      guard lineOctets <= limits.lineOctets, line.count >= 3 else { return (replies, true) }
      let digits = line[0..<3].map { Int($0) - 48 }
      guard digits.allSatisfy({ (0...9).contains($0) }), (2...5).contains(digits[0]), digits[1] <= 5
      else { return (replies, true) }
      guard line.count == 3 || line[3] == 0x20 || line[3] == 0x2D else { return (replies, true) }
      if let first = lines.first, first[0..<3] != line[0..<3] { return (replies, true) }
      octets += lineOctets
      lines.append(line)
      guard octets <= limits.replyOctets else { return (replies, true) }
      if line.count > 3 && line[3] == 0x2D {
        // Another line must follow, and it has at least one octet.
        if lines.count >= limits.lines || octets >= limits.replyOctets { return (replies, true) }
        continue
      }
      let code = digits[0] * 100 + digits[1] * 10 + digits[2]
      replies.append(
        SMTPReply(
          code: code, lines: lines.map(UntrustedText.init),
          texts: lines.map { UntrustedText(Array($0.dropFirst(4))) }))
      lines = []
      octets = 0
    }
    let partial = bytes.count - start
    if partial > 0 && (partial + 1 > limits.lineOctets || octets + partial + 1 > limits.replyOctets) {
      return (replies, true)
    }
    return (replies, false)
  }

  /// Limits as deployed, or small ones so that every bound is reached often.
  static func limits(_ gen: inout Gen) -> ReplyLimits {
    guard gen.chance(50) else { return .standard }
    let line = gen.int(5...40)
    return ReplyLimits(lineOctets: line, lines: gen.int(1...6), replyOctets: gen.int(line...(line * 5)))
  }

  /// One to four replies as a server would send them (sometimes with a bare LF, a bare code, long texts).
  static func validReplies(_ gen: inout Gen, limits: ReplyLimits) -> [UInt8] {
    var out: [UInt8] = []
    for _ in 0..<gen.int(1...4) {
      // Now and then a code out of range (1yz, 6yz, y6z…), which must be refused.
      let code =
        gen.chance(10)
        ? gen.pick([0, 1, 6, 9, gen.int(2...5)]) * 100 + gen.int(0...9) * 10 + gen.int(0...9)
        : gen.int(2...5) * 100 + gen.int(0...5) * 10 + gen.int(0...9)
      let count = gen.chance(10) ? gen.int(1...(limits.lines + 1)) : gen.int(1...min(4, limits.lines + 1))
      for line in 0..<count {
        out += Array(String(1000 + code).utf8.dropFirst())
        let isLast = line == count - 1
        if !(isLast && gen.chance(10)) {
          out.append(isLast ? 0x20 : 0x2D)
          let maxText = gen.chance(5) ? limits.lineOctets : max(0, min(limits.lineOctets - 6, 30))
          out += (0..<gen.int(0...maxText)).map { _ in
            var byte = gen.byte()
            while byte == 0x0A || byte == 0x0D { byte = gen.byte() }
            return byte
          }
        }
        out += gen.chance(80) ? [0x0D, 0x0A] : [0x0A]
      }
    }
    return out
  }

  static func input(_ gen: inout Gen, limits: ReplyLimits) -> [UInt8] {
    switch gen.int(0...3) {
    case 0: return gen.bytes(maxLength: 300)
    case 1: return validReplies(&gen, limits: limits)
    default:
      return gen.mutate(
        validReplies(&gen, limits: limits),
        insertions: [
          [0x0D], [0x0A], [0x0D, 0x0A], Array("250-".utf8), Array("250 ".utf8), Array("199".utf8),
        ])
    }
  }

  @Test func anyChunkingGivesTheReferenceResult() {
    for propertyCase in Property.cases("ReplyParser chunking", count: 500) {
      var gen = propertyCase.generator
      let limits = Self.limits(&gen)
      let bytes = Self.input(&gen, limits: limits)
      let whole = Self.feed([bytes], limits: limits, propertyCase)
      let expected = Self.reference(bytes, limits: limits)
      guard
        holds(
          whole.replies == expected.replies, propertyCase, "whole: \(whole.replies) ≠ \(expected.replies)"),
        holds(
          (whole.error != nil) == expected.failed, propertyCase,
          "whole: error \(whole.error ?? "none"), reference failed: \(expected.failed)")
      else { break }
      var stop = false
      for _ in 0..<2 {
        let chunks = gen.chunks(of: bytes)
        let split = Self.feed(chunks, limits: limits, propertyCase)
        if !holds(
          split == whole, propertyCase,
          "chunks \(chunks.map(\.count)) gave \(split.replies.count) replies, error \(split.error ?? "none"); "
            + "whole gave \(whole.replies.count), error \(whole.error ?? "none")")
        {
          stop = true
          break
        }
      }
      if stop { break }
    }
  }

  @Test func acceptedRepliesObeyTheRules() {
    for propertyCase in Property.cases("ReplyParser accepted replies", count: 300) {
      var gen = propertyCase.generator
      let limits = Self.limits(&gen)
      let outcome = Self.feed(gen.chunks(of: Self.input(&gen, limits: limits)), limits: limits, propertyCase)
      for reply in outcome.replies {
        let prefix = Array(String(reply.code).utf8)
        let octets = reply.lines.reduce(0) { $0 + $1.bytes.count + 1 }
        let ok =
          (200...599).contains(reply.code) && (0...5).contains(reply.code / 10 % 10)
          && !reply.lines.isEmpty && reply.lines.count <= limits.lines
          && reply.lines.count == reply.texts.count
          && octets <= limits.replyOctets
          && reply.lines.allSatisfy {
            $0.bytes.count < limits.lineOctets && Array($0.bytes.prefix(3)) == prefix
          }
          && !reply.lines.contains { $0.bytes.contains(0x0A) }
          && reply.lines.enumerated().allSatisfy { index, line in
            let isLast = index == reply.lines.count - 1
            let separator: UInt8? = line.bytes.count > 3 ? line.bytes[3] : nil
            return isLast ? (separator == nil || separator == 0x20) : separator == 0x2D
          }
          && zip(reply.lines, reply.texts).allSatisfy { Array($0.bytes.dropFirst(4)) == $1.bytes }
        if !holds(ok, propertyCase, "accepted reply breaks the rules: \(reply)") { return }
      }
    }
  }
}
