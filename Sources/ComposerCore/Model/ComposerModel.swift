import Accounts
import MailSender
import SMTPProtocol
import SendPlanning

/// The composer as a value (DESIGN §2): what every screen shows, changed only by ``update(_:)``, drawn by
/// ``render(theme:width:height:)``. No I/O: what needs a file, the network, a process or the clock comes back
/// from the runtime as a ``ComposerMessage`` after the model asked for it with a ``ComposerEffect``.
public struct ComposerModel: Sendable {
  /// The screens, as the issue lists them.
  public enum Screen: Sendable, Hashable {
    /// Waiting for the accounts.
    case loading
    case picker
    /// No account at all: the form that creates one.
    case accountForm
    case compose
    case preview
    case review
    /// A send running or ended.
    case send
    /// Host, port and mode of a probe.
    case probeForm
    /// A probe running or ended.
    case probe
    /// The drafts offered at start (or "reading the drafts…" while they are listed).
    case drafts
  }

  /// What the runtime knows at start.
  public struct Startup: Sendable, Hashable {
    /// `--account NAME`.
    public var account: String?
    /// Whether a source outside the account has the password (a password command given at start, or
    /// `SEALPOST_PASSWORD`): the review then says so instead of the account's own source.
    public var passwordFromEnvironment: Bool
    /// A probe to run at once (the composer started for probing).
    public var probe: ProbeOrder?
    /// Tells this composer's draft ids from another's (the runtime gives a random word: letters and digits).
    public var instance: String

    public init(
      account: String? = nil, passwordFromEnvironment: Bool = false, probe: ProbeOrder? = nil,
      instance: String = "0"
    ) {
      self.account = account
      self.passwordFromEnvironment = passwordFromEnvironment
      self.probe = probe
      self.instance = instance
    }
  }

  /// The smallest terminal the screens are drawn for; below it a screen says it needs more room.
  public static let minimumWidth = 80
  public static let minimumHeight = 24

  public internal(set) var screen: Screen = .loading
  public internal(set) var width: Int
  public internal(set) var height: Int
  /// Unix seconds, set by the runtime (the model has no clock): the certificates' days left, the preview's
  /// Date header.
  public var now: Int64

  let startup: Startup
  /// The help overlay of the current screen is shown.
  var showsHelp = false
  /// The line above the key line: what just happened, or why not.
  var status: StatusLine?

  var catalog = CatalogState.loading
  var picker = Picker()
  /// The account picked (nil before, and when the composer only probes).
  var account: Account?
  var draft: Draft
  var preview = Preview()
  var review: Review?
  var session: Session?
  var accountForm = AccountFormState()
  var probeForm = ProbeForm()
  /// Channel settings the composer changed for the next sends (a pin recorded).
  var overrides = ChannelOverrides()
  /// The last ``SendOrder/id`` given to a raw message or a check.
  var orders = 0
  /// The message kept as a draft.
  var drafts = DraftKeeping()
  /// The drafts offered at start.
  var draftList = DraftList()
  /// Effects asked for by a step that returns none (picking an account lists its drafts), sent with the
  /// effects of the message being handled.
  var pendingEffects: [ComposerEffect] = []

  /// - Parameters:
  ///   - width, height: the terminal's size at start.
  ///   - now: Unix seconds (see ``now``).
  public init(_ startup: Startup = Startup(), width: Int, height: Int, now: Int64) {
    self.startup = startup
    self.width = max(0, width)
    self.height = max(0, height)
    self.now = now
    draft = Draft()
    draft.layout(width: self.width, height: self.height)
  }

  /// The first effects: read the accounts, and start the probe asked for at start.
  public mutating func start() -> [ComposerEffect] {
    if let order = startup.probe {
      probeForm = ProbeForm(order)
      screen = .probe
      session = Session(probe: order)
      return [.loadCatalog, .probe(order)]
    }
    return [.loadCatalog]
  }

  /// The account's `theme`, once one is picked: the runtime may switch to it (a `--theme` given wins).
  public var accountTheme: String? { account?.theme }

  /// Whether the terminal is big enough for the screens.
  public var hasRoom: Bool { width >= Self.minimumWidth && height >= Self.minimumHeight }

  public mutating func update(_ message: ComposerMessage) -> [ComposerEffect] {
    let composing = screen == .compose && hasRoom && !showsHelp
    var effects = dispatch(message)
    // Every keystroke and paste on the compose screen may change the message: it is saved once the timer
    // fires (a save compares first, so a key that changed nothing writes nothing).
    switch message {
    case .input(.key(let key)) where composing && key != .ctrl("q") && key != .ctrl("s"):
      effects += noteEdit()
    case .input(.paste) where composing, .editorFinished(.edited):
      effects += noteEdit()
    case .attachmentChecked(_, .failure) where screen == .compose:
      effects += noteEdit()
    default:
      break
    }
    // A send starts with the draft as it is on screen: a failed or cancelled send keeps that version.
    if effects.contains(where: { if case .send = $0 { true } else { false } }) {
      effects = flushDraft() + effects
    }
    effects += pendingEffects
    pendingEffects = []
    return effects
  }

  mutating func dispatch(_ message: ComposerMessage) -> [ComposerEffect] {
    switch message {
    case .input(.resize(let newWidth, let newHeight)):
      resize(width: newWidth, height: newHeight)
      return []
    case .input(.key(let key)):
      return handle(key)
    case .input(.paste(let text)):
      return paste(text)
    case .catalogLoaded(let result, let pins):
      return catalogLoaded(result, pins: pins)
    case .session(let event):
      session?.record(event, now: now)
      return []
    case .sendFinished(let report):
      return sendFinished(report)
    case .probeFinished(let report):
      session?.finish(probe: report, now: now)
      return []
    case .secretRequested(let prompt):
      session?.askSecret(prompt)
      return []
    case .editorFinished(let outcome):
      editorFinished(outcome)
      return []
    case .pathCompletions(let prefix, let candidates, let more):
      draft.completed(prefix: prefix, candidates: candidates, more: more)
      return []
    case .attachmentChecked(let path, let result):
      if let problem = draft.attachmentChecked(path: path, result: result) {
        status = StatusLine(error: "not attached: \(problem)")
      }
      return []
    case .pinRecorded(let result):
      return pinRecorded(result)
    case .accountCreated(let result):
      return accountCreated(result)
    case .transcriptSaved(let result):
      session?.saved(result)
      return []
    case .rawRendered(let order, let result):
      rawRendered(order: order, result)
      return []
    case .messageChecked(let order, let result, let channel):
      review?.checked(order: order, result, channel: channel)
      return []
    case .timerFired(let id):
      return timerFired(id)
    case .draftsListed(let result):
      draftsListed(result)
      return []
    case .draftSaved(let result):
      return draftSaved(result)
    case .draftRemoved(let id, let result):
      return draftRemoved(id: id, result)
    case .messageQueued(let result):
      return messageQueued(result)
    case .sentCopyRecorded(let outcome):
      session?.sentCopy(outcome)
      return []
    case .certificatesChecked(let order, let result):
      review?.certificatesChecked(order: order, result)
      return []
    case .sendProtected(let summary, let copies):
      session?.protection = summary
      session?.copies = copies
      return []
    case .copyDelivered(let recipients):
      return copyDelivered(recipients)
    case .messageIdentified(let date, let messageID):
      return messageIdentified(date: date, messageID: messageID)
    }
  }

  mutating func resize(width newWidth: Int, height newHeight: Int) {
    width = max(0, newWidth)
    height = max(0, newHeight)
    draft.layout(width: width, height: height)
  }

  /// Keys every screen shares first: help, quit, and nothing else while the terminal is too small (but a
  /// running send can still be cancelled).
  mutating func handle(_ key: Key) -> [ComposerEffect] {
    if key == .ctrl("q") {
      // A send in flight started with the draft saved; otherwise unsaved edits are saved before leaving.
      return session?.isRunning == true ? [.cancelSession, .quit] : leave(.quit)
    }
    guard hasRoom else {
      if key == .escape || key == .ctrl("c"), session?.isRunning == true { return cancelSession() }
      return []
    }
    if showsHelp {
      if key == .function(1) || key == .escape || key == .character("q") || key == .character("?") {
        showsHelp = false
      }
      return []
    }
    if key == .function(1) || (key == .character("?") && !screenTakesText) {
      showsHelp = true
      return []
    }
    switch screen {
    case .loading: return []
    case .picker: return pickerKey(key)
    case .accountForm: return accountFormKey(key)
    case .compose: return composeKey(key)
    case .preview: return previewKey(key)
    case .review: return reviewKey(key)
    case .send: return sessionKey(key)
    case .probeForm: return probeFormKey(key)
    case .probe: return sessionKey(key)
    case .drafts: return draftListKey(key)
    }
  }

  /// Bracketed paste goes, as text, into whatever takes text on the screen.
  mutating func paste(_ text: String) -> [ComposerEffect] {
    guard hasRoom, !showsHelp else { return [] }
    switch screen {
    case .compose: draft.paste(text)
    case .accountForm: accountForm.paste(text)
    case .probeForm: probeForm.paste(text)
    case .send, .probe: session?.pasteSecret(text)
    default: break
    }
    return []
  }

  /// Whether printable keys type text on the current screen (then `?` and `q` are text, not commands).
  var screenTakesText: Bool {
    switch screen {
    // The attachment list (Ctrl-T) takes commands; its path field, like every field, takes text.
    case .compose: draft.attachPanel.map { $0.path != nil } ?? true
    case .accountForm, .probeForm: true
    case .send, .probe: session?.secretPrompt != nil || session?.pin?.stage == .confirming
    default: false
    }
  }

  /// Back from a probe or its form: to the message, else to the accounts as they lead (the only usable one,
  /// the picker, or the form that creates one).
  mutating func goHome() {
    if account != nil {
      screen = .compose
      return
    }
    switch catalog {
    case .loading: screen = .loading
    case .failed: screen = .picker
    case .loaded: chooseAccount()
    }
  }

  mutating func cancelSession() -> [ComposerEffect] {
    guard var running = session, running.isRunning else { return [] }
    var effects: [ComposerEffect] = []
    if running.secretPrompt != nil {
      running.secretPrompt = nil
      running.secretField = MaskedField()
      effects.append(.answerSecret(nil))
    }
    running.cancelRequested = true
    session = running
    effects.append(.cancelSession)
    return effects
  }

  mutating func editorFinished(_ outcome: EditorOutcome) {
    switch outcome {
    case .edited(let text):
      draft.replaceBody(text)
      if let problem = draft.controlProblem {
        status = StatusLine(error: "the body is back from the editor, but \(problem)")
      } else {
        status = StatusLine("the body is back from the editor")
      }
    case .failed(let reason):
      status = StatusLine(error: reason)
    }
  }

  /// Names planning fields as the composer's screens do.
  @Sendable public static func fieldName(_ field: PlanningField) -> String {
    switch field {
    case .config: "the config file"
    case .account: "Account"
    case .server: "Host"
    case .port: "Port"
    case .tls: "TLS"
    case .allowInsecure: "allow_insecure"
    case .caFile: "CA file"
    case .pin: "pin"
    case .user: "User"
    case .auth: "auth"
    case .passwordCommand: "Password command"
    case .ehlo: "EHLO name"
    case .timeout: "timeout"
    case .from: "From"
    case .to: "To"
    case .cc: "Cc"
    case .bcc: "Bcc"
    case .subject: "Subject"
    case .body: "the body"
    case .bodyFile: "the body file"
    case .header: "a header"
    case .message: "the message"
    case .maxSize: "the size limit"
    case .transcript: "the transcript"
    }
  }

  /// A planning error in the composer's words.
  static func words(_ error: PlanningError) -> String { error.text.worded(fieldName) }
}

/// The line above the key line.
struct StatusLine: Sendable, Hashable {
  var text: String
  var isError: Bool

  init(_ text: String) {
    self.text = text
    isError = false
  }

  init(error text: String) {
    self.text = text
    isError = true
  }
}
