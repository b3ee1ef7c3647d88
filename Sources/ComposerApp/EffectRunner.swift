import Accounts
import ComposerCore
import Dispatch
import FoundationEssentials
import MailMessage
import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// How the runtime lends the terminal out: the curses terminal suspends itself; headless, there is nothing to
/// suspend.
public protocol TerminalAccess: AnyObject {
  /// Runs `body` with the screen given up (the external editor, a password command), then redraws.
  func suspended<T>(_ body: () -> T) -> T
}

/// Carries out the composer's effects (DESIGN §2: the model asks, the runtime does) and feeds the results back
/// as messages. Nothing here blocks the UI thread on the network, a password command or a file: sends and
/// probes run through `MailSender.start`/`startProbe` on threads of their own, file work on a serial queue of
/// its own; only the external editor, which takes the terminal, runs while the UI waits.
///
/// The UI thread polls ``descriptors`` and takes what is ready with ``collect()``.
public final class EffectRunner: @unchecked Sendable {
  /// What ``collect()`` hands the UI thread, in order.
  public enum Delivery {
    case message(ComposerMessage)
    /// Suspend the screen while another thread runs a password command; call ``Release/grant()``.
    case release(Release)
  }

  /// A thread waiting for the terminal: ``grant()`` (with the screen suspended) returns when it is done.
  public struct Release {
    let handOver: TerminalRelease
    public func grant() { handOver.grantAndWait() }
  }

  private enum Session {
    case send(SendHandle)
    case probe(ProbeHandle)

    var descriptor: Int32 {
      switch self {
      case .send(let handle): handle.eventDescriptor
      case .probe(let handle): handle.eventDescriptor
      }
    }

    func cancel() {
      switch self {
      case .send(let handle): handle.cancel()
      case .probe(let handle): handle.cancel()
      }
    }
  }

  public let environment: ComposerEnvironment
  let queue = MessageQueue()
  let prompt: ComposerSecretPrompt
  let log: DiagnosticLog?
  private let work = DispatchQueue(label: "sealpost.composer.effects")
  /// Draft writes have a queue of their own, in order: a slow disk delays neither a keystroke nor the other
  /// file work (path completion, attachment checks).
  private let draftWork = DispatchQueue(label: "sealpost.composer.drafts")
  /// A send is planned on a queue of its own: planning may wait for a person (the S/MIME key's passphrase in
  /// the masked field, a `smime_passphrase_eval` pinentry) for as long as they take, and that wait must hold
  /// up no other effect (review: it stalled attachment checks, completion and the review's checks on `work`).
  private let planningWork = DispatchQueue(label: "sealpost.composer.planning")
  /// Fires when the send being planned is cancelled: ends a passphrase command or the masked field's wait.
  private var planningCancellation: Cancellation?
  private let lock = Mutex(())
  /// Timers the model asked for (`.setTimer`): their ids and when they are due on `environment.now`.
  private var timers: [Int: Date] = [:]
  /// The send running or last run: its request and account, for the outbox (`o`) and the `record` copy.
  private var lastSend: (request: SendRequest, account: Account?)?
  /// The line `.leave` asked to print once the terminal is restored.
  public private(set) var farewell: String?
  private var session: Session?
  /// A send being planned (before it has a handle): cancelling it ends it as cancelled.
  private var planning = false
  private var planningCancelled = false
  /// File work queued or running.
  private var pending = 0
  private var catalog: AccountCatalog?
  /// The chain of the last handshake, for the pin file's comment.
  private var lastTLS: TLSSessionSummary?
  /// The copies of the send (one, or with S/MIME the To/Cc copy and each Bcc recipient's apart), sent one
  /// session after another, each after the one before was sent (issue 15); `copyIndex` is the one running,
  /// the one that failed, or the first not tried. The copies from `copyIndex` on are what is unsent: `o`
  /// queues exactly those, and a new send of the message leaves out the recipients the others reached.
  private var copies: [SendRequest] = []
  private var copyIndex = 0
  /// A cancel came while copies were left: none is started after the one running.
  private var copiesCancelled = false
  private var copyAccount: Account?

  public init(environment: ComposerEnvironment, log: DiagnosticLog? = nil) {
    self.environment = environment
    self.log = log
    prompt = ComposerSecretPrompt(queue: queue)
  }

  /// The catalog the executable read before the screen opened (it needed the account's theme): `.loadCatalog`
  /// reads the file again.
  public func useCatalog(_ catalog: AccountCatalog) {
    lock.withLock { _ in self.catalog = catalog }
  }

  // MARK: - The UI thread's side

  /// What the UI thread polls besides the keys: the message queue and the running session's events.
  public var descriptors: [Int32] {
    lock.withLock { _ in [queue.descriptor] + (session.map { [$0.descriptor] } ?? []) }
  }

  /// Whether nothing is in flight: no file work, no planning, no session.
  public var isIdle: Bool {
    lock.withLock { _ in pending == 0 && session == nil && !planning }
  }

  /// Whether a send or probe is running (or being planned).
  public var hasSession: Bool {
    lock.withLock { _ in session != nil || planning }
  }

  /// When the next timer is due on `environment.now` (the curses loop waits at most until then).
  public var nextTimer: Date? {
    lock.withLock { _ in timers.values.min() }
  }

  /// The timers due now, the earliest first (and forgotten).
  private func dueTimers() -> [Int] {
    let now = environment.now()
    return lock.withLock { _ in
      let due = timers.filter { $0.value <= now }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
      for (id, _) in due { timers[id] = nil }
      return due.map(\.key)
    }
  }

  /// Everything ready now: queued results, timers due, then the session's events (and its end once the last
  /// event is in).
  public func collect() -> [Delivery] {
    var deliveries: [Delivery] = queue.drain().map {
      switch $0 {
      case .message(let message): .message(message)
      case .releaseTerminal(let release): .release(Release(handOver: release))
      }
    }
    deliveries += dueTimers().map { .message(.timerFired(id: $0)) }
    let current = lock.withLock { _ in session }
    switch current {
    case .send(let handle)?:
      deliveries += drain(handle, name: "send") { [self] report in finishCopy(report) }
    case .probe(let handle)?:
      deliveries += drain(handle, name: "probe") { [.probeFinished($0)] }
    case nil:
      break
    }
    return deliveries
  }

  /// The session's events ready now, and its end once the last event is in.
  private func drain<Report>(
    _ handle: SessionHandle<Report>, name: String, finished: (Report) -> [ComposerMessage]
  ) -> [Delivery] where Report: VerdictReport {
    let isFinished = handle.isFinished
    var deliveries: [Delivery] = []
    for event in handle.availableEvents() {
      note(event)
      deliveries.append(.message(.session(event)))
    }
    if isFinished {
      let report = handle.wait()
      end(session: handle.eventDescriptor)
      log?.write("\(name) finished: \(report.verdictLine)")
      deliveries += finished(report).map { .message($0) }
    }
    return deliveries
  }

  private func note(_ event: SendEvent) {
    if case .tls(.established(let summary), _) = event.payload {
      lock.withLock { _ in lastTLS = summary }
    }
  }

  private func end(session descriptor: Int32) {
    lock.withLock { _ in
      if session?.descriptor == descriptor { session = nil }
    }
  }

  /// Cancels whatever runs (on quit, a signal, the end of input); `status` is the exit status the outcome
  /// should carry (143 for SIGTERM).
  public func cancelAll(status: Int32? = nil) {
    let current = lock.withLock { _ in
      if planning {
        planningCancelled = true
        planningCancellation?.cancel()
      }
      if copyIndex + 1 < copies.count { copiesCancelled = true }
      return session
    }
    switch current {
    case .send(let handle)?: if let status { handle.cancel(status: status) } else { handle.cancel() }
    case .probe(let handle)?: if let status { handle.cancel(status: status) } else { handle.cancel() }
    case nil: break
    }
    prompt.answer(nil)
  }

  /// Carries out one effect. `terminal` lends the screen to the external editor. Returns false for `.quit`.
  @discardableResult
  public func perform(_ effect: ComposerEffect, terminal: TerminalAccess) -> Bool {
    switch effect {
    case .quit:
      log?.write("quit")
      cancelAll()
      return false
    case .leave(let line):
      log?.write("leave: \(line)")
      farewell = line
      cancelAll()
      return false
    case .setTimer(let id, let after):
      let seconds = Double(after.components.seconds) + Double(after.components.attoseconds) / 1e18
      let due = environment.now().addingTimeInterval(seconds)
      lock.withLock { _ in timers[id] = due }
    case .listDrafts(let folder):
      background(on: draftWork) { runner in .draftsListed(runner.listDrafts(folder: folder)) }
    case .saveDraft(let snapshot, let folder):
      // The snapshot's text is made here, on the drafts queue: never on the key path.
      background(on: draftWork) { runner in .draftSaved(runner.saveDraft(snapshot.draft, folder: folder)) }
    case .removeDraft(let id, let folder):
      background(on: draftWork) { runner in .draftRemoved(id: id, runner.removeDraft(id, folder: folder)) }
    case .queueMessage(let order, let lastError):
      background { runner in .messageQueued(runner.queueMessage(order, lastError: lastError)) }
    case .loadCatalog:
      background { runner in .catalogLoaded(runner.loadCatalog(), pins: runner.loadPins()) }
    case .send(let order):
      startSend(order)
    case .probe(let order):
      startProbe(order)
    case .cancelSession:
      log?.write("cancel")
      cancelAll()
    case .answerSecret(let secret):
      prompt.answer(secret)
    case .openEditor(let text):
      queue.post(.editorFinished(edit(text, terminal: terminal)))
    case .completePath(let prefix):
      background { _ in
        let found = PathCompletion.candidates(for: prefix)
        return .pathCompletions(prefix: prefix, candidates: found.candidates, more: found.more)
      }
    case .checkAttachment(let path):
      background { _ in .attachmentChecked(path: path, result: AttachmentCheck.check(path)) }
    case .recordPin(let host, let port, let pin):
      background { runner in .pinRecorded(runner.recordPin(host: host, port: port, pin: pin)) }
    case .createAccount(let form):
      background { runner in .accountCreated(runner.createAccount(form)) }
    case .saveTranscript(let events, let outcome):
      background { runner in .transcriptSaved(runner.saveTranscript(events, outcome: outcome)) }
    case .renderRaw(let order):
      background { runner in .rawRendered(order: order.id, runner.renderRaw(order)) }
    case .checkMessage(let order):
      background { runner in
        let (remarks, channel) = runner.checkMessage(order)
        return .messageChecked(order: order.id, remarks, channel: channel)
      }
    case .checkCertificates(let order):
      background { runner in .certificatesChecked(order: order.id, runner.checkCertificates(order)) }
    }
    return true
  }

  /// Runs `body` on the file-work queue (or `queue`) and posts its message.
  private func background(
    on target: DispatchQueue? = nil, _ body: @escaping @Sendable (EffectRunner) -> ComposerMessage
  ) {
    lock.withLock { _ in pending += 1 }
    (target ?? work).async { [self] in
      let message = body(self)
      queue.post(message)
      lock.withLock { _ in pending -= 1 }
    }
  }

  // MARK: - Accounts

  func loadCatalog() -> Result<AccountCatalog, PlanningError> {
    do throws(PlanningError) {
      let loaded = try AccountCatalog.load(
        explicit: environment.configPath, environment: environment.variables)
      lock.withLock { _ in catalog = loaded }
      log?.write("accounts read from \(loaded.config?.path ?? "no file")")
      return .success(loaded)
    } catch {
      log?.write("accounts: \(Self.words(error))")
      return .failure(error)
    }
  }

  /// The pin file as every send reads it (`ChannelPlan.checked` reads it again when it plans one), for the
  /// picker: which accounts a recorded pin covers, or why no send can use the file.
  func loadPins() -> Result<PinFile, PlanningError> {
    do throws(PlanningError) {
      return .success(try PinFile.load(environment: environment.variables))
    } catch {
      log?.write("pin file: \(Self.words(error))")
      return .failure(error)
    }
  }

  func createAccount(_ form: AccountForm) -> Result<String, ComposerProblem> {
    guard let path = AccountWriter.configPath(environment: environment.variables) else {
      return .failure(ComposerProblem("no place for the config file: HOME and XDG_CONFIG_HOME are unset"))
    }
    let account = AccountWriter.NewAccount(
      name: form.name, host: form.host, port: form.port, security: form.security, from: form.from,
      user: form.user.flatMap { $0.isEmpty ? nil : $0 },
      passwordCommand: form.passwordCommand.flatMap { $0.isEmpty ? nil : $0 })
    do throws(PlanningError) {
      let written = try AccountWriter.add(
        account, to: path, home: environment.variables["HOME"], searchPath: environment.variables["PATH"])
      log?.write("account added to \(written)")
      return .success(written)
    } catch {
      log?.write("account not added")
      return .failure(ComposerProblem(Self.words(error)))
    }
  }

  // MARK: - Sending

  /// The fields as the composer's screen names them, in the planning layer's errors.
  /// How the composer names a field: the model's words, so a refusal reads the same on every screen.
  @Sendable static func fieldName(_ field: PlanningField) -> String { ComposerModel.fieldName(field) }

  static func words(_ error: PlanningError) -> String { error.failure(naming: fieldName).description }

  private func startSend(_ order: SendOrder) {
    // A message's first send fixes its Date (whole seconds, as the header has it) and Message-ID; the model
    // keeps them in the draft and hands them back with every later send of the message.
    var fixed = order
    let identifies = order.messageID == nil
    if fixed.date == nil {
      fixed.date = Date(timeIntervalSince1970: Double(Self.unixSeconds(environment.now())))
    }
    let order = fixed
    let free = lock.withLock { _ in
      guard session == nil, !planning else { return false }
      planning = true
      planningCancelled = false
      planningCancellation = Cancellation()
      lastSend = nil
      copies = []
      copyIndex = 0
      copiesCancelled = false
      return true
    }
    guard free else {
      log?.write("send ignored: a session is running")
      return
    }
    log?.write("send: planning")
    let cancellation = lock.withLock { _ in planningCancellation } ?? Cancellation()
    planningWork.async { [self] in
      let protected = planCopies(order, cancellation: cancellation)
      let planned = protected.map { ($0.requests[0], $0.account) }
      let (cancelled, started) = lock.withLock { _ in
        planning = false
        planningCancellation = nil
        guard case .success(let copies) = protected, !planningCancelled else {
          return (planningCancelled, false)
        }
        if identifies, let date = order.date {
          queue.post(.messageIdentified(date: Self.unixSeconds(date), messageID: copies.messageID))
        }
        if let summary = copies.summary {
          queue.post(.sendProtected(summary: summary, copies: copies.requests.count))
        }
        if copies.requests.count > 1 {
          queue.post(.session(Self.copyNote(copies.requests[0], index: 0, of: copies.requests.count)))
        }
        let request = copies.requests[0]
        session = .send(MailSender.start(request))
        lastSend = (request, copies.account)
        self.copies = copies.requests
        copyIndex = 0
        copyAccount = copies.account
        return (false, true)
      }
      if started {
        log?.write("send: started to \(ChannelPlanText.server(planned))")
        // Wake the UI thread: it must poll the new session's descriptor.
        EventDescriptor.signal(queue.descriptor)
      } else if cancelled {
        queue.post(.sendFinished(SendReport(failure: SendFailure(.cancelled, "cancelled — not sent"))))
      } else if case .failure(let failure) = planned {
        log?.write("send refused before connecting: \(failure.description)")
        queue.post(.sendFinished(SendReport(failure: failure)))
      }
    }
  }

  /// The order planned as `sealpost send` plans it (DESIGN §2: one planning layer): account, channel, recorded
  /// pins, the plaintext policy, the message, the secret's sources — a `SendRequest`, or why not.
  /// - Parameter prompting: whether a secret no other source has may be asked for in the masked field (not
  ///   when no send is on screen to show it, as when `o` queues a message whose planning never ended).
  func plan(_ order: SendOrder, prompting: Bool = true) -> Result<(SendRequest, Account?), SendFailure> {
    planCopies(order, prompting: prompting).map { ($0.requests[0], $0.account) }
  }

  /// The order's requests: one, or with S/MIME the copies `sealpost send --sign --encrypt` makes (the same
  /// `MessageProtectionPlan`: every certificate checked first, all or nothing; each Bcc recipient's copy
  /// apart), the key's passphrase asked for in the masked field when no `smime_passphrase_eval` has it.
  func planCopies(_ order: SendOrder, prompting: Bool = true, cancellation: Cancellation = Cancellation())
    -> Result<(requests: [SendRequest], account: Account?, summary: String?, messageID: String), SendFailure>
  {
    do throws(PlanningError) {
      let account = try account(of: order)
      // The one check of the channel every front end makes (issue 8: the rule written once): recorded pins, then
      // the plaintext policy; its errors name the composer's fields (`fieldName`), as below.
      let plan = try channelPlan(order, account: account)
      let assembled = try assemble(order, account: account)
      let resolver = SecretResolver(
        passwordCommand: nil, environmentPassword: environment.environmentPassword,
        environment: environment.variables, prompt: prompting ? prompt : nil, naming: Self.fieldName)
      let request = ProtectionRequest(sign: order.sign, encrypt: order.encrypt)
      let protected = try MessageProtectionPlan.protect(
        assembled, request: request, account: account, environment: environment.variables
      ) { () throws(PlanningError) in
        try resolver.smimePassphrase(account: account, cancellation: cancellation)
      }
      let credentials = resolver.credentials(for: plan)
      // A send after a partial one goes only to the recipients no copy reached (review: the To/Cc copy went
      // again when a failed Bcc copy was retried): each copy keeps the others, a copy left with none is not sent.
      let copies = protected.compactMap { copy -> ProtectedCopy? in
        var copy = copy
        // The review's rule (one function): who is left out is decided as the review showed it.
        copy.message.recipients =
          DeliveredRecipients.split(copy.message.recipients, delivered: order.delivered).sent
        return copy.message.recipients.isEmpty ? nil : copy
      }
      guard !copies.isEmpty || order.delivered.isEmpty else {
        throw PlanningError(.dataError, "every recipient already has this message: nothing was sent")
      }
      let requests = copies.map { copy in
        var request = plan.request(for: copy.message, credentials: credentials)
        if !copy.summary.isEmpty { request.contentSummary = copy.summary }
        return request
      }
      guard let first = copies.first, !requests.isEmpty else {
        throw PlanningError(.dataError, "no recipient: nothing was sent")
      }
      var summary: String? = first.summary.isEmpty ? nil : first.summary
      if requests.count > 1, let words = summary {
        summary =
          words + " (and \(requests.count - 1) Bcc cop\(requests.count == 2 ? "y" : "ies") encrypted apart)"
      }
      return .success((requests, account, summary, assembled.messageID))
    } catch {
      return .failure(error.failure(naming: Self.fieldName))
    }
  }

  /// The end of one copy's session: the recipients it reached (`.copyDelivered`, when the send has several
  /// copies), then the next copy started (its transcript line), or the end of the send. A failed copy ends
  /// the send, and so does a cancel between copies (reported as cancelled, never as sent: the copies left are
  /// unsent, and `o` can queue them).
  private func finishCopy(_ report: SendReport) -> [ComposerMessage] {
    recordCopy(report)
    enum Step {
      case next(SendRequest, index: Int)
      case finished(SendReport)
    }
    let (reached, count, step) = lock.withLock { _ -> ([String], Int, Step) in
      let count = copies.count
      guard report.failure == nil, copies.indices.contains(copyIndex) else {
        return ([], count, .finished(report))
      }
      let reached = copies[copyIndex].recipients
      copyIndex += 1
      guard copyIndex < count else { return (reached, count, .finished(report)) }
      guard !copiesCancelled, session == nil else {
        let cancelled = SendFailure(.cancelled, "cancelled — not sent", reason: .cancelled)
        return (reached, count, .finished(SendReport(failure: cancelled)))
      }
      let request = copies[copyIndex]
      session = .send(MailSender.start(request))
      lastSend = (request, copyAccount)
      return (reached, count, .next(request, index: copyIndex))
    }
    var messages: [ComposerMessage] = []
    if count > 1, !reached.isEmpty { messages.append(.copyDelivered(recipients: reached)) }
    switch step {
    case .next(let request, let index):
      log?.write("send: copy \(index + 1) of \(count) started")
      EventDescriptor.signal(queue.descriptor)
      messages.append(.session(Self.copyNote(request, index: index, of: count)))
    case .finished(let final):
      messages.append(.sendFinished(final))
    }
    return messages
  }

  /// The copies of the last send that were not sent (the one that failed and those never tried).
  private var unsentCopies: [SendRequest] {
    lock.withLock { _ in Array(copies[min(copyIndex, copies.count)...]) }
  }

  /// "copy 2 of 3 for …" (as `sealpost send` says it on stderr), as a transcript line.
  static func copyNote(_ request: SendRequest, index: Int, of count: Int) -> SendEvent {
    let recipients = request.recipients.map { UntrustedText($0).escaped }.joined(separator: ", ")
    return SendEvent(
      time: 0, insideTLS: false, payload: .note(.info, "copy \(index + 1) of \(count) for \(recipients)"))
  }

  /// Every recipient's certificate for an encrypted send of the order, checked as the send checks them.
  func checkCertificates(_ order: SendOrder)
    -> Result<[MessageProtectionPlan.RecipientStatus], ComposerProblem>
  {
    do throws(PlanningError) {
      let account = try account(of: order)
      return .success(
        try MessageProtectionPlan.recipientStatuses(
          of: order.fields, request: ProtectionRequest(sign: order.sign, encrypt: true), account: account,
          environment: environment.variables))
    } catch {
      return .failure(ComposerProblem(Self.words(error)))
    }
  }

  /// The order's account, from the catalog read (read now when none was).
  func account(of order: SendOrder) throws(PlanningError) -> Account? {
    var catalog = currentCatalog
    if catalog == nil, order.account != nil {
      catalog = try AccountCatalog.load(explicit: environment.configPath, environment: environment.variables)
    }
    return try order.account.map { name throws(PlanningError) in
      guard let catalog else { throw PlanningError(.configuration, "no accounts have been read") }
      return try catalog.account(named: name)
    }
  }

  /// The order's message as a send and `send --dry-run` build it: the same assembly, at the order's date.
  func assemble(_ order: SendOrder, account: Account?) throws(PlanningError) -> AssembledMessage {
    var fields = order.fields
    fields.attachments = order.attachments
    return try MessageAssembly.assemble(
      fields, account: account, date: order.date ?? environment.now(), messageID: order.messageID)
  }

  // MARK: - The preview's raw message and the review's remarks

  /// The raw message as `send --dry-run` prints it (``AssembledMessage/write(_:)``), read a piece at a time:
  /// its first ``RawMessage/lineLimit`` lines kept, the rest counted.
  func renderRaw(_ order: SendOrder) -> Result<RawMessage, ComposerProblem> {
    do throws(PlanningError) {
      let assembled = try assemble(order, account: try account(of: order))
      var lines = RawLines(limit: RawMessage.lineLimit)
      try assembled.write { lines.add($0) }
      return .success(lines.finish())
    } catch {
      return .failure(ComposerProblem(Self.words(error)))
    }
  }

  /// The channel an order goes over: ``ChannelPlan/checked(overrides:account:environment:check:)``, the recorded
  /// pins and then the plaintext policy. The one plan the send uses and the review shows (issue 8: the review
  /// described a channel without the pin file's pins, which the send then trusted).
  func channelPlan(_ order: SendOrder, account: Account?) throws(PlanningError) -> ChannelPlan {
    try ChannelPlan.checked(overrides: order.overrides, account: account, environment: environment.variables)
  }

  /// The channel the order's send will use, and the linter's findings and the planning notes of its message
  /// (nothing of it is read); why it cannot be sent, when the channel cannot be planned (a pin file that
  /// cannot be used) or the message cannot be built.
  func checkMessage(_ order: SendOrder) -> (Result<MessageRemarks, ComposerProblem>, ChannelPlan?) {
    do throws(PlanningError) {
      let account = try account(of: order)
      let plan = try channelPlan(order, account: account)
      let assembled = try assemble(order, account: account)
      var remarks = MessageRemarks()
      for finding in assembled.findings {
        let text = UntrustedText(finding.text).escaped
        if finding.isWarning { remarks.warnings.append(text) } else { remarks.notes.append(text) }
      }
      remarks.notes += assembled.notes.map { $0.worded(Self.fieldName) }
      return (.success(remarks), plan)
    } catch {
      return (.failure(ComposerProblem(Self.words(error))), nil)
    }
  }

  private var currentCatalog: AccountCatalog? {
    lock.withLock { _ in catalog }
  }

  private func startProbe(_ order: ProbeOrder) {
    let free = lock.withLock { _ in
      guard session == nil, !planning else { return false }
      planning = true
      planningCancelled = false
      return true
    }
    guard free else { return }
    log?.write("probe: \(order.host):\(order.port)")
    // The pin file is read on the work queue, not on the UI thread.
    work.async { [self] in
      let planned: Result<ProbeRequest, PlanningError>
      do throws(PlanningError) {
        planned = .success(try planProbe(order))
      } catch {
        planned = .failure(error)
      }
      guard case .success(let request) = planned else {
        lock.withLock { _ in planning = false }
        if case .failure(let error) = planned {
          log?.write("probe refused before connecting: \(Self.words(error))")
          queue.post(
            .probeFinished(
              ProbeReport(
                request: ProbeRequest(host: order.host, port: order.port, security: order.security),
                failure: error.failure(naming: Self.fieldName))))
        }
        return
      }
      let handle = MailSender.startProbe(request)
      lock.withLock { _ in
        planning = false
        // Cancelled while the pin file was read: the probe ends at once with its own cancelled report.
        if planningCancelled { handle.cancel() }
        session = .probe(handle)
      }
      EventDescriptor.signal(queue.descriptor)
    }
  }

  /// The probe planned as `sealpost probe` plans it (issue 8: the rule written once): the form's host, port and
  /// mode through `ChannelPlan.checked`, so the pins recorded for that HOST:PORT are its trust, and a pin file
  /// that cannot be used (malformed, a dangling link, a folder others may write) refuses the probe as it
  /// refuses the CLI's, in the composer's words, instead of being passed over for the CA check.
  func planProbe(_ order: ProbeOrder) throws(PlanningError) -> ProbeRequest {
    let overrides = ChannelOverrides(server: order.host, port: Int(order.port), tls: order.security.rawValue)
    let plan = try ChannelPlan.checked(overrides: overrides, account: nil, environment: environment.variables)
    return plan.probeRequest()
  }

  // MARK: - Drafts, the outbox and the record copy

  func draftStore(folder: String?) -> Result<DraftStore, ComposerProblem> {
    do throws(OutboxError) {
      return .success(try DraftStore.standard(drafts: folder, environment: environment.variables))
    } catch {
      return .failure(ComposerProblem(UntrustedText(error.message).escaped))
    }
  }

  func listDrafts(folder: String?) -> Result<[DraftStore.Draft], ComposerProblem> {
    draftStore(folder: folder).map { $0.list() }
  }

  /// Saves the draft atomically (AtomicFile under DraftStore): a failure leaves the previous version whole.
  func saveDraft(_ draft: DraftStore.Draft, folder: String?) -> Result<SavedDraft, ComposerProblem> {
    draftStore(folder: folder).flatMap { store in
      do throws(OutboxError) {
        let saved = try store.save(draft, now: environment.now())
        return .success(SavedDraft(id: saved.id, path: store.messagePath(of: saved)))
      } catch {
        log?.write("draft not saved: \(error.message)")
        return .failure(ComposerProblem(UntrustedText(error.message).escaped))
      }
    }
  }

  func removeDraft(_ id: String, folder: String?) -> Result<Void, ComposerProblem> {
    draftStore(folder: folder).flatMap { store in
      do throws(OutboxError) {
        try store.remove(id)
        log?.write("draft \(id) removed")
        return .success(())
      } catch {
        return .failure(ComposerProblem(UntrustedText(error.message).escaped))
      }
    }
  }

  /// The message of the last send (the same octets: its Date and Message-ID too) into the outbox, queued, with
  /// the route a flush plans again (the config file, the account, the composer's overrides: never a secret).
  func queueMessage(_ order: SendOrder, lastError: String) -> Result<String, ComposerProblem> {
    // Only what is unsent goes to the outbox: the copy that failed and the copies never tried, each an entry
    // with its own envelope (a copy already accepted is never queued, so never delivered twice).
    var requests = unsentCopies
    if requests.isEmpty {
      // Planning never ended (cancelled at the passphrase): planned again without asking, since no send is on
      // screen to show a masked field, and an unanswered question would hold the file-work queue for good.
      switch planCopies(order, prompting: false) {
      case .success(let planned): requests = planned.requests
      case .failure(let failure): return .failure(ComposerProblem(failure.description))
      }
    }
    do throws(OutboxError) {
      let outbox = try Outbox.standard(environment: environment.variables)
      let config = environment.configPath.map {
        $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0
      }
      let route = OutboxEntry.Route(config: config, account: order.account, overrides: order.overrides)
      var ids: [String] = []
      // All or none: entries added before a failing one are taken out again (the draft is then kept).
      var added: [String] = []
      defer { if ids.isEmpty { for id in added { try? outbox.remove(id) } } }
      for request in requests {
        let envelope = OutboxEntry.Envelope(reversePath: request.reversePath, recipients: request.recipients)
        var (entry, held) = try outbox.add(
          source: request.message.source, envelope: envelope, route: route, state: .queued,
          now: environment.now())
        entry.attempts = 1
        entry.lastError = lastError
        added.append(entry.id)
        try outbox.save(entry)
        withExtendedLifetime(held) {}
        log?.write("queued in the outbox as \(entry.id)")
      }
      ids = added
      return .success(ids.joined(separator: ", "))
    } catch {
      return .failure(ComposerProblem(UntrustedText(error.message).escaped))
    }
  }

  /// After a send that went: the copy for the account's `record` Maildir, on the file-work queue (the answer
  /// comes after `.sendFinished`).
  private func recordCopy(_ report: SendReport) {
    let last = lock.withLock { _ in lastSend }
    guard report.failure == nil, let last, last.account?.record != nil else { return }
    background { runner in
      let outcome =
        SentCopy.record(report, of: last.request, account: last.account, now: runner.environment.now())
        ?? .failed("sent, but no copy was recorded")
      if case .failed(let warning) = outcome { runner.log?.write("record: \(warning)") }
      return .sentCopyRecorded(outcome)
    }
  }

  // MARK: - Pins and transcripts

  func recordPin(host: String, port: UInt16, pin: String) -> Result<String, ComposerProblem> {
    guard let path = PinFile.path(environment: environment.variables) else {
      return .failure(ComposerProblem("no place for the pin file: HOME and XDG_CONFIG_HOME are unset"))
    }
    let summary = lock.withLock { _ in lastTLS }
    let date = Self.day(environment.now())
    var comment = "\(date) recorded by the sealpost composer"
    if let leaf = summary?.chain.first, case .success(let spki) = PinText.spkiSHA256(pin),
      leaf.spkiSHA256 == spki
    {
      comment += "; SHA-256 \(TranscriptText.colonHex(leaf.sha256)); subject \(leaf.subject.escaped)"
    }
    do throws(PlanningError) {
      let written = try PinFile.record(host: host, port: port, pin: pin, comment: comment, path: path)
      log?.write("pin recorded for \(host):\(port) in \(written)")
      return .success(written)
    } catch {
      return .failure(ComposerProblem(Self.words(error)))
    }
  }

  func saveTranscript(_ events: [SendEvent], outcome: OutcomeRecord?) -> Result<[String], ComposerProblem> {
    guard let directory = environment.stateDirectory else {
      return .failure(ComposerProblem("no place for transcripts: HOME and XDG_STATE_HOME are unset"))
    }
    var all = events
    if let outcome, !events.contains(where: { if case .outcome = $0.payload { true } else { false } }) {
      all.append(SendEvent(time: events.last?.time ?? 0, insideTLS: false, payload: .outcome(outcome)))
    }
    let date = environment.now()
    let now = Int64(date.timeIntervalSince1970)
    let text = all.flatMap { TranscriptFormat.text.render($0, now: now) }
    let json = all.map { TranscriptFormat.json($0, now: now) }
    let base = directory + "/transcripts/transcript-" + Self.stamp(date)
    var stem = base
    var number = 1
    while FileManager.default.fileExists(atPath: stem + ".txt")
      || FileManager.default.fileExists(atPath: stem + ".jsonl")
    {
      number += 1
      stem = base + "-\(number)"
    }
    do throws(AtomicFile.Failure) {
      try AtomicFile.write(Array((text.joined(separator: "\n") + "\n").utf8), to: stem + ".txt")
      try AtomicFile.write(Array((json.joined(separator: "\n") + "\n").utf8), to: stem + ".jsonl")
    } catch {
      return .failure(ComposerProblem(UntrustedText(error.description).escaped))
    }
    log?.write("transcript saved to \(stem).txt")
    return .success([stem + ".txt", stem + ".jsonl"])
  }

  /// `2027-01-31`, in UTC (the pin file's comments).
  static func day(_ date: Date) -> String { MessageDate.isoDate(unixSeconds: unixSeconds(date)) }
  /// `20270131-080509`, in UTC (the names of saved transcripts).
  static func stamp(_ date: Date) -> String { MessageDate.compactDateTime(unixSeconds: unixSeconds(date)) }

  /// The whole seconds of `date` since 1970, rounded down as a date formatter rounds.
  static func unixSeconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }

  // MARK: - The external editor

  /// `text` in `$VISUAL`/`$EDITOR` with the screen suspended: a 0600 temporary file, the editor run through
  /// `/bin/sh -c` as git does (so the variable may carry arguments), the edited text read back.
  func edit(_ text: String, terminal: TerminalAccess) -> EditorOutcome {
    guard let editor = environment.editor else {
      return .failed("neither VISUAL nor EDITOR is set: set one (for example EDITOR=nano) to edit the body")
    }
    let directory = environment.variables["TMPDIR"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp"
    var template = Array((directory + "/sealpost-body-XXXXXX.txt").utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
      guard let base = buffer.baseAddress else { return -1 }
      return mkstemps(base, 4)
    }
    guard descriptor >= 0 else { return .failed("cannot make a temporary file for the editor") }
    let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    defer { unlink(path) }
    _ = fchmod(descriptor, 0o600)
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
    guard written == bytes.count else { return .failed("cannot write the temporary file for the editor") }
    log?.write("editor started")
    let status = terminal.suspended {
      ChildProcess.run(["/bin/sh", "-c", editor + " \"$1\"", "sh", path], environment: environment.variables)
    }
    guard status == 0 else {
      return .failed(
        status < 0
          ? "the editor could not be started"
          : "the editor ended with status \(status): the body is unchanged")
    }
    switch Self.readBack(path, limit: Self.maximumEditedSize) {
    case .success(let bytes): return .edited(String(decoding: bytes, as: UTF8.self))
    case .failure(let problem): return .failed(problem.message + ": the body is unchanged")
    }
  }

  /// The most octets of edited text read back: the bound `send` puts on a body it reads.
  public static let maximumEditedSize = 64 << 20

  /// The edited file, read through one checked descriptor: a regular file of at most `limit` octets (red team:
  /// an editor that wrote gigabytes had them read whole into the body). A FIFO or device is never opened
  /// blocking.
  static func readBack(_ path: String, limit: Int) -> Result<[UInt8], ComposerProblem> {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
    guard descriptor >= 0 else {
      return .failure(ComposerProblem("the edited file could not be read back"))
    }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
      return .failure(ComposerProblem("the editor left something other than a file"))
    }
    let tooLarge = ComposerProblem("the edited text is over the limit of \(limit) octets")
    guard Int(info.st_size) <= limit else { return .failure(tooLarge) }
    guard let bytes = CheckedFile.read(descriptor, expected: Int(info.st_size), limit: limit) else {
      return .failure(ComposerProblem("the edited file could not be read back"))
    }
    guard bytes.count <= limit else { return .failure(tooLarge) }
    return .success(bytes)
  }
}

/// Words about a planned request for the log.
enum ChannelPlanText {
  static func server(_ planned: Result<(SendRequest, Account?), SendFailure>) -> String {
    guard case .success(let (request, _)) = planned else { return "?" }
    return "\(request.host):\(request.port)"
  }
}

/// A session's report that has one line of verdict (for the log).
protocol VerdictReport: Sendable {
  var verdictLine: String { get }
}

extension SendReport: VerdictReport {}
extension ProbeReport: VerdictReport {}
