import Foundation
import MailSenderTesting
import Testing

/// Runs the built binary from `/bin/sh`, so a test can close or redirect its standard descriptors (`<&-`,
/// `> /dev/full`) or limit its memory (`ulimit -v`) the way a user's shell does.
enum ShellRunner {
  /// `prefix` runs before the binary (e.g. `ulimit -v …;`), `redirections` follow its arguments. stdout and
  /// stderr are captured unless `redirections` sends them elsewhere.
  static func run(
    _ arguments: [String], prefix: String = "", redirections: String = "", stdin: String? = nil,
    environment: [String: String] = [:]
  ) throws -> CLIRunner.Result {
    let directory = try TemporaryDirectory(prefix: "sealpost-shell").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let outPath = directory + "/stdout"
    let errPath = directory + "/stderr"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "\(prefix) exec \"$SEALPOST\" \"$@\" \(redirections)", "sealpost"] + arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "SEALPOST_PASSWORD")
    env.removeValue(forKey: "XDG_CONFIG_HOME")
    env["HOME"] = directory
    env["LANG"] = "C.UTF-8"
    env["SEALPOST"] = CLIRunner.binary.path
    for (key, value) in environment { env[key] = value }
    process.environment = env
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    if let stdin {
      let inPath = directory + "/stdin"
      _ = FileManager.default.createFile(atPath: inPath, contents: Data(stdin.utf8))
      process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
    } else {
      process.standardInput = FileHandle.nullDevice
    }
    let clock = ContinuousClock()
    let start = clock.now
    try process.run()
    process.waitUntilExit()
    let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return CLIRunner.Result(
      status: process.terminationStatus, stdout: out, stderr: err, elapsed: clock.now - start)
  }
}

/// Issue 7, the message, argument and output half: hostile local inputs — files, standard input, arguments —
/// through the built binary, beside the hostile-server suites. Each answer is a sysexits code of DESIGN §4 with
/// one clean line on stderr: no trap, no backtrace, no raw control, nothing sent.
@Suite(.serialized) struct HostileLocalInputTests {
  /// A plaintext loopback send whose server never answers (port 1: nothing listens there): every case below
  /// must be refused before connecting.
  static let send = [
    "send", "--server", "127.0.0.1:1", "--tls", "none", "--from", "a@example.org", "--to", "b@example.org",
    "--timeout", "5",
  ]

  /// One line on stderr, `sealpost: …`, and no raw control, bidi or invisible character anywhere.
  static func expectOneCleanLine(
    _ result: CLIRunner.Result, containing text: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(result.stderr.hasPrefix("sealpost: "), "\(result.stderr)", sourceLocation: sourceLocation)
    #expect(
      result.stderr.filter { $0 == "\n" }.count == 1 && result.stderr.hasSuffix("\n"), "\(result.stderr)",
      sourceLocation: sourceLocation)
    #expect(result.stderr.contains(text), "\(result.stderr)", sourceLocation: sourceLocation)
    expectNothingRaw(result, sourceLocation: sourceLocation)
  }

  static func expectNothingRaw(_ result: CLIRunner.Result, sourceLocation: SourceLocation = #_sourceLocation)
  {
    for output in [result.stdout, result.stderr] {
      let raw = output.unicodeScalars.first { scalar in
        (scalar.value < 0x20 && scalar != "\n") || (0x7F...0x9F).contains(scalar.value)
          || [.format, .lineSeparator, .paragraphSeparator].contains(scalar.properties.generalCategory)
      }
      #expect(
        raw == nil, "raw \(raw.map { String($0.value, radix: 16) } ?? "") in \(output.debugDescription)",
        sourceLocation: sourceLocation)
    }
  }

  static func plaintextServer() throws -> ScriptedSMTPServer {
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid))
    options.tlsIdentity = nil
    return try ScriptedSMTPServer(standard: options)
  }

  // MARK: 3. A bare CR or LF in the header of a --message

  /// The case: lines ending `\r\r\n`, with To, Subject and Bcc. Refused before connecting.
  @Test func aBareCRInTheHeaderIsRefusedAndNothingIsSent() throws {
    let server = try Self.plaintextServer()
    defer { server.stop() }
    let message =
      "From: a@example.org\r\r\nTo: b@example.org\r\r\nSubject: hi\r\r\nBcc: hidden@example.org\r\r\n\r\r\nbody\r\r\n"
    let result = try ShellRunner.run(
      [
        "send", "--server", "127.0.0.1:\(server.port)", "--tls", "none", "--from", "a@example.org", "--to",
        "b@example.org", "--message", "-", "--timeout", "5",
      ], stdin: message)
    #expect(result.status == 65, "\(result.stderr)")
    Self.expectOneCleanLine(result, containing: "line 1 (in the header) ends with a bare CR")
    #expect(server.sessions.isEmpty)
  }

  /// A consistent header (LF alone) with Bcc and Resent-Bcc, folded: the server gets neither, and no "Bcc:"
  /// reaches it anywhere (the body's own "Bcc:" text aside, which this message does not have).
  @Test func bccAndResentBccNeverReachTheServer() throws {
    let server = try Self.plaintextServer()
    defer { server.stop() }
    let message =
      "From: a@example.org\nBcc: hidden1@example.org,\n hidden2@example.org\nTo: b@example.org\n"
      + "Resent-Bcc: hidden3@example.org\nSubject: hi\n\nbody with a bare CR\rhere\n"
    let result = try ShellRunner.run(
      [
        "send", "--server", "127.0.0.1:\(server.port)", "--tls", "none", "--from", "a@example.org", "--to",
        "b@example.org", "--message", "-", "--timeout", "5",
      ], stdin: message)
    #expect(result.status == 0, "\(result.stderr)")
    let data = try #require(server.waitForFinishedSessions(1).first?.messages.first)
    let text = String(decoding: data, as: UTF8.self)
    #expect(!text.lowercased().contains("bcc"), "\(text)")
    #expect(!text.contains("hidden"), "\(text)")
    #expect(text.hasSuffix("\r\n\r\nbody with a bare CR\r\nhere\r\n"), "\(text)")
  }

  // MARK: 4. Standard input closed or a directory

  @Test(arguments: [
    (["--body-file", "-"], "<&-", "the body from standard input: it is closed"),
    (["--message", "-"], "<&-", "the message from standard input: it is closed"),
    (["--message", "-"], "< /", "the message from standard input: it is a directory"),
    (["--body-file", "-"], "< /", "the body from standard input: it is a directory"),
    (["--message", "/"], "", "the message from /: it is a directory"),
    (["--body-file", "/nonexistent/body"], "", "the body from /nonexistent/body: No such file or directory"),
  ])
  func unreadableStandardInputIs66(flags: [String], redirection: String, text: String) throws {
    let result = try ShellRunner.run(Self.send + flags, redirections: redirection)
    #expect(result.status == 66, "\(result.stderr)")
    Self.expectOneCleanLine(result, containing: "cannot read: " + text)
  }

  /// A closed stdin must not be handed to the next file opened: here the config file would have been read
  /// as the message.
  @Test func aClosedStdinIsNotReusedForTheConfigFile() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let config = try sandbox.write(
      "account default\nhost 127.0.0.1\nport 1\nfrom a@example.org\n", to: sandbox.home + "/.msmtprc")
    let result = try ShellRunner.run(
      ["send", "--config", config, "--to", "b@example.org", "--message", "-", "--allow-insecure"],
      redirections: "<&-", environment: sandbox.environment)
    #expect(result.status == 66, "\(result.stderr)")
    #expect(result.stderr.contains("the message from standard input: it is closed"), "\(result.stderr)")
  }

  // MARK: 5. Bounded input

  /// `/dev/zero` used to grow without end (12 GB in 10 s); under a 1 GiB address-space limit the old reader
  /// trapped, the bounded one stops at the limit plus one octet.
  @Test func endlessStandardInputStopsAtTheLimit() throws {
    let result = try ShellRunner.run(
      Self.send + ["--body-file", "-"], prefix: "ulimit -v 1048576;", redirections: "< /dev/zero")
    #expect(result.status == 65, "\(result.stderr)")
    Self.expectOneCleanLine(
      result,
      containing:
        "bad data: the body from standard input is over the limit of 67,108,864 octets (raise it with --max-size)"
    )
  }

  /// A sparse 2 GB file is refused from its size, without reading it (the old reader used 4.1 GB).
  @Test func aSparseTwoGigabyteMessageIsRefusedFromItsSize() throws {
    let directory = try TemporaryDirectory(prefix: "sealpost-sparse").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/huge.eml"
    #expect(FileManager.default.createFile(atPath: path, contents: nil))
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.truncate(atOffset: 2_147_483_648)
    try handle.close()
    let result = try ShellRunner.run(Self.send + ["--message", path], prefix: "ulimit -v 1048576;")
    #expect(result.status == 65, "\(result.stderr)")
    Self.expectOneCleanLine(
      result,
      containing: "is 2,147,483,648 octets, over the limit of 67,108,864 octets (raise it with --max-size)")
  }

  @Test func maxSizeLowersAndRaisesTheLimit() throws {
    let server = try Self.plaintextServer()
    defer { server.stop() }
    let body = String(repeating: "0123456789abcdef\n", count: 128)  // 2,176 octets
    let arguments = [
      "send", "--server", "127.0.0.1:\(server.port)", "--tls", "none", "--from", "a@example.org", "--to",
      "b@example.org", "--body-file", "-", "--timeout", "5",
    ]
    let small = try ShellRunner.run(arguments + ["--max-size", "2K"], stdin: body)
    #expect(small.status == 65, "\(small.stderr)")
    Self.expectOneCleanLine(small, containing: "over the limit of 2,048 octets")
    #expect(server.sessions.isEmpty)
    let raised = try ShellRunner.run(arguments + ["--max-size", "3k"], stdin: body)
    #expect(raised.status == 0, "\(raised.stderr)")
    for bad in ["0", "-1", "1T", "K", "1.5M", "99999999999999999999G"] {
      let result = try ShellRunner.run(arguments + ["--max-size", bad], stdin: body)
      #expect(result.status == 64, "\(bad): \(result.stderr)")
    }
  }

  // MARK: 7. Many recipients

  @Test func thirtyThousandRecipientsGetAQuickCleanRefusal() throws {
    let recipients = (0..<30_000).flatMap { ["--to", "r\($0)@example.org"] }
    let result = try CLIRunner.run(Self.send + recipients)
    #expect(result.status == 64, "\(result.stderr)")
    Self.expectOneCleanLine(
      result,
      containing: "too many recipients: 30,001 --to, --cc and --bcc flags; one message takes at most 1,000")
  }

  @Test func aThousandRecipientsAreTakenOnceEach() throws {
    let server = try Self.plaintextServer()
    defer { server.stop() }
    // 999 distinct addresses and the first one again: 1,000 flags, 999 RCPT commands in order.
    let addresses = (0..<999).map { "r\($0)@example.org" }
    let result = try CLIRunner.run(
      [
        "send", "--server", "127.0.0.1:\(server.port)", "--tls", "none", "--from", "a@example.org",
        "--timeout",
        "10", "--transcript", "none",
      ] + (addresses + [addresses[0]]).flatMap { ["--bcc", $0] })
    #expect(result.status == 0, "\(result.stderr)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    let rcpts = session.commands.filter { $0.hasPrefix("RCPT TO:") }
    #expect(rcpts == addresses.map { "RCPT TO:<\($0)>" })
  }

  // MARK: 8. The argument parser's own errors

  @Test(arguments: [
    (["send", "--port", "\u{1B}]0;TITLE\u{07}"], "'\\u{001B}]0;TITLE\\u{0007}'"),
    (["send", "--port", "\u{9B}31m"], "'\\u{009B}31m'"),
    (["send", "--port", "\u{202E}52"], "'\\u{202E}52'"),
    (["send", "--port", "2\u{200B}5"], "'2\\u{200B}5'"),
    (["send", "--timeout", "\u{2028}x"], "'\\u{2028}x'"),
    (["send", "--\u{1B}[2Jx"], "--\\u{001B}[2Jx"),
    (["probe", "h", "--timeout", "\u{7F}"], "'\\u{007F}'"),
  ])
  func parserErrorsShowTheValueEscaped(arguments: [String], shown: String) throws {
    let result = try CLIRunner.run(arguments)
    #expect(result.status == 64, "\(result.stderr)")
    #expect(result.stderr.contains(shown), "\(result.stderr)")
    #expect(result.stdout.isEmpty)
    Self.expectNothingRaw(result)
  }

  @Test func helpKeepsItsLinesAndGoesToStdout() throws {
    let result = try CLIRunner.run(["send", "--help"])
    #expect(result.status == 0)
    #expect(result.stderr.isEmpty)
    #expect(result.stdout.contains("\n  --max-size <bytes>"), "\(result.stdout)")
    #expect(result.stdout.contains("64M"))
    #expect(!result.stdout.contains("\\u{000A}"))
    Self.expectNothingRaw(result)
  }

  // MARK: 12. Smaller ones

  /// `/dev/full`: the listing and the JSON document are the product; losing them is not a success.
  @Test func accountsToAFullDiskIsAnIOError() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let config = try sandbox.write(
      "account work\nhost smtp.example.org\ntls on\nauth on\nuser alice\n", to: sandbox.home + "/.msmtprc")
    for redirection in ["> /dev/full", ">&-"] {
      let result = try ShellRunner.run(
        ["accounts", "--config", config], redirections: redirection, environment: sandbox.environment)
      #expect(result.status == 74, "\(redirection): \(result.stderr)")
      Self.expectOneCleanLine(result, containing: "could not write to standard output")
    }
    // The same listing to a working stdout is 0, and stderr quiet.
    let fine = try ShellRunner.run(["accounts", "--config", config], environment: sandbox.environment)
    #expect(fine.status == 0, "\(fine.stderr)")
    #expect(fine.stdout.contains("work"))
  }

  @Test func probeJSONToAFullDiskIsAnIOError() throws {
    let identity = try TestPKI.shared().identity(.valid)
    let server = try ScriptedSMTPServer(
      standard: StandardSMTPOptions(tlsIdentity: identity), options: .init(implicitTLS: identity))
    defer { server.stop() }
    let arguments = [
      "probe", "localhost:\(server.port)", "--tls", "implicit", "--ca-file",
      try TestPKI.shared().caCertificatePath,
      "--json", "--timeout", "5",
    ]
    let full = try ShellRunner.run(arguments, redirections: "> /dev/full")
    #expect(full.status == 74, "\(full.stderr)")
    #expect(
      full.stderr.hasSuffix(
        "sealpost: could not write to standard output (No space left on device): the output is incomplete\n"),
      "\(full.stderr)")
    let fine = try ShellRunner.run(arguments)
    #expect(fine.status == 0, "\(fine.stderr)")
    #expect(fine.stdout.hasPrefix("{"))
  }

  @Test func helpToAFullDiskIsAnIOError() throws {
    let result = try ShellRunner.run(["--help"], redirections: "> /dev/full")
    #expect(result.status == 74, "\(result.stderr)")
    Self.expectOneCleanLine(result, containing: "could not write to standard output")
  }

  /// A 64 KiB password: "too long", with the limit, and not one character of it; nothing is sent.
  @Test func aHugePasswordIsTooLongWithoutBeingShown() throws {
    let server = try Self.plaintextServer()
    defer { server.stop() }
    let password = String(repeating: "Hunter2", count: 65536 / 7)
    let result = try ShellRunner.run(
      [
        "send", "--server", "127.0.0.1:\(server.port)", "--tls", "none", "--from", "a@example.org", "--to",
        "b@example.org", "--user", "alice", "--timeout", "5",
      ],
      environment: ["SEALPOST_PASSWORD": password])
    #expect(result.status == 65, "\(result.stderr)")
    Self.expectOneCleanLine(result, containing: "the password is too long")
    #expect(result.stderr.contains("9202 octets"))
    #expect(!result.stderr.contains("Hunter") && !result.stdout.contains("Hunter"))
    #expect(!result.stderr.contains("87405"))
    #expect(server.sessions.isEmpty)
  }

  @Test func twoPortsAreAUsageError() throws {
    var arguments = Self.send
    arguments[2] = "127.0.0.1:2525:25"
    let result = try CLIRunner.run(arguments)
    #expect(result.status == 64, "\(result.stderr)")
    Self.expectOneCleanLine(result, containing: "expected HOST, HOST:PORT or [IPv6]:PORT")
    let probe = try CLIRunner.run(["probe", "127.0.0.1:2525:25"])
    #expect(probe.status == 64, "\(probe.stderr)")
  }

  @Test(arguments: ["Resent-Bcc: hidden@example.org", "resent-bcc:x"])
  func resentBccIsAReservedHeader(header: String) throws {
    let result = try CLIRunner.run(Self.send + ["--header", header])
    #expect(result.status == 64, "\(result.stderr)")
    Self.expectOneCleanLine(result, containing: "it names blind recipients; use --bcc")
  }

  @Test(arguments: [
    ("b@exa\u{200B}mple.org", "U+200B"), ("b@example.org\u{2028}", "U+2028"),
    ("b@exa\u{FEFF}mple.org", "U+FEFF"),
    ("b@exa\u{200F}mple.org", "U+200F"), ("Bob <b@exa\u{2060}mple.org>", "U+2060"),
  ])
  func invisibleCharactersInAnAddressAreRefused(address: String, code: String) throws {
    let result = try CLIRunner.run(Self.send + ["--cc", address])
    #expect(result.status == 65, "\(result.stderr)")
    Self.expectOneCleanLine(result, containing: "(\(code))")
  }
}
