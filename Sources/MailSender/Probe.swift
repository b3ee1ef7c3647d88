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
    case .pinned(let pin): trust = "key pinned (\(TranscriptText.pinText(pin)))"
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

extension MailSender {
  /// Starts a probe of a server's TLS (issue 3): one inspect session, then with `checkVersions` one handshake
  /// per TLS version. The summary (capabilities, versions, warnings) comes as events, and the outcome last.
  /// Nothing but EHLO, STARTTLS and QUIT is ever sent.
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

    var probe = ProbeReport(
      request: request, session: report, versions: versions, warnings: [], transcript: [])
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
    if let range = text.range(of: " — nothing was sent") { text.removeSubrange(range) }
    if text.hasPrefix("TLS handshake failed: ") { text.removeFirst("TLS handshake failed: ".count) }
    return text
  }

  static func list(_ items: [String]) -> String { items.isEmpty ? "(none)" : items.joined(separator: ", ") }

  /// Findings that keep exit 0: AUTH before TLS, a certificate expiring within 14 days, TLS 1.0/1.1 accepted.
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
