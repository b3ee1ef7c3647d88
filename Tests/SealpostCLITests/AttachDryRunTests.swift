import Foundation
import MailSenderTesting
import PropertyTesting
import Testing

/// `--attach`, `--dry-run`, the linter's notes and IDN at the binary level (issue 10).
@Suite(.serialized) struct AttachDryRunTests {
  static func server(_ configure: (inout StandardSMTPOptions) -> Void = { _ in }) throws -> ScriptedSMTPServer
  {
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid))
    configure(&options)
    return try ScriptedSMTPServer(standard: options)
  }

  static func arguments(_ server: ScriptedSMTPServer, from: String = "a@example.org", _ extra: [String])
    throws
    -> [String]
  {
    [
      "send", "--server", "localhost:\(server.port)", "--tls", "starttls", "--ca-file",
      try TestPKI.shared().caCertificatePath, "--from", from, "--timeout", "5",
    ] + extra
  }

  /// A folder of this test with `files` in it.
  static func folder(_ files: [String: [UInt8]]) throws -> String {
    let directory = NSTemporaryDirectory() + "sealpost-attach-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for (name, bytes) in files {
      try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + name))
    }
    return directory
  }

  static func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
  }

  /// Issue 10's "done when": `send --dry-run` of a UTF-8 subject, a 2,000-character line and a binary attachment
  /// is read by Python's `email` (policy.default) with no defect in any part, and every part decodes to its
  /// input.
  @Test func aDryRunIsReadBackExactlyByPython() throws {
    let binary = Self.randomBytes(200_000)
    let directory = try Self.folder(["blob.bin": binary, "Grüße – día.txt": Array("hallo\n".utf8)])
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let subject = "Grüße aus Köln — 報告 🎉"
    let body = "Hello,\n" + String(repeating: "0123456789", count: 200) + "\n.a line with a dot\nbye\n"
    let result = try CLIRunner.run([
      "send", "--dry-run", "--from", "Zoë Ünal <zoe@example.org>", "--to", "Bob <bob@bücher.example>",
      "--subject", subject, "--body", body, "--attach", directory + "/blob.bin", "--attach",
      directory + "/Grüße – día.txt",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.isEmpty)
    // Built for a server with no extensions: ASCII, lines of at most 78 octets.
    #expect(result.stdout.unicodeScalars.allSatisfy { $0.isASCII })
    #expect(result.stdout.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
    let script = """
      import sys, json, email, email.policy
      msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
      defects = [repr(d) for d in msg.defects]
      parts = []
      for part in msg.walk():
          defects += [repr(d) for d in part.defects]
          for name, value in part.items():
              defects += ['%s: %r' % (name, d) for d in getattr(value, 'defects', ())]
          if not part.is_multipart():
              name = part.get_filename()
              parts.append({"filename": name, "hex": part.get_payload(decode=True).hex() if name else None,
                            "text": None if name else part.get_content()})
      json.dump({"defects": defects, "subject": str(msg["subject"]), "from": str(msg["from"]),
                 "to": str(msg["to"]), "parts": parts}, sys.stdout)
      """
    let output = try PythonOracle.run(script, input: Data(result.stdout.utf8))
    let parsed = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
    #expect(parsed["defects"] as? [String] == [])
    #expect(parsed["subject"] as? String == subject)
    #expect(parsed["from"] as? String == "Zoë Ünal <zoe@example.org>")
    #expect(parsed["to"] as? String == "Bob <bob@xn--bcher-kva.example>")
    let parts = try #require(parsed["parts"] as? [[String: Any]])
    try #require(parts.count == 3)
    #expect((parts[0]["text"] as? String)?.replacingOccurrences(of: "\r\n", with: "\n") == body)
    #expect(parts[1]["filename"] as? String == "blob.bin")
    #expect(parts[1]["hex"] as? String == binary.map { String(format: "%02x", $0) }.joined())
    #expect(parts[2]["filename"] as? String == "Grüße – día.txt")
    #expect(parts[2]["hex"] as? String == "68616c6c6f0a")
  }

  @Test func aDryRunConnectsToNothing() throws {
    let server = try Self.server()
    defer { server.stop() }
    // Standard input is not a terminal here, so it is the body (issue 11).
    let result = try CLIRunner.run(
      try Self.arguments(server, ["--to", "b@example.org", "--dry-run"]), stdin: Array("Piped body.\n".utf8))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.hasPrefix("From: a@example.org\r\nTo: b@example.org\r\n"))
    #expect(result.stdout.contains("\r\n\r\nPiped body.\r\n"))
    #expect(server.sessions.isEmpty)
  }

  @Test func aMissingOrUnusableAttachmentIs66BeforeConnecting() throws {
    let server = try Self.server()
    defer { server.stop() }
    let directory = try Self.folder([:])
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let hostile = directory + "/no\u{1B}[31mfile"
    let missing = try CLIRunner.run(
      try Self.arguments(server, ["--to", "b@example.org", "--attach", hostile]))
    #expect(missing.status == 66, "\(missing.stderr)")
    #expect(missing.stderr.contains("no\\u{001B}[31mfile: No such file or directory"), "\(missing.stderr)")
    #expect(!missing.stderr.contains("\u{1B}"))
    let folder = try CLIRunner.run(
      try Self.arguments(server, ["--to", "b@example.org", "--attach", directory]))
    #expect(folder.status == 66, "\(folder.stderr)")
    // The category says "cannot read" once (it said "cannot read: cannot read the attachment").
    #expect(folder.stderr.hasPrefix("sealpost: cannot read: the attachment "), "\(folder.stderr)")
    #expect(folder.stderr.contains("it is a directory"))
    #expect(server.sessions.isEmpty)
  }

  /// `--max-size` bounds what is held in memory (a message, a body, standard input); attachments stream from
  /// their files a piece at a time, so files larger than it together are sent whole.
  @Test func attachmentsStreamPastMaxSize() throws {
    let server = try Self.server()
    defer { server.stop() }
    let first = Self.randomBytes(600)
    let second = Self.randomBytes(600)
    let directory = try Self.folder(["a.bin": first, "b.bin": second])
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let result = try CLIRunner.run(
      try Self.arguments(
        server,
        [
          "--to", "b@example.org", "--body", "two files", "--max-size", "1K", "--attach",
          directory + "/a.bin",
          "--attach", directory + "/b.bin",
        ]))
    #expect(result.status == 0, "\(result.stderr)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    let data = String(decoding: try #require(session.messages.first), as: UTF8.self)
    for bytes in [first, second] {
      #expect(
        data.contains(
          Data(bytes).base64EncodedString(options: [
            .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
          ])))
    }
  }

  @Test func attachIsRefusedWithMessage() throws {
    let result = try CLIRunner.run([
      "send", "--dry-run", "--from", "a@example.org", "--to", "b@example.org", "--message", "-", "--attach",
      "x",
    ])
    #expect(result.status == 64, "\(result.stderr)")
    #expect(result.stderr.contains("--attach"))
  }

  @Test func anAttachmentIsSentAsBase64InMultipartMixed() throws {
    let server = try Self.server()
    defer { server.stop() }
    let directory = try Self.folder(["report.pdf": Array("%PDF-1.4 tiny".utf8)])
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let result = try CLIRunner.run(
      try Self.arguments(server, ["--to", "b@example.org", "--attach", directory + "/report.pdf"]))
    #expect(result.status == 0, "\(result.stderr)")
    let message = String(
      decoding: try #require(server.waitForFinishedSessions(1).first?.messages.first), as: UTF8.self)
    #expect(message.contains("Content-Type: multipart/mixed; boundary=\"=_"))
    #expect(
      message.contains(
        "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\n"))
    #expect(message.contains("\r\n\r\nJVBERi0xLjQgdGlueQ==\r\n--=_"))
  }

  @Test func theLintersFindingsGoToStderrAndTheTranscript() throws {
    let server = try Self.server()
    defer { server.stop() }
    let input = Array("From: Other <other@example.net>\nTo: b@example.org\nSubject: x\n\nhi\n".utf8)
    let result = try CLIRunner.run(
      try Self.arguments(server, ["--to", "b@example.org", "--message", "-"]), stdin: input)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("sealpost: note: the message has no Date field: one is added\n"))
    #expect(
      result.stderr.contains(
        "sealpost: warning: line 1: the From field (other@example.net) is not the envelope sender"))
    #expect(result.stdout.contains("the message has no Message-ID field: one is added"))
    #expect(result.stdout.contains("!!  +0.000 line 1: the From field (other@example.net)"))
    let dry = try CLIRunner.run(
      ["send", "--dry-run", "--from", "a@example.org", "--to", "b@example.org", "--message", "-"],
      stdin: input)
    #expect(dry.status == 0)
    #expect(dry.stderr.contains("sealpost: note: the message has no Message-ID field: one is added\n"))
    #expect(
      dry.stdout.hasPrefix("From: Other <other@example.net>\r\nTo: b@example.org\r\nSubject: x\r\nDate: "))
  }

  @Test func anInternationalDomainGoesAsALabelsWithoutSMTPUTF8() throws {
    let server = try Self.server()
    defer { server.stop() }
    let result = try CLIRunner.run(
      try Self.arguments(server, from: "Zoë <zoe@bücher.example>", ["--to", "b@blåbær.example"]))
    #expect(result.status == 0, "\(result.stderr)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.commands.contains { $0.hasPrefix("MAIL FROM:<zoe@xn--bcher-kva.example> ") })
    #expect(session.commands.contains("RCPT TO:<b@xn--blbr-roah.example>"))
    let message = String(decoding: try #require(session.messages.first), as: UTF8.self)
    #expect(message.contains("<zoe@xn--bcher-kva.example>\r\nTo: b@xn--blbr-roah.example\r\n"))
  }

  @Test func aUTF8LocalPartWithoutSMTPUTF8Is65WithTheReason() throws {
    let server = try Self.server()
    defer { server.stop() }
    let result = try CLIRunner.run(try Self.arguments(server, ["--to", "zoë@example.org"]))
    #expect(result.status == 65, "\(result.stderr)")
    #expect(
      result.stderr.contains("the address zoë@example.org has a UTF-8 local part, which needs SMTPUTF8"),
      "\(result.stderr)")
    #expect(!server.waitForFinishedSessions(1).flatMap(\.commands).contains { $0.hasPrefix("MAIL") })
  }
}
