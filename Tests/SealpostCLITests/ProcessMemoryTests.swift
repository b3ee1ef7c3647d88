import Foundation
import MailSenderTesting
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 14: every thread of a send allocates from the main thread's malloc arena. glibc would otherwise give
/// the session's thread an arena of its own: a 64 MiB reservation that grows by an mprotect(2) per step.
@Suite struct ProcessMemoryTests {
  /// The heaps of glibc's thread arenas in a /proc/PID/maps text: anonymous mappings that start on a 64 MiB
  /// boundary and, with the anonymous mappings right after them, fill exactly 64 MiB, part of it reserved
  /// (`---p`). (glibc's HEAP_MAX_SIZE on 64-bit systems; a thread's stack is 8 MiB with a guard page below it.)
  static func arenaHeaps(_ maps: String) -> Int {
    struct Region {
      var start: UInt64
      var end: UInt64
      var reserved: Bool
      var anonymous: Bool
    }
    let regions: [Region] = maps.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count >= 5 else { return nil }
      let range = fields[0].split(separator: "-")
      guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16)
      else { return nil }
      return Region(
        start: start, end: end, reserved: fields[1].hasPrefix("---"), anonymous: fields.count == 5)
    }
    let size: UInt64 = 64 << 20
    var heaps = 0
    for (index, region) in regions.enumerated() where region.anonymous && region.start % size == 0 {
      var end = region.end
      var reserved = region.reserved
      var next = index + 1
      while end - region.start < size, next < regions.count, regions[next].anonymous,
        regions[next].start == end
      {
        end = regions[next].end
        reserved = reserved || regions[next].reserved
        next += 1
      }
      if end - region.start == size && reserved { heaps += 1 }
    }
    return heaps
  }

  @Test func theCountOfArenaHeapsReadsMapsAsGlibcLaysThemOut() {
    // Written by hand: one thread arena (132 KiB in use, the rest of its 64 MiB reserved), a thread stack with
    // its guard page, the binary and the main heap.
    let maps = """
      55d0c0000000-55d0c0200000 r--p 00000000 08:01 1234 /usr/local/bin/sealpost
      55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0 [heap]
      7f3a38000000-7f3a38021000 rw-p 00000000 00:00 0
      7f3a38021000-7f3a3c000000 ---p 00000000 00:00 0
      7f3a3f7ff000-7f3a3f800000 ---p 00000000 00:00 0
      7f3a3f800000-7f3a40000000 rw-p 00000000 00:00 0
      """
    #expect(Self.arenaHeaps(maps) == 1)
    // A 64 MiB anonymous mapping that is all in use is not an arena heap; neither is an unaligned one.
    #expect(Self.arenaHeaps("7f3a38000000-7f3a3c000000 rw-p 00000000 00:00 0") == 0)
    #expect(
      Self.arenaHeaps(
        "7f3a38001000-7f3a38021000 rw-p 00000000 00:00 0\n7f3a38021000-7f3a3c001000 ---p 00000000 00:00 0")
        == 0)
  }

  /// Red team: unsetenv took SEALPOST_PASSWORD out of `environ`, but /proc/PID/environ (the block the kernel
  /// wrote at exec) still showed it to any process of the same user, a password command's included.
  @Test func thePasswordVariableIsGoneFromProcEnviron() async throws {
    var options = try SendCommandTests.standard()
    options.stall = .beforeGreeting(seconds: 5)
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let secret = "sesame-\(UInt32.random(in: 0...UInt32.max))"
    var withoutCommand = try SendCommandTests.baseArguments(port: server.port, mode: "starttls")
    if let command = withoutCommand.firstIndex(of: "--password-command") {
      withoutCommand.removeSubrange(command...(command + 1))
    }
    let arguments = withoutCommand
    let environ = try await OffPool.run {
      var environ: [UInt8] = []
      _ = try CLIRunner.run(
        arguments + ["--transcript", "jsonl"], environment: ["SEALPOST_PASSWORD": secret]
      ) { process, stdoutPath in
        let limit = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < limit {
          let text = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
          if text.contains("\"stage\":\"greeting\"") { break }
          usleep(5_000)
        }
        environ = Array(
          (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(process.processIdentifier)/environ")))
            ?? Data())
        kill(process.processIdentifier, SIGTERM)
      }
      return environ
    }
    #expect(!environ.isEmpty)
    let text = String(decoding: environ, as: UTF8.self)
    #expect(!text.contains(secret))
    #expect(text.contains("HOME="), "the rest of the environment is still there")
  }

  @Test func aSendsThreadsShareOneMallocArena() async throws {
    var options = try SendCommandTests.standard()
    options.stall = .beforeReplyTo(verb: "MAIL", seconds: 5)
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let arguments =
      try SendCommandTests.baseArguments(port: server.port, mode: "starttls") + ["--transcript", "jsonl"]
    let maps = try await OffPool.run {
      var maps = ""
      _ = try CLIRunner.run(arguments) { process, stdoutPath in
        // In the envelope stage the session's thread has done the TLS handshake: it has allocated plenty.
        let limit = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < limit {
          let text = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
          if text.contains("\"stage\":\"envelope\"") { break }
          usleep(5_000)
        }
        maps = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/maps", encoding: .utf8)) ?? ""
        kill(process.processIdentifier, SIGTERM)
      }
      return maps
    }
    #expect(!maps.isEmpty)
    #expect(Self.arenaHeaps(maps) == 0, "\(maps)")
  }
}
