import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Checks JSON documents against a JSON Schema (draft 2020-12) with Python's `jsonschema` (Debian's
/// python3-jsonschema: a validator nobody here wrote), in one Python process per schema that lives as long as the
/// test process. Importing jsonschema costs about 0.4 s of CPU; a process per document paid that two dozen times
/// in every run of the suite.
///
/// `SEALPOST_TEST_PYTHON` names the interpreter (default `/usr/bin/python3`). The process ends when the test
/// process does (its standard input closes).
public final class JSONSchemaValidator: Sendable {
  /// What the validator answered: 0 when valid, 1 when not (or not JSON, or the schema itself is broken), as
  /// the exit status of a one-shot `python3 -c` run.
  public typealias Status = Int32

  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// Reads a request per line (`document BASE64` or `lines BASE64`) and answers `0` or `1` on a line of its own.
  /// `lines` checks every line of the text as a document of its own (`str.splitlines()`, as the one-shot scripts
  /// did). Why a document fails goes to stderr.
  static let script = #"""
    import base64, json, sys, jsonschema
    schema = json.load(open(sys.argv[1]))
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
    except Exception as error:
        validator = None
        print("invalid schema:", sys.argv[1], error, file=sys.stderr)
    def valid(text):
        if validator is None:
            return False
        errors = list(validator.iter_errors(json.loads(text)))
        for error in errors[:3]:
            print("invalid:", list(error.path), error.message, file=sys.stderr)
        return not errors
    for request in sys.stdin:
        mode, _, payload = request.strip().partition(" ")
        try:
            text = base64.b64decode(payload).decode("utf-8")
            ok = all(valid(line) for line in text.splitlines()) if mode == "lines" else valid(text)
        except Exception as error:
            print("invalid:", error, file=sys.stderr)
            ok = False
        sys.stdout.write("0\n" if ok else "1\n")
        sys.stdout.flush()
    """#

  private static let validators = Mutex<[String: JSONSchemaValidator]>([:])

  /// The validator of the schema file at `path`, started on first use.
  public static func shared(schema path: String) throws -> JSONSchemaValidator {
    try validators.withLock { validators in
      if let validator = validators[path] { return validator }
      let validator = try JSONSchemaValidator(schema: path)
      validators[path] = validator
      return validator
    }
  }

  private struct Channel {
    var process: Process
    var requests: FileHandle
    var answers: FileHandle
    var pending: [UInt8] = []
    var ended = false
  }

  private let channel: Mutex<Channel>

  private init(schema path: String) throws {
    // A validator that died must be an error of the test, not a SIGPIPE that ends the test process.
    _ = signal(SIGPIPE, SIG_IGN)
    let python = ProcessInfo.processInfo.environment["SEALPOST_TEST_PYTHON"] ?? "/usr/bin/python3"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", Self.script, path]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    channel = Mutex(
      Channel(process: process, requests: input.fileHandleForWriting, answers: output.fileHandleForReading))
  }

  /// 0 when `document` (one JSON text) is valid against the schema.
  public func status(of document: String) throws -> Status {
    try ask("document", document)
  }

  /// 0 when every line of `text` is a JSON document valid against the schema.
  public func status(ofLines text: String) throws -> Status {
    try ask("lines", text)
  }

  private func ask(_ mode: String, _ text: String) throws -> Status {
    try channel.withLock { channel throws -> Status in
      guard !channel.ended else { throw Failure(description: "the schema validator has ended") }
      let request = Data((mode + " " + Data(text.utf8).base64EncodedString() + "\n").utf8)
      do {
        try channel.requests.write(contentsOf: request)
        while !channel.pending.contains(UInt8(ascii: "\n")) {
          let chunk = channel.answers.availableData
          guard !chunk.isEmpty else {
            channel.process.waitUntilExit()
            throw Failure(
              description: "the schema validator ended (exit status \(channel.process.terminationStatus))")
          }
          channel.pending += chunk
        }
      } catch {
        channel.ended = true
        try? channel.requests.close()
        throw error
      }
      let end = channel.pending.firstIndex(of: UInt8(ascii: "\n")) ?? channel.pending.endIndex
      let answer = String(decoding: channel.pending[..<end], as: UTF8.self)
      channel.pending.removeSubrange(...min(end, channel.pending.count - 1))
      return answer == "0" ? 0 : 1
    }
  }
}
