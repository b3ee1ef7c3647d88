import MailMessage
import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning

/// A send or a probe, running or ended: its events as they came, the transcript lines derived from them, the
/// TLS outcome, the progress and the result.
struct Session: Sendable {
  enum Kind: Sendable {
    case send(SendOrder)
    case probe(ProbeOrder)
  }

  /// How it ended, unmistakably (issue 9 §2).
  enum Result: Sendable, Hashable {
    case sent(String)
    /// Refused or failed: the server's (or the policy's) words.
    case refused(String)
    case cancelled(String)
    case deliveryUnknown(String)
    /// A probe ended: whether the channel is trustworthy, and the verdict line.
    case probed(trustworthy: Bool, String)
  }

  /// The "pin this key" offer after a certificate failure.
  struct PinOffer: Sendable, Hashable {
    enum Stage: Sendable, Hashable {
      /// Offered on the bottom line (`p`).
      case offered
      /// The pin and fingerprint shown; `y` records it, `n` or Esc does not.
      case confirming
      /// `.recordPin` went out; waiting for `.pinRecorded`.
      case recording
    }
    /// `sha256/BASE64` of the leaf's SPKI.
    var pin: String
    /// The leaf certificate's SHA-256, colon hex.
    var fingerprint: String
    var host: String
    var port: UInt16
    var stage = Stage.offered
  }

  var kind: Kind
  var host: String
  var port: UInt16
  var events: [SendEvent] = []
  var lines: [TranscriptLine] = []
  var stage: SendStage?
  var progress: (sent: Int, total: Int)?
  var tls: TLSSessionSummary?
  var outcome: OutcomeRecord?
  var result: Result?
  /// Probe only: capability lines only before TLS and only inside TLS.
  var capabilityDiff: (onlyBefore: [String], onlyAfter: [String])?
  /// Transcript rows scrolled back from the end; 0 follows the end.
  var scrollBack = 0
  /// The TLS pane takes the transcript's room (`t`).
  var showsTLSDetail = false
  var cancelRequested = false
  /// The prompt of `.secretRequested` while the masked field is open.
  var secretPrompt: String?
  /// What is typed into the masked field: never drawn, never in an effect but `.answerSecret`.
  var secretField = MaskedField()
  var pin: PinOffer?
  /// Paths the transcript was saved to, or why not.
  var saved: Swift.Result<[String], ComposerProblem>?
  /// The failure can be kept in the outbox (the cases `send --queue` queues): `o` does it.
  var queueable = false
  /// `.queueMessage` is out (the id once queued).
  var queueing = false
  var queuedID: String?
  /// The last word about the queue or the record copy, for the row under the transcript (an error or not).
  var notice: (text: String, isError: Bool)?

  /// The channel is plaintext, as the account asks (never called trustworthy).
  var plaintext = false
  /// S/MIME (issue 15): "signed by …, encrypted for N recipients", and the copies (sessions) the send takes.
  var protection: String?
  var copies = 1
  /// Envelope recipients that have the message: reached by an earlier send of it, or by a copy of this one.
  var delivered: [String] = []

  init(send order: SendOrder, host: String, port: UInt16, plaintext: Bool = false) {
    kind = .send(order)
    // An earlier send of this message reached these already: the result says so too.
    delivered = order.delivered
    self.host = host
    self.port = port
    self.plaintext = plaintext
  }

  init(probe order: ProbeOrder) {
    kind = .probe(order)
    host = order.host
    port = order.port
  }

  var isRunning: Bool { result == nil }

  /// The verdict of a send that did not go (refused, cancelled, delivery unknown).
  var failureLine: String? {
    switch result {
    case .refused(let line), .cancelled(let line), .deliveryUnknown(let line): line
    default: nil
    }
  }

  var isProbe: Bool {
    if case .probe = kind { return true }
    return false
  }

  mutating func record(_ event: SendEvent, now: Int64) {
    guard isRunning else { return }
    events.append(event)
    lines += event.transcriptLines(now: now)
    switch event.payload {
    case .stage(let newStage): stage = newStage
    case .progress(let sent, let total): progress = (sent, total)
    case .tls(.established(let summary), true): tls = summary
    case .outcome(let record): outcome = record
    default: break
    }
  }

  mutating func finish(send report: SendReport, now: Int64) {
    guard isRunning else { return }
    closeSecret()
    if let summary = report.tls { tls = summary }
    guard let failure = report.failure else {
      result = .sent(report.verdictLine + (protection.map { "; \($0)" } ?? ""))
      return
    }
    switch failure.category {
    case .cancelled: result = .cancelled(failure.description)
    case .deliveryUnknown: result = .deliveryUnknown(failure.description)
    default: result = .refused(failure.description)
    }
    // The planning layer's own decision, the one `send --queue` takes.
    queueable = OutboxEntry.State.kept(after: failure) == .queued
    if case .untrustedCertificate = failure.reason, let leaf = tls?.chain.first {
      pin = PinOffer(
        pin: "sha256/" + TranscriptText.base64(leaf.spkiSHA256),
        fingerprint: TranscriptText.colonHex(leaf.sha256), host: host, port: port)
    }
  }

  mutating func finish(probe report: ProbeReport, now: Int64) {
    guard isRunning, isProbe else { return }
    closeSecret()
    if let summary = report.session.tls { tls = summary }
    if report.session.failure?.category == .cancelled {
      result = .cancelled(report.verdictLine)
    } else {
      result = .probed(trustworthy: report.isTrustworthy, report.verdictLine)
    }
    if report.session.capabilitiesBeforeTLS != nil, report.session.capabilitiesAfterTLS != nil {
      let diff = report.capabilityDifferences
      capabilityDiff = (diff.onlyBeforeTLS, diff.onlyAfterTLS)
    }
  }

  mutating func askSecret(_ prompt: String) {
    guard isRunning else { return }
    secretPrompt = prompt
    secretField = MaskedField()
  }

  mutating func closeSecret() {
    secretPrompt = nil
    secretField = MaskedField()
  }

  mutating func pasteSecret(_ text: String) {
    guard secretPrompt != nil else { return }
    secretField.insert(text)
  }

  mutating func saved(_ outcome: Swift.Result<[String], ComposerProblem>) {
    saved = outcome
    notice = nil
  }

  /// The copy for the account's `record` folder (the path is a config value: not shown).
  mutating func sentCopy(_ outcome: SentCopy.Outcome) {
    saved = nil
    switch outcome {
    case .recorded: notice = ("a copy of the message is in the account's record folder", false)
    case .failed(let warning): notice = ("warning: \(warning)", true)
    }
  }
}

extension ComposerModel {
  static let sendKeys: [KeyHelp] = [
    KeyHelp("Esc Ctrl-C", "cancel the send (the message stays)", main: true, short: "cancel"),
    KeyHelp("↑ ↓ j k PgUp PgDn", "scroll the transcript back"),
    KeyHelp("End G", "follow the end of the transcript"),
    KeyHelp("t", "the TLS details on the whole screen, and back", main: true, short: "TLS"),
    KeyHelp("s", "save the transcript (text and JSON lines)", main: true, short: "save"),
    KeyHelp("p", "after a certificate failure: pin this key (asks first)", main: true, short: "pin key"),
    KeyHelp(
      "o", "after a temporary failure: keep it in the outbox ('sealpost outbox flush' sends it)", main: true,
      short: "queue"),
    KeyHelp("q e", "when it ended: back to compose", main: true, short: "back"),
    KeyHelp("F1 ?", "this help", main: true, short: "help"),
    KeyHelp("Ctrl-Q", "quit", main: true, short: "quit"),
  ]

  static let secretKeys: [KeyHelp] = [
    KeyHelp("Enter", "use the password", main: true, short: "use"),
    KeyHelp("Esc Ctrl-C", "do not give it (cancels the send)", main: true, short: "cancel"),
    KeyHelp("Ctrl-U", "clear what was typed"),
  ]

  static let pinKeys: [KeyHelp] = [
    KeyHelp("y", "record the pin for this host and port and send again", main: true, short: "pin and resend"),
    KeyHelp("n Esc", "do not pin", main: true, short: "do not pin"),
  ]

  mutating func sessionKey(_ key: Key) -> [ComposerEffect] {
    guard var current = session else { return [] }
    if current.secretPrompt != nil { return secretKey(key) }
    if current.pin?.stage == .confirming { return pinKey(key) }
    let page = max(1, height / 2)
    switch key {
    case .escape where current.isRunning, .ctrl("c") where current.isRunning:
      return cancelSession()
    case .up, .character("k"): current.scrollBack += 1
    case .down, .character("j"): current.scrollBack = max(0, current.scrollBack - 1)
    case .pageUp: current.scrollBack += page
    case .pageDown: current.scrollBack = max(0, current.scrollBack - page)
    case .end, .character("G"): current.scrollBack = 0
    case .character("t"): current.showsTLSDetail.toggle()
    case .character("s") where !current.isRunning:
      session = current
      return [.saveTranscript(events: current.events, outcome: current.outcome)]
    case .character("p") where current.pin?.stage == .offered:
      current.pin?.stage = .confirming
    case .character("o") where current.queueable && !current.queueing && current.queuedID == nil:
      guard case .send(let order) = current.kind, let line = current.failureLine else { break }
      current.queueing = true
      session = current
      return [.queueMessage(order, lastError: line)]
    case .character("q"), .character("e"), .escape:
      guard !current.isRunning else { return [] }
      session = nil
      if current.isProbe {
        goHome()
      } else {
        var sent = current.queuedID != nil
        if case .sent = current.result { sent = true }
        if sent {
          draft.clearMessage()
          startNewDraft()
        }
        screen = .compose
      }
      return []
    default:
      break
    }
    session = current
    return []
  }

  mutating func secretKey(_ key: Key) -> [ComposerEffect] {
    guard var current = session else { return [] }
    switch key {
    case .enter:
      let secret = current.secretField.secret
      current.closeSecret()
      session = current
      return [.answerSecret(secret)]
    case .escape, .ctrl("c"):
      return cancelSession()
    default:
      current.secretField.handle(key)
    }
    session = current
    return []
  }

  mutating func pinKey(_ key: Key) -> [ComposerEffect] {
    guard var current = session, var offer = current.pin else { return [] }
    switch key {
    case .character("y"):
      offer.stage = .recording
      current.pin = offer
      session = current
      return [.recordPin(host: offer.host, port: offer.port, pin: offer.pin)]
    case .character("n"), .escape:
      offer.stage = .offered
    default:
      break
    }
    current.pin = offer
    session = current
    return []
  }

  /// After the pin file is written, the same message goes again with the pin (never over the failed
  /// connection, and only after the person said yes).
  mutating func pinRecorded(_ result: Swift.Result<String, ComposerProblem>) -> [ComposerEffect] {
    guard let current = session, let offer = current.pin, offer.stage == .recording,
      case .send(var order) = current.kind
    else { return [] }
    switch result {
    case .failure(let problem):
      session?.pin?.stage = .offered
      status = StatusLine(error: "the pin was not recorded: \(problem.message)")
      return []
    case .success(let path):
      overrides.pins = [offer.pin]
      overrides.caFile = nil
      order.overrides.pins = [offer.pin]
      order.overrides.caFile = nil
      status = StatusLine("pin \(offer.pin) recorded in \(UntrustedText(path).escaped); sending again")
      session = Session(send: order, host: current.host, port: current.port, plaintext: current.plaintext)
      return [.send(order)]
    }
  }

  mutating func sendFinished(_ report: SendReport) -> [ComposerEffect] {
    guard session?.isRunning == true else { return [] }
    session?.finish(send: report, now: now)
    // Sent: the draft has done its work. Not sent (refused, cancelled, unknown): it stays.
    if case .sent? = session?.result { return dropDraft() }
    if let partly = Self.partlySent(draft.delivered) { status = partly }
    return []
  }

  /// The status line of a message some recipients already have (after the send, and when its draft is
  /// continued); nil for none.
  static func partlySent(_ delivered: [String]) -> StatusLine? {
    deliveredText(delivered).map { sentTo in
      StatusLine(
        error: "partly sent: \(sentTo) already ha\(delivered.count == 1 ? "s" : "ve") it; "
          + "sending again goes only to the others")
    }
  }

  /// A copy of the running send was accepted: its recipients have the message, whatever comes next. The draft
  /// is saved with them at once (the sidecar records them), so a draft continued after a restart leaves them out.
  mutating func copyDelivered(_ recipients: [String]) -> [ComposerEffect] {
    guard session?.isRunning == true else { return [] }
    for recipient in recipients where !draft.delivered.contains(where: { Mailbox.sameAddress($0, recipient) })
    {
      draft.delivered.append(recipient)
    }
    session?.delivered += recipients
    guard !drafts.done else { return [] }
    drafts.dirty = true
    drafts.timer = nil
    return flushDraft()
  }

  /// The send being started fixed the message's Date and Message-ID: kept with the draft (saved at once, as
  /// who has the message is), so every later send of the message — after a restart too — has the same ones.
  mutating func messageIdentified(date: Int64, messageID: String) -> [ComposerEffect] {
    guard session?.isRunning == true else { return [] }
    draft.sentDate = date
    draft.messageID = messageID
    guard !drafts.done else { return [] }
    drafts.dirty = true
    drafts.timer = nil
    return flushDraft()
  }

  /// "a@x, b@y" (escaped), or nil for none.
  static func deliveredText(_ delivered: [String]) -> String? {
    delivered.isEmpty ? nil : delivered.map { UntrustedText($0).escaped }.joined(separator: ", ")
  }

  /// The runtime's answer to `o`: the message is in the outbox (then the draft goes), or why not.
  mutating func messageQueued(_ result: Swift.Result<String, ComposerProblem>) -> [ComposerEffect] {
    guard var current = session, current.queueing else { return [] }
    current.queueing = false
    current.saved = nil
    switch result {
    case .success(let id):
      current.queuedID = id
      current.notice = ("queued in the outbox as \(id): 'sealpost outbox flush' sends it", false)
      session = current
      return dropDraft()
    case .failure(let problem):
      current.notice = ("not queued: \(problem.message) — the draft is kept", true)
      session = current
      return []
    }
  }
}

extension Draft {
  /// After a message is sent: a new one from the same sender.
  mutating func clearMessage() {
    to = TextField()
    cc = TextField()
    bcc = TextField()
    subject = TextField()
    attachments = []
    problems = [:]
    replaceBody("")
    focus = .to
    sign = nil
    encrypt = false
    delivered = []
    sentDate = nil
    messageID = nil
  }
}
