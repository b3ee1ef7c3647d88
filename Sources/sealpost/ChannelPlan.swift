import Accounts
import Foundation
import MailMessage
import MailSender
import SMTPProtocol
import SMTPTransport

/// The config file and the account a command uses (DESIGN §6), with errors as exit codes (78 config, 77 policy).
enum AccountSource {
  /// The config file to read: `--config`, else the first of the read order that exists; nil when there is none.
  /// Notes about ignored keys go to stderr, once each.
  static func load(explicit: String?) throws(SendFailure) -> AccountsConfig? {
    let environment = ProcessInfo.processInfo.environment
    guard let candidate = ConfigSearch.locate(explicit: explicit, environment: environment) else {
      return nil
    }
    let config: AccountsConfig
    do throws(ConfigError) {
      config = try AccountsConfig.load(
        path: candidate.path, flavor: candidate.flavor, home: environment["HOME"])
    } catch {
      throw SendFailure(.configuration, error.description)
    }
    for note in config.notes { Output.verdict("note: \(note)") }
    return config
  }

  /// Which files were looked for, in words: "looked for A, B, C", or why none was (issue 7: with HOME unset the
  /// message used to end "looked for " with nothing after it).
  static func searched() -> String {
    let candidates = ConfigSearch.candidates(environment: ProcessInfo.processInfo.environment)
    guard !candidates.isEmpty else {
      return
        "none was looked for, because HOME is unset and XDG_CONFIG_HOME is unset or not an absolute path; "
        + "give --config PATH"
    }
    return "looked for " + candidates.map { UntrustedText($0.path).escaped }.joined(separator: ", ")
  }

  /// The account named `name` in `config`, usable as written.
  static func account(named name: String, in config: AccountsConfig?) throws(SendFailure) -> Account {
    guard let config else {
      throw SendFailure(
        .configuration, "no config file for account \(UntrustedText(name).escaped): \(searched())")
    }
    guard let account = config.account(named: name) else {
      throw SendFailure(
        .configuration,
        "no account \(UntrustedText(name).escaped) in \(UntrustedText(config.path).escaped) "
          + "(\(accountNames(config.accounts)))")
    }
    try checkUsable(account)
    return account
  }

  /// An account's `tls_trust_file`, read once through a checked descriptor (issue 7: owned by the user or root,
  /// writable by neither group nor others, a regular file within the size limit); the bytes go to the TLS client,
  /// so no path is opened again after the check. Unsafe → 78; missing, unreadable or not PEM → 66.
  static func trust(fromFile path: String, of account: Account) throws(SendFailure) -> TLSTrust {
    let location = account.location(of: "tls_trust_file")
    let suffix = "(account \(UntrustedText(account.name).escaped)) — nothing was sent"
    let file: CheckedFile
    do throws(CheckedFile.Refusal) {
      file = try CheckedFile.read(
        path: path, what: "trust file \(UntrustedText(path).escaped)", limit: CertificateFile.maximumSize)
    } catch {
      throw SendFailure(
        error.kind == .unsafe ? .configuration : .noInput,
        "\(location): tls_trust_file: \(error.message) \(suffix)")
    }
    if let problem = CertificateFile.problem(pem: file.bytes) {
      throw SendFailure(
        .noInput,
        "\(location): tls_trust_file: the trust file \(UntrustedText(path).escaped) cannot be used: \(problem) \(suffix)"
      )
    }
    return .certificateAuthorityPEM(file.bytes, source: path)
  }

  /// The accounts of a file for an error: all of them when there are a few, else the count and the first few (a
  /// file may hold thousands; issue 7), each name cut short.
  static func accountNames(_ accounts: [Account]) -> String {
    guard !accounts.isEmpty else { return "accounts: none" }
    let shown = 5
    let names = accounts.prefix(shown).map {
      AccountsCommand.List.truncated(UntrustedText($0.name).escaped)
    }.joined(separator: ", ")
    if accounts.count <= shown { return "accounts: \(names)" }
    return "\(accounts.count) accounts, the first \(shown): \(names); see sealpost accounts"
  }

  static func checkUsable(_ account: Account) throws(SendFailure) {
    guard let problem = account.problems.first else { return }
    throw SendFailure(
      problem.kind == .security ? .security : .configuration,
      "\(problem) (account \(UntrustedText(account.name).escaped)) — nothing was sent")
  }
}

/// What the command line says about the channel; each given flag overrides the account's field.
struct ChannelFlags {
  var server: String?
  var port: Int?
  var tls: String?
  var allowInsecure = false
  var caFile: String?
  var pins: [String] = []
  var user: String?
  var auth: String?
  var ehlo: String?
  var timeout: Double?
}

/// Host, port, mode, trust and login after flags override account fields (DESIGN §4, §6), checked before connecting.
struct ChannelPlan {
  var host: String
  var port: UInt16
  var security: TransportSecurity
  var allowInsecure: Bool
  var trust: TLSTrust
  var user: String?
  var mechanism: SMTPClientConfiguration.Mechanism
  var ehlo: String?
  var timeout: Double
  var account: Account?

  init(flags: ChannelFlags, account: Account?) throws(SendFailure) {
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
      do throws(SendFailure) {
        address = try ServerAddress(parsing: accountHost)
      } catch {
        throw SendFailure(
          .configuration, "\(account.location(of: "host")): host: expected a host name (\(name))")
      }
      guard address.port == nil else {
        throw SendFailure(
          .configuration,
          "\(account.location(of: "host")): host: expected a host name without a port; use port (\(name))")
      }
      host = address.host
    } else if let account {
      throw SendFailure(
        .configuration, "\(account.location): host: \(name) has no host; add one or say --server")
    } else {
      throw SendFailure(
        .usage, "no server: say --server HOST[:PORT] or --account NAME (there is no MX look-up)")
    }
    if let port = flags.port {
      guard (1...65535).contains(port) else { throw SendFailure(.usage, "--port takes 1 to 65535") }
      flagPort = UInt16(port)
    }
    var flagSecurity: TransportSecurity?
    if let tls = flags.tls {
      guard let mode = TransportSecurity(rawValue: tls) else {
        throw SendFailure(.usage, "--tls takes implicit, starttls or none")
      }
      flagSecurity = mode
    }
    if let account {
      security = flagSecurity ?? TransportSecurity(account.security)
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
      throw SendFailure(.usage, "--allow-insecure only goes with --tls none")
    }
    allowInsecure = flags.allowInsecure || account?.allowInsecure == true
    if security == .plaintext && (flags.caFile != nil || !flags.pins.isEmpty) {
      throw SendFailure(.usage, "--ca-file and --pin need TLS; they make no sense with --tls none")
    }
    if flags.caFile != nil && !flags.pins.isEmpty {
      throw SendFailure(.usage, "give --ca-file or --pin, not both: a pin replaces the CA check")
    }
    let flagPins = try flags.pins.map(SendCommand.parsePin)
    if !flagPins.isEmpty {
      trust = .pins(flagPins)
    } else if let caFile = flags.caFile {
      trust = .certificateAuthorities(caFile: caFile)
    } else if let accountTrust = account?.trust, accountTrust.isPinned {
      trust = .pins(
        accountTrust.certificateSHA256.map { .certificateSHA256($0) }
          + accountTrust.spkiSHA256.map { .spkiSHA256($0) })
    } else if let account, let trustFile = account.trust.caFile {
      trust = try AccountSource.trust(fromFile: trustFile, of: account)
    } else {
      trust = .certificateAuthorities(caFile: nil)
    }

    // Login: --user, else the account's user when its auth is on.
    if let user = flags.user {
      self.user = user
    } else if let account, account.mechanism != nil {
      guard let user = account.user else {
        throw SendFailure(
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
      throw SendFailure(.usage, "--auth \(UntrustedText(other).escaped) is not supported: use plain or login")
    }
    ehlo = flags.ehlo ?? account?.domain
    timeout = flags.timeout ?? account?.timeout.map(Double.init) ?? 60
    guard timeout > 0, timeout <= 86_400 else {
      throw SendFailure(.usage, "--timeout takes seconds, more than 0")
    }
    if let user, user.utf8.contains(0) || user.unicodeScalars.contains(where: { $0.value < 0x20 }) {
      throw SendFailure(.dataError, "the user name holds control characters")
    }
    if let ehlo, ehlo.isEmpty || ehlo.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F })
    {
      let what = flags.ehlo != nil ? "--ehlo" : "\(account?.location(of: "domain").description ?? ""): domain"
      throw SendFailure(.dataError, "\(what) takes a domain or address literal without spaces or controls")
    }
  }

  /// DESIGN §3.4 before connecting, for an account: a clear refusal naming `allow_insecure`. The core still
  /// decides by the connected address.
  func checkPlaintext() throws(SendFailure) {
    guard let account, security == .plaintext else { return }
    if let problem = account.plaintextProblem(
      host: host, allowInsecure: allowInsecure, authenticates: user != nil)
    {
      throw SendFailure(.security, "\(problem) — nothing was sent")
    }
  }

  /// DESIGN §3.5: the account's own secret goes only to the account's own server (host and port).
  var isAccountServer: Bool {
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

  /// The login; the password is looked up by the session (bounded by its deadline, cancelled with it) from the
  /// first source of DESIGN §4 that has one.
  func credentials(passwordCommand: String?) -> Credentials? {
    guard let user else { return nil }
    let plan = self
    let prompt = "Password for \(UntrustedText(user).escaped) at \(UntrustedText(host).escaped): "
    return Credentials(
      user: user,
      supply: .lookup { context throws(SendFailure) in
        try PasswordSource.resolve(command: passwordCommand, plan: plan, prompt: prompt, context: context)
      }, mechanism: mechanism)
  }

  var hostAndPort: String { Self.hostAndPort(host, port) }

  static func hostAndPort(_ host: String, _ port: UInt16) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
  }
}

extension TransportSecurity {
  init(_ security: AccountSecurity) {
    switch security {
    case .implicitTLS: self = .implicitTLS
    case .startTLS: self = .startTLS
    case .plaintext: self = .plaintext
    }
  }
}
