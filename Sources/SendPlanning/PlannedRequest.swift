import Accounts
import MailSender

extension ChannelPlan {
  /// The plan every front end sends with: the account merged with the overrides, and the pins recorded in
  /// Sealpost's pin file for its host and port (DESIGN §6).
  public static func withRecordedPins(
    overrides: ChannelOverrides, account: Account?, environment: [String: String]
  ) throws(PlanningError) -> ChannelPlan {
    var plan = try ChannelPlan(overrides: overrides, account: account)
    plan.applyRecordedPins(try PinFile.load(environment: environment), overrides: overrides)
    return plan
  }

  /// The plan a message goes out with, checked before connecting: ``withRecordedPins(overrides:account:environment:)``,
  /// then `check` (a front end's own checks of the merged plan, such as a flag that needs another), then the
  /// plaintext policy (``checkPlaintext()``, DESIGN §3.4), in that order — what `send`, an outbox flush and
  /// `sendmail` each wrote out for themselves.
  public static func checked(
    overrides: ChannelOverrides, account: Account?, environment: [String: String],
    check: (ChannelPlan) throws(PlanningError) -> Void = { _ in }
  ) throws(PlanningError) -> ChannelPlan {
    let plan = try withRecordedPins(overrides: overrides, account: account, environment: environment)
    try check(plan)
    try plan.checkPlaintext()
    return plan
  }

  /// The request for this plan and an assembled message: the one place a front end's plan becomes what the
  /// core sends.
  public func request(
    for message: AssembledMessage, credentials: Credentials?, showData: Bool = false
  ) -> SendRequest {
    request(
      reversePath: message.reversePath, recipients: message.recipients, message: message.content,
      credentials: credentials, showData: showData)
  }

  /// The probe of this plan's server (`sealpost probe`): host, port, mode, trust — the recorded pins included,
  /// and the file they came from for the report —, the step deadline and the greeting's.
  public func probeRequest(checkVersions: Bool = false) -> ProbeRequest {
    var request = ProbeRequest(
      host: host, port: port, security: security, trust: trust, ehloName: ehlo,
      timeout: .milliseconds(Int64(timeout * 1000)), checkVersions: checkVersions)
    request.greetingTimeout = greetingTimeout.map { .milliseconds(Int64($0 * 1000)) }
    request.recordedPinFile = recordedPins?.path
    return request
  }

  /// `ports` of this plan's host, each with the trust a send to that HOST:PORT would have (DESIGN §6: pins are
  /// recorded per HOST:PORT): planned as ``withRecordedPins(overrides:account:environment:)`` plans it with the
  /// port and mode in place of the plan's — its own recorded pins, else the CA check; a pin or CA file in
  /// `overrides` for every port. Never the probed port's recorded pins.
  public func probePorts(
    _ ports: [ProbePort], overrides: ChannelOverrides, environment: [String: String]
  ) throws(PlanningError) -> [ProbePort] {
    var planned: [ProbePort] = []
    for port in ports {
      var portOverrides = overrides
      portOverrides.server = Self.hostAndPort(host, port.port)
      portOverrides.port = nil
      portOverrides.tls = port.security.rawValue
      let plan = try Self.withRecordedPins(
        overrides: portOverrides, account: account, environment: environment)
      planned.append(
        ProbePort(
          port: port.port, security: port.security, trust: plan.trust,
          recordedPinFile: plan.recordedPins?.path))
    }
    return planned
  }

  /// The request for this plan with an envelope and content of the caller's (a queued message; none for a
  /// session that stops before MAIL). The plan's greeting deadline goes with it, so no front end forgets it.
  public func request(
    reversePath: String, recipients: [String], message: MessageContent, credentials: Credentials?,
    showData: Bool = false
  ) -> SendRequest {
    var request = SendRequest(
      host: host, port: port, security: security, allowInsecure: allowInsecure, trust: trust,
      credentials: credentials, ehloName: ehlo, timeout: .milliseconds(Int64(timeout * 1000)),
      reversePath: reversePath, recipients: recipients, message: message, showData: showData)
    request.greetingTimeout = greetingTimeout.map { .milliseconds(Int64($0 * 1000)) }
    return request
  }
}
