import SMTPProtocol

/// Which file a config comes from: Sealpost's own (its keys allowed, unknown keys are errors) or msmtp's (read
/// unchanged; a key Sealpost does not know makes that account unusable, since it may change the connection).
public enum ConfigFlavor: String, Sendable, Hashable {
  case sealpost
  case msmtp
}

/// What a key's value must look like, and what Sealpost does with it.
enum KeyRule: Sendable, Hashable {
  /// Any text; empty unsets.
  case text
  /// Text that must not be empty.
  case requiredText
  /// 1–65535.
  case port
  /// `on`, `off`, or empty (msmtp: empty means on).
  case onOff
  /// `off` or whole seconds.
  case timeout
  /// `on`, `off`, empty, or an msmtp method name.
  case auth
  /// Colon hex of a certificate hash.
  case fingerprint
  /// A file name; `~` is the home folder.
  case path
  /// Sealpost's `pin sha256/BASE64[,sha256/BASE64…]`.
  case pins
  /// `smtp` or `lmtp`.
  case protocolName
  /// Changes the connection in a way Sealpost does not implement; harmless only with one of these values.
  case unsupported(harmlessValues: Set<String>)
  /// Read and ignored: it does not touch the channel or the secret.
  case harmless
}

enum ConfigKeys {
  /// msmtp's commands (msmtp 1.8 manual, "Configuration files"), with what Sealpost does with each.
  static let msmtp: [String: KeyRule] = [
    "host": .requiredText, "port": .port, "timeout": .timeout, "protocol": .protocolName, "domain": .text,
    "auth": .auth, "user": .text, "password": .text, "passwordeval": .text, "tls": .onOff,
    "tls_starttls": .onOff, "tls_trust_file": .path, "tls_fingerprint": .fingerprint, "tls_certcheck": .onOff,
    "from": .text,
    // Connection-changing keys Sealpost does not implement: set, they make the account unusable.
    "source_ip": .unsupported(harmlessValues: [""]), "proxy_host": .unsupported(harmlessValues: [""]),
    "proxy_port": .unsupported(harmlessValues: [""]), "socket": .unsupported(harmlessValues: [""]),
    "tls_cert_file": .unsupported(harmlessValues: [""]), "tls_key_file": .unsupported(harmlessValues: [""]),
    "tls_crl_file": .unsupported(harmlessValues: [""]), "tls_priorities": .unsupported(harmlessValues: [""]),
    "tls_min_dh_prime_bits": .unsupported(harmlessValues: [""]),
    "tls_host_override": .unsupported(harmlessValues: [""]),
    "tls_force_sslv3": .unsupported(harmlessValues: ["off"]), "eval": .unsupported(harmlessValues: [""]),
    // Message and logging keys that do not touch the channel: noted once and ignored.
    "logfile": .harmless, "logfile_time_format": .harmless, "syslog": .harmless, "aliases": .harmless,
    "auto_from": .harmless, "maildomain": .harmless, "keepbcc": .harmless, "dsn_notify": .harmless,
    "dsn_return": .harmless, "ntlmdomain": .harmless, "from_full_name": .harmless,
    "allow_from_override": .harmless, "set_from_header": .harmless, "set_date_header": .harmless,
    "set_msgid_header": .harmless, "remove_bcc_headers": .harmless, "undisclosed_recipients": .harmless,
    "add_missing_from_header": .harmless, "add_missing_date_header": .harmless,
  ]

  /// Keys only Sealpost's own file may hold.
  static let sealpostOnly: [String: KeyRule] = [
    "display_name": .text, "signature": .path, "drafts": .path, "theme": .text, "pin": .pins,
    "allow_insecure": .onOff, "queue": .onOff, "record": .path,
    // S/MIME (issue 15): the signer's certificate and key, the passphrase command of an encrypted key, the CA
    // file recipients' certificates chain to (instead of the system store), and signing by default.
    "smime_cert": .path, "smime_key": .path, "smime_passphrase_eval": .text, "smime_ca_file": .path,
    "smime_sign": .onOff,
  ]

  /// msmtp's old spellings and what they mean now.
  static let aliases: [String: (key: String, value: String?)] = [
    "tls_nocertcheck": ("tls_certcheck", "off"), "tls_nostarttls": ("tls_starttls", "off"),
    "connect_timeout": ("timeout", nil),
  ]

  /// SASL methods msmtp names that Sealpost lacks (DESIGN §4: PLAIN and LOGIN only, for now).
  static let unsupportedMethods: Set<String> = [
    "cram-md5", "digest-md5", "scram-sha-1", "scram-sha-1-plus", "scram-sha-256", "scram-sha-256-plus",
    "gssapi",
    "external", "ntlm", "oauthbearer", "xoauth2",
  ]

  /// Whether `key` is a word Sealpost knows (a key of either file, an old spelling, `account`, `defaults`):
  /// only such keys are named in messages; any other first word may be a secret typed on the wrong line.
  static func isKnown(_ key: String) -> Bool {
    msmtp[key] != nil || sealpostOnly[key] != nil || aliases[key] != nil || key == "account"
      || key == "defaults"
  }

  static func rule(for key: String, flavor: ConfigFlavor) -> KeyRule? {
    if let rule = msmtp[key] { return rule }
    if flavor == .sealpost { return sealpostOnly[key] }
    return nil
  }

  /// Checks a value against its rule; the message says what was expected. No value is ever echoed, whatever the
  /// key: a mistyped line can put a secret anywhere (issue 7).
  static func check(_ value: String, rule: KeyRule, key: String) -> String? {
    switch rule {
    case .text, .path, .harmless, .unsupported: return nil
    case .requiredText: return value.isEmpty ? "expected a value" : nil
    case .port:
      return port(value) == nil ? "expected a port number from 1 to 65535" : nil
    case .onOff:
      return onOff(value) == nil ? "expected on or off" : nil
    case .timeout:
      return value == "off" || seconds(value) != nil
        ? nil : "expected off or whole seconds from 1 to 86400"
    case .auth:
      let known = ["", "on", "off", "plain", "login"].contains(value) || unsupportedMethods.contains(value)
      return known ? nil : "expected on, off, plain or login"
    case .fingerprint:
      guard !value.isEmpty else { return nil }
      guard let bytes = fingerprint(value), [16, 20, 32].contains(bytes.count) else {
        return "expected a SHA-256 fingerprint: 32 hex bytes separated by colons (AB:CD:…)"
      }
      return nil
    case .pins:
      guard !value.isEmpty else { return nil }
      return pins(value) == nil
        ? "expected sha256/BASE64 (the SHA-256 of the server key's SPKI), several separated by commas; "
          + "SHA-1 and MD5 pins are refused"
        : nil
    case .protocolName:
      return value == "smtp" || value == "lmtp" ? nil : "expected smtp or lmtp"
    }
  }

  static func port(_ value: String) -> UInt16? {
    guard !value.isEmpty, value.utf8.count <= 5, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
      let number = UInt16(value), number > 0
    else { return nil }
    return number
  }

  static func onOff(_ value: String) -> Bool? {
    switch value {
    case "", "on": true
    case "off": false
    default: nil
    }
  }

  static func seconds(_ value: String) -> Int? {
    guard !value.isEmpty, value.utf8.count <= 5, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
      let number = Int(value), (1...86_400).contains(number)
    else { return nil }
    return number
  }

  /// `AB:CD:…` (msmtp also accepts blanks between the bytes), any length; nil if malformed.
  static func fingerprint(_ value: String) -> [UInt8]? {
    let parts = value.split(omittingEmptySubsequences: false, whereSeparator: { $0 == ":" || $0 == " " })
    var bytes: [UInt8] = []
    for part in parts {
      guard part.utf8.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
      bytes.append(byte)
    }
    return bytes
  }

  /// Each `sha256/BASE64` of a 32-byte SPKI hash.
  static func pins(_ value: String) -> [[UInt8]]? {
    var result: [[UInt8]] = []
    for part in value.split(separator: ",", omittingEmptySubsequences: false) {
      guard case .success(let bytes) = PinText.spkiSHA256(String(part.trimmingBlanks())) else { return nil }
      result.append(bytes)
    }
    return result
  }
}

extension Substring {
  func trimmingBlanks() -> Substring {
    let start = drop(while: ConfigLine.isBlank)
    var end = start.endIndex
    while end > start.startIndex, ConfigLine.isBlank(start[start.index(before: end)]) {
      end = start.index(before: end)
    }
    return start[start.startIndex..<end]
  }
}
