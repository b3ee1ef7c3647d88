import Accounts
import MailSender
import SMTPProtocol
import SendPlanning

/// Where the accounts stand.
enum CatalogState: Sendable {
  case loading
  /// The config file could not be read: the reason (file:line, never a value).
  case failed(String)
  case loaded(AccountCatalog)
}

/// One account as the picker lists it: what `sealpost accounts` shows, and why it cannot be used.
struct AccountEntry: Sendable {
  var account: Account
  /// The first reason the planning layer refuses it (file:line and key, never a value); nil: usable.
  var problem: String?
  /// A send trusts pinned keys: the account's own, or those the pin file records for its HOST:PORT.
  var isPinned = false

  var isUsable: Bool { problem == nil }

  /// The planning layer's own checks, without I/O: the account's problems (`checkUsable`), then the channel
  /// merge with no overrides (`ChannelPlan`, the trust file named rather than read), the pin file the runtime
  /// read (`pins`) applied as a send applies it (`applyRecordedPins`: one that cannot be used refuses every
  /// send), and the plaintext policy — the order of `ChannelPlan.checked`.
  init(_ account: Account, pins: Result<PinFile, PlanningError>? = nil) {
    self.account = account
    isPinned = account.security != .plaintext && account.trust.isPinned
    do throws(PlanningError) {
      try AccountCatalog.checkUsable(account)
      let plan = try ChannelPlan(overrides: Self.displayOverrides(for: account), account: account)
      if let pins {
        // The send's own overrides (none), not the display's: the trust file named there is not a CA file
        // given by the person, which would win over the recorded pins.
        var sent = plan
        sent.applyRecordedPins(try pins.get(), overrides: ChannelOverrides())
        if sent.recordedPins != nil { isPinned = true }
      }
      try plan.checkPlaintext()
      problem = nil
    } catch {
      problem = Self.reason(ComposerModel.words(error))
    }
  }

  /// Overrides that make `ChannelPlan` name the account's `tls_trust_file` instead of reading it: the runtime
  /// reads it (through its checked descriptor) when it plans the send.
  static func displayOverrides(for account: Account) -> ChannelOverrides {
    var overrides = ChannelOverrides()
    if account.security != .plaintext, !account.trust.isPinned, let file = account.trust.caFile {
      overrides.caFile = file
    }
    return overrides
  }

  /// The refusal without its send-time tail ("— nothing was sent": the picker sends nothing).
  static func reason(_ text: String) -> String {
    var text = text
    if let range = text.firstRange(of: " — nothing was sent") { text.removeSubrange(range) }
    return text
  }

  /// "implicit", "starttls, pinned", "none".
  var tlsText: String {
    var text = account.security.rawValue
    if isPinned { text += ", pinned" }
    return text
  }

  /// The host as `sealpost accounts` shows it: a value that is not a host name may be a secret on the wrong
  /// line (issue 7), so it is not shown.
  var hostText: String {
    guard let host = account.host else { return "-" }
    guard let address = try? ServerAddress(parsing: host), address.port == nil else {
      return "(not a host name)"
    }
    return UntrustedText(host).escaped
  }
}

/// The account picker's list.
struct Picker: Sendable {
  var entries: [AccountEntry] = []
  /// The entry under the cursor (always a usable one when there is one).
  var selection = 0

  var usableIndices: [Int] { entries.indices.filter { entries[$0].isUsable } }

  mutating func move(by delta: Int) {
    let usable = usableIndices
    guard !usable.isEmpty else { return }
    let position = usable.firstIndex(of: selection) ?? 0
    selection = usable[min(usable.count - 1, max(0, position + delta))]
  }
}

extension ComposerModel {
  static let pickerKeys: [KeyHelp] = [
    KeyHelp("↑ ↓ j k", "move between the usable accounts"),
    KeyHelp("Enter", "compose with the account", main: true, short: "compose"),
    KeyHelp("p F2", "probe a server's TLS", main: true, short: "probe"),
    KeyHelp("q Esc", "quit"),
    KeyHelp("F1 ?", "this help", main: true, short: "help"),
    KeyHelp("Ctrl-Q", "quit", main: true),
  ]

  mutating func catalogLoaded(
    _ result: Result<AccountCatalog, PlanningError>, pins: Result<PinFile, PlanningError>? = nil
  ) -> [ComposerEffect] {
    switch result {
    case .failure(let error):
      catalog = .failed(AccountEntry.reason(Self.words(error)))
      picker = Picker()
      if screen == .loading { screen = .picker }
      return []
    case .success(let loaded):
      catalog = .loaded(loaded)
      picker = Picker(entries: (loaded.config?.accounts ?? []).map { AccountEntry($0, pins: pins) })
      picker.selection = picker.usableIndices.first ?? 0
    }
    // A probe started at start keeps its screen; the accounts wait behind it.
    guard screen == .loading || screen == .picker || screen == .accountForm else { return [] }
    chooseAccount()
    return []
  }

  /// The screen the accounts lead to: the form when there is none, the account asked for or the only usable
  /// one when there is one, else the picker.
  mutating func chooseAccount() {
    if picker.entries.isEmpty {
      screen = .accountForm
      return
    }
    let wanted = accountForm.createdName ?? startup.account
    accountForm.createdName = nil
    if let wanted {
      guard let index = picker.entries.firstIndex(where: { $0.account.name == wanted }) else {
        screen = .picker
        status = StatusLine(error: "no account \(UntrustedText(wanted).escaped) in the config file")
        return
      }
      if let problem = picker.entries[index].problem {
        screen = .picker
        status = StatusLine(error: problem)
        return
      }
      pick(picker.entries[index].account)
      return
    }
    let usable = picker.usableIndices
    if usable.count == 1 {
      pick(picker.entries[usable[0]].account)
    } else {
      screen = .picker
    }
  }

  mutating func pick(_ chosen: Account) {
    account = chosen
    overrides = ChannelOverrides()
    draft.setSender(MessageAssembly.accountSender(chosen) ?? "")
    screen = .compose
    // Issue 12: the drafts kept in the account's folder are offered first.
    offerDrafts()
  }

  mutating func pickerKey(_ key: Key) -> [ComposerEffect] {
    switch key {
    case .up, .character("k"): picker.move(by: -1)
    case .down, .character("j"): picker.move(by: 1)
    case .pageUp: picker.move(by: -10)
    case .pageDown: picker.move(by: 10)
    case .enter:
      guard picker.entries.indices.contains(picker.selection) else { return [] }
      let entry = picker.entries[picker.selection]
      if let problem = entry.problem {
        status = StatusLine(error: problem)
      } else {
        status = nil
        pick(entry.account)
      }
    case .character("p"), .function(2):
      screen = .probeForm
    case .character("q"), .escape:
      return [.quit]
    default:
      break
    }
    return []
  }
}
