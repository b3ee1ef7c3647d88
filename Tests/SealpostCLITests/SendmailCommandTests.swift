import Foundation
import MailSenderTesting
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `sealpost sendmail` and the binary run as `sendmail` (issue 12 §3), against the scripted server.
@Suite(.serialized) struct SendmailCommandTests {
  static let message = """
    From: Alice <a@example.org>
    To: b@example.org
    Cc: c@example.org
    Bcc: hidden@example.org
    Subject: From cron
    Date: Tue, 01 Dec 2026 10:00:00 +0000
    Message-ID: <sendmail-test-1@example.org>

    Output of a job.

    """

  /// The DATA content the server must receive (hand-written: CRLF, Bcc gone).
  static let expectedData =
    "From: Alice <a@example.org>\r\nTo: b@example.org\r\nCc: c@example.org\r\nSubject: From cron\r\n"
    + "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <sendmail-test-1@example.org>\r\n\r\n"
    + "Output of a job.\r\n"

  /// Two accounts: `work` (from w@work.example) on `workPort`, and the default one (from a@example.org).
  static func writeConfig(_ sandbox: OutboxCommandTests.Sandbox, port: UInt16, workPort: UInt16? = nil) throws
  {
    try sandbox.point(at: port)
    var text = try String(contentsOfFile: sandbox.config, encoding: .utf8)
    text += """

      account work : test
      port \(workPort ?? port)
      from w@work.example

      """
    try Data(text.utf8).write(to: URL(fileURLWithPath: sandbox.config))
  }

  @Test func readsRecipientsFromTheHeaderWithDashTAndIsQuietOnSuccess() throws {
    let sandbox = try OutboxCommandTests.Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { server.stop() }
    try Self.writeConfig(sandbox, port: server.port)
    let result = try sandbox.run(
      ["sendmail", "--config", sandbox.config, "-t", "-oi", "-odi", "-oem"], stdin: Self.message)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.isEmpty)
    #expect(result.stderr.isEmpty)
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.messages.map { String(decoding: $0, as: UTF8.self) } == [Self.expectedData])
    #expect(session.commands.contains { $0.hasPrefix("MAIL FROM:<a@example.org>") })
    #expect(
      session.commands.filter { $0.hasPrefix("RCPT") }
        == ["RCPT TO:<b@example.org>", "RCPT TO:<c@example.org>", "RCPT TO:<hidden@example.org>"])
  }

  @Test func argumentsAreTheRecipientsAndDashFPicksTheAccount() throws {
    let sandbox = try OutboxCommandTests.Sandbox()
    defer { sandbox.remove() }
    let defaultServer = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { defaultServer.stop() }
    let workServer = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { workServer.stop() }
    try Self.writeConfig(sandbox, port: defaultServer.port, workPort: workServer.port)
    let result = try sandbox.run(
      [
        "sendmail", "--config", sandbox.config, "-i", "-f", "w@work.example", "-B", "8BITMIME",
        "x@example.org",
      ],
      stdin: Self.message)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.isEmpty)
    let session = try #require(workServer.waitForFinishedSessions(1).first)
    #expect(session.commands.contains { $0.hasPrefix("MAIL FROM:<w@work.example>") })
    #expect(session.commands.filter { $0.hasPrefix("RCPT") } == ["RCPT TO:<x@example.org>"])
    #expect(defaultServer.sessions.count == 0)
  }

  @Test func aMessageWithoutFromGetsOneNamedByDashF() throws {
    let sandbox = try OutboxCommandTests.Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { server.stop() }
    try Self.writeConfig(sandbox, port: server.port)
    let result = try sandbox.run(
      ["sendmail", "--config", sandbox.config, "-F", "Cron Daemon", "b@example.org"],
      stdin: "Subject: job\n\nout\n")
    #expect(result.status == 0, "\(result.stderr)")
    let data = try #require(server.waitForFinishedSessions(1).first?.messages.first)
    #expect(String(decoding: data, as: UTF8.self).hasPrefix("From: \"Cron Daemon\" <a@example.org>\r\n"))
  }

  @Test func invokedAsSendmailItIsSealpostSendmail() throws {
    let sandbox = try OutboxCommandTests.Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { server.stop() }
    try Self.writeConfig(sandbox, port: server.port)
    let link = sandbox.directory.file("sendmail")
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: CLIRunner.binary.path)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: link)
    process.arguments = ["--config", sandbox.config, "-oi", "b@example.org"]
    var environment = ProcessInfo.processInfo.environment
    for (key, value) in sandbox.environment { environment[key] = value }
    process.environment = environment
    let input = Pipe()
    let errors = Pipe()
    process.standardInput = input
    process.standardError = errors
    try process.run()
    input.fileHandleForWriting.write(Data(Self.message.utf8))
    try input.fileHandleForWriting.close()
    process.waitUntilExit()
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(process.terminationStatus == 0, "\(stderr)")
    #expect(server.waitForFinishedSessions(1).first?.messages.count == 1)
  }

  @Test(arguments: [
    (["-x"], 64, "sendmail: -x is not an option sealpost takes"),
    (["-f"], 64, "-f needs a value"),
    ([String](), 64, "no recipient: give the recipients as arguments, or -t"),
    (["not an address"], 65, "bad data: "),
  ])
  func errorsAreOneLineWithSysexitsCodes(arguments: [String], status: Int32, text: String) throws {
    let sandbox = try OutboxCommandTests.Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { server.stop() }
    try Self.writeConfig(sandbox, port: server.port)
    let result = try sandbox.run(["sendmail", "--config", sandbox.config] + arguments, stdin: Self.message)
    #expect(result.status == status, "\(result.stderr)")
    #expect(result.stderr.hasPrefix("sealpost: "))
    #expect(result.stderr.contains(text), "\(result.stderr)")
    #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    #expect(server.sessions.count == 0)
  }

  @Test func aTemporaryFailureWithQueueIsKeptAndExitsZero() throws {
    let sandbox = try OutboxCommandTests.Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(
      standard: try OutboxCommandTests.options { $0.dataReply = "451 4.3.0 Later" })
    defer { server.stop() }
    try Self.writeConfig(sandbox, port: server.port)
    let result = try sandbox.run(
      ["sendmail", "--config", sandbox.config, "--queue", "-t"], stdin: Self.message)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("queued in the outbox as "), "\(result.stderr)")
    #expect(try sandbox.sidecars().count == 1)
    let failed = try sandbox.run(["sendmail", "--config", sandbox.config, "-t"], stdin: Self.message)
    #expect(failed.status == 75)
    #expect(try sandbox.sidecars().count == 1)
  }

  /// git send-email itself (Debian's git-email) delivers a series of three patches through `sealpost
  /// sendmail`, as `sendemail.sendmailCmd` runs it.
  @Test func gitSendEmailDeliversAPatchSeries() throws {
    let sandbox = try OutboxCommandTests.Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { server.stop() }
    try Self.writeConfig(sandbox, port: server.port)
    let repository = sandbox.directory.file("repo")
    try FileManager.default.createDirectory(atPath: repository, withIntermediateDirectories: true)
    var environment = ProcessInfo.processInfo.environment
    for (key, value) in sandbox.environment { environment[key] = value }
    environment["GIT_AUTHOR_NAME"] = "Alice"
    environment["GIT_AUTHOR_EMAIL"] = "a@example.org"
    environment["GIT_COMMITTER_NAME"] = "Alice"
    environment["GIT_COMMITTER_EMAIL"] = "a@example.org"
    environment["GIT_CONFIG_NOSYSTEM"] = "1"
    func git(_ arguments: [String]) throws -> (Int32, String) {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
      process.arguments = ["-C", repository] + arguments
      process.environment = environment
      let output = Pipe()
      process.standardOutput = output
      process.standardError = output
      process.standardInput = FileHandle.nullDevice
      try process.run()
      let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      return (process.terminationStatus, text)
    }
    #expect(try git(["init", "-q"]).0 == 0)
    for number in 1...3 {
      try Data("line \(number)\n".utf8).write(to: URL(fileURLWithPath: repository + "/file\(number).txt"))
      #expect(try git(["add", "."]).0 == 0)
      #expect(try git(["commit", "-q", "-m", "Patch number \(number)"]).0 == 0)
    }
    #expect(try git(["format-patch", "-q", "--root", "-o", "patches"]).0 == 0)
    let patches = try FileManager.default.contentsOfDirectory(atPath: repository + "/patches").sorted()
    try #require(patches.count == 3)
    let (status, output) = try git(
      [
        "-c", "sendemail.sendmailCmd=\(CLIRunner.binary.path) sendmail --config \(sandbox.config)",
        "send-email", "--confirm=never", "--quiet", "--no-chain-reply-to", "--from=Alice <a@example.org>",
        "--to=list@example.org", "--suppress-cc=all",
      ] + patches.map { "patches/" + $0 })
    #expect(status == 0, "\(output)")
    let sessions = server.waitForFinishedSessions(3)
    #expect(sessions.count == 3)
    let subjects = sessions.compactMap { session -> String? in
      guard let data = session.messages.first else { return nil }
      let text = String(decoding: data, as: UTF8.self)
      return text.split(separator: "\r\n").first { $0.hasPrefix("Subject: ") }.map(String.init)
    }.sorted()
    #expect(
      subjects == [
        "Subject: [PATCH 1/3] Patch number 1", "Subject: [PATCH 2/3] Patch number 2",
        "Subject: [PATCH 3/3] Patch number 3",
      ])
    for session in sessions {
      #expect(session.commands.contains("RCPT TO:<list@example.org>"), "\(session.commands)")
      #expect(session.commands.contains { $0.hasPrefix("MAIL FROM:<a@example.org>") })
    }
  }
}
