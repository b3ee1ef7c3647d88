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
  /// Every event, in order, as the observer received them.
  public var transcript: [TranscriptEvent]

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
  /// Probes a server's TLS (issue 3): one inspect session, then with `checkVersions` one handshake per TLS
  /// version. Events reach `observer` as they happen, the summary (capabilities, versions, warnings) and the
  /// verdict last. Nothing but EHLO, STARTTLS and QUIT is ever sent.
  public static func probe(
    _ request: ProbeRequest, cancellation: Cancellation = Cancellation(),
    observer: @escaping @Sendable (TranscriptEvent) -> Void
  ) -> ProbeReport {
    let recorder = TranscriptRecorder(forwardingTo: observer)
    let start = ContinuousClock().now
    if request.security == .plaintext {
      let failure = SendFailure(.usage, "probing without TLS makes no sense: use --tls implicit or starttls")
      let session = SendSession(
        request: request.sendRequest, cancellation: cancellation, observer: recorder.record, start: start)
      session.emit(.error, failure.description, insideTLS: false)
      return ProbeReport(
        request: request, session: SendReport(failure: failure, finalReply: nil, goal: .inspect),
        versions: [],
        warnings: [], transcript: recorder.events)
    }

    var main = SendSession(
      request: request.sendRequest, cancellation: cancellation, observer: recorder.record, start: start)
    main.emitsVerdict = false
    let session = main.run()
    // The summary lines go out through a session value, so they share the clock and the redaction.
    let voice = main

    var versions: [ProbeReport.VersionAttempt] = []
    if request.checkVersions && main.reachedHandshake && !cancellation.isCancelled {
      for version in TLSVersion.allCases {
        voice.emit(
          .info, "TLS version check: offering only \(version), on a new connection", insideTLS: false)
        var attempt = SendSession(
          request: request.sendRequest, cancellation: cancellation, observer: recorder.record, start: start)
        attempt.tlsVersions = version...version
        attempt.stopAfterHandshake = true
        attempt.emitsVerdict = false
        attempt.showsChain = false
        let seen = recorder.events.count
        let report = attempt.run()
        // The alert the server answered with says why, in OpenSSL's words.
        let alert = recorder.events.dropFirst(seen).compactMap { event -> String? in
          if case .alert(.received, let level, let description) = event.tls {
            return "alert \(level): \(description)"
          }
          return nil
        }.last
        let outcome: ProbeReport.VersionAttempt.Outcome
        if let negotiated = attempt.tlsSummary?.version {
          outcome = negotiated == version ? .accepted : .refused("negotiated \(negotiated)")
        } else if attempt.reachedHandshake, let failure = report.failure {
          outcome =
            failure.category == .security
            ? .refused(alert ?? Self.reason(failure)) : .undetermined(failure.message)
        } else {
          outcome = .undetermined(report.failure?.message ?? "no handshake")
        }
        versions.append(.init(version: version, outcome: outcome))
      }
    }

    var report = ProbeReport(
      request: request, session: session, versions: versions, warnings: [], transcript: [])
    report.warnings = warnings(report, now: Int64(time(nil)))

    // The summary, as events (so the terminal UI and --json get it too).
    let before = ProbeReport.lines(session.capabilitiesBeforeTLS)
    let after = ProbeReport.lines(session.capabilitiesAfterTLS)
    if let before {
      voice.emit(.info, "capabilities before TLS: \(list(before))", insideTLS: false)
    } else if request.security == .implicitTLS, after != nil {
      voice.emit(.info, "capabilities before TLS: none (implicit TLS from the first byte)", insideTLS: false)
    }
    if let after { voice.emit(.info, "capabilities inside TLS: \(list(after))", insideTLS: true) }
    if before != nil, after != nil {
      let (onlyBefore, onlyAfter) = report.capabilityDifferences
      if onlyBefore.isEmpty && onlyAfter.isEmpty {
        voice.emit(.info, "capabilities: the same before and inside TLS", insideTLS: false)
      } else {
        if !onlyBefore.isEmpty {
          voice.emit(.info, "capabilities only before TLS: \(list(onlyBefore))", insideTLS: false)
        }
        if !onlyAfter.isEmpty {
          voice.emit(.info, "capabilities only inside TLS: \(list(onlyAfter))", insideTLS: true)
        }
      }
    }
    if !versions.isEmpty {
      let words = versions.map { "\($0.version) \($0.detail)" }.joined(separator: "; ")
      voice.emit(.info, "TLS versions: \(words)", insideTLS: false)
    }
    for warning in report.warnings { voice.emit(.warning, warning, insideTLS: false) }
    voice.emit(report.exitCode == 0 ? .info : .error, report.verdictLine, insideTLS: false)
    report.transcript = recorder.events
    return report
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
final class TranscriptRecorder: Sendable {
  private let storage = Mutex<[TranscriptEvent]>([])
  private let forward: @Sendable (TranscriptEvent) -> Void

  init(forwardingTo forward: @escaping @Sendable (TranscriptEvent) -> Void) { self.forward = forward }

  var record: @Sendable (TranscriptEvent) -> Void {
    { [self] event in
      storage.withLock { $0.append(event) }
      forward(event)
    }
  }

  var events: [TranscriptEvent] { storage.withLock { $0 } }
}
