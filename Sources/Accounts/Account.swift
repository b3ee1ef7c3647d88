import SMTPProtocol

/// How an account protects the connection, from msmtp's `tls` and `tls_starttls`.
/// Where an account's TLS trust comes from (DESIGN §3.2). A pin replaces the chain and name checks.
public struct AccountTrust: Sendable, Hashable {
  /// `tls_trust_file`: replaces the system store; nil means the system store.
  public var caFile: String?
  /// msmtp's `tls_fingerprint`: SHA-256 of the whole leaf certificate.
  public var certificateSHA256: [[UInt8]]
  /// Sealpost's `pin sha256/BASE64`: SHA-256 of the leaf's SubjectPublicKeyInfo.
  public var spkiSHA256: [[UInt8]]

  public init(caFile: String? = nil, certificateSHA256: [[UInt8]] = [], spkiSHA256: [[UInt8]] = []) {
    self.caFile = caFile
    self.certificateSHA256 = certificateSHA256
    self.spkiSHA256 = spkiSHA256
  }

  public var isPinned: Bool { !certificateSHA256.isEmpty || !spkiSHA256.isEmpty }
}

/// Where an account's password comes from, in DESIGN §4 order after the command-line sources. Listing an
/// account shows the kind, never the value and never the command.
public enum SecretSource: Sendable, Hashable {
  /// `auth off` (msmtp's default): no login.
  case none
  /// `passwordeval CMD`: run with `/bin/sh -c` when needed, never to list.
  case passwordEval(command: String, location: ConfigLocation)
  /// `password SECRET` in the file (which must then be private: chmod 600).
  case password(Secret, location: ConfigLocation)
  /// Neither: `secret-tool lookup host HOST user USER`, then a prompt on the terminal.
  case keyringOrPrompt

  /// A short label for listings: no secret, no command.
  public var summary: String {
    switch self {
    case .none: "none (auth off)"
    case .passwordEval(_, let location): "passwordeval (\(location))"
    case .password(_, let location): "password in file (\(location))"
    case .keyringOrPrompt: "secret-tool, else prompt"
    }
  }

  /// Whether the account keeps a secret of its own (file, command or keyring), which DESIGN §3.5 binds to it.
  public var isStored: Bool {
    if case .none = self { return false }
    return true
  }
}

/// One account after `defaults` and inheritance, with msmtp's defaults filled in.
public struct Account: Sendable {
  public let name: String
  /// The `account` line.
  public let location: ConfigLocation
  public let parents: [String]
  public let flavor: ConfigFlavor
  public let host: String?
  /// The `port` given, if any.
  public let explicitPort: UInt16?
  public let security: TransportSecurity
  public let trust: AccountTrust
  /// nil: `auth off`. `.automatic` for `auth on`.
  public let mechanism: SMTPClientConfiguration.Mechanism?
  public let user: String?
  public let secretSource: SecretSource
  public let from: String?
  /// The EHLO name (`domain`).
  public let domain: String?
  /// Seconds per protocol step (`timeout`); nil: the default.
  public let timeout: Int?
  public let allowInsecure: Bool
  /// `queue on`: a send that fails for now is kept in the outbox (issue 12), as `--queue` does.
  public let queue: Bool
  public let displayName: String?
  public let signature: String?
  public let drafts: String?
  /// `record DIR`: a Maildir folder that gets a copy of each message sent (issue 12), `~` expanded.
  public let record: String?
  /// S/MIME (issue 15): the certificate (PEM, maybe followed by its chain) and private key that sign, the
  /// command that prints the key's passphrase, the CA file recipients' certificates must chain to (nil: the
  /// system store), and `smime_sign on` (every send signed, as `--sign`).
  public let smimeCertificate: String?
  public let smimeKey: String?
  public let smimePassphraseEval: String?
  public let smimeCAFile: String?
  public let smimeSign: Bool
  public let theme: String?
  /// Reasons this account cannot be used at all, in file order: the first `maximumProblems` of them (a file
  /// with thousands of unknown keys in `defaults` must not give every account thousands; issue 7). Empty: usable.
  public let problems: [AccountProblem]
  /// How many problems the account has, including those past `problems`.
  public let problemCount: Int

  /// The most problems kept per account.
  public static let maximumProblems = 16

  /// Set by this account's lines or its parents'.
  let own: [String: Setting]
  /// `defaults` as it stood at the `account` line, shared with the other accounts that saw it.
  let defaults: DefaultsLayer

  func setting(_ key: String) -> Setting? { own[key] ?? defaults.settings[key] }

  /// msmtp's default port: 465 for TLS without STARTTLS, else 25.
  public var port: UInt16 { explicitPort ?? (security == .implicitTLS ? 465 : 25) }

  /// Where `key` was set for this account (its own line, a parent's, or `defaults`), else the `account` line.
  public func location(of key: String) -> ConfigLocation { setting(key)?.location ?? location }

  init(
    name: String, location: ConfigLocation, parents: [String], flavor: ConfigFlavor,
    own: [String: Setting], defaults: DefaultsLayer,
    home: String?
  ) {
    self.name = name
    self.location = location
    self.parents = parents
    self.flavor = flavor
    self.own = own
    self.defaults = defaults
    func setting(_ key: String) -> Setting? { own[key] ?? defaults.settings[key] }
    func value(_ key: String) -> String? {
      guard let text = setting(key)?.value, !text.isEmpty else { return nil }
      return text
    }
    func flag(_ key: String, default fallback: Bool) -> Bool {
      setting(key).flatMap { ConfigKeys.onOff($0.value) } ?? fallback
    }
    func path(_ key: String) -> String? { value(key).map { Self.expandTilde($0, home: home) } }

    host = value("host")
    explicitPort = value("port").flatMap(ConfigKeys.port)
    let tls = flag("tls", default: false)
    security = tls ? (flag("tls_starttls", default: true) ? .startTLS : .implicitTLS) : .plaintext
    user = value("user")
    from = value("from")
    domain = value("domain")
    timeout = value("timeout").flatMap(ConfigKeys.seconds)
    allowInsecure = flag("allow_insecure", default: false)
    queue = flag("queue", default: false)
    displayName = value("display_name")
    signature = path("signature")
    drafts = path("drafts")
    record = path("record")
    smimeCertificate = path("smime_cert")
    smimeKey = path("smime_key")
    smimePassphraseEval = value("smime_passphrase_eval")
    smimeCAFile = path("smime_ca_file")
    smimeSign = flag("smime_sign", default: false)
    theme = value("theme")

    var problems: [AccountProblem] = []
    func problem(_ kind: AccountProblem.Kind, _ key: String, _ message: String) {
      problems.append(AccountProblem(kind, setting(key)?.location ?? location, key: key, message))
    }

    // Trust.
    var certificatePins: [[UInt8]] = []
    if let text = value("tls_fingerprint"), let bytes = ConfigKeys.fingerprint(text) {
      if bytes.count == 32 {
        certificatePins.append(bytes)
      } else {
        problem(
          .configuration, "tls_fingerprint",
          "SHA-1 and MD5 fingerprints are refused; expected the SHA-256 fingerprint of the certificate "
            + "(32 hex bytes; `sealpost probe HOST` shows it)")
      }
    }
    let spkiPins = value("pin").flatMap(ConfigKeys.pins) ?? []
    trust = AccountTrust(
      caFile: path("tls_trust_file"), certificateSHA256: certificatePins, spkiSHA256: spkiPins)
    if trust.caFile != nil && (value("tls_fingerprint") != nil || !spkiPins.isEmpty) {
      problem(
        .configuration, "tls_trust_file",
        "expected tls_trust_file or a pin (tls_fingerprint, pin), not both: a pin replaces the CA check")
    }
    if setting("tls_certcheck").flatMap({ ConfigKeys.onOff($0.value) }) == false {
      // 78 like every other line Sealpost will not use as written (issue 11: `send`, `check` and the README
      // agree); 77 is for what a server or a connection fails.
      problem(
        .configuration, "tls_certcheck",
        "tls_certcheck off is refused: Sealpost always verifies the server; for a self-signed server pin its "
          + "certificate instead with tls_fingerprint (SHA-256) or pin sha256/BASE64 (`sealpost probe HOST` "
          + "shows both)")
    }

    // Login.
    switch setting("auth")?.value {
    case nil, "off": mechanism = nil
    case "", "on": mechanism = .automatic
    case "plain": mechanism = .plain
    case "login": mechanism = .login
    case let other?:
      mechanism = nil
      problem(
        .configuration, "auth",
        "Sealpost does not implement \(UntrustedText(other).escaped); expected on, plain or login")
    }
    if mechanism == nil {
      secretSource = .none
    } else if let command = value("passwordeval"), let line = setting("passwordeval") {
      secretSource = .passwordEval(command: command, location: line.location)
    } else if let password = value("password"), let line = setting("password") {
      secretSource = .password(Secret(password), location: line.location)
    } else {
      secretSource = .keyringOrPrompt
    }

    // Keys that change the connection in ways Sealpost does not implement: one record per line, those of
    // `defaults` made once for every account that shares them (issue 7: linear in the file).
    for (key, line) in own {
      if let problem = Self.lineProblem(key: key, setting: line, flavor: flavor) { problems.append(problem) }
    }
    var count = problems.count + defaults.problems.count
    for key in own.keys where defaults.problemKeys.contains(key) { count -= 1 }
    var shared: [AccountProblem] = []
    for problem in defaults.problems where own[problem.key] == nil {
      guard shared.count < Self.maximumProblems else { break }
      shared.append(problem)
    }
    self.problemCount = count
    self.problems = Array(
      (problems + shared).sorted { ($0.location.line, $0.key) < ($1.location.line, $1.key) }.prefix(
        Self.maximumProblems))
  }

  /// Why the line setting `key` makes an account unusable, if it does: a key Sealpost does not implement or
  /// does not know. The message names no value (issue 7).
  static func lineProblem(key: String, setting: Setting, flavor: ConfigFlavor) -> AccountProblem? {
    func problem(_ message: String) -> AccountProblem {
      AccountProblem(.configuration, setting.location, key: key, message)
    }
    switch ConfigKeys.rule(for: key, flavor: flavor) {
    case .unsupported(let harmless)? where !harmless.contains(setting.value):
      return problem(
        "Sealpost does not implement this msmtp setting, which changes the connection; remove it to use "
          + "this account")
    case .protocolName? where setting.value == "lmtp":
      return problem("Sealpost does not implement LMTP; expected smtp")
    case nil:
      // Only a word Sealpost knows is named (a Sealpost key in msmtp's file): any other may be a secret on the
      // wrong line (issue 7).
      return problem(
        (ConfigKeys.isKnown(key)
          ? "unknown msmtp key" : "unknown msmtp key (not shown: a mistyped line may hold a secret)")
          + ": Sealpost cannot tell whether it changes the connection, so this account is not used")
    default:
      return nil
    }
  }

  /// DESIGN §3.4 before connecting, for a plaintext session to `host`: a loopback literal or `localhost` may go on
  /// (the core then decides by the connected address); any other host needs `allow_insecure on`, and a login
  /// never goes there in plaintext.
  public func plaintextProblem(host: String, allowInsecure: Bool, authenticates: Bool) -> AccountProblem? {
    guard !Loopback.isLoopbackName(host) else { return nil }
    let location = location(of: "tls")
    if authenticates {
      return AccountProblem(
        .security, location, key: "tls",
        "account \(UntrustedText(name).escaped) has tls off and \(UntrustedText(host).escaped) is not loopback: "
          + "the password is never sent in plaintext to it, and there is no override; set tls on")
    }
    if !allowInsecure {
      return AccountProblem(
        .security, location, key: "tls",
        "account \(UntrustedText(name).escaped) has tls off and \(UntrustedText(host).escaped) is not loopback: "
          + "plaintext to a remote host needs allow_insecure on in Sealpost's config; "
          + "better, set tls on")
    }
    return nil
  }

  static func expandTilde(_ path: String, home: String?) -> String {
    guard let home, path == "~" || path.hasPrefix("~/") else { return path }
    return home + path.dropFirst()
  }
}

/// `defaults` as accounts saw it at their `account` lines: one value shared by every account that saw the same
/// settings, never copied per account, with the problems of its lines worked out once (issue 7).
final class DefaultsLayer: Sendable {
  let settings: [String: Setting]
  /// The problems of its lines (`Account.lineProblem`), sorted by line.
  let problems: [AccountProblem]
  /// The keys of `problems`.
  let problemKeys: Set<String>

  init(settings: [String: Setting], flavor: ConfigFlavor) {
    self.settings = settings
    problems = settings.compactMap { Account.lineProblem(key: $0.key, setting: $0.value, flavor: flavor) }
      .sorted { ($0.location.line, $0.key) < ($1.location.line, $1.key) }
    problemKeys = Set(problems.map(\.key))
  }
}

/// One `key value` line as it applies to an account.
struct Setting: Sendable, Hashable {
  var value: String
  var location: ConfigLocation
}
