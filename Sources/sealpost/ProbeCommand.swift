import ArgumentParser
import FoundationEssentials
import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning

/// `sealpost probe`: a server's TLS shown step by step, with a verdict on whether the channel can be trusted.
struct ProbeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "probe",
    abstract: "Inspect a mail server's TLS: every handshake step, the certificates and a verdict.",
    discussion: """
      Connects, says EHLO, STARTTLS if asked, runs the TLS handshake, says EHLO again and QUIT: no message, no \
      address and no password is ever sent. Before STARTTLS it sends MAIL FROM:<> (the null sender) and RSET, \
      to report whether the server takes mail without TLS (530 expected; a 2xx is a warning). Ports and modes \
      as for send: no port → 465 implicit TLS; 587 or 25 → STARTTLS. --ports also tries 465 and 587 (whichever \
      is not probed), each judged with its own recorded pins, as a send to it would be. A pin recorded for HOST:PORT in $XDG_CONFIG_HOME/sealpost/pins (the composer's "pin this \
      key") is trusted as a send trusts it, unless --pin or --ca-file is given.
      Exit status: 0 trustworthy (warnings keep 0); 77 not trustworthy (certificate or pin, TLS older than \
      1.2, STARTTLS missing or tampered); 68 unknown host; 69 refused; 75 timeout or connection lost; 64 usage; \
      78 a pin file that cannot be read.
      Examples:
        sealpost probe smtp.example.org
        sealpost probe smtp.example.org:587 --versions
        sealpost probe mail.internal.test --tls starttls --ca-file ca.pem --json
        sealpost probe smtp.example.org:587 --ports
      """
  )

  @Argument(help: ArgumentHelp("The server, HOST or HOST:PORT ([IPv6]:PORT).", valueName: "host[:port]"))
  var server: String

  @Option(
    help: ArgumentHelp("implicit (465) or starttls (587).", valueName: "mode"),
    completion: .list(["implicit", "starttls"]))
  var tls: String?

  @OptionGroup var trustOptions: TrustOptions

  @Flag(help: "Also try TLS 1.0, 1.1, 1.2 and 1.3 one at a time and report which the server accepts.")
  var versions = false

  @Flag(
    help:
      "Also try the submission ports 465 (implicit TLS, preferred by RFC 8314) and 587 (STARTTLS), whichever is not the one probed: open or not, and whether they speak TLS."
  )
  var ports = false

  @Flag(
    help: "Print one JSON document (schema: Sources/MailSender/Schemas/probe.schema.json) instead of text.")
  var json = false

  // Optional, so the help says "(default 60)" as send's does instead of ArgumentParser's "60.0" (issue 11).
  @Option(help: ArgumentHelp("Seconds allowed for each protocol step (default 60).", valueName: "seconds"))
  var timeout: Double?

  func run() throws {
    let request: ProbeRequest
    do {
      request = try makeRequest()
    } catch {
      throw Output.refuse(error)
    }
    let report = Output.drive(format: json ? .none : .text) { MailSender.startProbe(request) }
    if json { Output.transcript(report.json()) }
    try Output.finish(
      CLIWording.verdict(
        report.verdictLine, failure: report.session.failure, tls: report.session.tls,
        context: CLIWording.Context(
          security: request.security, port: request.port, trust: request.trust,
          pinFile: request.recordedPinFile)),
      exitCode: report.exitCode)
  }

  /// The probe planned as a send plans its channel (`ChannelPlan.checked`, DESIGN §6): the pins recorded in
  /// Sealpost's pin file for HOST:PORT are its trust, unless `--pin` or `--ca-file` gives trust of its own.
  func makeRequest() throws(SendFailure) -> ProbeRequest {
    switch tls {
    case nil, "implicit", "starttls": break
    case "none":
      throw SendFailure(.usage, "probing with --tls none makes no sense: a probe looks at TLS")
    case let other?:
      throw SendFailure(.usage, "--tls \(UntrustedText(other).escaped): say implicit or starttls")
    }
    let overrides = ChannelOverrides(
      server: server, tls: tls, caFile: trustOptions.caFile, pins: trustOptions.pin, timeout: timeout)
    let plan = try CLIPlanning.plan(overrides: overrides, account: nil)
    if plan.security == .plaintext {
      // Port 25 plans STARTTLS; .plaintext only comes from --tls none, refused above. Kept total.
      throw SendFailure(.usage, "probing without TLS makes no sense: say --tls implicit or starttls")
    }
    if case .certificateAuthorities(let caFile?) = plan.trust {
      try Input.checkReadable(caFile, what: "CA file")
    }
    var request = plan.probeRequest(checkVersions: versions)
    if ports {
      // Each port with its own recorded pins (DESIGN §6: per HOST:PORT), not the probed port's.
      request.otherPorts = try CLIPlanning.run { () throws(PlanningError) in
        try plan.probePorts(
          ProbeRequest.standardOtherPorts(besides: plan.port), overrides: overrides,
          environment: Environment.variables)
      }
    }
    return request
  }
}
