import FoundationEssentials
import MailSender
import SMTPProtocol
import SendPlanning

// The contract between the pure composer (this module) and its runtime (ComposerApp): DESIGN §2,
// `update(model, message) → effects` and `render(model, theme, size) → ScreenBuffer`. The model never does I/O;
// everything that touches a file, the network, a process or the clock is an effect the runtime carries out, and
// what comes back arrives as a message.

/// Everything that happens to the composer.
public enum ComposerMessage: Sendable {
  /// A key, a paste or a resize from the terminal.
  case input(InputEvent)
  /// The accounts the runtime read (`AccountCatalog.load`), or why it could not; with `pins`, the pin file as a
  /// send reads it (`PinFile.load`), or why no send can use it, so the picker describes the channel a send plans.
  case catalogLoaded(Result<AccountCatalog, PlanningError>, pins: Result<PinFile, PlanningError>? = nil)
  /// A live event of the running send or probe, in order.
  case session(SendEvent)
  /// The running send ended.
  case sendFinished(SendReport)
  /// The running probe ended.
  case probeFinished(ProbeReport)
  /// The running send needs a secret that no other source has: show a masked field. `prompt` is safe to show.
  case secretRequested(prompt: String)
  /// The external editor returned.
  case editorFinished(EditorOutcome)
  /// Candidates for the attachment path being typed (sorted); `more`: the directory holds further matches,
  /// not listed (the runtime stops at a limit rather than read a huge folder whole).
  case pathCompletions(prefix: String, candidates: [String], more: Bool = false)
  /// An attachment the person added: its size, or why it cannot be attached (safe to show).
  case attachmentChecked(path: String, result: Result<Int64, ComposerProblem>)
  /// The pin file was written (its path), or why not.
  case pinRecorded(Result<String, ComposerProblem>)
  /// The new account was written to Sealpost's config file (its path), or why not.
  case accountCreated(Result<String, ComposerProblem>)
  /// The transcript was saved (the paths written), or why not.
  case transcriptSaved(Result<[String], ComposerProblem>)
  /// The raw message of the order `order` (``SendOrder/id``), or why it cannot be built.
  case rawRendered(order: Int, Result<RawMessage, ComposerProblem>)
  /// What the assembly of the order `order` says about the message, or why it cannot be built or sent; with
  /// `channel`, the channel as the send plans it (`ChannelPlan.checked`: the pins recorded for its HOST:PORT
  /// included), which the review then shows.
  case messageChecked(order: Int, Result<MessageRemarks, ComposerProblem>, channel: ChannelPlan? = nil)
  /// The timer `id` asked for with `.setTimer` is due (the runtime's clock said so).
  case timerFired(id: Int)
  /// The drafts of the folder, the most recently saved first (bodies included), or why they cannot be read.
  case draftsListed(Result<[DraftStore.Draft], ComposerProblem>)
  /// The draft was saved (where), or why not: the previous version is then still whole.
  case draftSaved(Result<SavedDraft, ComposerProblem>)
  /// The draft `id` was removed, or why not.
  case draftRemoved(id: String, Result<Void, ComposerProblem>)
  /// The message is in the outbox under this id, or why not.
  case messageQueued(Result<String, ComposerProblem>)
  /// What became of the copy for the account's `record` Maildir after a message was sent.
  case sentCopyRecorded(SentCopy.Outcome)
  /// The certificate of every recipient of the order `order` for an encrypted send (the same checks a send
  /// makes), or why they cannot be looked up (issue 15).
  case certificatesChecked(order: Int, Result<[MessageProtectionPlan.RecipientStatus], ComposerProblem>)
  /// The send being started is protected: "signed by …, encrypted for N recipients", and how many copies
  /// (sessions) it takes (each Bcc recipient has one of its own).
  case sendProtected(summary: String, copies: Int)
  /// One copy of a send of several copies was accepted (the final 2xx): its envelope recipients have the
  /// message. Whatever becomes of the copies after it, a new send of the message leaves them out.
  case copyDelivered(recipients: [String])
  /// The send being started fixed the message's Date (Unix seconds) and Message-ID (without angle brackets):
  /// the draft keeps them, and every later send of the message (a retry after a partial or failed send) goes
  /// with the same ones.
  case messageIdentified(date: Int64, messageID: String)
}

/// What the model asks the runtime to do.
public enum ComposerEffect: Sendable {
  /// Read the accounts; answered by `.catalogLoaded`.
  case loadCatalog
  /// Plan and start a send through the planning layer and the send handle; events come back as `.session`,
  /// the end as `.sendFinished`.
  case send(SendOrder)
  /// Start a probe; events come back as `.session`, the end as `.probeFinished`.
  case probe(ProbeOrder)
  /// Cancel the running send or probe (it does not quit).
  case cancelSession
  /// The answer to `.secretRequested`; nil when the person cancelled.
  case answerSecret(Secret?)
  /// Suspend the screen and edit `text` in `$VISUAL`/`$EDITOR`; answered by `.editorFinished`.
  case openEditor(text: String)
  /// List the paths that complete `prefix`; answered by `.pathCompletions`.
  case completePath(prefix: String)
  /// Check that a file can be attached; answered by `.attachmentChecked`.
  case checkAttachment(path: String)
  /// Record the pin for host and port in Sealpost's pin file (DESIGN §6); answered by `.pinRecorded`.
  case recordPin(host: String, port: UInt16, pin: String)
  /// Write a new account to Sealpost's own config file (0600, atomic); answered by `.accountCreated`.
  case createAccount(AccountForm)
  /// Save the transcript of the last session as text and JSON lines; answered by `.transcriptSaved`.
  case saveTranscript(events: [SendEvent], outcome: OutcomeRecord?)
  /// Assemble the message exactly as `send --dry-run` does (attachments read a piece at a time, at the
  /// order's date) and keep its first ``RawMessage/lineLimit`` lines; answered by `.rawRendered`.
  case renderRaw(SendOrder)
  /// Plan the channel and assemble the message as a send does, without reading it, for the channel the send
  /// will use, the linter's findings and the planning notes; answered by `.messageChecked`.
  case checkMessage(SendOrder)
  /// Restore the terminal and end the process.
  case quit
  /// Restore the terminal, end the process, and then print `line` (where the draft is kept).
  case leave(line: String)
  /// Answer `.timerFired(id:)` once `after` has passed on the runtime's clock (the model reads no clock).
  case setTimer(id: Int, after: Duration)
  /// List the drafts of the account's `drafts` folder (nil: the default one); answered by `.draftsListed`.
  case listDrafts(folder: String?)
  /// Save the draft atomically in the folder (0700, files 0600), off the key path; answered by `.draftSaved`.
  case saveDraft(DraftSnapshot, folder: String?)
  /// Remove the draft `id` from the folder; answered by `.draftRemoved`.
  case removeDraft(id: String, folder: String?)
  /// Keep the message of the send `order` (which just failed for now, with `lastError`) in the outbox, queued;
  /// answered by `.messageQueued`.
  case queueMessage(SendOrder, lastError: String)
  /// Look up and check the certificate of every recipient of the order (and the sender) as an encrypted send
  /// would; answered by `.certificatesChecked` (issue 15). Files are read: off the key path.
  case checkCertificates(SendOrder)
}

/// The message as the model hands it over for a save. Cheap to take on the key path: the body's lines are shared
/// with the editor (copy on write), not joined; ``draft`` — the text, the cursor's offset — is made by the runtime,
/// off the key path (a 10,000-line body takes tens of milliseconds to join in a debug build).
public struct DraftSnapshot: Sendable, Hashable {
  public var id: String
  public var account: String?
  public var from: String
  public var to: String
  public var cc: String
  public var bcc: String
  public var subject: String
  public var attachments: [String]
  /// The S/MIME toggles (nil sign: the account's `smime_sign`); never a secret.
  public var sign: Bool?
  public var encrypt: Bool
  /// Envelope recipients a partly sent copy of this message already reached (the draft records them, so a
  /// send after a restart leaves them out).
  public var delivered: [String]
  /// The Date (Unix seconds) and Message-ID the message was first sent with; nil before its first send.
  public var date: Int64?
  public var messageID: String?
  /// The body's lines as the editor holds them.
  var lines: [[Character]]
  /// `to`, `cc`, `bcc`, `subject`, `from` or `body`, and the cursor in it.
  var cursorField: String
  var fieldCursor: Int
  var bodyCursor: BodyEditor.Position

  /// The draft as the store keeps it.
  public var draft: DraftStore.Draft {
    func list(_ text: String) -> [String] { text.isEmpty ? [] : [text] }
    let offset =
      cursorField == "body"
      ? lines[..<min(bodyCursor.line, lines.count)].reduce(0) { $0 + $1.count + 1 } + bodyCursor.index
      : fieldCursor
    var draft = DraftStore.Draft(
      id: id, account: account, from: from, to: list(to), cc: list(cc), bcc: list(bcc), subject: subject,
      body: lines.map { String($0) }.joined(separator: "\n"), attachments: attachments,
      cursor: DraftStore.Cursor(field: cursorField, offset: offset), sign: sign, encrypt: encrypt,
      delivered: delivered)
    draft.date = date
    draft.messageID = messageID
    return draft
  }
}

/// A draft as saved: its id and the path of its message file (safe to show).
public struct SavedDraft: Sendable, Hashable {
  public var id: String
  public var path: String

  public init(id: String, path: String) {
    self.id = id
    self.path = path
  }
}

/// What to send: the account by name, what the person typed, and any channel settings the composer changed
/// (a pin just recorded, for instance). The runtime plans it the same way `sealpost send` does.
public struct SendOrder: Sendable {
  public var account: String?
  public var fields: MessageFields
  public var attachments: [String]
  public var overrides: ChannelOverrides
  /// Tells the answers to one order from those to an earlier one (a stale answer is ignored).
  public var id: Int
  /// The Date header's date; nil: when the runtime builds the message (a send).
  public var date: Date?
  /// The Message-ID (without angle brackets) of the message's first send, kept for every later send of it;
  /// nil: a new one (the runtime reports it with `.messageIdentified` when a send starts).
  public var messageID: String?
  /// S/MIME (issue 15): sign with the account's `smime_cert`/`smime_key`; encrypt for every recipient and the
  /// sender, all or nothing, planned as `sealpost send --sign --encrypt` plans it.
  public var sign: Bool
  public var encrypt: Bool
  /// Envelope recipients that already have this message (an earlier send of it was partly accepted): the
  /// send leaves them out of every copy, and a copy left with no recipient is not sent.
  public var delivered: [String]

  public init(
    account: String?, fields: MessageFields, attachments: [String], overrides: ChannelOverrides, id: Int = 0,
    date: Date? = nil, messageID: String? = nil, sign: Bool = false, encrypt: Bool = false,
    delivered: [String] = []
  ) {
    self.account = account
    self.fields = fields
    self.attachments = attachments
    self.overrides = overrides
    self.id = id
    self.date = date
    self.messageID = messageID
    self.sign = sign
    self.encrypt = encrypt
    self.delivered = delivered
  }
}

/// The start of the raw message as `send --dry-run` prints it: its first lines (CRLF removed), and how many
/// lines follow them unseen.
public struct RawMessage: Sendable, Hashable {
  /// The most lines the runtime keeps: the rest are counted, not kept.
  public static let lineLimit = 5_000
  public var lines: [String]
  public var omittedLines: Int

  public init(lines: [String], omittedLines: Int) {
    self.lines = lines
    self.omittedLines = omittedLines
  }
}

/// What the assembly says about a message: the linter's findings and the planning notes, in words safe to
/// show.
public struct MessageRemarks: Sendable, Hashable {
  /// Findings that may mean the message is not what was meant.
  public var warnings: [String]
  /// Findings and notes that only inform.
  public var notes: [String]

  public init(warnings: [String] = [], notes: [String] = []) {
    self.warnings = warnings
    self.notes = notes
  }
}

/// What to probe.
public struct ProbeOrder: Sendable, Hashable {
  public var host: String
  public var port: UInt16
  public var security: TransportSecurity

  public init(host: String, port: UInt16, security: TransportSecurity) {
    self.host = host
    self.port = port
    self.security = security
  }
}

/// The account-creation form, as typed: the planning layer's new account (its writer checks it again).
public typealias AccountForm = AccountWriter.NewAccount

/// How the external editor ended.
public enum EditorOutcome: Sendable, Hashable {
  case edited(String)
  /// Neither `$VISUAL` nor `$EDITOR` is set, or the editor failed: the reason, safe to show.
  case failed(String)
}

/// A problem the runtime met while carrying out an effect, in words safe to show (never a secret).
public struct ComposerProblem: Error, Sendable, Hashable {
  public var message: String
  public init(_ message: String) { self.message = message }
}
