import Foundation
import MailSenderTesting
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `send --queue`, `sealpost outbox` and its faults (issue 12 §2, §5), the built binary against the scripted
/// server. The account's config names the server's port; a test rewrites it to point a flush at another server.
@Suite struct OutboxCommandTests {
  static let user = "u@example.test"
  static let password = "pw-Outb0x!"

  static let message = """
    From: Alice <a@example.org>
    To: b@example.org
    Bcc: hidden@example.org
    Subject: Outbox test
    Date: Tue, 01 Dec 2026 10:00:00 +0000
    Message-ID: <outbox-test-1@example.org>

    Hello.
    .leading dot

    """

  /// What the server must receive as the DATA content (hand-written: CRLF, Bcc gone, dot-stuffed).
  static let expectedData =
    "From: Alice <a@example.org>\r\nTo: b@example.org\r\nSubject: Outbox test\r\n"
    + "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <outbox-test-1@example.org>\r\n\r\n"
    + "Hello.\r\n..leading dot\r\n"

  /// A sandbox with a config file, a state folder and the environment to run in.
  struct Sandbox: Sendable {
    let directory: TemporaryDirectory
    var config: String { directory.file("config") }
    var state: String { directory.file("state") }
    var environment: [String: String] {
      ["XDG_STATE_HOME": state, "HOME": directory.file("home"), "XDG_CONFIG_HOME": directory.file("xdg")]
    }

    init() throws {
      directory = try TemporaryDirectory(prefix: "sealpost-outbox-cli")
    }

    /// The account `test` (STARTTLS to `port`, the test CA, a password command), plus `extra` lines.
    func point(at port: UInt16, extra: String = "") throws {
      let text = """
        account test
        host localhost
        port \(port)
        tls on
        tls_starttls on
        tls_trust_file \(try TestPKI.shared().caCertificatePath)
        auth on
        user \(OutboxCommandTests.user)
        passwordeval echo '\(OutboxCommandTests.password)'
        from a@example.org
        timeout 2
        \(extra)
        account default : test

        """
      try Data(text.utf8).write(to: URL(fileURLWithPath: config))
      chmod(config, 0o600)
    }

    func run(
      _ arguments: [String], stdin: String? = nil,
      whileRunning: ((_ process: Process, _ stdoutPath: String) -> Void)? = nil
    ) throws -> CLIRunner.Result {
      try CLIRunner.run(
        arguments, stdin: stdin.map { Array($0.utf8) }, environment: environment, whileRunning: whileRunning)
    }

    func send(_ extra: [String] = ["--queue"], message: String = OutboxCommandTests.message) throws
      -> CLIRunner.Result
    {
      try run(["send", "--config", config, "--message", "-", "--timeout", "2"] + extra, stdin: message)
    }

    /// As `run`, on a thread of its own (`OffPool`): these tests mostly wait (stalled servers, kills at a stage).
    func run(
      _ arguments: [String], stdin: String? = nil,
      whileRunning: (@Sendable (_ process: Process, _ stdoutPath: String) -> Void)? = nil
    ) async throws -> CLIRunner.Result {
      try await OffPool.run { try run(arguments, stdin: stdin, whileRunning: whileRunning) }
    }

    /// As `send`, on a thread of its own (`OffPool`).
    func send(_ extra: [String] = ["--queue"], message: String = OutboxCommandTests.message) async throws
      -> CLIRunner.Result
    {
      try await OffPool.run { try send(extra, message: message) }
    }

    var outboxFolder: String { state + "/sealpost/outbox" }

    /// The sidecars as JSON objects.
    func sidecars() throws -> [[String: Any]] {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: outboxFolder)) ?? []
      return try names.filter { $0.hasSuffix(".json") }.sorted().map { name in
        let data = try Data(contentsOf: URL(fileURLWithPath: outboxFolder + "/" + name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
      }
    }

    func remove() { directory.remove() }
  }

  static func options(_ change: (inout StandardSMTPOptions) -> Void = { _ in }) throws -> StandardSMTPOptions
  {
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid))
    options.credentials = .init(user: user, password: password)
    change(&options)
    return options
  }

  /// The id from the line "queued in the outbox as ID: …" or "kept in the outbox as ID, …".
  static func id(in stderr: String) -> String? {
    for marker in ["queued in the outbox as ", "kept in the outbox as "] {
      guard let range = stderr.range(of: marker) else { continue }
      return String(stderr[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" })
    }
    return nil
  }

  @Test func aTemporaryFailureIsQueuedAndAFlushDeliversItByteForByte() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let refusing = try ScriptedSMTPServer(
      standard: try Self.options { $0.mailFromReply = "451 4.3.0 Try again later" })
    defer { refusing.stop() }
    try sandbox.point(at: refusing.port)
    let first = try await sandbox.send()
    #expect(first.status == 75, "\(first.stderr)")
    #expect(first.stderr.contains("sealpost: temporary failure: "), "\(first.stderr)")
    let id = try #require(Self.id(in: first.stderr), "\(first.stderr)")
    #expect(first.stderr.contains("queued in the outbox as \(id): 'sealpost outbox flush' sends it"))

    let listing = try await sandbox.run(["outbox"])
    #expect(listing.status == 0, "\(listing.stderr)")
    // The account resolved when queued: the default one (`account default : test`).
    #expect(listing.stdout.contains("\(id)  queued  default  attempts 1  "), "\(listing.stdout)")
    #expect(listing.stdout.contains("    to: b@example.org, hidden@example.org\n"))
    #expect(listing.stdout.contains("    subject: Outbox test\n"))
    #expect(listing.stdout.contains("    last error: temporary failure: "), "\(listing.stdout)")
    #expect(listing.stdout.contains("451 4.3.0 Try again later"))
    // The stored message: Bcc already removed, the envelope as the send had it; no secret anywhere.
    let stored = try String(contentsOfFile: sandbox.outboxFolder + "/\(id).eml", encoding: .utf8)
    #expect(!stored.contains("hidden@example.org"))
    for name in try FileManager.default.contentsOfDirectory(atPath: sandbox.outboxFolder) {
      let text = try String(contentsOfFile: sandbox.outboxFolder + "/" + name, encoding: .utf8)
      #expect(!text.contains(Self.password), "\(name)")
    }

    let accepting = try ScriptedSMTPServer(standard: try Self.options())
    defer { accepting.stop() }
    try sandbox.point(at: accepting.port)
    let flush = try await sandbox.run(["outbox", "flush"])
    #expect(flush.status == 0, "\(flush.stderr)")
    #expect(flush.stderr.contains("\(id): sent: 250 2.0.0 Ok: queued"), "\(flush.stderr)")
    #expect(flush.stdout.contains(" ~> "), "the live transcript: \(flush.stdout)")
    #expect(!flush.stdout.contains(Self.password))
    let session = try #require(accepting.waitForFinishedSessions(1).first)
    #expect(session.messages.map { String(decoding: $0, as: UTF8.self) } == [Self.expectedData])
    #expect(session.commands.contains("RCPT TO:<b@example.org>"))
    #expect(session.commands.contains("RCPT TO:<hidden@example.org>"))
    #expect(try sandbox.sidecars().isEmpty)
    #expect(try await sandbox.run(["outbox", "list"]).stdout.hasPrefix("The outbox is empty"))
  }

  @Test func withoutQueueNothingIsKept() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let refusing = try ScriptedSMTPServer(
      standard: try Self.options { $0.mailFromReply = "451 4.3.0 Try again later" })
    defer { refusing.stop() }
    try sandbox.point(at: refusing.port)
    let result = try await sandbox.send([])
    #expect(result.status == 75)
    #expect(Self.id(in: result.stderr) == nil)
    #expect(try sandbox.sidecars().isEmpty)
    // The account key does what the flag does.
    try sandbox.point(at: refusing.port, extra: "queue on")
    let keyed = try await sandbox.send([])
    #expect(keyed.status == 75)
    #expect(Self.id(in: keyed.stderr) != nil, "\(keyed.stderr)")
    #expect(try sandbox.sidecars().count == 1)
  }

  @Test func aPermanentFailureIsNotQueued() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let refusing = try ScriptedSMTPServer(
      standard: try Self.options { $0.mailFromReply = "550 5.7.1 Not from you" })
    defer { refusing.stop() }
    try sandbox.point(at: refusing.port)
    let result = try await sandbox.send()
    #expect(result.status == 69, "\(result.stderr)")
    #expect(Self.id(in: result.stderr) == nil)
    #expect(try sandbox.sidecars().isEmpty)
  }

  @Test func deliveryUnknownIsNeverResentWithoutItsName() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let silent = try ScriptedSMTPServer(
      standard: try Self.options { $0.stall = .afterFinalDot(seconds: 6) })
    defer { silent.stop() }
    try sandbox.point(at: silent.port)
    let first = try await sandbox.send()
    #expect(first.status == 75, "\(first.stderr)")
    #expect(first.stderr.contains("sealpost: delivery unknown: "), "\(first.stderr)")
    let id = try #require(Self.id(in: first.stderr), "\(first.stderr)")
    #expect(first.stderr.contains("--include-unknown \(id)"))
    #expect(try sandbox.sidecars().first?["state"] as? String == "delivery-unknown")
    #expect(try await sandbox.run(["outbox"]).stdout.contains("\(id)  delivery unknown  "))

    let accepting = try ScriptedSMTPServer(standard: try Self.options())
    defer { accepting.stop() }
    try sandbox.point(at: accepting.port)
    for arguments in [["outbox", "flush"], ["outbox", "flush", id]] {
      let skipped = try await sandbox.run(arguments)
      #expect(skipped.status == 0, "\(skipped.stderr)")
      #expect(skipped.stderr.contains("\(id): delivery unknown — not resent"), "\(skipped.stderr)")
    }
    #expect(accepting.sessions.count == 0)
    #expect(try sandbox.sidecars().count == 1)

    let resent = try await sandbox.run(["outbox", "flush", "--include-unknown", id])
    #expect(resent.status == 0, "\(resent.stderr)")
    #expect(accepting.waitForFinishedSessions(1).first?.messages.count == 1)
    #expect(try sandbox.sidecars().isEmpty)
  }

  @Test func dropRemovesAMessageAndUnknownIdsAreRefused() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let refusing = try ScriptedSMTPServer(
      standard: try Self.options { $0.finalReply = "452 4.3.1 Insufficient system storage" })
    defer { refusing.stop() }
    try sandbox.point(at: refusing.port)
    let id = try #require(Self.id(in: try await sandbox.send().stderr))
    let bogus = try await sandbox.run(["outbox", "drop", "../config"])
    #expect(bogus.status == 64, "\(bogus.stderr)")
    let missing = try await sandbox.run(["outbox", "drop", "1-abc"])
    #expect(missing.status == 66, "\(missing.stderr)")
    let dropped = try await sandbox.run(["outbox", "drop", id])
    #expect(dropped.status == 0, "\(dropped.stderr)")
    #expect(dropped.stderr == "sealpost: dropped \(id): it was not sent\n")
    #expect(try sandbox.sidecars().isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.outboxFolder).isEmpty)
  }

  // MARK: Faults (issue 12 §5)

  /// A 4xx, a drop or a timeout before the end of data, at every stage: the message stays queued (a flush
  /// after the queueing send meets the same fault: attempts 2, still queued, exit 75).
  @Test(arguments: [
    "greeting 421", "EHLO 421", "AUTH 454", "MAIL 451", "RCPT 450", "DATA 451", "final 451",
    "drop after greeting", "drop at MAIL", "drop at DATA", "timeout at RCPT",
  ])
  func temporaryFaultsAtEveryStageLeaveTheMessageQueued(fault: String) async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let server: ScriptedSMTPServer
    switch fault {
    case "drop after greeting", "drop at MAIL", "drop at DATA":
      let verb = fault == "drop after greeting" ? "EHLO" : fault == "drop at MAIL" ? "MAIL" : "DATA"
      // A server that closes the connection when the verb arrives.
      let identity = try TestPKI.shared().identity(.valid)
      let dropping = try ScriptedSMTPServer { session in
        try session.send("220 mx ESMTP")
        var inTLS = false
        while let line = try session.readLine() {
          let text = String(decoding: line, as: UTF8.self)
          let word = text.prefix { $0 != " " }.uppercased()
          if word == verb && (inTLS || verb == "EHLO") {
            session.abort()
            return
          }
          switch word {
          case "EHLO":
            try session.send(inTLS ? "250-mx\r\n250 AUTH PLAIN" : "250-mx\r\n250 STARTTLS")
          case "STARTTLS":
            try session.send("220 go ahead")
            try session.startTLS(identity: identity)
            inTLS = true
          case "AUTH": try session.send("235 2.7.0 ok")
          case "MAIL", "RCPT": try session.send("250 ok")
          default: try session.send("502 no")
          }
        }
      }
      return try await checkQueued(sandbox: sandbox, server: dropping)
    case "timeout at RCPT":
      server = try ScriptedSMTPServer(
        standard: try Self.options { $0.stall = .beforeReplyTo(verb: "RCPT", seconds: 5) })
    default:
      let parts = fault.split(separator: " ")
      let reply = "\(parts[1]) 4.0.0 Not now"
      server = try ScriptedSMTPServer(
        standard: try Self.options { options in
          switch parts[0] {
          case "greeting": options.greeting = reply
          case "MAIL": options.mailFromReply = reply
          case "RCPT": options.defaultRecipientReply = reply
          case "DATA": options.dataReply = reply
          case "final": options.finalReply = reply
          default: break
          }
        })
      if parts[0] == "EHLO" || parts[0] == "AUTH" {
        server.stop()
        let verb = String(parts[0])
        let identity = try TestPKI.shared().identity(.valid)
        let refusing = try ScriptedSMTPServer { session in
          try session.send("220 mx ESMTP")
          var inTLS = false
          while let line = try session.readLine() {
            let word = String(decoding: line, as: UTF8.self).prefix { $0 != " " }.uppercased()
            if word == verb && (inTLS || verb == "EHLO") {
              try session.send(reply)
              continue
            }
            switch word {
            case "EHLO": try session.send(inTLS ? "250-mx\r\n250 AUTH PLAIN" : "250-mx\r\n250 STARTTLS")
            case "STARTTLS":
              try session.send("220 go ahead")
              try session.startTLS(identity: identity)
              inTLS = true
            case "QUIT":
              try session.send("221 bye")
              return
            default: try session.send("502 no")
            }
          }
        }
        return try await checkQueued(sandbox: sandbox, server: refusing)
      }
    }
    try await checkQueued(sandbox: sandbox, server: server)
  }

  private func checkQueued(sandbox: Sandbox, server: ScriptedSMTPServer) async throws {
    defer { server.stop() }
    try sandbox.point(at: server.port)
    let first = try await sandbox.send()
    #expect(first.status == 75, "\(first.stderr)")
    let id = try #require(Self.id(in: first.stderr), "\(first.stderr)")
    #expect(first.stderr.contains("queued in the outbox as \(id)"), "\(first.stderr)")
    let flush = try await sandbox.run(["outbox", "flush"])
    #expect(flush.status == 75, "\(flush.stderr)")
    let sidecar = try #require(try sandbox.sidecars().first)
    #expect(sidecar["state"] as? String == "queued")
    #expect(sidecar["attempts"] as? Int == 2)
    #expect(
      try String(contentsOfFile: sandbox.outboxFolder + "/\(id).eml", encoding: .utf8).contains("Hello."))
  }

  /// SIGKILL of `send --queue` while it writes an 8.8 MB message to the outbox (the message file's temporary
  /// half-written), right after the message file, while the sidecar is written, and after it: an entry is listed
  /// only when whole (its message file has the size its sidecar says), and as queued — the session had not
  /// reached the final dot (issue 12 §3) — and the listing still works.
  @Test(arguments: [".eml.tmp-", ".eml", ".json.tmp-", ".json"])
  func aSendKilledWhileWritingTheOutboxLeavesNoTornEntry(killWhenSeen marker: String) async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let silent = try ScriptedSMTPServer(
      standard: try Self.options { $0.stall = .beforeGreeting(seconds: 20) },
      options: ScriptedSMTPServer.Options(timeout: 30))
    defer { silent.stop() }
    try sandbox.point(at: silent.port, extra: "timeout 30")
    let tail = "the last line of a large message\n"
    let big =
      Self.message + String(repeating: "0123456789abcdef0123456789abcdef0123456789\n", count: 200_000) + tail
    let (result, seen) = try await OffPool.run {
      var seen = false
      let result = try sandbox.run(
        ["send", "--config", sandbox.config, "--queue", "--message", "-", "--max-size", "64M"], stdin: big
      ) { process, _ in
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !seen {
          let names = (try? FileManager.default.contentsOfDirectory(atPath: sandbox.outboxFolder)) ?? []
          seen = names.contains { marker.hasSuffix("-") ? $0.contains(marker) : $0.hasSuffix(marker) }
          if !seen { usleep(200) }
        }
        kill(process.processIdentifier, SIGKILL)
      }
      return (result, seen)
    }
    #expect(seen, "the outbox never held a \(marker) file")
    #expect(result.status == SIGKILL, "\(result.stderr)")
    let sidecars = try sandbox.sidecars()
    if marker == ".json" { #expect(sidecars.count == 1) }
    // A kill seen at a temporary file may land after its rename (the process runs on between the look and the
    // signal): then the entry must be whole, which the loop below checks; never more than the one entry.
    #expect(sidecars.count <= 1)
    for sidecar in sidecars {
      let id = try #require(sidecar["id"] as? String)
      let size = try #require(sidecar["size"] as? Int)
      let message = try Data(contentsOf: URL(fileURLWithPath: sandbox.outboxFolder + "/\(id).eml"))
      #expect(message.count == size, "entry \(id) is torn")
      // The whole message, its last line included (with the line end the send wrote it with).
      let end = String(decoding: message.suffix(64), as: UTF8.self)
      #expect(end.hasSuffix("large message\r\n") || end.hasSuffix("large message\n"), "\(end)")
    }
    let listing = try await sandbox.run(["outbox"])
    #expect(listing.status == 0, "\(listing.stderr)")
    #expect(!listing.stdout.contains("delivery unknown"), "nothing was sent: \(listing.stdout)")
    #expect(listing.stdout.contains("  queued  ") == !sidecars.isEmpty, "\(listing.stdout)")
  }

  /// SIGKILL of `outbox flush` at every stage: the message is still there, never removed without the final
  /// 2xx, and in the exact state of the stage (issue 12 §3): "sending" is written just before the write that
  /// carries the final dot, so a kill before it leaves the message queued (the next flush sends it) and a kill
  /// after it "delivery unknown" (never resent without its name).
  @Test(arguments: [
    ("connect", "queued"), ("handshake", "queued"), ("AUTH", "queued"), ("envelope", "queued"),
    ("mid-upload", "queued"), ("after the final dot", "delivery-unknown"),
  ])
  func aFlushKilledAtEveryStageLeavesTheExactState(stage: String, state: String) async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    // Queue the message with a server that says 451 at MAIL.
    let refusing = try ScriptedSMTPServer(
      standard: try Self.options { $0.mailFromReply = "451 4.3.0 Try again later" })
    try sandbox.point(at: refusing.port)
    // For the upload: a message larger than the socket buffers, so the upload is under way when the server
    // stops reading.
    let message = stage == "mid-upload" ? Self.large : Self.message
    let queued = try await sandbox.send(message: message)
    _ = try #require(Self.id(in: queued.stderr), "\(queued.stderr)")
    refusing.stop()
    let stalled = try ScriptedSMTPServer(
      standard: try Self.options { $0.stall = Self.stall(at: stage) },
      options: ScriptedSMTPServer.Options(timeout: 30))
    defer { stalled.stop() }
    // Timeouts far beyond the stall, so only the kill ends the flush.
    try sandbox.point(at: stalled.port, extra: "timeout 30")
    try #require(try sandbox.sidecars().count == 1)
    let flushed = try await sandbox.run(["outbox", "flush"]) { process, _ in
      Self.killClient(process, when: stalled, reaches: stage, message: 1)
    }
    #expect(flushed.status == SIGKILL, "\(flushed.stderr)")
    let after = try sandbox.sidecars()
    #expect(after.count == 1, "the message must still be there")
    #expect(after.first?["state"] as? String == (state == "queued" ? "queued" : "sending"), "\(after)")
    let listing = try await sandbox.run(["outbox"])
    #expect(
      listing.stdout.contains(state == "queued" ? "  queued  " : "  delivery unknown  "), "\(listing.stdout)")
    let accepting = try ScriptedSMTPServer(standard: try Self.options())
    defer { accepting.stop() }
    try sandbox.point(at: accepting.port)
    let flush = try await sandbox.run(["outbox", "flush"])
    #expect(flush.status == 0, "\(flush.stderr)")
    if state == "queued" {
      // Nothing had been sent: the next flush sends it, and only its 2xx removes it.
      #expect(accepting.waitForFinishedSessions(1).first?.messages.count == 1)
      #expect(try sandbox.sidecars().isEmpty)
    } else {
      #expect(flush.stderr.contains("delivery unknown — not resent"), "\(flush.stderr)")
      #expect(accepting.sessions.count == 0)
      #expect(try sandbox.sidecars().first?["state"] as? String == "delivery-unknown")
    }
  }

  /// The same across a batch of three: killed in the middle of the second message, the first is sent and
  /// removed, the second queued or "delivery unknown" by the stage, the third queued.
  @Test(arguments: [("envelope", "queued"), ("mid-upload", "queued"), ("after the final dot", "sending")])
  func aFlushKilledInTheMiddleOfABatch(stage: String, second: String) async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let refusing = try ScriptedSMTPServer(
      standard: try Self.options { $0.mailFromReply = "451 4.3.0 Try again later" })
    try sandbox.point(at: refusing.port)
    for (number, text) in [Self.message, stage == "mid-upload" ? Self.large : Self.message, Self.message]
      .enumerated()
    {
      let queued = try await sandbox.send(
        message: text.replacingOccurrences(of: "Subject: Outbox test", with: "Subject: \(number + 1)"))
      #expect(queued.status == 75, "\(queued.stderr)")
      usleep(2_000)
    }
    refusing.stop()
    let stalled = try ScriptedSMTPServer(
      standard: try Self.options {
        $0.stall = Self.stall(at: stage)
        $0.stallAfterMessages = 1
      }, options: ScriptedSMTPServer.Options(timeout: 30))
    defer { stalled.stop() }
    try sandbox.point(at: stalled.port, extra: "timeout 30")
    let flushed = try await sandbox.run(["outbox", "flush"]) { process, _ in
      Self.killClient(process, when: stalled, reaches: stage, message: 2)
    }
    #expect(flushed.status == SIGKILL, "\(flushed.stderr)")
    #expect(stalled.sessions.count == 1, "one connection for the three")
    let states = Dictionary(
      uniqueKeysWithValues: try sandbox.sidecars().map {
        ($0["subject"] as? String ?? "", $0["state"] as? String ?? "")
      })
    #expect(states == ["2": second, "3": "queued"], "message 1 sent and removed: \(states)")
  }

  static let large =
    message + String(repeating: "0123456789abcdef0123456789abcdef0123456789\n", count: 200_000)

  static func stall(at stage: String) -> StandardSMTPOptions.Stall {
    switch stage {
    case "connect": .beforeGreeting(seconds: 20)
    case "handshake": .midHandshake(seconds: 20)
    case "AUTH": .beforeReplyTo(verb: "AUTH", seconds: 20)
    case "envelope": .beforeReplyTo(verb: "RCPT", seconds: 20)
    case "mid-upload": .beforeReadingData(seconds: 20)
    default: .afterFinalDot(seconds: 20)
    }
  }

  /// Waits until the server has seen the stage for the `message`-th time (a little longer, so the client is
  /// inside the stalled step), then kills the client.
  static func killClient(
    _ process: Process, when server: ScriptedSMTPServer, reaches stage: String, message: Int
  ) {
    let deadline = Date().addingTimeInterval(15)
    while Date() < deadline {
      let session = server.sessions.first
      let commands = session?.commands ?? []
      let reached: Bool
      switch stage {
      case "connect": reached = session != nil
      case "handshake": reached = commands.contains("STARTTLS")
      case "AUTH": reached = commands.contains { $0.hasPrefix("AUTH") }
      case "envelope": reached = commands.filter { $0.hasPrefix("RCPT") }.count >= message
      case "mid-upload": reached = commands.filter { $0 == "DATA" }.count >= message
      default: reached = (session?.messages.count ?? 0) >= message
      }
      if reached { break }
      usleep(10_000)
    }
    usleep(200_000)
    Glibc.kill(process.processIdentifier, SIGKILL)
  }
}
