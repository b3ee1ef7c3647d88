import SMTPProtocol

/// msmtp's config syntax: `defaults`, `account NAME [: PARENT[,PARENT…]]`, `key value` lines.
///
/// Inheritance as msmtp does it: a new account starts from the `defaults` given so far, then takes every setting
/// its parents set (in the order named, later ones winning, transitively), then its own lines.
struct ConfigParser {
  let path: String
  let flavor: ConfigFlavor
  let home: String?

  private struct Draft {
    var name: String
    var location: ConfigLocation
    var parents: [String]
    var defaults: DefaultsLayer
    /// Set by this account or inherited from its parents: what a child inherits.
    var inheritable: [String: Setting]
  }

  private enum Target {
    case defaults
    case account(Int)
  }

  /// The longest account name, in UTF-8 bytes (msmtp sets none; names are words like `work`).
  static let maximumNameLength = 256
  /// The most parents one `account NAME : PARENT,…` line may name.
  static let maximumParents = 32
  /// The longest value, in UTF-8 bytes (a `passwordeval` command included).
  static let maximumValueLength = 4096
  /// The most different keys one `defaults` or `account` section may set: msmtp knows about 60, so a section
  /// with hundreds is garbage, and a bound keeps every account's work bounded (issue 7, red team: 5,000 unknown
  /// keys in `defaults`, re-read at each of 300 accounts, took 23 s).
  static let maximumKeysPerSection = 256

  func parse(_ text: String) throws(ConfigError) -> AccountsConfig {
    var defaults: [String: Setting] = [:]
    // `defaults` as the accounts see it, made again only after a `defaults` line changed it: accounts share it.
    var layer: DefaultsLayer?
    var drafts: [Draft] = []
    // Each name's index in `drafts`: one look-up per parent and per new name keeps parsing linear (issue 7).
    var index: [String: Int] = [:]
    var target: Target?
    var notes: [ConfigNote] = []
    var noted: Set<String> = []
    var passwordLocation: ConfigLocation?

    // Split on the scalar, not the Character: "\r\n" is one Character in Swift.
    let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
    for (offset, scalars) in lines.enumerated() {
      let text = Substring(scalars)
      let location = ConfigLocation(file: path, line: offset + 1)
      let parsed: ConfigLine?
      do throws(ConfigLine.Failure) {
        parsed = try ConfigLine.parse(text, number: offset + 1)
      } catch {
        throw ConfigError(.syntax, location, key: error.key, error.message)
      }
      guard let line = parsed else { continue }

      switch line.key {
      case "defaults":
        guard line.value.isEmpty else {
          throw ConfigError(
            .syntax, location, key: "defaults",
            "expected no value: defaults starts settings for the accounts below")
        }
        target = .defaults
      case "account":
        let shared = layer ?? DefaultsLayer(settings: defaults, flavor: flavor)
        layer = shared
        let draft = try account(
          line.value, location: location, defaults: shared, drafts: drafts, index: index)
        index[draft.name] = drafts.count
        drafts.append(draft)
        target = .account(drafts.count - 1)
      default:
        var key = line.key
        var value = line.value
        if let alias = ConfigKeys.aliases[key] {
          key = alias.key
          value = alias.value ?? value
        }
        guard value.utf8.count <= Self.maximumValueLength else {
          throw ConfigError(
            .syntax, location, key: key,
            "expected a value of at most \(Self.maximumValueLength) bytes (the value is not shown)")
        }
        guard let current = target else {
          throw ConfigError(
            .syntax, location, key: key, "expected `account NAME` or `defaults` before the first setting")
        }
        let rule = ConfigKeys.rule(for: key, flavor: flavor)
        if let rule {
          if let message = ConfigKeys.check(value, rule: rule, key: key) {
            throw ConfigError(.syntax, location, key: key, message)
          }
          if rule == .harmless && !noted.contains(key) {
            noted.insert(key)
            notes.append(
              ConfigNote(location: location, key: key, message: "has no effect in Sealpost; ignored"))
          }
        } else if flavor == .sealpost {
          // The word is not shown: a typo (`password=…`, a stray secret on a line of its own) may hold a secret.
          throw ConfigError(
            .syntax, location, key: key,
            "unknown key (not shown: a mistyped line may hold a secret); expected an msmtp key or one of "
              + ConfigKeys.sealpostOnly.keys.sorted().joined(separator: ", "))
        }
        if key == "password" && !value.isEmpty && passwordLocation == nil { passwordLocation = location }
        let setting = Setting(value: value, location: location)
        let tooMany = ConfigError(
          .syntax, location,
          "expected at most \(Self.maximumKeysPerSection) different keys in one section (the key is not shown)"
        )
        switch current {
        case .defaults:
          if defaults[key] == nil && defaults.count >= Self.maximumKeysPerSection { throw tooMany }
          defaults[key] = setting
          layer = nil
        case .account(let index):
          if drafts[index].inheritable[key] == nil
            && drafts[index].inheritable.count >= Self.maximumKeysPerSection
          {
            throw tooMany
          }
          drafts[index].inheritable[key] = setting
        }
      }
    }

    let accounts = drafts.map { draft in
      Account(
        name: draft.name, location: draft.location, parents: draft.parents, flavor: flavor,
        own: draft.inheritable, defaults: draft.defaults, home: home)
    }
    // msmtp logs in only with `auth` set; a `user` without it is a common slip that ends in a refused
    // recipient at the server, so say it once per line where the user is set.
    var userWithoutAuth = Set<ConfigLocation>()
    for account in accounts where account.user != nil && account.mechanism == nil {
      let location = account.location(of: "user")
      guard userWithoutAuth.insert(location).inserted else { continue }
      notes.append(
        ConfigNote(
          location: location, key: "user",
          message:
            "is set but auth is off (msmtp's default): like msmtp, Sealpost will not log in; add `auth on`"))
    }
    return AccountsConfig(
      path: path, flavor: flavor, accounts: accounts, notes: notes, passwordLocation: passwordLocation)
  }

  private func account(
    _ value: String, location: ConfigLocation, defaults: DefaultsLayer, drafts: [Draft],
    index: [String: Int]
  )
    throws(ConfigError) -> Draft
  {
    // Names are not echoed: an `account` line is a value like any other, and may be a mistyped secret.
    func fail(_ message: String) -> ConfigError { ConfigError(.syntax, location, key: "account", message) }
    let name: String
    var parents: [String] = []
    if let colon = value.firstIndex(of: ":") {
      name = String(value[..<colon].trimmingBlanks())
      guard !name.isEmpty else { throw fail("expected an account name") }
      guard name.utf8.count <= Self.maximumNameLength else {
        throw fail("expected an account name of at most \(Self.maximumNameLength) bytes")
      }
      for part in value[value.index(after: colon)...].split(separator: ",", omittingEmptySubsequences: false)
      {
        guard parents.count < Self.maximumParents else {
          throw fail("expected at most \(Self.maximumParents) parent accounts")
        }
        let parent = String(part.trimmingBlanks())
        guard !parent.isEmpty else { throw fail("expected an account name after the colon and each comma") }
        guard index[parent] != nil else {
          throw fail("expected parent accounts defined above; parent \(parents.count + 1) is not")
        }
        parents.append(parent)
      }
    } else {
      name = value
    }
    guard !name.isEmpty else { throw fail("expected an account name") }
    guard name.utf8.count <= Self.maximumNameLength else {
      throw fail("expected an account name of at most \(Self.maximumNameLength) bytes")
    }
    guard !name.contains(",") else { throw fail("expected an account name without commas") }
    if let earlier = index[name] {
      throw fail("expected a new account name; this one is already defined at \(drafts[earlier].location)")
    }
    var inherited: [String: Setting] = [:]
    for parent in parents {
      guard let position = index[parent] else { continue }
      inherited.merge(drafts[position].inheritable) { _, later in later }
    }
    return Draft(name: name, location: location, parents: parents, defaults: defaults, inheritable: inherited)
  }
}
