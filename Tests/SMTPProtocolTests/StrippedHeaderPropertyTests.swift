import Foundation
import MailMessage
import PropertyTesting
import SMTPProtocol
import Testing

/// Issue 7: no header Sealpost strips from a `--message` (Bcc, Resent-Bcc) may reach the wire by a line-ending
/// trick — a bare CR or LF, CR CR LF, LF CR, mixed endings, obs-fold continuation lines, a split between DATA
/// chunks. The message goes the whole way a send takes it: `SuppliedMessage`, `prepared`, then `DataEncoder`
/// fed in random chunks.
@Suite struct StrippedHeaderPropertyTests {
  static let marker = "HIDDEN"
  static let cr: UInt8 = 0x0D
  static let lf: UInt8 = 0x0A

  /// Line ends that are not the message's own: each is a bare CR or LF for one reader or another. None is
  /// two of the convention's line ends in a row, so none is a real empty line.
  static let tricks: [[UInt8]] = [
    [cr], [lf], [cr, lf], [cr, cr, lf], [lf, cr], [cr, cr], [lf, cr, lf], [cr, lf, lf], [cr, lf, cr],
  ]

  static let fields = [
    "From: a@example.org", "To: b@example.org", "Subject: hi", "X-Note: kept",
    "Date: Mon, 1 Jan 2024 00:00:00 -0000",
    "Message-ID: <m@example.org>", " folded", "\tfolded",
  ]
  static let stripped = [
    "Bcc: \(marker)-1@example.org", "bcc:\(marker)-2@example.org", "BCC :\(marker)-3@example.org",
    "Resent-Bcc: \(marker)-4@example.org", "resent-bcc:\(marker)-5@example.org",
  ]
  /// obs-fold continuations of a stripped field (RFC 5322 §4.2), whitespace-only ones among them.
  static let continuations = [" \(marker)-folded@example.org", "\t\(marker)-tab@example.org", " ", "\t"]

  static func message(_ gen: inout Gen) -> [UInt8] {
    let convention: [UInt8] = gen.chance(50) ? [cr, lf] : [lf]
    let trickiness = gen.pick([0, 5, 20, 60])
    func ending(_ gen: inout Gen) -> [UInt8] {
      gen.chance(trickiness) ? gen.pick(tricks) : convention
    }
    var out = Array("From: a@example.org".utf8) + ending(&gen)
    var afterStripped = false
    for _ in 0..<gen.int(1...8) {
      let line: String
      if afterStripped && gen.chance(50) {
        line = gen.pick(continuations)
      } else if gen.chance(40) {
        line = gen.pick(stripped)
        afterStripped = true
      } else {
        line = gen.pick(fields)
        afterStripped = false
      }
      out += Array(line.utf8) + ending(&gen)
    }
    if gen.chance(90) {
      out += ending(&gen)
      for _ in 0..<gen.int(0...4) {
        let line = gen.chance(30) ? "Bcc: body text" : gen.cleanString(maxLength: 20)
        out += Array(line.utf8) + (gen.chance(80) ? gen.pick([[cr, lf], [lf], [cr]]) : [])
      }
    }
    return out
  }

  @Test func noStrippedHeaderReachesTheWire() throws {
    var accepted = 0
    var refused = 0
    for propertyCase in Property.cases("StrippedHeader", count: 2000) {
      var gen = propertyCase.generator
      let input = Self.message(&gen)
      let prepared: [UInt8]
      do {
        prepared = try SuppliedMessage(bytes: input).prepared(
          date: Date(timeIntervalSince1970: 1_795_914_123), messageID: "added@example.org")
      } catch {
        refused += 1
        continue
      }
      accepted += 1
      var encoder = DataEncoder()
      var wire: [UInt8] = []
      for chunk in gen.chunks(of: prepared) { encoder.encode(chunk, into: &wire) }
      encoder.finish(into: &wire)
      let text = String(decoding: wire, as: UTF8.self)
      guard
        holds(
          !text.contains(Self.marker), propertyCase,
          "a stripped field reached the wire: \(text.debugDescription)")
      else { return }
      // Every line on the wire ends with CRLF: no reader can find another line end in it.
      var index = 0
      var clean = true
      while index < wire.count {
        if wire[index] == Self.lf { clean = false }
        if wire[index] == Self.cr {
          if index + 1 < wire.count, wire[index + 1] == Self.lf { index += 1 } else { clean = false }
        }
        index += 1
      }
      guard holds(clean, propertyCase, "a bare CR or LF on the wire: \(text.debugDescription)") else {
        return
      }
    }
    // Both outcomes are common, so the property is not vacuous either way.
    #expect(accepted >= 400, "accepted: \(accepted)")
    #expect(refused >= 400, "refused: \(refused)")
  }
}
