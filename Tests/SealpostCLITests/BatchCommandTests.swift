import Foundation
import MailSenderTesting
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `sealpost send --batch DIR` and `outbox flush` of several messages (issue 12 §4), the built binary against
/// the scripted server: one connection for all, one result line per message, the exit status of the most
/// serious failure.
@Suite(.serialized) struct BatchCommandTests {
  typealias Sandbox = OutboxCommandTests.Sandbox

  static func eml(_ number: Int, to: String = "", bcc: String? = nil) -> String {
    let recipient = to.isEmpty ? "r\(number)@example.org" : to
    return "From: Alice <a@example.org>\nTo: \(recipient)\n" + (bcc.map { "Bcc: \($0)\n" } ?? "")
      + "Subject: Batch \(number)\nDate: Tue, 01 Dec 2026 10:00:00 +0000\n"
      + "Message-ID: <batch-\(number)@example.org>\n\nMessage \(number).\n.dot line\n"
  }

  /// What the server must receive for `eml(number)` (hand-written: CRLF, Bcc gone, dot-stuffed).
  static func wire(_ number: Int, to: String = "") -> String {
    let recipient = to.isEmpty ? "r\(number)@example.org" : to
    return "From: Alice <a@example.org>\r\nTo: \(recipient)\r\nSubject: Batch \(number)\r\n"
      + "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <batch-\(number)@example.org>\r\n\r\n"
      + "Message \(number).\r\n..dot line\r\n"
  }

  static func folder(_ sandbox: Sandbox, _ files: [String: String]) throws -> String {
    let folder = sandbox.directory.file("batch")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for (name, text) in files {
      try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/" + name))
    }
    return folder
  }

  @Test func aFolderGoesOverOneConnectionEnvelopesFromTheHeaders() throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { server.stop() }
    try sandbox.point(at: server.port)
    let folder = try Self.folder(
      sandbox,
      [
        "02.eml": Self.eml(2, bcc: "hidden@example.org"), "01.eml": Self.eml(1), "03.eml": Self.eml(3),
        "notes.txt": "not a message",
      ])
    let result = try sandbox.run(["send", "--config", sandbox.config, "--batch", folder, "--timeout", "5"])
    #expect(result.status == 0, "\(result.stderr)")
    let sessions = server.waitForFinishedSessions(1)
    #expect(server.sessions.count == 1, "one connection for the whole folder")
    let session = try #require(sessions.first)
    #expect(session.messages.map { String(decoding: $0, as: UTF8.self) } == [1, 2, 3].map { Self.wire($0) })
    // The envelope of each file from its own header (as sendmail -t), the Bcc included.
    #expect(session.commands.contains("RCPT TO:<hidden@example.org>"))
    #expect(session.commands.filter { $0.hasPrefix("EHLO") }.count == 2, "EHLO, STARTTLS, EHLO once")
    #expect(session.commands.filter { $0.hasPrefix("AUTH") }.count == 1)
    for number in 1...3 {
      #expect(
        result.stderr.contains("sealpost: 0\(number).eml: sent: 250 2.0.0 Ok: queued"), "\(result.stderr)")
    }
    #expect(result.stderr.contains("sealpost: batch: 3 messages: 3 sent\n"), "\(result.stderr)")
    #expect(result.stdout.contains("[message 2 of 3: "), "\(result.stdout)")
    #expect(!result.stdout.contains(OutboxCommandTests.password))
  }

  /// One message refused (its recipient), one file that is not a message: the others are sent; the exit
  /// status is the most serious (65 before 69); `--to` sets the envelope of every message.
  @Test func refusalsGetTheirOwnLinesAndTheMostSeriousCode() throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(
      standard: try OutboxCommandTests.options {
        $0.recipientReplies["r2@example.org"] = "550 5.1.1 No such user"
      })
    defer { server.stop() }
    try sandbox.point(at: server.port)
    let folder = try Self.folder(
      sandbox,
      [
        "1.eml": Self.eml(1), "2.eml": Self.eml(2),
        "3.eml": "From: a@example.org\nTo: r3@example.org\nSubject: 3\n\nbad \u{0} byte\n",
      ])
    let result = try sandbox.run(["send", "--config", sandbox.config, "--batch", folder, "--timeout", "5"])
    #expect(result.status == 65, "\(result.stderr)")
    #expect(result.stderr.contains("sealpost: 1.eml: sent: "), "\(result.stderr)")
    #expect(result.stderr.contains("sealpost: 2.eml: failed: "), "\(result.stderr)")
    #expect(result.stderr.contains("sealpost: 3.eml: bad data: "), "\(result.stderr)")
    #expect(server.waitForFinishedSessions(1).first?.messages.count == 1)

    let flags = try sandbox.run([
      "send", "--config", sandbox.config, "--batch", folder, "--to", "all@example.org", "--timeout", "5",
    ])
    #expect(flags.status == 65, "\(flags.stderr)")
    let second = server.waitForFinishedSessions(2).last
    #expect(
      second?.commands.filter { $0.hasPrefix("RCPT") } == [
        "RCPT TO:<all@example.org>", "RCPT TO:<all@example.org>",
      ])
  }

  /// A file over `--max-size` gets its line and the others go; the line says "not sent" once (it read
  /// "… — nothing was sent — not sent": a single send's words, then the batch's).
  @Test func aFileOverTheSizeLimitIsNotSentAndSaysSoOnce() throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { server.stop() }
    try sandbox.point(at: server.port)
    let large = Self.eml(2) + String(repeating: "x", count: 300) + "\n"
    let folder = try Self.folder(sandbox, ["1.eml": Self.eml(1), "2.eml": large])
    let result = try sandbox.run([
      "send", "--config", sandbox.config, "--batch", folder, "--max-size", "300", "--timeout", "5",
    ])
    #expect(result.status == 65, "\(result.stderr)")
    #expect(
      result.stderr.contains(
        "sealpost: 2.eml: bad data: the message in \(folder)/2.eml is \(large.utf8.count) octets, over the "
          + "limit of 300 octets (raise it with --max-size) — not sent\n"), "\(result.stderr)")
    #expect(!result.stderr.contains("nothing was sent"), "\(result.stderr)")
    #expect(result.stderr.contains("sealpost: 1.eml: sent: "), "\(result.stderr)")
    #expect(server.waitForFinishedSessions(1).first?.messages.count == 1)
  }

  @Test func batchRefusesFlagsThatBuildAMessage() throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    try sandbox.point(at: 1)
    let folder = try Self.folder(sandbox, ["1.eml": Self.eml(1)])
    let result = try sandbox.run(["send", "--config", sandbox.config, "--batch", folder, "--subject", "x"])
    #expect(result.status == 64, "\(result.stderr)")
    // S/MIME protects a message Sealpost builds: a folder's complete messages go unchanged, never unsigned by
    // surprise.
    for flags in [["--sign"], ["--encrypt"], ["--recipient-cert", "a@example.org=/nonexistent.pem"]] {
      let protected = try sandbox.run(["send", "--config", sandbox.config, "--batch", folder] + flags)
      #expect(protected.status == 64, "\(flags): \(protected.stderr)")
      #expect(protected.stderr.contains(flags[0]), "\(protected.stderr)")
    }
    let empty = try sandbox.run([
      "send", "--config", sandbox.config, "--batch", sandbox.directory.file("none"),
    ])
    #expect(empty.status == 66, "\(empty.stderr)")
  }

  /// `--batch --queue`: the messages that failed for now are queued, the others are not.
  @Test func batchWithQueueQueuesTheTemporaryFailures() throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(
      standard: try OutboxCommandTests.options {
        $0.recipientReplies["r2@example.org"] = "450 4.2.0 Mailbox busy"
        $0.recipientReplies["r3@example.org"] = "550 5.1.1 No such user"
      })
    defer { server.stop() }
    try sandbox.point(at: server.port)
    let folder = try Self.folder(sandbox, ["1.eml": Self.eml(1), "2.eml": Self.eml(2), "3.eml": Self.eml(3)])
    let result = try sandbox.run([
      "send", "--config", sandbox.config, "--batch", folder, "--queue", "--timeout", "5",
    ])
    #expect(result.status == 69, "\(result.stderr)")
    #expect(result.stderr.contains("2.eml: queued in the outbox as "), "\(result.stderr)")
    let sidecars = try sandbox.sidecars()
    #expect(sidecars.count == 1)
    #expect(sidecars.first?["subject"] as? String == "Batch 2")
    #expect(sidecars.first?["state"] as? String == "queued")
  }

  /// `outbox flush` sends the queued messages of one account over one connection and removes each.
  @Test func aFlushOfSeveralMessagesUsesOneConnection() throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let refusing = try ScriptedSMTPServer(
      standard: try OutboxCommandTests.options { $0.mailFromReply = "451 4.3.0 Try again later" })
    try sandbox.point(at: refusing.port)
    for number in 1...3 {
      let queued = try sandbox.send(message: Self.eml(number))
      #expect(queued.status == 75, "\(queued.stderr)")
    }
    refusing.stop()
    #expect(try sandbox.sidecars().count == 3)
    let accepting = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { accepting.stop() }
    try sandbox.point(at: accepting.port)
    let flush = try sandbox.run(["outbox", "flush"])
    #expect(flush.status == 0, "\(flush.stderr)")
    let sessions = accepting.waitForFinishedSessions(1)
    #expect(accepting.sessions.count == 1, "one connection for the account")
    #expect(
      sessions.first?.messages.map { String(decoding: $0, as: UTF8.self) } == [1, 2, 3].map { Self.wire($0) })
    #expect(try sandbox.sidecars().isEmpty)
  }

  /// Red team: a FIFO named `*.eml` in the folder hung the whole batch (opening it blocked). Anything but a
  /// regular file is refused (66) without blocking, and the others go.
  @Test func aFIFOInTheFolderIsRefusedAndTheOthersGo() throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { server.stop() }
    try sandbox.point(at: server.port)
    let folder = try Self.folder(sandbox, ["1.eml": Self.eml(1), "3.eml": Self.eml(3)])
    #expect(mkfifo(folder + "/2.eml", 0o600) == 0)
    let result = try sandbox.run(["send", "--config", sandbox.config, "--batch", folder, "--timeout", "5"]) {
      process, _ in
      // A hang is a failure, not a stuck test run.
      let deadline = Date().addingTimeInterval(30)
      while process.isRunning && Date() < deadline { usleep(20_000) }
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
    #expect(result.status == 66, "\(result.stderr)")
    #expect(result.stderr.contains("2.eml: it is not a regular file"), "\(result.stderr)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.messages.map { String(decoding: $0, as: UTF8.self) } == [1, 3].map { Self.wire($0) })
  }

  /// Red team: `smime_sign on` was silently not applied to a batch; the folder's messages go as they are (they
  /// are complete), and the batch says so.
  @Test func smimeSignOnIsNotSilentForABatch() throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { server.stop() }
    try sandbox.point(at: server.port, extra: "smime_sign on")
    let folder = try Self.folder(sandbox, ["1.eml": Self.eml(1)])
    let result = try sandbox.run(["send", "--config", sandbox.config, "--batch", folder, "--timeout", "5"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(
      result.stderr.contains("note: smime_sign applies to messages Sealpost builds"), "\(result.stderr)")
  }

  /// The account's `record` Maildir gets each message a batch sent — `send --batch` and `outbox flush` alike —
  /// as the octets the server took (read back with Python's `mailbox.Maildir`); a refused one is not recorded.
  @Test func batchesRecordEachSentMessage() throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(
      standard: try OutboxCommandTests.options {
        $0.recipientReplies["r2@example.org"] = "550 5.1.1 No such user"
      })
    defer { server.stop() }
    let record = sandbox.directory.file("Sent")
    try sandbox.point(at: server.port, extra: "record \(record)")
    let folder = try Self.folder(sandbox, ["1.eml": Self.eml(1), "2.eml": Self.eml(2), "3.eml": Self.eml(3)])
    let batch = try sandbox.run(["send", "--config", sandbox.config, "--batch", folder, "--timeout", "5"])
    #expect(batch.status == 69, "\(batch.stderr)")
    #expect(!batch.stderr.contains("warning"), "\(batch.stderr)")
    let afterBatch = try RecordMaildirTests.maildir(record)
    #expect(
      afterBatch.messages.map { String(decoding: $0, as: UTF8.self) }.sorted()
        == [1, 3].map { Self.wire($0).replacingOccurrences(of: "\r\n..", with: "\r\n.") })
    #expect(afterBatch.new == 2 && afterBatch.tmp == 0)

    // The outbox: one message queued by a refusal for now, then flushed (over one connection) and recorded.
    let refusing = try ScriptedSMTPServer(
      standard: try OutboxCommandTests.options { $0.mailFromReply = "451 4.3.0 Try again later" })
    try sandbox.point(at: refusing.port, extra: "record \(record)")
    let queued = try sandbox.send(message: Self.eml(4))
    #expect(queued.status == 75, "\(queued.stderr)")
    refusing.stop()
    try sandbox.point(at: server.port, extra: "record \(record)")
    let flush = try sandbox.run(["outbox", "flush"])
    #expect(flush.status == 0, "\(flush.stderr)")
    let afterFlush = try RecordMaildirTests.maildir(record)
    #expect(afterFlush.messages.count == 3, "\(flush.stderr)")
    #expect(
      afterFlush.messages.contains { String(decoding: $0, as: UTF8.self).contains("Subject: Batch 4\r\n") })
    #expect(afterFlush.defects == 0)
  }

  /// `--queue` and a server that cannot be reached (connection refused: an offline laptop): the message is
  /// queued (the exit code stays 69, DESIGN §4), as msmtpq users expect.
  @Test func aRefusedConnectionIsQueued() throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    // Port 1 on loopback: nothing listens there, the kernel refuses at once.
    try sandbox.point(at: 1)
    let result = try sandbox.send()
    #expect(result.status == 69, "\(result.stderr)")
    #expect(result.stderr.contains("queued in the outbox as "), "\(result.stderr)")
    #expect(try sandbox.sidecars().first?["state"] as? String == "queued")
  }
}
