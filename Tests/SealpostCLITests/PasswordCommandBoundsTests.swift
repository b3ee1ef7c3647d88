import Foundation
import MailSenderTesting
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Password commands get the send's step deadline and are cancelled with it (issue 8): the command and whatever
/// it started are killed, nothing is left behind, and the message never holds the command's output.
@Suite struct PasswordCommandBoundsTests {
  /// The processes whose command line holds `marker`.
  static func processes(holding marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
      guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
      else { return nil }
      return String(decoding: data, as: UTF8.self).contains(marker) ? pid : nil
    }
  }

  static func arguments(port: UInt16, command: String) throws -> [String] {
    [
      "send", "--server", "localhost", "--port", "\(port)", "--tls", "starttls", "--ca-file",
      try TestPKI.shared().caCertificatePath, "--user", "alice@example.test", "--password-command", command,
      "--from", "a@example.org", "--to", "b@example.org", "--timeout", "1", "--transcript", "jsonl",
    ]
  }

  @Test func aCommandThatOutlivesTheDeadlineIsStoppedWith78() async throws {
    let server = try ScriptedSMTPServer(standard: try SendCommandTests.standard())
    defer { server.stop() }
    let marker = "31.4159\(UInt32.random(in: 0...999_999))"
    let result = try await CLIRunner.run(
      try Self.arguments(port: server.port, command: "echo leaked-output; sleep \(marker)"))
    #expect(result.status == 78, "\(result.stderr)")
    #expect(result.stderr.contains("the password command ran out of time"), "\(result.stderr)")
    #expect(!result.stderr.contains("leaked-output") && !result.stdout.contains("leaked-output"))
    #expect(result.elapsed < .seconds(5))
    #expect(server.sessions.isEmpty, "nothing connects without the password")
    #expect(Self.processes(holding: marker).isEmpty, "the command was left running")
  }

  @Test func ctrlCDuringTheCommandKillsItAndWhatItStarted() async throws {
    let server = try ScriptedSMTPServer(standard: try SendCommandTests.standard())
    defer { server.stop() }
    let marker = "27.1828\(UInt32.random(in: 0...999_999))"
    // The shell starts a background child and waits: both must go.
    let command = "sleep \(marker) & sleep \(marker); wait"
    let arguments = try Self.arguments(port: server.port, command: command)
    let (result, running, signalled, ended) = try await OffPool.run {
      var signalled: ContinuousClock.Instant?
      var running: [Int32] = []
      let result = try CLIRunner.run(arguments) { process, stdoutPath in
        let limit = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < limit && Self.processes(holding: marker).count < 2 { usleep(10_000) }
        running = Self.processes(holding: marker)
        signalled = ContinuousClock.now
        kill(process.processIdentifier, SIGINT)
      }
      return (result, running, signalled, ContinuousClock.now)
    }
    #expect(running.count >= 2, "the command did not start its children")
    #expect(result.status == 130, "\(result.stderr)")
    #expect(result.stderr.contains("cancelled — not sent"), "\(result.stderr)")
    if let signalled { #expect(ended - signalled < .milliseconds(500)) }
    // Killed processes are reaped by their parents (ours) or by init; give init a moment.
    let left = await OffPool.run {
      let limit = ContinuousClock.now + .seconds(2)
      while !Self.processes(holding: marker).isEmpty && ContinuousClock.now < limit { usleep(10_000) }
      return Self.processes(holding: marker)
    }
    #expect(left.isEmpty, "left running: \(left)")
  }
}
