import Foundation
import MailSenderTesting
import Testing

/// `sealpost send`, the built binary, end to end against the scripted server (DESIGN §4, issue "done when").
@Suite(.serialized) struct SendCommandTests {
  static let user = "u@example.test"
  static let password = "pw-Secr3t!"

  /// A message with a Bcc header to drop, a line starting with a dot, bare LF line ends.
  static let message = """
    From: Alice <a@example.org>
    To: b@example.org, c@example.org
    Bcc: hidden@example.org
    Subject: CLI test
    Date: Sun, 29 Nov 2026 01:02:03 +0000
    Message-ID: <cli-test-1@example.org>

    Hello.
    .leading dot
    Bye.

    """

  /// What the server must receive as the DATA content, written by hand: CRLF, Bcc gone, dot-stuffed.
  static let expectedData =
    "From: Alice <a@example.org>\r\nTo: b@example.org, c@example.org\r\nSubject: CLI test\r\n"
    + "Date: Sun, 29 Nov 2026 01:02:03 +0000\r\nMessage-ID: <cli-test-1@example.org>\r\n\r\n"
    + "Hello.\r\n..leading dot\r\nBye.\r\n"

  static func standard() throws -> StandardSMTPOptions {
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid))
    options.credentials = .init(user: user, password: password)
    return options
  }

  static func baseArguments(port: UInt16, mode: String) throws -> [String] {
    [
      "send", "--server", "localhost", "--port", "\(port)", "--tls", mode, "--ca-file",
      try TestPKI.shared().caCertificatePath, "--user", user, "--password-command", "echo '\(password)'",
      "--from", "a@example.org", "--to", "b@example.org", "--to", "c@example.org", "--timeout", "5",
    ]
  }

  @Test func startTLSWithMessageFromStdinIsDeliveredByteForByte() throws {
    let server = try ScriptedSMTPServer(standard: try Self.standard())
    defer { server.stop() }
    let result = try CLIRunner.run(
      try Self.baseArguments(port: server.port, mode: "starttls") + ["--message", "-"],
      stdin: Array(Self.message.utf8))
    #expect(result.status == 0, "\(result.stderr)")
    // Issue 11: the Bcc recipient the flags leave out is said, never dropped silently.
    #expect(
      result.stderr
        == "sealpost: note: the message's Bcc names hidden@example.org, which is not a recipient: --to, --cc and "
        + "--bcc set the envelope (without them, To, Cc and Bcc do)\nsealpost: sent: 250 2.0.0 Ok: queued\n")
    let session = try #require(server.waitForFinishedSessions(1).first)

    // What the server got inside TLS, byte for byte (hand-written; the PLAIN blob is base64 of
    // "\0u@example.test\0pw-Secr3t!").
    let size = Self.expectedData.utf8.count - 1  // before dot-stuffing: one "." fewer
    let expected =
      "EHLO [127.0.0.1]\r\nAUTH PLAIN AHVAZXhhbXBsZS50ZXN0AHB3LVNlY3IzdCE=\r\n"
      + "MAIL FROM:<a@example.org> SIZE=\(size)\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\n"
      + "DATA\r\n" + Self.expectedData + ".\r\nQUIT\r\n"
    #expect(String(decoding: session.receivedInsideTLS, as: UTF8.self) == expected)
    #expect(String(decoding: session.receivedPlaintext, as: UTF8.self) == "EHLO [127.0.0.1]\r\nSTARTTLS\r\n")

    let lines = result.stdout.split(separator: "\n").map(String.init)
    let startTLS = try #require(lines.firstIndex { $0.hasPrefix(" -> ") && $0.hasSuffix(" STARTTLS") })
    let secondEHLO = try #require(
      lines.firstIndex { $0.hasPrefix(" ~> ") && $0.hasSuffix(" EHLO [127.0.0.1]") })
    #expect(lines[startTLS + 1].hasPrefix("<-  "))
    #expect(lines[(startTLS + 2)..<secondEHLO].allSatisfy { $0.hasPrefix("~~  ") })
    #expect(lines[(startTLS + 2)..<secondEHLO].contains { $0.contains("TLS = TLS 1.3") })
    #expect(lines.contains { $0.hasSuffix(" AUTH PLAIN <redacted> (user u@example.test)") })
    #expect(!result.stdout.contains("AHVAZXhhbXBsZS50ZXN0AHB3LVNlY3IzdCE="))
    #expect(!result.stdout.contains(Self.password))
  }

  @Test func implicitTLSWithMessageFromStdinIsDelivered() throws {
    let pki = try TestPKI.shared()
    let server = try ScriptedSMTPServer(
      standard: try Self.standard(), options: .init(implicitTLS: pki.identity(.valid)))
    defer { server.stop() }
    let result = try CLIRunner.run(
      try Self.baseArguments(port: server.port, mode: "implicit") + ["--message", "-"],
      stdin: Array(Self.message.utf8))
    #expect(result.status == 0, "\(result.stderr)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.receivedPlaintext.isEmpty)
    #expect(session.messages.map { String(decoding: $0, as: UTF8.self) } == [Self.expectedData])
    #expect(result.stdout.split(separator: "\n").dropFirst().first?.hasPrefix("~~  ") == true)
  }

  @Test(arguments: ["starttls", "implicit"])
  func composedMessageFromSubjectAndBodyFile(mode: String) throws {
    let pki = try TestPKI.shared()
    let server = try ScriptedSMTPServer(
      standard: try Self.standard(),
      options: .init(implicitTLS: mode == "implicit" ? pki.identity(.valid) : nil))
    defer { server.stop() }
    let result = try CLIRunner.run(
      try Self.baseArguments(port: server.port, mode: mode) + [
        "--subject", "Grüße", "--body-file", "-", "--bcc", "hidden@example.org",
      ],
      stdin: Array("Line one\n.\nLine three\n".utf8))
    #expect(result.status == 0, "\(result.stderr)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    let data = try #require(session.messages.first.map { String(decoding: $0, as: UTF8.self) })
    #expect(data.hasPrefix("From: a@example.org\r\n"))
    #expect(data.contains("\r\nTo: b@example.org, c@example.org\r\n"))
    #expect(data.contains("\r\nSubject: =?UTF-8?"))
    #expect(data.contains("\r\nMIME-Version: 1.0\r\n"))
    #expect(data.contains("\r\nMessage-ID: <"))
    #expect(data.contains("\r\nDate: "))
    #expect(!data.lowercased().contains("hidden@example.org"))
    #expect(data.hasSuffix("\r\n\r\nLine one\r\n..\r\nLine three\r\n"))
    #expect(session.commands.contains("RCPT TO:<hidden@example.org>"))
  }

  /// RFC 5321 §2.4: `--to C@Example.ORG --cc c@example.org` (and a Bcc of the same mailbox) is one recipient:
  /// one RCPT TO, as first spelled; a local part in another case is another mailbox.
  @Test func aRecipientWhoseDomainDiffersOnlyInCaseGetsOneRcpt() throws {
    let server = try ScriptedSMTPServer(standard: try Self.standard())
    defer { server.stop() }
    var arguments = try Self.baseArguments(port: server.port, mode: "starttls")
    arguments.removeLast(6)  // the two --to and --timeout
    let result = try CLIRunner.run(
      arguments + [
        "--timeout", "5", "--to", "c@Example.ORG", "--cc", "c@example.org", "--bcc", "c@EXAMPLE.org", "--cc",
        "C@example.org", "--body", "hi",
      ])
    #expect(result.status == 0, "\(result.stderr)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(
      session.commands.filter { $0.hasPrefix("RCPT") } == [
        "RCPT TO:<c@Example.ORG>", "RCPT TO:<C@example.org>",
      ])
  }

  @Test(arguments: [
    ["--to", "b@example.org\r\nRCPT TO:<evil@example.org>"],
    ["--to", "b@example.org\nx"],
    ["--from", "a@example.org\r"],
    ["--to", "b@example.org", "--subject", "hi\r\nBcc: evil@example.org"],
    ["--to", "b@example.org", "--header", "X-Test: a\r\nBcc: evil@example.org"],
    ["--to", "b@example.org", "--header", "X-Test: a\nb"],
  ])
  func controlCharactersAreRefusedBeforeConnecting(extra: [String]) throws {
    let server = try ScriptedSMTPServer(standard: try Self.standard())
    defer { server.stop() }
    var arguments = [
      "send", "--server", "127.0.0.1:\(server.port)", "--tls", "starttls", "--from", "a@example.org",
    ]
    if !extra.contains("--from") {
      arguments += []
    } else {
      arguments.removeLast(2)
    }
    arguments += extra
    if !arguments.contains("--to") { arguments += ["--to", "b@example.org"] }
    let result = try CLIRunner.run(arguments)
    #expect(result.status == 65, "\(extra): \(result.stderr)")
    #expect(result.stderr.hasPrefix("sealpost: bad data: "))
    #expect(result.stderr.split(separator: "\n").count == 1)
    #expect(server.sessions.isEmpty, "nothing may connect")
  }

  @Test(arguments: [
    (["send", "--from", "a@example.org", "--to", "b@example.org"], "no server"),
    (
      ["send", "--server", "localhost:2525", "--from", "a@example.org", "--to", "b@example.org"], "say --tls"
    ),
    (
      [
        "send", "--server", "localhost", "--from", "a@example.org", "--to", "b@example.org", "--message", "-",
        "--subject", "x",
      ], "--message"
    ),
    (
      [
        "send", "--server", "localhost", "--from", "a@example.org", "--to", "b@example.org", "--header",
        "Subject: x",
      ], "Subject"
    ),
    (["send", "--server", "localhost", "--from", "a@example.org"], "no recipient"),
    (
      ["send", "--server", "localhost", "--tls", "tls13", "--from", "a@example.org", "--to", "b@x.org"],
      "--tls"
    ),
    (
      ["send", "--server", "localhost", "--from", "a@example.org", "--to", "b@x.org", "--pin", "sha1/AAAA"],
      "SHA-1"
    ),
    (["send", "--server", "localhost", "--to", "b@example.org"], "--from"),
  ])
  func usageErrorsAre64(arguments: [String], mention: String) throws {
    let result = try CLIRunner.run(arguments)
    #expect(result.status == 64, "\(arguments): \(result.stderr)")
    #expect(result.stderr.contains(mention), "\(result.stderr)")
    #expect(result.stdout.isEmpty)
  }

  @Test func missingMessageFileIs66() throws {
    let result = try CLIRunner.run([
      "send", "--server", "localhost", "--from", "a@example.org", "--to", "b@example.org", "--message",
      "/nonexistent/msg.eml",
    ])
    #expect(result.status == 66, "\(result.stderr)")
    #expect(
      result.stderr
        == "sealpost: cannot read: the message from /nonexistent/msg.eml: No such file or directory\n")
  }

  @Test func stalledGreetingIsGivenUpWithinTheTimeout() throws {
    var options = try Self.standard()
    options.stall = .beforeGreeting(seconds: 5)
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let result = try CLIRunner.run(
      [
        "send", "--server", "127.0.0.1", "--port", "\(server.port)", "--tls", "starttls", "--timeout", "1",
        "--from", "a@example.org", "--to", "b@example.org",
      ])
    #expect(result.status == 75, "\(result.stderr)")
    #expect(result.elapsed < .seconds(2))
  }

  @Test func passwordFromTheEnvironmentNeverShows() throws {
    let server = try ScriptedSMTPServer(standard: try Self.standard())
    defer { server.stop() }
    var arguments = try Self.baseArguments(port: server.port, mode: "starttls")
    let commandIndex = try #require(arguments.firstIndex(of: "--password-command"))
    arguments.removeSubrange(commandIndex...(commandIndex + 1))
    let result = try CLIRunner.run(
      arguments + ["--transcript", "jsonl", "--show-data"], environment: ["SEALPOST_PASSWORD": Self.password])
    #expect(result.status == 0, "\(result.stderr)")
    for needle in [Self.password, "AHVAZXhhbXBsZS50ZXN0AHB3LVNlY3IzdCE=", "cHctU2VjcjN0IQ"] {
      #expect(!result.stdout.contains(needle))
      #expect(!result.stderr.contains(needle))
    }
    let objects = result.stdout.split(separator: "\n").map {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
    #expect(!objects.isEmpty && objects.allSatisfy { $0?["t"] is Double || $0?["t"] is Int })
    // The JSON-lines transcript ends with the outcome (issue 8).
    #expect((objects.last??["outcome"] as? [String: Any])?["exit"] as? Int == 0)
  }

  @Test func passwordCommandDoesNotSeeThePasswordVariable() throws {
    let server = try ScriptedSMTPServer(standard: try Self.standard())
    defer { server.stop() }
    var arguments = try Self.baseArguments(port: server.port, mode: "starttls")
    let commandIndex = try #require(arguments.firstIndex(of: "--password-command"))
    // The command prints the variable if it can see it, which would then fail the login.
    arguments[commandIndex + 1] = "printf '%s' \"${SEALPOST_PASSWORD:-\(Self.password)}\""
    let result = try CLIRunner.run(arguments, environment: ["SEALPOST_PASSWORD": "leaked"])
    #expect(result.status == 0, "\(result.stderr)")
  }

  @Test func plaintextToLoopbackIsMarked() throws {
    var options = try Self.standard()
    options.tlsIdentity = nil
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let result = try CLIRunner.run(
      [
        "send", "--server", "localhost:\(server.port)", "--tls", "none", "--from", "a@example.org", "--to",
        "b@example.org", "--timeout", "5",
      ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("!!  +"))
    #expect(!result.stdout.contains(" ~> "))
    #expect(result.stdout.contains(" -> DATA") || result.stdout.contains(" -> +"))
  }
}
