import Foundation
import MailSenderTesting

/// Runs the built `sealpost` binary, as a user would, and captures what it printed.
enum CLIRunner {
  struct Result: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    var elapsed: Duration
  }

  /// The binary SwiftPM built next to the test bundle.
  static var binary: URL {
    if let path = ProcessInfo.processInfo.environment["SEALPOST_BINARY"] { return URL(fileURLWithPath: path) }
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
      let candidate = directory.appendingPathComponent("sealpost")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      directory.deleteLastPathComponent()
    }
    return URL(fileURLWithPath: ".build/debug/sealpost")
  }

  /// As the other `run`, on a thread of its own (`OffPool`): for tests that mostly wait while the binary runs (a
  /// deadline, a stalled server, a signal sent at a stage), so they hold none of the concurrency pool's threads
  /// meanwhile. `whileRunning` runs on that thread too.
  static func run(
    _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:], detached: Bool = false,
    whileRunning: (@Sendable (_ process: Process, _ stdoutPath: String) -> Void)? = nil
  ) async throws -> Result {
    try await OffPool.run {
      try run(
        arguments, stdin: stdin, environment: environment, detached: detached, whileRunning: whileRunning)
    }
  }

  /// Runs the binary with `environment` added. `HOME` defaults to an empty folder of this run and
  /// `XDG_CONFIG_HOME` is dropped, so no real config file is read. `detached` runs it in a new session
  /// (`setsid`), without a controlling terminal, so a password prompt cannot open `/dev/tty`. `launcher` is a
  /// command the binary runs under (`strace -o FILE …`), its path and arguments before the binary's.
  static func run(
    _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:], detached: Bool = false,
    launcher: [String] = [],
    whileRunning: ((_ process: Process, _ stdoutPath: String) -> Void)? = nil
  ) throws -> Result {
    let directory = NSTemporaryDirectory() + "sealpost-cli-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let outPath = directory + "/stdout"
    let errPath = directory + "/stderr"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)

    let process = Process()
    let command = (detached ? ["/usr/bin/setsid", "-w"] : []) + launcher + [binary.path] + arguments
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "SEALPOST_PASSWORD")
    env.removeValue(forKey: "XDG_CONFIG_HOME")
    env["HOME"] = directory
    env["LANG"] = "C.UTF-8"
    for (key, value) in environment { env[key] = value }
    process.environment = env
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let input = Pipe()
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    let clock = ContinuousClock()
    let start = clock.now
    try process.run()
    if let stdin {
      input.fileHandleForWriting.write(Data(stdin))
      try input.fileHandleForWriting.close()
    }
    whileRunning?(process, outPath)
    process.waitUntilExit()
    let elapsed = clock.now - start
    let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return Result(status: process.terminationStatus, stdout: out, stderr: err, elapsed: elapsed)
  }
}
