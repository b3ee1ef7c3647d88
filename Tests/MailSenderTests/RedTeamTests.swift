import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Synchronization
import Testing

@testable import MailSender

/// Adversarial servers (red team): each case checks DESIGN §3 end to end — nothing of a transaction or a login
/// over a channel that is not trusted, the exit code of §4, no secret and no raw control character anywhere,
/// and an end within the step deadline.
@Suite struct RedTeamTests {
  static let user = "alice@example.test"
  static let password = "s3cret-Pa55word"

  struct Outcome {
    var report: SendReport
    var events: [SendEvent]
    var sessions: [RecordedSession]
    var elapsed: Duration

    var lines: [String] { events.transcriptLines.map { "\(TranscriptFormat.marker($0)) \($0.line)" } }
    var commands: [String] { sessions.flatMap(\.commands) }
    var verbs: [String] {
      commands.map { String($0.prefix { $0 != " " && $0 != ":" }).uppercased() }
    }
    var serverSawMailOrAuth: Bool {
      verbs.contains { ["MAIL", "RCPT", "DATA", "AUTH"].contains($0) }
    }
    /// Everything a user could see: text and JSON transcripts and the verdict.
    var everything: [String] {
      events.flatMap { TranscriptFormat.text.render($0, now: 0) }
        + events.flatMap { TranscriptFormat.jsonl.render($0, now: 0) } + [report.verdictLine]
    }
  }

  static func message(_ body: String = "Hello.\r\n") -> MessageContent {
    MessageContent(bytes: Array("From: a@example.org\r\nTo: b@example.org\r\nSubject: t\r\n\r\n\(body)".utf8))
  }

  /// Runs one send against `script` on 127.0.0.1 (host "127.0.0.1" unless configured otherwise).
  static func run(
    security: TransportSecurity, serverOptions: ScriptedSMTPServer.Options = .init(timeout: 3),
    password: String? = nil, timeout: Duration = .seconds(1),
    configure: (inout SendRequest) -> Void = { _ in },
    script: @escaping @Sendable (ServerSession) throws -> Void
  ) throws -> Outcome {
    let server = try ScriptedSMTPServer(options: serverOptions, script: script)
    defer { server.stop() }
    var request = SendRequest(
      host: "127.0.0.1", port: server.port, security: security,
      trust: .certificateAuthorities(caFile: try TestPKI.shared().caCertificatePath),
      credentials: password.map { Credentials(user: user, password: Secret($0)) },
      timeout: timeout, reversePath: "a@example.org", recipients: ["b@example.org"], message: message())
    configure(&request)
    let events = Mutex<[SendEvent]>([])
    let clock = ContinuousClock()
    let start = clock.now
    let report = MailSender.send(request) { event in events.withLock { $0.append(event) } }
    let elapsed = clock.now - start
    // Only a send that connected leaves a session to wait for.
    let sessions = report.peer == nil ? [] : server.waitForFinishedSessions(1, timeout: 2)
    server.stop()
    return Outcome(
      report: report, events: events.withLock { $0 },
      sessions: server.sessions.isEmpty ? sessions : server.sessions,
      elapsed: elapsed)
  }

  /// No raw C0/C1/DEL/bidi control anywhere a user could see it (DESIGN §3.6).
  static func expectNoRawControls(_ outcome: Outcome, sourceLocation: SourceLocation = #_sourceLocation) {
    for line in outcome.everything {
      let bad = line.unicodeScalars.first { scalar in
        let value = scalar.value
        return value < 0x20 || value == 0x7F || (0x80...0x9F).contains(value)
          || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) || value == 0xFFFD
      }
      #expect(bad == nil, "raw control in \(line.debugDescription)", sourceLocation: sourceLocation)
    }
  }

  /// `secret` in no form: neither raw nor escaped nor in base64 (DESIGN §3.5).
  static func expectNoSecret(
    _ outcome: Outcome, _ secret: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let forms =
      [
        secret, UntrustedText(secret).escaped,
        String(decoding: SASL.base64(Array(secret.utf8)), as: UTF8.self),
      ]
      + Redactor.base64Forms(of: Array(secret.utf8))
    for line in outcome.everything {
      for form in forms {
        #expect(
          !line.contains(form), "secret form \(form.debugDescription) in \(line)",
          sourceLocation: sourceLocation)
      }
    }
  }

  /// A plaintext server: `greeting` raw, then per command the reply `reply(verb)` (nil: a standard one).
  static func script(
    greeting: String = "220 mx ESMTP\r\n", ehlo: String = "250-mx\r\n250 PIPELINING\r\n",
    reply: @escaping @Sendable (String) -> String? = { _ in nil }
  ) -> @Sendable (ServerSession) throws -> Void {
    { session in
      try session.sendRaw(Array(greeting.utf8))
      while let line = try session.readLine() {
        let verb = String(decoding: line.prefix { $0 != 0x20 && $0 != 0x3A }, as: UTF8.self).uppercased()
        if let custom = reply(verb) {
          try session.sendRaw(Array(custom.utf8))
          if verb == "DATA", custom.hasPrefix("354") {
            _ = try session.readData()
            try session.send("250 queued")
          }
          continue
        }
        switch verb {
        case "QUIT":
          try session.send("221 bye")
          return
        case "EHLO":
          try session.sendRaw(Array(ehlo.utf8))
        case "AUTH":
          try session.send("235 2.7.0 ok")
        case "DATA":
          try session.send("354 go on")
          _ = try session.readData()
          try session.send("250 queued")
        default:
          try session.send("250 ok")
        }
      }
    }
  }

  // MARK: - Reply shapes

  @Test func aMultilineReplyThatChangesItsCodeIs76() throws {
    let outcome = try Self.run(
      security: .plaintext, script: Self.script(ehlo: "250-mx\r\n251 PIPELINING\r\n"))
    #expect(outcome.report.exitCode == 76, "\(outcome.report.verdictLine)")
    #expect(!outcome.serverSawMailOrAuth)
  }

  @Test func bareLFAndStrayCRInRepliesAreAcceptedAndEscaped() throws {
    let outcome = try Self.run(
      security: .plaintext,
      script: Self.script(greeting: "220 mx\rESMTP\n", ehlo: "250-mx\n250 8BITMIME\r\r\n"))
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    #expect(outcome.lines.contains("<-  220 mx\\u{000D}ESMTP"))
    #expect(outcome.lines.contains("<-  250 8BITMIME\\u{000D}"))
    Self.expectNoRawControls(outcome)
  }

  @Test func aReplyOfOneHundredAndOneLinesIs76() throws {
    let greeting = String(repeating: "220-x\r\n", count: 100) + "220 x\r\n"
    let outcome = try Self.run(security: .plaintext, script: Self.script(greeting: greeting))
    #expect(outcome.report.exitCode == 76, "\(outcome.report.verdictLine)")
    #expect(outcome.commands.isEmpty)
  }

  @Test func aFloodOfTinyRepliesIsAnInjectionNotAnEndlessLoop() throws {
    let flood = "220 mx\r\n" + String(repeating: "250 ok\r\n", count: 20_000)
    let outcome = try Self.run(security: .plaintext, script: Self.script(greeting: flood))
    #expect(outcome.report.exitCode == 76, "\(outcome.report.verdictLine)")
    #expect(outcome.commands.isEmpty)
    #expect(outcome.events.count < 20)
  }

  /// The injected reply sits right behind a greeting of exactly one read (4,096 bytes): the parser's buffer is
  /// empty then, but the socket is not. It must still count as a reply out of turn, not as the EHLO reply.
  @Test func aReplyInjectedBehindAReadBoundaryIsStillOutOfTurn() throws {
    var greeting = ""
    while greeting.utf8.count + 66 + 7 <= 4096 {
      greeting += "220-" + String(repeating: "g", count: 60) + "\r\n"
    }
    let last = 4096 - greeting.utf8.count - 6
    greeting += "220 " + String(repeating: "g", count: last) + "\r\n"
    #expect(greeting.utf8.count == 4096)
    let injected = "250-mx\r\n250 PIPELINING\r\n"
    let bytes = Array((greeting + injected).utf8)
    let outcome = try Self.run(
      security: .plaintext,
      script: { session in
        try session.sendRaw(bytes)
        try session.stall(0.3)
        // What a real server would answer to EHLO, for a client that fell for the injection.
        try Self.script(greeting: "")(session)
      })
    #expect(outcome.report.exitCode == 76, "\(outcome.report.verdictLine)")
    #expect(!outcome.serverSawMailOrAuth)
  }

  /// The same before STARTTLS: a man in the middle answers EHLO and STARTTLS in advance, aligned to a read.
  @Test func aSTARTTLSReplyInjectedBehindAReadBoundaryIsTampering() throws {
    var greeting = ""
    while greeting.utf8.count + 66 + 7 <= 4096 {
      greeting += "220-" + String(repeating: "g", count: 60) + "\r\n"
    }
    let last = 4096 - greeting.utf8.count - 6
    greeting += "220 " + String(repeating: "g", count: last) + "\r\n"
    let injected = "250-mx\r\n250 STARTTLS\r\n"
    let bytes = Array((greeting + injected).utf8)
    let outcome = try Self.run(
      security: .startTLS, password: Self.password,
      script: { session in
        try session.sendRaw(bytes)
        _ = try session.readLine()
        _ = try session.readLine()
      })
    #expect(outcome.report.exitCode == 77, "\(outcome.report.verdictLine)")
    #expect(outcome.commands.isEmpty, "\(outcome.commands)")
  }

  // MARK: - Untrusted text

  @Test func controlsInEveryPrintedFieldAreEscaped() throws {
    let nasty = "a\u{0}b\u{1B}[31mc\u{9B}d\u{202E}e\u{2066}f\u{7F}"
    let invalid: [UInt8] = [0xFF, 0xC0, 0xAF, 0xED, 0xA0, 0x80]
    let outcome = try Self.run(
      security: .plaintext,
      script: { session in
        try session.sendRaw(Array("220 \(nasty)\r\n".utf8))
        _ = try session.readLine()
        try session.sendRaw(
          Array("250-\(nasty)\r\n250-8BITMIME ".utf8) + invalid + [13, 10] + Array("250 X\(nasty)\r\n".utf8))
        _ = try session.readLine()
        try session.sendRaw(Array("550 5.7.1 \(nasty) ".utf8) + invalid + [13, 10])
        _ = try session.readLine()
        try session.send("221 \(nasty)")
      })
    #expect(outcome.report.exitCode == 69, "\(outcome.report.verdictLine)")
    #expect(outcome.report.verdictLine.contains("\\u{001B}[31m"))
    #expect(outcome.report.verdictLine.contains("\\xFF\\xC0\\xAF\\xED\\xA0\\x80"))
    Self.expectNoRawControls(outcome)
  }

  // MARK: - AUTH

  /// A password with a control character (a tab, say, from a password manager) echoed by the server: the
  /// escaped form is what a transcript shows, so it must be scrubbed as well.
  @Test func anEchoedPasswordWithAControlCharacterIsScrubbedInItsEscapedForm() throws {
    let password = "tab\tbed\u{202E}pass"
    let outcome = try Self.run(
      security: .plaintext, password: password,
      script: Self.script(ehlo: "250-mx\r\n250 AUTH PLAIN\r\n") { verb in
        verb == "AUTH" ? "535-5.7.8 you said \(password)\r\n535 5.7.8 no\r\n" : nil
      })
    #expect(outcome.report.exitCode == 77, "\(outcome.report.verdictLine)")
    Self.expectNoSecret(outcome, password)
    Self.expectNoRawControls(outcome)
  }

  @Test func anEndless334ChallengeLoopEnds() throws {
    for mechanism in [SMTPClientConfiguration.Mechanism.plain, .login] {
      let outcome = try Self.run(
        security: .plaintext, password: Self.password,
        configure: { $0.credentials?.mechanism = mechanism },
        script: Self.script(ehlo: "250-mx\r\n250 AUTH PLAIN LOGIN\r\n") { verb in
          ["QUIT", "EHLO"].contains(verb) ? nil : "334 \r\n"
        })
      #expect(outcome.report.exitCode == 76, "\(mechanism): \(outcome.report.verdictLine)")
      #expect(outcome.commands.count <= 5, "\(outcome.commands)")
      #expect(!outcome.verbs.contains("MAIL"))
      Self.expectNoSecret(outcome, Self.password)
    }
  }

  @Test func a235SentBeforeAUTHIsAnInjection() throws {
    let outcome = try Self.run(
      security: .plaintext, password: Self.password,
      script: Self.script(ehlo: "250-mx\r\n250 AUTH PLAIN\r\n235 2.7.0 pre-authenticated\r\n"))
    #expect(outcome.report.exitCode == 76, "\(outcome.report.verdictLine)")
    #expect(!outcome.serverSawMailOrAuth)
  }

  @Test func aPasswordEchoedInBase64InA334IsScrubbed() throws {
    let b64 = String(decoding: SASL.base64(Array(Self.password.utf8)), as: UTF8.self)
    let outcome = try Self.run(
      security: .plaintext, password: Self.password,
      configure: { $0.credentials?.mechanism = .login },
      script: { session in
        try session.send("220 mx")
        _ = try session.readLine()
        try session.send("250-mx\r\n250 AUTH LOGIN")
        _ = try session.readLine()
        try session.send("334 VXNlcm5hbWU6")
        _ = try session.readLine()
        try session.send("334 UGFzc3dvcmQ6")
        _ = try session.readLine()
        try session.send("535-5.7.8 got \(b64)\r\n535 5.7.8 x\(b64)x")
        _ = try session.readLine()
        try session.send("221 bye")
      })
    #expect(outcome.report.exitCode == 77, "\(outcome.report.verdictLine)")
    Self.expectNoSecret(outcome, Self.password)
  }

  // MARK: - Transaction

  @Test func a250ToDATAInsteadOf354SendsNoContent() throws {
    let outcome = try Self.run(
      security: .plaintext, script: Self.script(ehlo: "250 mx\r\n") { $0 == "DATA" ? "250 sure\r\n" : nil })
    #expect(outcome.report.exitCode == 76, "\(outcome.report.verdictLine)")
    #expect(outcome.sessions.flatMap(\.messages).isEmpty)
    #expect(!outcome.commands.contains("Hello."))
  }

  @Test func a354ToMAILSendsNoContent() throws {
    for ehlo in ["250 mx\r\n", "250-mx\r\n250 PIPELINING\r\n"] {
      let outcome = try Self.run(
        security: .plaintext, script: Self.script(ehlo: ehlo) { $0 == "MAIL" ? "354 go\r\n" : nil })
      #expect(outcome.report.exitCode == 76, "\(outcome.report.verdictLine)")
      #expect(!outcome.commands.contains("Hello."), "\(outcome.commands)")
      #expect(!outcome.commands.contains("."), "\(outcome.commands)")
    }
  }

  /// With PIPELINING the server answers DATA first (354), then RCPT: out of order, so the first 354 is read as
  /// the RCPT reply — an unexpected reply with DATA in flight, which must close without a word.
  @Test func pipelinedRepliesOutOfOrderCloseWithoutContent() throws {
    let outcome = try Self.run(
      security: .plaintext,
      script: { session in
        try session.send("220 mx")
        _ = try session.readLine()
        try session.send("250-mx\r\n250 PIPELINING")
        for _ in 0..<3 { _ = try session.readLine() }
        try session.send("250 mail ok\r\n354 go ahead\r\n250 rcpt ok")
        _ = try session.waitForClose(timeout: 2)
      })
    #expect(outcome.report.exitCode == 76, "\(outcome.report.verdictLine)")
    #expect(outcome.commands.count == 4, "nothing after DATA: \(outcome.commands)")
  }

  @Test func size1RefusesABigMessageBeforeMAIL() throws {
    let outcome = try Self.run(security: .plaintext, script: Self.script(ehlo: "250-mx\r\n250 SIZE 1\r\n"))
    #expect(outcome.report.exitCode == 69, "\(outcome.report.verdictLine)")
    #expect(!outcome.serverSawMailOrAuth)
  }

  // MARK: - Drops at every step

  @Test func aDropAtEveryStepIs75AndDeliveryUnknownOnlyAfterTheDot() throws {
    // (verb after which the server drops, whether it reads the content first, expected delivery unknown)
    let steps: [(String?, Bool, Bool)] = [
      (nil, false, false), ("EHLO", false, false), ("MAIL", false, false), ("RCPT", false, false),
      ("DATA", false, false), ("DOT", true, true),
    ]
    for (dropAfter, _, unknown) in steps {
      let outcome = try Self.run(
        security: .plaintext,
        script: { session in
          try session.send("220 mx")
          if dropAfter == nil { return session.abort() }
          while let line = try session.readLine() {
            let verb = String(decoding: line.prefix(4), as: UTF8.self).uppercased()
            if verb == dropAfter { return session.abort() }
            switch verb {
            case "EHLO": try session.send("250 mx")
            case "DATA":
              try session.send("354 go")
              _ = try session.readData()
              if dropAfter == "DOT" { return session.abort() }
              try session.send("250 ok")
            default: try session.send("250 ok")
            }
          }
        })
      #expect(outcome.report.exitCode == 75, "\(dropAfter ?? "greeting"): \(outcome.report.verdictLine)")
      #expect(
        outcome.report.verdictLine.contains("may or may not have accepted") == unknown,
        "\(dropAfter ?? "greeting"): \(outcome.report.verdictLine)")
    }
  }

  @Test func aDropMidReplyAndMidTLSIs75() throws {
    let pki = try TestPKI.shared()
    let midReply = try Self.run(
      security: .plaintext,
      script: { session in
        try session.send("220 mx")
        _ = try session.readLine()
        try session.sendRaw(Array("250-mx\r\n250 PIPE".utf8))
        session.abort()
      })
    #expect(midReply.report.exitCode == 75, "\(midReply.report.verdictLine)")
    let midAuth = try Self.run(
      security: .implicitTLS, serverOptions: .init(implicitTLS: pki.identity(.valid), timeout: 3),
      password: Self.password, configure: { $0.host = "localhost" },
      script: { session in
        try session.send("220 mx")
        _ = try session.readLine()
        try session.send("250-mx\r\n250 AUTH PLAIN")
        _ = try session.readLine()
        try session.sendRaw(Array("334".utf8))
        session.abort()
      })
    #expect(midAuth.report.exitCode == 75, "\(midAuth.report.verdictLine)")
    Self.expectNoSecret(midAuth, Self.password)
  }

  // MARK: - Slowloris: each step ends within --timeout + 1 s, with 75

  static func drip(_ bytes: [UInt8], _ session: ServerSession, every seconds: Double = 0.1) throws {
    for byte in bytes {
      try session.sendRaw([byte])
      try session.stall(seconds)
    }
  }

  @Test func drippingAtEveryStepIsCutOffByTheStepDeadline() throws {
    let endless = Array(String(repeating: "250-drip\r\n", count: 200).utf8)
    let cases: [(String, @Sendable (ServerSession) throws -> Void)] = [
      ("greeting", { session in try Self.drip(Array("220-".utf8) + endless, session) }),
      (
        "EHLO",
        { session in
          try session.send("220 mx")
          _ = try session.readLine()
          try Self.drip(endless, session)
        }
      ),
      (
        "final reply",
        { session in
          try session.send("220 mx")
          for reply in ["250 mx", "250 ok", "250 ok", "354 go"] {
            _ = try session.readLine()
            try session.send(reply)
          }
          _ = try session.readData()
          try Self.drip(endless, session)
        }
      ),
      (
        "TLS handshake",
        { session in
          try session.send("220 mx")
          _ = try session.readLine()
          try session.send("250-mx\r\n250 STARTTLS")
          _ = try session.readLine()
          try session.send("220 go")
          _ = try session.readAvailable()
          // A ServerHello record header, then its body a byte at a time.
          try Self.drip([0x16, 0x03, 0x03, 0x40, 0x00] + Array(repeating: 0x02, count: 100), session)
        }
      ),
    ]
    for (name, script) in cases {
      let outcome = try Self.run(
        security: name == "TLS handshake" ? .startTLS : .plaintext, serverOptions: .init(timeout: 30),
        configure: { $0.host = "localhost" }, script: script)
      #expect(outcome.report.exitCode == 75, "\(name): \(outcome.report.verdictLine)")
      #expect(outcome.elapsed < .milliseconds(2000), "\(name): \(outcome.elapsed)")
      if name == "final reply" {
        #expect(outcome.report.verdictLine.contains("may or may not have accepted"))
      }
    }
  }
}
