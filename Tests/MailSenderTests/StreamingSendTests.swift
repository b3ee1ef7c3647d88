import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Synchronization
import Testing

@testable import MailSender

/// A message that streams (issue 10): the session reads it in one pass for its needs and size, after EHLO and
/// for what the server offers, then sends a second pass that must read the same, or the end of data never goes.
@Suite struct StreamingSendTests {
  typealias H = SendHarness

  /// A source whose passes give `passes[i]` (the last one again for later passes), in pieces of `piece`
  /// octets at most; `failing[i]` makes pass `i` throw after that many octets. It records each pass's offer.
  final class ScriptedSource: MessageSource, Sendable {
    let passes: [[UInt8]]
    let piece: Int
    let failing: [Int: Int]
    private let offers = Mutex<[ContentOffer]>([])

    init(_ passes: [[UInt8]], piece: Int = 1000, failing: [Int: Int] = [:]) {
      self.passes = passes
      self.piece = piece
      self.failing = failing
    }

    var openedFor: [ContentOffer] { offers.withLock { $0 } }

    func open(for offer: ContentOffer) throws(MessageError) -> any MessageReader {
      let index = offers.withLock { offers in
        offers.append(offer)
        return offers.count - 1
      }
      return Reader(
        bytes: passes[min(index, passes.count - 1)], piece: piece, failAfter: failing[index])
    }

    struct Reader: MessageReader {
      let bytes: [UInt8]
      let piece: Int
      let failAfter: Int?
      var offset = 0

      mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int {
        if let failAfter, offset >= failAfter {
          throw MessageError(.invalidData, "cannot read the message file: Input/output error")
        }
        let count = min(buffer.count, piece, bytes.count - offset, (failAfter ?? Int.max) - offset)
        guard count > 0 else { return 0 }
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]).copyBytes(
          from: bytes[offset..<offset + count])
        offset += count
        return count
      }
    }
  }

  static func text(_ body: String) -> [UInt8] {
    Array("From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\n\(body)".utf8)
  }

  static func server(chunking: Bool) throws -> StandardSMTPOptions {
    try H.standard {
      if chunking { $0.capabilitiesAfterTLS.append("CHUNKING") }
    }
  }

  @Test(arguments: [false, true])
  func aStreamedMessageIsCheckedThenSentAndArrivesIntact(chunking: Bool) throws {
    let bytes = Self.text(
      "Grüße\n.dot\r\n" + String(repeating: "line of a streamed message\n", count: 50_000))
    let source = ScriptedSource([bytes], piece: 7919)
    let outcome = try H.run(server: try Self.server(chunking: chunking)) {
      $0.recipients = ["b@example.org"]
      $0.message = MessageContent(source: source)
    }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    // Two passes, both for the list inside TLS (8BITMIME, no SMTPUTF8).
    #expect(
      source.openedFor == [ContentOffer(eightBitMIME: true, smtpUTF8: false)] + [
        .init(eightBitMIME: true, smtpUTF8: false)
      ])
    #expect(outcome.commands.contains("MAIL FROM:<a@example.org> BODY=8BITMIME SIZE=\(bytes.count)"))
    let expected = try #require(String(bytes: bytes, encoding: .utf8)).replacingOccurrences(
      of: "\r\n", with: "\n"
    )
    .replacingOccurrences(of: "\n", with: "\r\n")
    let wire = chunking ? expected : expected.replacingOccurrences(of: "\r\n.", with: "\r\n..")
    let intact = outcome.sessions.first?.messages == [Array(wire.utf8)]
    #expect(intact)
  }

  /// The second pass gives more, fewer or other octets than the check: the end of data never goes, the server
  /// has nothing, and the verdict says the message was not sent (65).
  @Test(arguments: [
    (false, "longer"), (false, "shorter"), (false, "eight-bit"), (true, "longer"), (true, "shorter"),
    (true, "eight-bit"),
  ])
  func aSecondPassThatDiffersAbortsBeforeTheEndOfData(chunking: Bool, change: String) throws {
    let body = String(repeating: "a line of the message as checked\n", count: 100_000)
    let checked = Self.text(body)
    var sent = checked
    switch change {
    case "longer": sent += Array("one more line\n".utf8)
    case "shorter": sent.removeLast(10)
    default: sent[sent.count - 5] = 0xE9
    }
    let outcome = try H.run(server: try Self.server(chunking: chunking)) {
      $0.recipients = ["b@example.org"]
      $0.message = MessageContent(source: ScriptedSource([checked, sent], piece: 65536))
    }
    #expect(outcome.report.exitCode == 65, "\(outcome.report.verdictLine)")
    #expect(outcome.report.failure?.reason == .messageUnreadable)
    #expect(
      outcome.report.verdictLine.contains("the message changed while it was sent"),
      "\(outcome.report.verdictLine)")
    #expect(outcome.report.verdictLine.contains("was not sent"))
    #expect(outcome.sessions.allSatisfy { $0.messages.isEmpty })
    #expect(!outcome.commands.contains { $0.hasSuffix(" LAST") })
    #expect(!outcome.lines.contains(" ~> ."))
  }

  /// A message the check pass cannot read ends the session before MAIL, with QUIT: nothing was sent.
  @Test func aCheckPassThatFailsSendsNothing() throws {
    let outcome = try H.run(server: try Self.server(chunking: true)) {
      $0.message = MessageContent(source: ScriptedSource([Self.text("x\n")], failing: [0: 10]))
    }
    #expect(outcome.report.exitCode == 65, "\(outcome.report.verdictLine)")
    #expect(outcome.report.failure?.reason == .messageUnreadable)
    #expect(outcome.report.verdictLine.contains("Input/output error — nothing was sent"))
    #expect(!outcome.serverSawMailOrAuth || !outcome.commands.contains { $0.hasPrefix("MAIL") })
    #expect(outcome.commands.last == "QUIT")
  }

  /// A body that changes after the scan that chose its encoding (a file rewritten in place): the refusal says
  /// once what became of the message — it doubled as "… — the message was not written — nothing was sent".
  @Test(arguments: [
    (2, " — nothing was sent"), (3, " — the message was not sent (the end of data never went)"),
  ])
  func aBodyThatChangedAfterItsScanIsRefusedInOneSentence(changedAtPass: Int, tail: String) throws {
    final class ChangingBody: ByteSource, Sendable {
      let passes = Mutex(0)
      let changedAtPass: Int
      init(changedAtPass: Int) { self.changedAtPass = changedAtPass }
      var byteCount: Int { 4 }
      func open() throws(MessageError) -> any ByteReader {
        let pass = passes.withLock { passes in
          passes += 1
          return passes
        }
        return try InMemoryBytes(pass < changedAtPass ? Array("abc\n".utf8) : [0xC3, 0xA9, 0x0A, 0x00]).open()
      }
    }
    let composed = ComposedMessage(
      from: try Mailbox(parsing: "a@example.org"), to: [try Mailbox(parsing: "b@example.org")], subject: "s",
      date: Date(timeIntervalSince1970: 1_790_000_000), messageID: "m@example.org")
    let message = try MIMEMessage(composed, body: ChangingBody(changedAtPass: changedAtPass))
    let outcome = try H.run(server: try Self.server(chunking: false)) {
      $0.recipients = ["b@example.org"]
      $0.message = MessageContent(source: message)
    }
    #expect(outcome.report.exitCode == 65, "\(outcome.report.verdictLine)")
    #expect(
      outcome.report.verdictLine
        == "bad data: the body changed after it was checked: it no longer fits 7bit" + tail)
    #expect(outcome.sessions.allSatisfy { $0.messages.isEmpty })
  }

  /// A read that fails in the middle of the send pass: the connection closes without the end of data.
  @Test(arguments: [false, true])
  func aSendPassThatFailsMidwayIsNotSent(chunking: Bool) throws {
    let bytes = Self.text(String(repeating: "0123456789abcdef\n", count: 200_000))
    let outcome = try H.run(server: try Self.server(chunking: chunking)) {
      $0.recipients = ["b@example.org"]
      $0.message = MessageContent(source: ScriptedSource([bytes], piece: 65536, failing: [1: 2_000_000]))
    }
    #expect(outcome.report.exitCode == 65, "\(outcome.report.verdictLine)")
    #expect(outcome.report.verdictLine.contains("Input/output error — the message was not sent"))
    #expect(outcome.sessions.allSatisfy { $0.messages.isEmpty })
  }

  /// Progress at a bounded rate: one event per 1 % or 256 KiB, whichever is rarer, whatever the reads.
  @Test(arguments: [false, true])
  func progressEventsAreBoundedAndEndAtTheTotal(chunking: Bool) throws {
    let bytes = Self.text(String(repeating: "x", count: 4 << 20))
    let outcome = try H.run(server: try Self.server(chunking: chunking)) {
      $0.recipients = ["b@example.org"]
      $0.message = MessageContent(source: ScriptedSource([bytes], piece: 4096))
    }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    let progress = outcome.events.compactMap { event -> Int? in
      if case .progress(let sent, let total) = event.payload, total == bytes.count { return sent }
      return nil
    }
    // 4 MiB in steps of 256 KiB: at most 16 between the first (0) and the last (all).
    #expect(progress.count >= 4 && progress.count <= 18, "\(progress.count) progress events")
    #expect(progress.first == 0)
    #expect(progress.last == bytes.count)
    #expect(progress == progress.sorted())
  }

  @Test func theMeterStepsByOnePercentOr256KiB() {
    for (total, most) in [(100 << 20, 100), (1 << 20, 4), (10, 0)] {
      var meter = ProgressMeter(total: total)
      var due = 0
      var sent = 0
      while sent < total {
        sent = min(total, sent + 4096)
        if meter.isDue(sent) { due += 1 }
      }
      #expect(due <= most && due >= most - 1, "total \(total): \(due) events")
    }
  }
}
