import Foundation
import MailMessage
import MailSenderTesting
import Testing

@testable import SendPlanning

#if canImport(Glibc)
  import Glibc
#endif

/// The outbox's storage (issue 12 §2): atomic files, 0700/0600, a lock per message, nothing lost on a full disk.
@Suite(.serialized) struct OutboxStoreTests {
  static let message = Array("From: a@example.org\nTo: b@example.org\nSubject: Hello outbox\n\nHi.\n".utf8)
  static let envelope = OutboxEntry.Envelope(reversePath: "a@example.org", recipients: ["b@example.org"])
  static let route = OutboxEntry.Route(
    config: "/home/a/.config/sealpost/config", account: "work",
    overrides: ChannelOverrides(server: nil, user: "alice"))

  static func mode(_ path: String) -> mode_t {
    var info = stat()
    guard stat(path, &info) == 0 else { return 0 }
    return info.st_mode & 0o777
  }

  @Test func addWritesTheMessageAndItsSidecarPrivately() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let outbox = Outbox(directory: directory.file("state/sealpost/outbox"))
    let (entry, lock) = try outbox.add(
      message: Self.message, envelope: Self.envelope, route: Self.route, state: .queued)
    withExtendedLifetime(lock) {}
    #expect(Outbox.isValidID(entry.id))
    #expect(try outbox.message(entry.id) == Self.message)
    #expect(Self.mode(outbox.directory) == 0o700)
    #expect(Self.mode(outbox.messagePath(entry.id)) == 0o600)
    #expect(Self.mode(outbox.sidecarPath(entry.id)) == 0o600)
    let listed = try #require(outbox.entries().first)
    #expect(outbox.entries().count == 1)
    #expect(listed == entry)
    #expect(listed.subject == "Hello outbox")
    #expect(listed.size == Self.message.count)
    #expect(listed.route.account == "work")
    #expect(listed.envelope.recipients == ["b@example.org"])
    // The sidecar is JSON a person can read, with no secret field: the keys, written by hand.
    let json = try #require(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: outbox.sidecarPath(entry.id))))
        as? [String: Any])
    #expect(
      Set(json.keys)
        == ["id", "route", "envelope", "subject", "size", "attempts", "state", "created", "updated"])
    #expect(json["state"] as? String == "queued")
    try outbox.remove(entry.id)
    #expect(outbox.entries().isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: outbox.directory).isEmpty)
  }

  /// A message that streams, read in small pieces, failing after `failAfter` octets when set.
  struct PieceSource: MessageSource {
    let bytes: [UInt8]
    var failAfter: Int?

    func open(for offer: ContentOffer) throws(MessageError) -> any MessageReader {
      Reader(bytes: bytes, failAfter: failAfter)
    }

    struct Reader: MessageReader {
      let bytes: [UInt8]
      let failAfter: Int?
      var offset = 0

      mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int {
        if let failAfter, offset >= failAfter { throw MessageError(.unreadableInput, "the file went away") }
        let count = min(buffer.count, 1000, bytes.count - offset)
        guard count > 0 else { return 0 }
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]).copyBytes(
          from: bytes[offset..<offset + count])
        offset += count
        return count
      }
    }
  }

  /// A message that streams is written a piece at a time, whole; one whose pass fails leaves nothing (reading it
  /// whole first gave an empty message, which was then kept as if it were the mail).
  @Test func aStreamedMessageIsKeptWholeOrNotAtAll() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let outbox = Outbox(directory: directory.file("outbox"))
    let body = Array(repeating: Array("a line of the body\r\n".utf8), count: 20_000).joined()
    let message = Array("Subject: streamed\r\n\r\n".utf8) + body
    let (entry, lock) = try outbox.add(
      source: PieceSource(bytes: message), envelope: Self.envelope, route: Self.route, state: .sending)
    withExtendedLifetime(lock) {}
    #expect(try outbox.message(entry.id) == message)
    #expect(entry.size == message.count)
    #expect(entry.subject == "streamed")
    #expect(Self.mode(outbox.messagePath(entry.id)) == 0o600)
    try outbox.remove(entry.id)

    #expect(throws: OutboxError.self) {
      _ = try outbox.add(
        source: PieceSource(bytes: message, failAfter: 50_000), envelope: Self.envelope, route: Self.route,
        state: .sending)
    }
    #expect(outbox.entries().isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: outbox.directory).isEmpty)
  }

  @Test func theStateNamesAreTheDocumentedOnes() throws {
    let data = try JSONEncoder().encode([OutboxEntry.State.queued, .sending, .deliveryUnknown, .failed])
    #expect(String(decoding: data, as: UTF8.self) == #"["queued","sending","delivery-unknown","failed"]"#)
  }

  @Test(arguments: ["../x", "a/b", "", ".", "x.json", "a b", String(repeating: "a", count: 65)])
  func idsThatNameOtherFilesAreRefused(id: String) {
    #expect(!Outbox.isValidID(id))
    let outbox = Outbox(directory: "/nonexistent")
    #expect(throws: OutboxError.self) { _ = try outbox.load(id) }
    #expect(throws: OutboxError.self) { try outbox.remove(id) }
  }

  @Test func aHeldLockKeepsOthersOutUntilReleased() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let outbox = Outbox(directory: directory.path)
    var (entry, held): (OutboxEntry, Outbox.EntryLock?) = try outbox.add(
      message: Self.message, envelope: Self.envelope, route: Self.route, state: .sending)
    // Held here: a second taker (another descriptor, as another flush has) is refused.
    #expect(try outbox.lock(entry.id) == nil)
    #expect(outbox.isLocked(entry.id))
    // While held, "sending" is what it says.
    #expect(outbox.entries().first?.state == .sending)
    held = nil
    #expect(!outbox.isLocked(entry.id))
    // Released while still "sending": its sender is gone, so the end of data may have left.
    #expect(outbox.entries().first?.state == .deliveryUnknown)
    entry.state = .queued
    try outbox.save(entry)
    #expect(outbox.entries().first?.state == .queued)
    _ = held
  }

  @Test func aLockHeldByAProcessKilledWithSIGKILLIsNeverStale() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let outbox = Outbox(directory: directory.path)
    var (entry, held): (OutboxEntry, Outbox.EntryLock?) = try outbox.add(
      message: Self.message, envelope: Self.envelope, route: Self.route, state: .queued)
    held = nil
    entry.state = .sending
    try outbox.save(entry)
    // Another process takes the lock (as a flush does) and is killed.
    let holder = Process()
    holder.executableURL = URL(
      fileURLWithPath: ProcessInfo.processInfo.environment["SEALPOST_TEST_PYTHON"] ?? "/usr/bin/python3")
    holder.arguments = [
      "-c",
      "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\n"
        + "print('locked', flush=True)\ntime.sleep(30)",
      outbox.lockPath(entry.id),
    ]
    let output = Pipe()
    holder.standardOutput = output
    try holder.run()
    let said = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
    #expect(said.hasPrefix("locked"), "the helper never took the lock: \(said)")
    #expect(outbox.isLocked(entry.id))
    #expect(outbox.entries().first?.state == .sending)
    kill(holder.processIdentifier, SIGKILL)
    holder.waitUntilExit()
    #expect(!outbox.isLocked(entry.id))
    #expect(outbox.entries().first?.state == .deliveryUnknown)
    #expect(try outbox.lock(entry.id) != nil)
    _ = held
  }

  @Test func aFullDiskGivesAClearErrorAndLeavesThePreviousEntryIntact() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let mountPoint = directory.file("small")
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
    let mount = Process()
    mount.executableURL = URL(fileURLWithPath: "/bin/mount")
    mount.arguments = ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint]
    let errors = Pipe()
    mount.standardError = errors
    try mount.run()
    mount.waitUntilExit()
    let reason = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    try #require(
      mount.terminationStatus == 0,
      "this test needs a small tmpfs (run as root: mount -t tmpfs -o size=64k tmpfs DIR): \(reason)")
    defer {
      let unmount = Process()
      unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
      unmount.arguments = [mountPoint]
      try? unmount.run()
      unmount.waitUntilExit()
    }
    let outbox = Outbox(directory: mountPoint + "/outbox")
    let (added, lock) = try outbox.add(
      message: Self.message, envelope: Self.envelope, route: Self.route, state: .queued)
    var first = added
    let big = Self.message + [UInt8](repeating: UInt8(ascii: "x"), count: 200 << 10)
    #expect {
      _ = try outbox.add(message: big, envelope: Self.envelope, route: Self.route, state: .queued)
    } throws: { error in
      guard let error = error as? OutboxError else { return false }
      return error.kind == .cannotWrite && error.exitCode == 73
        && error.message.contains("cannot write to the outbox") && error.message.contains("No space left")
    }
    // Fill the rest, then update the first entry's sidecar: the old version survives the failed write.
    let filler = mountPoint + "/filler"
    _ = FileManager.default.createFile(atPath: filler, contents: nil)
    if let handle = FileHandle(forWritingAtPath: filler) {
      while (try? handle.write(contentsOf: Data(repeating: 0, count: 4096))) != nil {}
      try? handle.close()
    }
    first.lastError = String(repeating: "e", count: 64 << 10)
    #expect(throws: OutboxError.self) { try outbox.save(first) }
    let entries = outbox.entries()
    #expect(entries.count == 1)
    #expect(entries.first?.id == first.id)
    #expect(entries.first?.lastError == nil)
    #expect(try outbox.message(first.id) == Self.message)
    // No temporary file left behind.
    let names = try FileManager.default.contentsOfDirectory(atPath: outbox.directory)
    #expect(names.allSatisfy { !$0.contains(".tmp-") }, "\(names)")
    withExtendedLifetime(lock) {}
  }

  @Test func theStandardFolderFollowsXDGStateHome() throws {
    #expect(
      try Outbox.standard(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]).directory
        == "/s/sealpost/outbox")
    #expect(try Outbox.standard(environment: ["HOME": "/h"]).directory == "/h/.local/state/sealpost/outbox")
    // A relative XDG_STATE_HOME is ignored, as the XDG spec says.
    #expect(
      try Outbox.standard(environment: ["XDG_STATE_HOME": "rel", "HOME": "/h"]).directory
        == "/h/.local/state/sealpost/outbox")
    #expect(throws: OutboxError.self) { _ = try Outbox.standard(environment: [:]) }
  }
}
