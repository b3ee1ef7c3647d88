import MailMessage
import SMTPProtocol
import SendPlanning

/// A form of single-line fields, one of which may be a choice of TLS mode.
struct FormFields: Sendable, Hashable {
  var labels: [String]
  var fields: [TextField]
  var focus = 0
  /// The field that is a TLS-mode choice (←/→/Space change it), if any.
  var choiceIndex: Int?
  var choices: [TransportSecurity]
  var choice: TransportSecurity
  /// Why the form cannot be used yet, shown under it.
  var problem: String?

  mutating func handle(_ key: Key) -> Bool {
    switch key {
    case .tab, .down:
      focus = (focus + 1) % labels.count
    case .shiftTab, .up:
      focus = (focus + labels.count - 1) % labels.count
    default:
      if focus == choiceIndex {
        guard key == .left || key == .right || key == .character(" ") else { return false }
        let index = choices.firstIndex(of: choice) ?? 0
        let step = key == .left ? choices.count - 1 : 1
        choice = choices[(index + step) % choices.count]
        return true
      }
      guard fields[focus].handle(key) else { return false }
      problem = nil
    }
    return true
  }

  mutating func paste(_ text: String) {
    guard focus != choiceIndex else { return }
    fields[focus].insert(text)
  }

  func text(_ index: Int) -> String { String(fields[index].text.trimmingSpaces) }

  /// The port typed, or the mode's own when empty; nil when it is not a port.
  func port(_ index: Int) -> UInt16?? {
    let text = text(index)
    guard !text.isEmpty else { return .some(nil) }
    guard let number = Int(text), (1...65535).contains(number) else { return nil }
    return .some(UInt16(number))
  }

  static func defaultPort(_ security: TransportSecurity) -> UInt16 {
    switch security {
    case .implicitTLS: 465
    case .startTLS: 587
    case .plaintext: 25
    }
  }
}

/// The form that creates an account in Sealpost's own config file when there is none (the runtime writes it,
/// 0600 and atomically). It never takes a password: a password command, or a prompt when sending.
struct AccountFormState: Sendable, Hashable {
  static let name = 0
  static let host = 1
  static let port = 2
  static let tls = 3
  static let from = 4
  static let user = 5
  static let command = 6

  var form = FormFields(
    labels: ["Name", "Host", "Port", "TLS", "From", "User", "Password command"],
    fields: Array(repeating: TextField(), count: 7), choiceIndex: tls,
    choices: [.implicitTLS, .startTLS], choice: .implicitTLS)
  /// Set while `.createAccount` is out; the catalog reload then picks this account.
  var createdName: String?
  var writing = false

  mutating func paste(_ text: String) { form.paste(text) }

  /// The form as the effect takes it, or why it cannot be used.
  func accountForm() -> Swift.Result<AccountForm, ComposerProblem> {
    let name = form.text(Self.name)
    guard !name.isEmpty, !name.contains(where: { $0 == ":" || $0 == " " || $0 == "#" }) else {
      return .failure(ComposerProblem("Name: one word, without spaces, colons or #"))
    }
    let host = form.text(Self.host)
    do throws(PlanningError) {
      let address = try ServerAddress(parsing: host)
      guard address.port == nil else {
        return .failure(ComposerProblem("Host: the port goes in Port"))
      }
    } catch {
      return .failure(ComposerProblem(ComposerModel.words(error)))
    }
    guard let port = form.port(Self.port) else {
      return .failure(ComposerProblem("Port: a number from 1 to 65535, or empty for the mode's own"))
    }
    let from = form.text(Self.from)
    do throws(MessageError) {
      _ = try Mailbox(parsing: from)
    } catch {
      return .failure(ComposerProblem("From: \(AddressList.reason(error, for: from))"))
    }
    let user = form.text(Self.user)
    let command = form.text(Self.command)
    return .success(
      AccountForm(
        name: name, host: host, port: port ?? FormFields.defaultPort(form.choice), security: form.choice,
        from: from, user: user.isEmpty ? nil : user, passwordCommand: command.isEmpty ? nil : command))
  }
}

/// Host, port and mode of a probe.
struct ProbeForm: Sendable, Hashable {
  static let host = 0
  static let port = 1
  static let tls = 2

  var form = FormFields(
    labels: ["Host", "Port", "TLS"], fields: Array(repeating: TextField(), count: 3), choiceIndex: tls,
    choices: [.implicitTLS, .startTLS], choice: .implicitTLS)

  init() {}

  init(_ order: ProbeOrder) {
    form.fields[Self.host] = TextField(order.host)
    form.fields[Self.port] = TextField(String(order.port))
    form.choice = order.security
  }

  mutating func paste(_ text: String) { form.paste(text) }

  /// The order, or why the form cannot be used; `HOST:PORT` in Host is taken as well.
  func order() -> Swift.Result<ProbeOrder, ComposerProblem> {
    let address: ServerAddress
    do throws(PlanningError) {
      address = try ServerAddress(parsing: form.text(Self.host))
    } catch {
      return .failure(ComposerProblem(ComposerModel.words(error)))
    }
    guard let typed = form.port(Self.port) else {
      return .failure(ComposerProblem("Port: a number from 1 to 65535, or empty for the mode's own"))
    }
    let port = typed ?? address.port ?? FormFields.defaultPort(form.choice)
    return .success(ProbeOrder(host: address.host, port: port, security: form.choice))
  }
}

extension ComposerModel {
  static let accountFormKeys: [KeyHelp] = [
    KeyHelp("Tab ↑ ↓", "next, previous field", main: true, short: "next"),
    KeyHelp("← → Space", "in TLS: change the mode"),
    KeyHelp("Enter", "write the account to Sealpost's config file", main: true, short: "create"),
    KeyHelp("F2", "probe a server's TLS", main: true, short: "probe"),
    KeyHelp("F1", "this help", main: true, short: "help"),
    KeyHelp("Ctrl-Q", "quit", main: true, short: "quit"),
  ]

  static let probeFormKeys: [KeyHelp] = [
    KeyHelp("Tab ↑ ↓", "next, previous field", main: true, short: "next"),
    KeyHelp("← → Space", "in TLS: change the mode"),
    KeyHelp("Enter", "probe: connect, show the TLS details, send nothing", main: true, short: "probe"),
    KeyHelp("Esc", "back", main: true, short: "back"),
    KeyHelp("F1", "this help", main: true, short: "help"),
    KeyHelp("Ctrl-Q", "quit", main: true, short: "quit"),
  ]

  mutating func accountFormKey(_ key: Key) -> [ComposerEffect] {
    switch key {
    case .function(2):
      screen = .probeForm
    case .enter:
      guard !accountForm.writing else { return [] }
      switch accountForm.accountForm() {
      case .failure(let problem):
        accountForm.form.problem = problem.message
      case .success(let form):
        accountForm.writing = true
        accountForm.createdName = form.name
        status = StatusLine("writing the account…")
        return [.createAccount(form)]
      }
    default:
      if !accountForm.form.handle(key) { unknownKey(key) }
    }
    return []
  }

  mutating func accountCreated(_ result: Swift.Result<String, ComposerProblem>) -> [ComposerEffect] {
    guard accountForm.writing else { return [] }
    accountForm.writing = false
    switch result {
    case .failure(let problem):
      accountForm.createdName = nil
      accountForm.form.problem = problem.message
      status = nil
      return []
    case .success(let path):
      status = StatusLine("account written to \(UntrustedText(path).escaped)")
      screen = .loading
      return [.loadCatalog]
    }
  }

  mutating func probeFormKey(_ key: Key) -> [ComposerEffect] {
    switch key {
    case .enter:
      switch probeForm.order() {
      case .failure(let problem):
        probeForm.form.problem = problem.message
      case .success(let order):
        session = Session(probe: order)
        screen = .probe
        return [.probe(order)]
      }
    case .escape:
      goHome()
    default:
      if !probeForm.form.handle(key) { unknownKey(key) }
    }
    return []
  }
}
