import Accounts
import MailSender
import SMTPProtocol
import SMTPTransport

/// What a front end says about the channel; each given value overrides the account's field (DESIGN §4, §6).
public struct ChannelOverrides: Sendable, Hashable {
  public var server: String?
  public var port: Int?
  public var tls: String?
  public var allowInsecure = false
  public var caFile: String?
  public var pins: [String] = []
  public var user: String?
  public var auth: String?
  public var ehlo: String?
  public var timeout: Double?

  public init(
    server: String? = nil, port: Int? = nil, tls: String? = nil, allowInsecure: Bool = false,
    caFile: String? = nil, pins: [String] = [], user: String? = nil, auth: String? = nil, ehlo: String? = nil,
    timeout: Double? = nil
  ) {
    self.server = server
    self.port = port
    self.tls = tls
    self.allowInsecure = allowInsecure
    self.caFile = caFile
    self.pins = pins
    self.user = user
    self.auth = auth
    self.ehlo = ehlo
    self.timeout = timeout
  }
}

/// Host, port, mode, trust and login after overrides replace account fields (DESIGN §4, §6), checked before
/// connecting. The one merge every front end uses.
public struct ChannelPlan: Sendable {
  public var host: String
  public var port: UInt16
  public var security: TransportSecurity
  public var allowInsecure: Bool
  public var trust: TLSTrust
  public var user: String?
  public var mechanism: SMTPClientConfiguration.Mechanism
  public var ehlo: String?
  public var timeout: Double
  /// Seconds to wait for a plaintext greeting, when shorter than `timeout`: see `silentGreetingLimit`.
  public var greetingTimeout: Double?
  public var account: Account?
  /// The pins of `trust` that came from Sealpost's pin file, and the file (``applyRecordedPins(_:overrides:)``);
  /// nil when it has none for this host and port, or the front end's own trust wins.
  public var recordedPins: RecordedPins?

  /// Issue 11: port 465 is implicit TLS (RFC 8314 §7.3); a server there says nothing until it gets a ClientHello,
  /// so a STARTTLS or plaintext session waiting for its greeting would wait the whole step (60 s). On that port
  /// a greeting that has not come in 10 s is not coming: the session ends with a timeout at the greeting, which
  /// front ends explain. Other ports keep the whole step: a slow greeting is legitimate there (Postfix's
  /// postscreen pauses 6 s on port 25).
  public static let silentGreetingLimit = 10.0

  public init(overrides flags: ChannelOverrides, account: Account?) throws(PlanningError) {
    self.account = account
    let name = account.map { "account \(UntrustedText($0.name).escaped)" } ?? ""
    // Host and port.
    var flagPort: UInt16?
    if let server = flags.server {
      let address = try ServerAddress(parsing: server)
      host = address.host
      flagPort = address.port
    } else if let account, let accountHost = account.host {
      let address: ServerAddress
      do throws(PlanningError) {
        address = try ServerAddress(parsing: accountHost)
      } catch {
        throw PlanningError(
          .configuration, "\(account.location(of: "host")): host: expected a host name (\(name))")
      }
      guard address.port == nil else {
        throw PlanningError(
          .configuration,
          "\(account.location(of: "host")): host: expected a host name without a port; use port (\(name))")
      }
      host = address.host
    } else if let account {
      throw PlanningError(
        .configuration, "\(account.location): host: \(name) has no host; add one or give \(field: .server)")
    } else {
      throw PlanningError(
        .usage, "no server: give \(field: .server) or \(field: .account) (there is no MX look-up)")
    }
    if let port = flags.port {
      guard (1...65535).contains(port) else {
        throw PlanningError(.usage, "\(field: .port) takes 1 to 65535")
      }
      flagPort = UInt16(port)
    }
    var flagSecurity: TransportSecurity?
    if let tls = flags.tls {
      guard let mode = TransportSecurity(rawValue: tls) else {
        throw PlanningError(.usage, "\(field: .tls) takes implicit, starttls or none")
      }
      flagSecurity = mode
    }
    if let account {
      security = flagSecurity ?? account.security
      if let port = flagPort ?? account.explicitPort {
        self.port = port
      } else if let flagSecurity {
        self.port = try ServerAddress.plan(port: nil, security: flagSecurity).0
      } else {
        self.port = account.port
      }
    } else {
      (port, security) = try ServerAddress.plan(port: flagPort, security: flagSecurity)
    }

    // Channel.
    if flags.allowInsecure && security != .plaintext {
      throw PlanningError(.usage, "\(field: .allowInsecure) only goes with \(field: .tls) none")
    }
    allowInsecure = flags.allowInsecure || account?.allowInsecure == true
    if security == .plaintext && (flags.caFile != nil || !flags.pins.isEmpty) {
      throw PlanningError(
        .usage, "\(field: .caFile) and \(field: .pin) need TLS; they make no sense with \(field: .tls) none")
    }
    if flags.caFile != nil && !flags.pins.isEmpty {
      throw PlanningError(
        .usage, "give \(field: .caFile) or \(field: .pin), not both: a pin replaces the CA check")
    }
    var flagPins: [CertificatePin] = []
    for pin in flags.pins { flagPins.append(try Self.parsePin(pin)) }
    if !flagPins.isEmpty {
      trust = .pins(flagPins)
    } else if let caFile = flags.caFile {
      trust = .certificateAuthorities(caFile: caFile)
    } else if let accountTrust = account?.trust, accountTrust.isPinned {
      trust = .pins(
        accountTrust.certificateSHA256.map { .certificateSHA256($0) }
          + accountTrust.spkiSHA256.map { .spkiSHA256($0) })
    } else if let account, let trustFile = account.trust.caFile {
      trust = try AccountCatalog.trust(fromFile: trustFile, of: account)
    } else {
      trust = .certificateAuthorities(caFile: nil)
    }

    // Login: the override's user, else the account's user when its auth is on.
    if let user = flags.user {
      self.user = user
    } else if let account, account.mechanism != nil {
      guard let user = account.user else {
        throw PlanningError(
          .configuration, "\(account.location(of: "auth")): auth: \(name) has auth on but no user; add user")
      }
      self.user = user
    } else {
      user = nil
    }
    switch flags.auth?.lowercased() {
    case nil: mechanism = account?.mechanism ?? .automatic
    case "plain": mechanism = .plain
    case "login": mechanism = .login
    case let other?:
      throw PlanningError(
        .usage, "\(field: .auth) \(UntrustedText(other).escaped) is not supported: use plain or login")
    }
    ehlo = flags.ehlo ?? account?.domain
    // The account's `domain` under the rule the EHLO command applies when it is sent, refused here with its
    // file:line and without the value (issue 7: the command's own error quotes it).
    if flags.ehlo == nil, let account, let domain = account.domain,
      (try? SMTPCommand.ehlo(domain).encoded()) == nil
    {
      throw PlanningError(
        .dataError,
        "\(account.location(of: "domain")): domain: expected a domain or address literal in printable ASCII "
          + "without spaces, that an EHLO command can carry (the value is not shown) (\(name))")
    }
    timeout = flags.timeout ?? account?.timeout.map(Double.init) ?? 60
    guard timeout > 0, timeout <= 86_400 else {
      throw PlanningError(.usage, "\(field: .timeout) takes seconds, more than 0 and at most 86400")
    }
    greetingTimeout =
      port == 465 && security != .implicitTLS && timeout > Self.silentGreetingLimit
      ? Self.silentGreetingLimit : nil
    if let user, user.utf8.contains(0) || user.unicodeScalars.contains(where: { $0.value < 0x20 }) {
      throw PlanningError(.dataError, "the user name holds control characters")
    }
    if let ehlo, ehlo.isEmpty || ehlo.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F })
    {
      if flags.ehlo != nil {
        throw PlanningError(
          .dataError, "\(field: .ehlo) takes a domain or address literal without spaces or controls")
      }
      throw PlanningError(
        .dataError,
        "\(account?.location(of: "domain").description ?? ""): domain: expected a domain or address literal "
          + "without spaces or controls")
    }
  }

  /// `sha256/BASE64` of a leaf SPKI (DESIGN §3.2); SHA-1 and MD5 are refused.
  public static func parsePin(_ text: String) throws(PlanningError) -> CertificatePin {
    switch PinText.spkiSHA256(text) {
    case .success(let bytes): return .spkiSHA256(bytes)
    case .failure(.weakHash):
      throw PlanningError(.usage, "\(field: .pin): SHA-1 and MD5 pins are refused; use sha256/BASE64")
    case .failure(.malformed):
      throw PlanningError(
        .usage, "\(field: .pin) takes sha256/BASE64 (the SHA-256 of the server key's SPKI, 44 characters)")
    }
  }

  /// DESIGN §3.4 before connecting, for an account: a clear refusal naming `allow_insecure`. The core still
  /// decides by the connected address.
  public func checkPlaintext() throws(PlanningError) {
    guard let account, security == .plaintext else { return }
    if let problem = account.plaintextProblem(
      host: host, allowInsecure: allowInsecure, authenticates: user != nil)
    {
      throw PlanningError(.security, "\(problem) — nothing was sent")
    }
  }

  /// DESIGN §3.5: the account's own secret goes only to the account's own server (host and port).
  public var isAccountServer: Bool {
    guard let account, let accountHost = account.host else { return false }
    return Self.sameHost(accountHost, host) && port == account.port
  }

  static func sameHost(_ a: String, _ b: String) -> Bool {
    func normal(_ host: String) -> String {
      var text = host.lowercased()
      if text.hasSuffix(".") { text.removeLast() }
      if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
      return text
    }
    return normal(a) == normal(b)
  }

  public var hostAndPort: String { Self.hostAndPort(host, port) }

  static func hostAndPort(_ host: String, _ port: UInt16) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
  }
}
