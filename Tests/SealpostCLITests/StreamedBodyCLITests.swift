import Foundation
import MailSenderTesting
import Testing

/// Issue 10 at the binary level: a large body (`--body-file FILE`, or piped standard input, spooled) is read
/// by the MIME writer as it writes the message, and comes out as a body held in memory would.
@Suite(.serialized) struct StreamedBodyCLITests {
  /// 1.5 MiB of UTF-8 lines with a line of 1,200 characters in it (quoted-printable then) and no final line end.
  static let body: [UInt8] = {
    var text = ""
    for index in 0..<24_000 { text += "Zeile \(index): Grüße aus Köln — a line of a long letter\n" }
    text += String(repeating: "ab€", count: 400) + "\n"
    text += "trailing blanks   \nthe last line without an end"
    return Array(text.utf8)
  }()

  static func dryRun(_ extra: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:]) throws
    -> CLIRunner.Result
  {
    try CLIRunner.run(
      ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "long", "--dry-run"] + extra,
      stdin: stdin, environment: environment)
  }

  /// The message without its Date and Message-ID lines (they differ from run to run).
  static func stable(_ message: String) -> String {
    message.components(separatedBy: "\r\n").filter {
      !$0.hasPrefix("Date: ") && !$0.hasPrefix("Message-ID: ")
    }
    .joined(separator: "\r\n")
  }

  @Test func aLargeBodyStreamsFromAFileAndFromStandardInputAlike() throws {
    let directory = NSTemporaryDirectory() + "sealpost-body-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let spool = directory + "/spool"
    try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
    let path = directory + "/body.txt"
    try Data(Self.body).write(to: URL(fileURLWithPath: path))

    let fromFile = try Self.dryRun(["--body-file", path])
    #expect(fromFile.status == 0, "\(fromFile.stderr)")
    var seen: [String] = []
    let fromPipe = try CLIRunner.run(
      ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "long", "--dry-run"]
        + ["--body-file", "-"], stdin: Self.body, environment: ["TMPDIR": spool],
      whileRunning: { _, _ in seen = (try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? [] })
    #expect(fromPipe.status == 0, "\(fromPipe.stderr)")
    #expect(Self.stable(fromFile.stdout) == Self.stable(fromPipe.stdout))
    // The spool was unlinked at once: nothing to see while it ran, nothing left.
    #expect(seen.isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: spool).isEmpty)
    #expect(fromFile.stdout.contains("\r\nContent-Transfer-Encoding: quoted-printable\r\n"))

    // Python's email package reads the text back exactly (a parser nobody here wrote).
    let messagePath = directory + "/message.eml"
    try Data(fromPipe.stdout.utf8).write(to: URL(fileURLWithPath: messagePath))
    let python = ProcessInfo.processInfo.environment["SEALPOST_TEST_PYTHON"] ?? "/usr/bin/python3"
    let check = Process()
    check.executableURL = URL(fileURLWithPath: python)
    check.arguments = [
      "-c",
      """
      import sys, email, email.policy
      message = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
      assert not message.defects, message.defects
      text = message.get_content()
      want = open(sys.argv[2], 'rb').read().decode('utf-8') + '\\n'
      sys.exit(0 if text == want else 'the text differs')
      """,
      messagePath, path,
    ]
    try check.run()
    check.waitUntilExit()
    #expect(check.terminationStatus == 0)
  }

  @Test func aLargeBodyPastMaxSizeIsRefusedWithTheNumbers() throws {
    // Refused while standard input is still being written: the writer must survive the reader's exit.
    let result = try StreamedMessageTests.run(
      CLIRunner.binary.path,
      ["send", "--from", "a@example.org", "--to", "b@example.org", "--dry-run", "--body-file", "-"]
        + ["--max-size", "1M"], stdin: Self.body, environment: ["HOME": NSTemporaryDirectory()])
    #expect(result.status == 65, "\(result.stderr)")
    #expect(
      result.stderr
        == "sealpost: bad data: the body from standard input is over the limit of 1,048,576 octets (raise it with --max-size) — nothing was sent\n"
    )
  }

  @Test func aBodyThatIsNotUTF8IsRefusedBeforeAnythingIsSent() throws {
    var body = Self.body
    body[1_200_000] = 0xFF
    let result = try Self.dryRun(["--body-file", "-"], stdin: body)
    #expect(result.status == 65, "\(result.stderr)")
    #expect(
      result.stderr.contains("the body is not UTF-8 text (invalid byte at offset 1200000)"),
      "\(result.stderr)")
    #expect(result.stdout.isEmpty)
  }

  /// The body is never held (issue 10): 48 MB piped to `--body-file -` (spooled) and written by `--dry-run`
  /// keeps the peak RSS under 64 MiB; read into memory it peaked at 125 MiB in a debug build.
  @Test func aLargePipedBodyIsNeverHeldInMemory() throws {
    let line = Array("the quick brown fox jumps over the lazy dog and sends a long letter home ab\n".utf8)
    var body: [UInt8] = []
    body.reserveCapacity(48_000_000 + line.count)
    while body.count < 48_000_000 { body += line }
    let directory = NSTemporaryDirectory() + "sealpost-body-rss-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let report = directory + "/time"
    let result = try StreamedMessageTests.run(
      "/usr/bin/time",
      ["-f", "%M", "-o", report, CLIRunner.binary.path]
        + ["send", "--from", "a@example.org", "--to", "b@example.org", "--dry-run", "--body-file", "-"]
        + ["--max-size", "100M"], stdin: body, environment: ["HOME": directory, "TMPDIR": directory])
    #expect(result.status == 0, "\(result.stderr)")
    let peakKiB = Int(
      ((try? String(contentsOfFile: report, encoding: .utf8)) ?? "").trimmingCharacters(
        in: .whitespacesAndNewlines))
    let peak = try #require(peakKiB)
    #expect(peak < 64 << 10, "peak RSS \(peak) KiB")
  }
}
