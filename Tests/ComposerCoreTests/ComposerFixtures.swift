import Accounts
import MailSender
import SMTPProtocol
import SMTPTransport
import Testing

@testable import ComposerCore
@testable import SendPlanning

/// Models, accounts and session events for the composer's update and render tests.
enum Fixtures {
  /// 2026-12-01 12:00:00 UTC: the clock every test's model reads.
  static let now: Int64 = 1_796_126_400

  static let oneAccount = """
    account work
    host mail.example.org
    port 465
    tls on
    tls_starttls off
    auth on
    user alice@example.org
    from alice@example.org
    passwordeval pass show mail

    """

  static func catalog(_ text: String) throws -> AccountCatalog {
    let config = try AccountsConfig(parsing: text, path: "config", flavor: .sealpost, home: nil)
    return AccountCatalog(config: config, searched: ["config"])
  }

  /// A model at `width` × `height` that read `config` and is on the screen that gives.
  static func model(
    _ config: String = oneAccount, width: Int = 80, height: Int = 24,
    startup: ComposerModel.Startup = .init()
  ) throws -> ComposerModel {
    var model = ComposerModel(startup, width: width, height: height, now: now)
    _ = model.start()
    _ = model.update(.catalogLoaded(.success(try catalog(config))))
    // An account picked lists its drafts first: none here.
    if model.screen == .drafts { _ = model.update(.draftsListed(.success([]))) }
    return model
  }

  static func theme(_ name: String = "default", colors: ColorCapability = .twoHundredFiftySix) throws -> Theme
  {
    Theme(try shippedTheme(name), colors: colors)
  }
}

extension ComposerModel {
  /// Sends each key; returns every effect, in order.
  @discardableResult
  mutating func press(_ keys: Key...) -> [ComposerEffect] {
    keys.flatMap { update(.input(.key($0))) }
  }

  /// Types text key by key, as a person would.
  @discardableResult
  mutating func type(_ text: String) -> [ComposerEffect] {
    text.flatMap { update(.input(.key(.character($0)))) }
  }
}

extension ComposerEffect {
  /// The effect's name, for comparing effect lists in tests.
  var name: String {
    switch self {
    case .loadCatalog: "loadCatalog"
    case .send: "send"
    case .probe: "probe"
    case .cancelSession: "cancelSession"
    case .answerSecret: "answerSecret"
    case .openEditor: "openEditor"
    case .completePath: "completePath"
    case .checkAttachment: "checkAttachment"
    case .recordPin: "recordPin"
    case .createAccount: "createAccount"
    case .saveTranscript: "saveTranscript"
    case .renderRaw: "renderRaw"
    case .checkMessage: "checkMessage"
    case .quit: "quit"
    case .leave: "leave"
    case .setTimer: "setTimer"
    case .listDrafts: "listDrafts"
    case .saveDraft: "saveDraft"
    case .removeDraft: "removeDraft"
    case .queueMessage: "queueMessage"
    case .checkCertificates: "checkCertificates"
    }
  }
}
