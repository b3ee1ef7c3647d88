import SMTPProtocol
import SMTPTransport
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// What `sealpost probe` should look at (issue 3). Built on the same session as `send` (goal `.inspect`):
/// connect, EHLO, STARTTLS if asked, handshake, EHLO, QUIT — no second SMTP implementation.
public struct ProbeRequest: Sendable {
  public var host: String
  public var port: UInt16
  /// `.implicitTLS` or `.startTLS`; probing without TLS makes no sense (`.plaintext` is refused as usage).
  public var security: TransportSecurity
  public var trust: TLSTrust
  /// The EHLO name; nil → the address literal of the local socket.
  public var ehloName: String?
  /// The deadline of each protocol step.
  public var timeout: Duration
  /// Also try TLS 1.0, 1.1, 1.2 and 1.3 one at a time, each on a connection of its own that does the same
  /// SMTP steps up to the handshake (security level 0 only for the 1.0 and 1.1 attempts).
  public var checkVersions: Bool
  /// A shorter deadline for the plaintext greeting (see `SendRequest.greetingTimeout`).
  public var greetingTimeout: Duration?
  /// With STARTTLS, ask before the upgrade whether the server takes mail without TLS: `MAIL FROM:<>`, its
  /// reply, `RSET` (issue 15). Never inside TLS, never with implicit TLS.
  public var checksPlaintextMail = true
  /// Other ports of the same host to try after the probe, each on a connection of its own up to the end of its
  /// handshake (`--ports`: the implicit-TLS port 465 that RFC 8314 prefers, and 587), each judged with its own
  /// ``ProbePort/trust``; empty: none.
  public var otherPorts: [ProbePort] = []
  /// The pin file the pins of `trust` were recorded in (DESIGN §6: read for every probe), for the report; nil
  /// when the trust is the front end's own (a pin or a CA file it was given, or the system store).
  public var recordedPinFile: String?

  public init(
    host: String, port: UInt16, security: TransportSecurity,
    trust: TLSTrust = .certificateAuthorities(caFile: nil), ehloName: String? = nil,
    timeout: Duration = .seconds(60), checkVersions: Bool = false
  ) {
    self.host = host
    self.port = port
    self.security = security
    self.trust = trust
    self.ehloName = ehloName
    self.timeout = timeout
    self.checkVersions = checkVersions
  }

  /// The inspect session as a send request: no sender, no recipient, no message.
  var sendRequest: SendRequest {
    var request = SendRequest(
      host: host, port: port, security: security, trust: trust, ehloName: ehloName, timeout: timeout,
      reversePath: "", recipients: [], message: MessageContent(bytes: []))
    request.goal = .inspect
    request.greetingTimeout = greetingTimeout
    return request
  }

  /// The standard submission ports to try beside `port` (`--ports`): 465 (implicit TLS, RFC 8314 §3.3) and 587
  /// (STARTTLS, RFC 6409), each unless it is the port probed, with the system's CA store as their trust: a front
  /// end plans each one's trust (`ChannelPlan.probePorts`).
  public static func standardOtherPorts(besides port: UInt16) -> [ProbePort] {
    [ProbePort(port: 465, security: .implicitTLS), ProbePort(port: 587, security: .startTLS)].filter {
      $0.port != port
    }
  }
}

/// One more port of the probed host to try, how TLS starts there, and what it is trusted with.
public struct ProbePort: Sendable, Hashable {
  public var port: UInt16
  /// `.implicitTLS` or `.startTLS`.
  public var security: TransportSecurity
  /// The trust this port is judged with, never the probed port's: pins are recorded per HOST:PORT (DESIGN §6),
  /// so a front end plans each port as a send to it would be planned (its recorded pins, else the CA check, and
  /// a pin or CA file it was given for every port). The system's CA store unless set.
  public var trust: TLSTrust
  /// The pin file the pins of `trust` were recorded in, for the port's line; nil when they were not.
  public var recordedPinFile: String?

  public init(
    port: UInt16, security: TransportSecurity, trust: TLSTrust = .certificateAuthorities(caFile: nil),
    recordedPinFile: String? = nil
  ) {
    self.port = port
    self.security = security
    self.trust = trust
    self.recordedPinFile = recordedPinFile
  }
}

/// What the server answered to `MAIL FROM:<>` before TLS (issue 15): whether it takes mail in clear text.
public struct PlaintextMailCheck: Sendable, Hashable {
  public enum Verdict: String, Sendable, Hashable {
    /// 530: TLS first (RFC 3207 §4) — what a submission server should say.
    case refusesWithoutTLS = "refuses_without_tls"
    /// 2xx: a transaction could start in clear text.
    case acceptsWithoutTLS = "accepts_without_tls"
    /// Another refusal (4xx, 5xx): not the 530 that says TLS is required, so the policy is not known.
    case refusedOtherwise = "refused_otherwise"
    /// A reply MAIL cannot have (RFC 5321 §4.3.2: 250, or a 4xx or 5xx refusal), such as 354: a protocol
    /// violation, neither an acceptance nor a refusal; the probe ends there.
    case invalidReply = "invalid_reply"
  }

  /// The reply, escaped (DESIGN §3.6).
  public var reply: ReplyRecord
  /// The port probed (on 25 a public MX must take mail without TLS, RFC 3207 §4).
  public var port: UInt16

  public var verdict: Verdict {
    if reply.code == 530 { return .refusesWithoutTLS }
    if (200...299).contains(reply.code) { return .acceptsWithoutTLS }
    if (400...599).contains(reply.code) { return .refusedOtherwise }
    return .invalidReply
  }

  /// The sentence for a reply to `command` that it cannot have (RFC 5321 §4.3.2): the probe's verdict, and the
  /// summary's line, say it in the same words.
  static func invalidReply(_ reply: ReplyRecord, to command: String) -> String {
    "the server answered \(command) with \(reply.code), which is not a valid reply (RFC 5321 §4.3.2), before "
      + "TLS: \(reply.text)"
  }

  /// The line the probe shows (a warning for `.acceptsWithoutTLS`).
  public var text: String {
    switch verdict {
    case .refusesWithoutTLS:
      return "the server refuses mail without TLS: MAIL FROM:<> before STARTTLS was answered \(reply.text)"
    case .acceptsWithoutTLS:
      let context =
        port == 25
        ? " (a public MX on port 25 must, RFC 3207 §4; a submission port should not)"
        : ": a client that does not insist on STARTTLS would send its message in clear text"
      return
        "this server accepts mail without TLS: MAIL FROM:<> before STARTTLS was answered \(reply.text)\(context)"
    case .refusedOtherwise:
      return
        "MAIL FROM:<> before STARTTLS was answered \(reply.text): a refusal, but not the 530 that says TLS is "
        + "required (RFC 3207 §4), so whether the server takes mail without TLS is not known"
    case .invalidReply:
      return Self.invalidReply(reply, to: "MAIL")
        + "; a protocol violation, so whether the server takes mail without TLS is not known"
    }
  }
}

/// One port tried with `--ports`: open or not, and whether it speaks TLS.
public struct PortCheck: Sendable, Hashable {
  public var port: UInt16
  public var security: TransportSecurity
  /// Connected (true), refused (false), or not known (a timeout, an unknown host).
  public var isOpen: Bool?
  /// A TLS handshake finished there (trusted or not), none could (false), or not known.
  public var speaksTLS: Bool?
  /// The TLS session there is trusted with the port's own trust (``ProbePort/trust``).
  public var isTrusted: Bool
  /// What was found, in words (server text escaped).
  public var detail: String

  public init(
    port: UInt16, security: TransportSecurity, isOpen: Bool?, speaksTLS: Bool?, isTrusted: Bool,
    detail: String
  ) {
    self.port = port
    self.security = security
    self.isOpen = isOpen
    self.speaksTLS = speaksTLS
    self.isTrusted = isTrusted
    self.detail = detail
  }

  /// "port 465 (implicit TLS): open, TLS 1.3 …".
  public var line: String {
    let mode = security == .implicitTLS ? "implicit TLS" : "STARTTLS"
    return "port \(port) (\(mode)): \(detail)"
  }

  /// What an attempt's session report says about its port.
  static func from(
    _ report: SendReport, port: ProbePort, summary: TLSSessionSummary?
  ) -> PortCheck {
    func check(_ open: Bool?, _ tls: Bool?, _ detail: String, trusted: Bool = false) -> PortCheck {
      PortCheck(
        port: port.port, security: port.security, isOpen: open, speaksTLS: tls, isTrusted: trusted,
        detail: detail)
    }
    if let summary {
      let group = summary.group.map { ", \($0)" } ?? ""
      let trusted = summary.verdict.isTrusted && report.failure == nil
      var recorded = ""
      if case .pinned = summary.verdict, let file = port.recordedPinFile {
        recorded = " (recorded in \(UntrustedText(file).escaped))"
      }
      return check(
        true, true,
        "open, speaks \(summary.version) \(summary.cipher)\(group); \(TranscriptText.verdict(summary.verdict))"
          + recorded,
        trusted: trusted)
    }
    guard let failure = report.failure else { return check(report.peer != nil, nil, "open, no TLS session") }
    switch failure.reason {
    case .connectionRefused: return check(false, nil, "closed (connection refused)")
    case .hostUnknown: return check(nil, nil, "not known (\(failure.message))")
    case .timedOut(.connecting): return check(nil, nil, "no answer (\(failure.message))")
    case .plaintextReplyToTLS:
      return check(true, false, "open, but it answers in plaintext where a TLS ServerHello should be")
    case .startTLSMissing: return check(true, false, "open, but STARTTLS is not offered")
    case .startTLSRefused(let reply):
      return check(true, false, "open, but STARTTLS is refused (\(reply.text))")
    case .tlsHandshakeFailed:
      return check(true, false, "open, but the TLS handshake failed (\(MailSender.reason(failure)))")
    default:
      return check(
        report.peer != nil ? true : nil, nil, "\(report.peer != nil ? "open, but " : "")\(failure.message)")
    }
  }
}

/// What a probe found, and whether the channel can be trusted.
public struct ProbeReport: Sendable {
  /// One `--versions` attempt.
  public struct VersionAttempt: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
      /// The handshake offering only this version finished (trusted or not: the version was accepted).
      case accepted
      /// The server refused this version (OpenSSL's reason, e.g. the alert it sent).
      case refused(String)
      /// The attempt ended before the handshake said anything (connection, timeout, SMTP).
      case undetermined(String)
    }

    public var version: TLSVersion
    public var outcome: Outcome

    public var isAccepted: Bool { outcome == .accepted }

    /// "accepted", "refused (…)", "not determined (…)".
    public var detail: String {
      switch outcome {
      case .accepted: "accepted"
      case .refused(let why): "refused (\(why))"
      case .undetermined(let why): "not determined (\(why))"
      }
    }
  }

  public var request: ProbeRequest
  /// The inspect session: its failure decides the exit code; its TLS summary and capabilities are the report.
  public var session: SendReport
  /// Empty unless `checkVersions`, or when the main session never reached a handshake.
  public var versions: [VersionAttempt]
  /// Findings that do not make the channel untrustworthy (exit 0 stays 0).
  public var warnings: [String]
  /// Every event of the probe, in order.
  public var transcript: [SendEvent]
  /// The server's answer to `MAIL FROM:<>` before TLS; nil when not asked (implicit TLS) or never reached.
  public var plaintextMail: PlaintextMailCheck?
  /// The other ports tried (`otherPorts`), in order; empty when none were asked for.
  public var ports: [PortCheck] = []

  /// TLS ≥ 1.2 negotiated, chain and name verified (or pin matched), STARTTLS neither missing nor tampered.
  public var isTrustworthy: Bool { session.failure == nil && session.tls?.verdict.isTrusted == true }

  /// 0 trustworthy; 77 not trustworthy; 68/69/75/76 as DESIGN §4.
  public var exitCode: Int32 {
    if let failure = session.failure { return failure.exitCode }
    return isTrustworthy ? 0 : SendFailure.Category.security.exitCode
  }

  /// The one line for stderr (without the "sealpost: " prefix).
  public var verdictLine: String {
    if let failure = session.failure {
      if failure.category == .security { return "not trustworthy: \(failure.message)" }
      return failure.description
    }
    guard let tls = session.tls, tls.verdict.isTrusted else {
      return "not trustworthy: no trusted TLS session"
    }
    let group = tls.group.map { ", \($0)" } ?? ""
    let trust: String
    switch tls.verdict {
    case .verified(let name): trust = "certificate verified for \(name)"
    case .pinned(let pin):
      let recorded = request.recordedPinFile.map { ", as recorded in \(UntrustedText($0).escaped)" } ?? ""
      trust = "key pinned (\(TranscriptText.pinText(pin))\(recorded))"
    case .failed, .pinMismatch: trust = TranscriptText.verdict(tls.verdict)
    }
    let count = warnings.count
    let warned = count == 0 ? "" : "; \(count) warning\(count == 1 ? "" : "s")"
    return "trustworthy: \(tls.version) \(tls.cipher)\(group), \(trust)\(warned) — nothing was sent"
  }

  /// Capability lines ("KEYWORD params") only before TLS and only inside TLS, each sorted.
  public var capabilityDifferences: (onlyBeforeTLS: [String], onlyAfterTLS: [String]) {
    let before = Self.lines(session.capabilitiesBeforeTLS)
    let after = Self.lines(session.capabilitiesAfterTLS)
    guard let before, let after else { return ([], []) }
    return (before.filter { !after.contains($0) }, after.filter { !before.contains($0) })
  }

  /// "KEYWORD param…" per listed extension, sorted by keyword; nil when there was no such list.
  public static func lines(_ capabilities: Capabilities?) -> [String]? {
    guard let capabilities else { return nil }
    return capabilities.keywords.keys.sorted().map { keyword in
      ([keyword] + (capabilities.keywords[keyword] ?? [])).joined(separator: " ")
    }
  }
}

extension ProbeReport {
  /// A probe of `request` refused before it connected (a front end's planning said no: a pin file that cannot
  /// be used), with `failure` as its verdict, as ``SendReport/init(failure:finalReply:goal:)`` is for a send.
  /// In an extension, so the report keeps its memberwise initializer.
  public init(request: ProbeRequest, failure: SendFailure) {
    self.init(
      request: request, session: SendReport(failure: failure, goal: .inspect), versions: [], warnings: [],
      transcript: [])
  }
}

extension MailSender {
  /// Starts a probe of a server's TLS (issue 3): one inspect session, then with `checkVersions` one handshake
  /// per TLS version, then one per port of `otherPorts`. The summary (capabilities, mail before TLS, versions,
  /// ports, warnings) comes as events, and the outcome last. Nothing but EHLO, STARTTLS, QUIT and — before
  /// STARTTLS — `MAIL FROM:<>` and `RSET` is ever sent: no address, no message, no password.
  public static func startProbe(_ request: ProbeRequest, clock: any SessionClock = SystemClock())
    -> ProbeHandle
  {
    let cancellation = Cancellation()
    return ProbeHandle.start(cancellation: cancellation) { emit in
      probe(request, cancellation: cancellation, clock: clock, emit: emit)
    }
  }

  /// Probes and waits: `observer` gets every event on the calling thread, in order, as it happens.
  public static func probe(
    _ request: ProbeRequest, clock: any SessionClock = SystemClock(), observer: (SendEvent) -> Void = { _ in }
  ) -> ProbeReport {
    let handle = startProbe(request, clock: clock)
    while let event = handle.nextEvent() { observer(event) }
    return handle.wait()
  }

  private static func probe(
    _ request: ProbeRequest, cancellation: Cancellation, clock: any SessionClock,
    emit: @escaping @Sendable (SendEvent) -> Void
  ) -> ProbeReport {
    let recorder = EventRecorder(forwardingTo: emit)
    let start = clock.now()
    func session() -> SendSession {
      SendSession(
        request: request.sendRequest, cancellation: cancellation, clock: clock, start: start,
        sink: recorder.record)
    }
    if request.security == .plaintext {
      let failure = SendFailure(.usage, "probing without TLS makes no sense", reason: .invalidRequest)
      let report = ProbeReport(
        request: request, session: SendReport(failure: failure, goal: .inspect), versions: [],
        warnings: [], transcript: [])
      session().emit(
        .outcome(OutcomeRecord(outcome: .failed(failure), verdict: report.verdictLine, exitCode: 64)),
        insideTLS: false)
      return ProbeReport(
        request: request, session: report.session, versions: [], warnings: [], transcript: recorder.events)
    }

    var main = session()
    main.emitsOutcome = false
    main.checksPlaintextMail = request.checksPlaintextMail && request.security == .startTLS
    let report = main.run()
    // The summary goes out through a session value, so it shares the clock.
    let voice = main

    var versions: [ProbeReport.VersionAttempt] = []
    if request.checkVersions && main.reachedHandshake && !cancellation.isCancelled {
      for version in TLSVersion.allCases {
        voice.note(
          .info, "TLS version check: offering only \(version), on a new connection", insideTLS: false)
        var attempt = session()
        attempt.tlsVersions = version...version
        attempt.stopAfterHandshake = true
        attempt.emitsOutcome = false
        attempt.showsChain = false
        let seen = recorder.events.count
        let attemptReport = attempt.run()
        // The alert the server answered with says why, in OpenSSL's words.
        let alert = recorder.events.dropFirst(seen).compactMap { event -> String? in
          if case .tls(.alert(.received, let level, let description), _) = event.payload {
            return "alert \(level): \(description)"
          }
          return nil
        }.last
        let outcome: ProbeReport.VersionAttempt.Outcome
        if let negotiated = attempt.tlsSummary?.version {
          outcome = negotiated == version ? .accepted : .refused("negotiated \(negotiated)")
        } else if attempt.reachedHandshake, let failure = attemptReport.failure {
          outcome =
            failure.category == .security
            ? .refused(alert ?? Self.reason(failure)) : .undetermined(failure.message)
        } else {
          outcome = .undetermined(attemptReport.failure?.message ?? "no handshake")
        }
        versions.append(.init(version: version, outcome: outcome))
      }
    }

    var ports: [PortCheck] = []
    for other in request.otherPorts where !cancellation.isCancelled {
      let mode = other.security == .implicitTLS ? "implicit TLS" : "STARTTLS"
      voice.note(.info, "port check: \(other.port) (\(mode)), on a new connection", insideTLS: false)
      var sendRequest = request.sendRequest
      sendRequest.port = other.port
      sendRequest.security = other.security
      sendRequest.trust = other.trust
      sendRequest.greetingTimeout = nil
      var attempt = SendSession(
        request: sendRequest, cancellation: cancellation, clock: clock, start: start, sink: recorder.record)
      attempt.stopAfterHandshake = true
      attempt.emitsOutcome = false
      attempt.showsChain = false
      let attemptReport = attempt.run()
      ports.append(PortCheck.from(attemptReport, port: other, summary: attempt.tlsSummary))
    }

    var probe = ProbeReport(
      request: request, session: report, versions: versions, warnings: [], transcript: [])
    probe.plaintextMail = main.plaintextMailReply.map { PlaintextMailCheck(reply: $0, port: request.port) }
    probe.ports = ports
    probe.warnings = warnings(probe, now: Int64(time(nil)))

    // The summary, as events (so the terminal UI and --json get it too).
    let before = ProbeReport.lines(report.capabilitiesBeforeTLS)
    let after = ProbeReport.lines(report.capabilitiesAfterTLS)
    if let before {
      voice.note(.info, "capabilities before TLS: \(list(before))", insideTLS: false)
    } else if request.security == .implicitTLS, after != nil {
      voice.note(.info, "capabilities before TLS: none (implicit TLS from the first byte)", insideTLS: false)
    }
    if let after { voice.note(.info, "capabilities inside TLS: \(list(after))", insideTLS: true) }
    if before != nil, after != nil {
      let (onlyBefore, onlyAfter) = probe.capabilityDifferences
      if onlyBefore.isEmpty && onlyAfter.isEmpty {
        voice.note(.info, "capabilities: the same before and inside TLS", insideTLS: false)
      } else {
        if !onlyBefore.isEmpty {
          voice.note(.info, "capabilities only before TLS: \(list(onlyBefore))", insideTLS: false)
        }
        if !onlyAfter.isEmpty {
          voice.note(.info, "capabilities only inside TLS: \(list(onlyAfter))", insideTLS: true)
        }
      }
    }
    if !versions.isEmpty {
      let words = versions.map { "\($0.version) \($0.detail)" }.joined(separator: "; ")
      voice.note(.info, "TLS versions: \(words)", insideTLS: false)
    }
    if let check = probe.plaintextMail, check.verdict != .acceptsWithoutTLS {
      voice.note(.info, check.text, insideTLS: false)
    }
    for port in ports { voice.note(.info, port.line, insideTLS: false) }
    for warning in probe.warnings { voice.note(.warning, warning, insideTLS: false) }
    voice.emit(
      .outcome(
        OutcomeRecord(outcome: report.outcome, verdict: probe.verdictLine, exitCode: probe.exitCode)),
      insideTLS: false)
    probe.transcript = recorder.events
    return probe
  }

  /// The security failure's reason without the "— nothing was sent" tail.
  static func reason(_ failure: SendFailure) -> String {
    var text = failure.message
    if let range = text.firstRange(of: " — nothing was sent") { text.removeSubrange(range) }
    if text.hasPrefix("TLS handshake failed: ") { text.removeFirst("TLS handshake failed: ".count) }
    return text
  }

  static func list(_ items: [String]) -> String { items.isEmpty ? "(none)" : items.joined(separator: ", ") }

  /// Findings that keep exit 0: AUTH before TLS, mail taken before TLS, a certificate expiring within 14 days,
  /// TLS 1.0/1.1 accepted.
  static func warnings(_ report: ProbeReport, now: Int64) -> [String] {
    var warnings: [String] = []
    if let before = report.session.capabilitiesBeforeTLS, before.has("AUTH") {
      let mechanisms = before.authMechanisms.joined(separator: " ")
      warnings.append(
        "the server offers AUTH\(mechanisms.isEmpty ? "" : " \(mechanisms)") before TLS: a client that does not insist on STARTTLS would send its password in plaintext"
      )
    }
    for (index, certificate) in (report.session.tls?.chain ?? []).enumerated() {
      let days = TranscriptText.daysLeft(certificate, now: now)
      guard certificate.notAfter >= now, certificate.notAfter - now < 14 * 86_400 else { continue }
      warnings.append(
        "certificate \(index) (\(certificate.subject.escaped)) expires in \(days) day\(days == 1 ? "" : "s"), on \(TranscriptText.isoDate(certificate.notAfter))"
      )
    }
    if let check = report.plaintextMail, check.verdict == .acceptsWithoutTLS { warnings.append(check.text) }
    for attempt in report.versions where attempt.isAccepted && attempt.version < .tls12 {
      warnings.append(
        "the server accepts \(attempt.version), which is obsolete (RFC 8996); Sealpost never uses it to send")
    }
    return warnings
  }
}

/// Keeps every event of a probe and forwards it as it happens.
final class EventRecorder: Sendable {
  private let storage = Mutex<[SendEvent]>([])
  private let forward: @Sendable (SendEvent) -> Void

  init(forwardingTo forward: @escaping @Sendable (SendEvent) -> Void) { self.forward = forward }

  var record: @Sendable (SendEvent) -> Void {
    { [self] event in
      storage.withLock { $0.append(event) }
      forward(event)
    }
  }

  var events: [SendEvent] { storage.withLock { $0 } }
}
