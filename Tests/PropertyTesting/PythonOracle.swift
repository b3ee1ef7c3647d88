import Foundation

/// Runs a Python script (Debian's /usr/bin/python3: a parser nobody here wrote) with `input` on stdin and
/// returns its stdout; a non-zero exit throws. Properties send all their samples in one call.
public enum PythonOracle {
  public struct Failure: Error, CustomStringConvertible {
    public var status: Int32
    public var description: String { "python3 failed (exit status \(status))" }
  }

  public static func run(_ script: String, input: Data) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = ["-c", script]
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    try process.run()
    try stdin.fileHandleForWriting.write(contentsOf: input)
    try stdin.fileHandleForWriting.close()
    let output = try stdout.fileHandleForReading.readToEnd() ?? Data()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw Failure(status: process.terminationStatus) }
    return output
  }
}
