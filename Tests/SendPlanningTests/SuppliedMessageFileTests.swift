import Foundation
import MailMessage
import MailSender
import PropertyTesting
import Testing

@testable import SendPlanning

#if canImport(Glibc)
  import Glibc
#endif

/// A `--message` that streams from its descriptor (issue 10): the header prepared once, the body read at each
/// pass from the descriptor, checked, and a pass over a file that changed refused.
@Suite struct SuppliedMessageFileTests {
  static let date = Date(timeIntervalSince1970: 1_790_000_000)

  static func checked() throws -> MessageAssembly.CheckedFields {
    var fields = MessageFields()
    fields.from = "a@example.org"
    fields.to = ["b@example.org"]
    return try MessageAssembly.check(fields, account: nil)
  }

  /// Writes `text` to a new file and returns its path and a descriptor open on it.
  static func file(_ text: [UInt8]) throws -> (path: String, descriptor: Int32) {
    let path = NSTemporaryDirectory() + "sealpost-file-\(UUID().uuidString).eml"
    try Data(text).write(to: URL(fileURLWithPath: path))
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    try #require(descriptor >= 0)
    return (path, descriptor)
  }

  static func pass(_ source: any MessageSource, piece: Int = 4096) throws(MessageError) -> [UInt8] {
    var reader = try source.open(for: .plain)
    var out: [UInt8] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: piece, alignment: 1)
    defer { buffer.deallocate() }
    while true {
      let count = try reader.read(into: buffer)
      if count == 0 { return out }
      out += UnsafeRawBufferPointer(rebasing: buffer[0..<count])
    }
  }

  static let message = Array(
    ("From: a@example.org\nBcc: hidden@example.org\nSubject: x\n\n"
      + String(repeating: "body line\r\n", count: 20_000)).utf8)

  @Test func eachPassGivesThePreparedHeaderAndTheBodyFromTheDescriptor() throws {
    let (path, descriptor) = try Self.file(Self.message)
    defer { unlink(path) }
    let assembled = try SuppliedMessageFile.assemble(
      try Self.checked(), descriptor: descriptor, name: "m.eml", date: Self.date)
    #expect(assembled.content.inMemoryBytes == nil)
    // The same bytes as the message held in memory and prepared whole.
    var fields = MessageFields()
    (fields.from, fields.to, fields.supplied) = ("a@example.org", ["b@example.org"], Self.message)
    let whole = try MessageAssembly.assemble(fields, account: nil, date: Self.date).content.bytes
    let first = try Self.pass(assembled.content.source)
    let expected = whole.filter { _ in true }
    // The Message-IDs are random: compare without that line.
    func withoutID(_ bytes: [UInt8]) -> String {
      String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        .filter { !$0.hasPrefix("Message-ID:") }.joined(separator: "\r\n")
    }
    #expect(withoutID(first) == withoutID(expected))
    // The path is gone: the next pass still reads the file it checked, by its descriptor.
    unlink(path)
    #expect(try Self.pass(assembled.content.source, piece: 777) == first)
  }

  @Test(arguments: ["append", "truncate", "rewrite"])
  func aFileThatChangedFailsThePass(change: String) throws {
    let (path, descriptor) = try Self.file(Self.message)
    defer { unlink(path) }
    let assembled = try SuppliedMessageFile.assemble(
      try Self.checked(), descriptor: descriptor, name: "m.eml", date: Self.date)
    _ = try Self.pass(assembled.content.source)
    let handle = open(path, O_WRONLY)
    defer { close(handle) }
    switch change {
    case "append":
      _ = lseek(handle, 0, SEEK_END)
      _ = write(handle, "more\n", 5)
    case "truncate":
      _ = ftruncate(handle, off_t(Self.message.count - 100))
    default:
      // Same size, other bytes, a later modification time.
      var times = [timespec(tv_sec: 1_700_000_000, tv_nsec: 0), timespec(tv_sec: 1_700_000_000, tv_nsec: 0)]
      _ = pwrite(handle, "X", 1, off_t(Self.message.count - 3))
      _ = futimens(handle, &times)
    }
    // As one Bool: a failure would otherwise print the whole pass.
    let refused = (try? Self.pass(assembled.content.source)) == nil
    #expect(refused)
  }

  @Test func aNulInTheBodyIsRefusedWithItsLineNumber() throws {
    var bytes = Self.message
    bytes[bytes.count - 4] = 0
    let (path, descriptor) = try Self.file(bytes)
    defer { unlink(path) }
    let assembled = try SuppliedMessageFile.assemble(
      try Self.checked(), descriptor: descriptor, name: "m.eml", date: Self.date)
    #expect(
      throws: MessageError(.invalidData, "cannot send the message unchanged: line 20004 contains a NUL byte")
    ) { try Self.pass(assembled.content.source, piece: 1000) }
  }

  /// The line number in a refusal ("line N …"), or nil when `text` is none.
  static func refusedLine(_ text: String?) -> Int? {
    guard let text, let range = text.range(of: "line ") else { return nil }
    return Int(text[range.upperBound...].prefix { $0.isNumber })
  }

  /// The body check of a streamed file agrees with `SuppliedMessage` on the whole message in memory: the same
  /// messages refused (a NUL, a line over 998 octets; CRLF, bare CR and bare LF each ending a line), at the same
  /// line, whatever the size of the reads.
  @Test func theStreamedBodyCheckAgreesWithTheMessageInMemory() throws {
    let checked = try Self.checked()
    for propertyCase in Property.cases("SuppliedMessageFile body", count: 150) {
      var gen = propertyCase.generator
      var body: [UInt8] = []
      for _ in 0..<gen.int(0...40) {
        switch gen.int(0...9) {
        case 0: body += [0x0D]
        case 1: body += [0x0A]
        case 2: body += [0x0D, 0x0A]
        case 3: body += [UInt8](repeating: 0x61, count: gen.int(990...1005))
        case 4 where gen.chance(20): body += [0]
        default: body += [UInt8](repeating: 0x62, count: gen.int(0...300))
        }
      }
      let message = Array("From: a@example.org\nSubject: x\n\n".utf8) + body
      var inMemory: String?
      do throws(MessageError) {
        _ = try SuppliedMessage(bytes: message)
      } catch {
        inMemory = error.message
      }
      let (path, descriptor) = try Self.file(message)
      defer { unlink(path) }
      let assembled = try SuppliedMessageFile.assemble(
        checked, descriptor: descriptor, name: "m", date: Self.date)
      var streamed: String?
      do throws(MessageError) {
        _ = try Self.pass(assembled.content.source, piece: gen.int(1...700))
      } catch {
        streamed = error.message
      }
      let agree =
        (inMemory == nil) == (streamed == nil) && Self.refusedLine(inMemory) == Self.refusedLine(streamed)
        && (inMemory?.contains("NUL") ?? false) == (streamed?.contains("NUL") ?? false)
      guard agree else {
        Issue.record(
          "in memory: \(inMemory ?? "accepted"); streamed: \(streamed ?? "accepted") — \(propertyCase)")
        return
      }
    }
  }
}
