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
  public let displayName: String?
  public let signature: String?
  public let drafts: String?
  public let theme: String?
  /// Reasons this account cannot be used at all, in file order. Empty: usable.
  public let problems: [AccountProblem]

  let settings: [String: Setting]

  /// msmtp's default port: 465 for TLS without STARTTLS, else 25.
  public var port: UInt16 { explicitPort ?? (security == .implicitTLS ? 465 : 25) }

  /// Where `key` was set for this account (its own line, a parent's, or `defaults`), else the `account` line.
  public func location(of key: String) -> ConfigLocation { settings[key]?.location ?? location }

  init(
    name: String, location: ConfigLocation, parents: [String], flavor: ConfigFlavor,
    settings: [String: Setting],
    home: String?
  ) {
    self.name = name
    self.location = location
    self.parents = parents
    self.flavor = flavor
    self.settings = settings
    func value(_ key: String) -> String? {
      guard let text = settings[key]?.value, !text.isEmpty else { return nil }
      return text
    }
    func flag(_ key: String, default fallback: Bool) -> Bool {
      settings[key].flatMap { ConfigKeys.onOff($0.value) } ?? fallback
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
    displayName = value("display_name")
    signature = path("signature")
    drafts = path("drafts")
    theme = value("theme")

    var problems: [AccountProblem] = []
    func problem(_ kind: AccountProblem.Kind, _ key: String, _ message: String) {
      problems.append(AccountProblem(kind, settings[key]?.location ?? location, key: key, message))
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
    if settings["tls_certcheck"].flatMap({ ConfigKeys.onOff($0.value) }) == false {
      problem(
        .security, "tls_certcheck",
        "tls_certcheck off is refused: Sealpost always verifies the server; for a self-signed server pin its "
          + "certificate instead with tls_fingerprint (SHA-256) or pin sha256/BASE64 (`sealpost probe HOST` "
          + "shows both)")
    }

    // Login.
    switch settings["auth"]?.value {
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
    } else if let command = value("passwordeval"), let setting = settings["passwordeval"] {
      secretSource = .passwordEval(command: command, location: setting.location)
    } else if let password = value("password"), let setting = settings["password"] {
      secretSource = .password(Secret(password), location: setting.location)
    } else {
      secretSource = .keyringOrPrompt
    }

    // Keys that change the connection in ways Sealpost does not implement.
    for (key, setting) in settings.sorted(by: { $0.value.location.line < $1.value.location.line }) {
      switch ConfigKeys.rule(for: key, flavor: flavor) {
      case .unsupported(let harmless)? where !harmless.contains(setting.value):
        problem(
          .configuration, key,
          "Sealpost does not implement this msmtp setting, which changes the connection; remove it to use "
            + "this account")
      case .protocolName? where setting.value == "lmtp":
        problem(.configuration, key, "Sealpost does not implement LMTP; expected smtp")
      case nil:
        problem(
          .configuration, key,
          // Only a word Sealpost knows is named (a Sealpost key in msmtp's file): any other may be a secret on
          // the wrong line (issue 7).
          (ConfigKeys.isKnown(key)
            ? "unknown msmtp key" : "unknown msmtp key (not shown: a mistyped line may hold a secret)")
            + ": Sealpost cannot tell whether it changes the connection, so this account is not used"
        )
      default: break
      }
    }
    self.problems = problems.sorted { ($0.location.line, $0.key) < ($1.location.line, $1.key) }
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
          + "plaintext to a remote host needs allow_insecure on in Sealpost's config (or --allow-insecure); "
          + "better, set tls on")
    }
    return nil
  }

  static func expandTilde(_ path: String, home: String?) -> String {
    guard let home, path == "~" || path.hasPrefix("~/") else { return path }
    return home + path.dropFirst()
  }
}

/// One `key value` line as it applies to an account.
struct Setting: Sendable, Hashable {
  var value: String
  var location: ConfigLocation
}
