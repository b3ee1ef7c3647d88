import Foundation

/// Runs `/bin/sh -c COMMAND` for a secret: `SEALPOST_PASSWORD` removed from its environment (DESIGN §3.5), stdin
/// empty, stderr passed through, stdout captured (at most 64 KiB) and never shown, one trailing newline removed.
public enum ShellCommand {
  public enum Failure: Error, Sendable, Hashable {
    case couldNotStart
    /// Ended with this exit status (127: the shell did not find the program).
    case exitStatus(Int32)
    /// Killed by a signal.
    case signal(Int32)
    /// Wrote more than the limit.
    case tooLong
  }

  static let outputLimit = 64 * 1024

  /// - Parameters:
  ///   - command: the shell text.
  ///   - arguments: `$1`, `$2`… for the command, so values need no quoting.
  ///   - environment: the child's environment; `SEALPOST_PASSWORD` is removed from it whatever the caller passes.
  public static func run(_ command: String, arguments: [String] = [], environment: [String: String])
    -> Result<
      [UInt8], Failure
    >
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command, "sh"] + arguments
    var environment = environment
    environment.removeValue(forKey: "SEALPOST_PASSWORD")
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardInput = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      return .failure(.couldNotStart)
    }
    var bytes: [UInt8] = []
    var tooLong = false
    while true {
      let chunk = output.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      if bytes.count + chunk.count > outputLimit {
        tooLong = true
        process.terminate()
        break
      }
      bytes.append(contentsOf: chunk)
    }
    process.waitUntilExit()
    if tooLong {
      bytes.resetAll()
      return .failure(.tooLong)
    }
    if process.terminationReason == .uncaughtSignal {
      bytes.resetAll()
      return .failure(.signal(process.terminationStatus))
    }
    guard process.terminationStatus == 0 else {
      bytes.resetAll()
      return .failure(.exitStatus(process.terminationStatus))
    }
    if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
    if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
    return .success(bytes)
  }
}

extension [UInt8] {
  /// Overwrites the bytes before letting them go, so a secret does not linger in freed memory.
  mutating func resetAll() {
    for index in indices { self[index] = 0 }
    removeAll()
  }
}
