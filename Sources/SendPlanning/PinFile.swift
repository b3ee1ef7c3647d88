import Accounts
import FoundationEssentials
import MailMessage
import MailSender
import SMTPProtocol
import SMTPTransport

#if canImport(Glibc)
  import Glibc
#endif

/// Sealpost's pin file (DESIGN §6), like ssh's known_hosts: `$XDG_CONFIG_HOME/sealpost/pins`
/// (`~/.config/sealpost/pins`), one `HOST:PORT sha256/BASE64` a line, each after a `#` comment with the date, the
/// SHA-256 fingerprint and the subject. The composer records a pin there after the person has seen the chain and
/// confirmed; every send reads it, whichever config file is in use. A config file is never rewritten to record a
/// pin. Mode 0600, written atomically; a file that group or others may write is refused, as a config file is.
public struct PinFile: Sendable {
  /// One recorded pin.
  public struct Entry: Sendable, Hashable {
    public var host: String
    public var port: UInt16
    /// The SHA-256 of the leaf's SubjectPublicKeyInfo.
    public var spkiSHA256: [UInt8]
    /// `sha256/BASE64`.
    public var text: String { "sha256/" + String(decoding: SASL.base64(spkiSHA256), as: UTF8.self) }
  }

  /// The file's path (whether or not it exists).
  public var path: String
  public var entries: [Entry]
  /// The lines as read, for rewriting.
  var lines: [String]

  /// The most a pin file may hold.
  static let maximumSize = 1 << 20

  /// The pin file's path for this environment, nil when neither `XDG_CONFIG_HOME` (absolute) nor `HOME` is set.
  public static func path(environment: [String: String]) -> String? {
    if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/sealpost/pins" }
    guard let home = environment["HOME"], !home.isEmpty else { return nil }
    return home + "/.config/sealpost/pins"
  }

  /// The pin file of this environment; empty when it does not exist (or there is no home to look in).
  public static func load(environment: [String: String]) throws(PlanningError) -> PinFile {
    guard let path = path(environment: environment) else { return PinFile(path: "", entries: [], lines: []) }
    return try load(path: path)
  }

  /// The pin file at `path`; empty when nothing is there. Errors name `file:line` (78).
  ///
  /// Anything at `path` is read, or refused naming the file: a symbolic link that leads nowhere (or loops) is
  /// not "no pin file" — its pins would be ignored and the CA check used in their place. The file's folder is
  /// checked as ssh checks the folders of `authorized_keys`: one that group or others may write (without the
  /// sticky bit), or that belongs to another user, is refused, since whoever may write it could remove the file
  /// and with it every pin.
  public static func load(path: String) throws(PlanningError) -> PinFile {
    var link = stat()
    guard lstat(path, &link) == 0 else {
      // ENOENT: nothing there; ENOTDIR: a folder on the way is a file, so nothing can be there either.
      if errno == ENOENT || errno == ENOTDIR { return PinFile(path: path, entries: [], lines: []) }
      throw PlanningError(
        .configuration,
        "\(UntrustedText(path).escaped): cannot read the pin file: \(String(cString: strerror(errno)))")
    }
    try checkFolder(of: path)
    let file: CheckedFile
    do throws(CheckedFile.Refusal) {
      file = try CheckedFile.read(path: path, what: "pin file", limit: maximumSize)
    } catch {
      let isLink = link.st_mode & S_IFMT == S_IFLNK
      let linked =
        isLink && error.kind == .unreadable ? " (it is a symbolic link: its target cannot be read)" : ""
      throw PlanningError(.configuration, "\(UntrustedText(path).escaped): \(error.message)\(linked)")
    }
    return try PinFile(parsing: String(decoding: file.bytes, as: UTF8.self), path: path)
  }

  /// Refuses the pin file when its folder may be written by someone else (see ``load(path:)``).
  static func checkFolder(of path: String) throws(PlanningError) {
    var folder = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
    if folder.isEmpty { folder = path.hasPrefix("/") ? "/" : "." }
    var info = stat()
    guard stat(folder, &info) == 0 else { return }
    let quoted = AccountsConfig.shellQuoted(folder)
    let user = getuid()
    guard info.st_uid == user || info.st_uid == 0 else {
      throw PlanningError(
        .configuration,
        "\(UntrustedText(path).escaped): the pin file's folder belongs to uid \(info.st_uid), not to you (uid "
          + "\(user)) or root, so its owner could remove or replace your pins; if it is yours, run chown \(user) "
          + "\(quoted)")
    }
    let mode = UInt32(info.st_mode & 0o7777)
    guard mode & 0o022 == 0 || mode & UInt32(S_ISVTX) != 0 else {
      throw PlanningError(
        .configuration,
        "\(UntrustedText(path).escaped): group or others may write the pin file's folder (mode "
          + "\(String(mode, radix: 8))), so they could remove or replace your pins; run chmod go-w "
          + "\(quoted)")
    }
  }

  /// Parses the text of a pin file read from `path` (the name used in errors).
  public init(parsing text: String, path: String) throws(PlanningError) {
    self.path = path
    entries = []
    // "\r\n" is one Character: split on either, so a file with CRLF line ends is read line by line (as ssh
    // reads known_hosts) instead of as one line — a comment first made the whole file a comment.
    lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(
      String.init)
    if lines.last == "" { lines.removeLast() }
    for (index, line) in lines.enumerated() {
      let trimmed = line.trimmingSpacesAndTabs()
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      let location = "\(UntrustedText(path).escaped):\(index + 1)"
      let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard words.count == 2 else {
        throw PlanningError(.configuration, "\(location): expected `HOST:PORT sha256/BASE64`")
      }
      let address: ServerAddress
      do throws(PlanningError) {
        address = try ServerAddress(parsing: String(words[0]))
      } catch {
        throw PlanningError(.configuration, "\(location): not a HOST:PORT")
      }
      guard let port = address.port else {
        throw PlanningError(.configuration, "\(location): the host has no port (HOST:PORT)")
      }
      switch PinText.spkiSHA256(String(words[1])) {
      case .success(let bytes):
        entries.append(Entry(host: address.host, port: port, spkiSHA256: bytes))
      case .failure(.weakHash):
        throw PlanningError(.configuration, "\(location): SHA-1 and MD5 pins are refused; use sha256/BASE64")
      case .failure(.malformed):
        throw PlanningError(
          .configuration, "\(location): expected sha256/BASE64 (the SHA-256 of the server key's SPKI)")
      }
    }
  }

  init(path: String, entries: [Entry], lines: [String]) {
    self.path = path
    self.entries = entries
    self.lines = lines
  }

  /// The pins recorded for `host` and `port`, each once (a line written twice is one pin).
  public func pins(host: String, port: UInt16) -> [CertificatePin] {
    var pins: [CertificatePin] = []
    for entry in entries where entry.port == port && ChannelPlan.sameHost(entry.host, host) {
      let pin = CertificatePin.spkiSHA256(entry.spkiSHA256)
      if !pins.contains(pin) { pins.append(pin) }
    }
    return pins
  }

  /// The file's text with `pin` recorded for `host` and `port`, replacing any pin recorded for them before (and
  /// the comment above it); `comment` goes on the line above.
  public func recording(host: String, port: UInt16, pin: String, comment: String) throws(PlanningError)
    -> String
  {
    guard case .success = PinText.spkiSHA256(pin) else {
      throw PlanningError(.usage, "not a pin: expected sha256/BASE64")
    }
    let safeComment = String(
      comment.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
    var kept: [String] = []
    for line in lines {
      let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      if words.count == 2, let address = try? ServerAddress(parsing: String(words[0])), address.port == port,
        ChannelPlan.sameHost(address.host, host)
      {
        if kept.last?.hasPrefix("#") == true { kept.removeLast() }
        continue
      }
      kept.append(line)
    }
    kept.append("# " + safeComment)
    kept.append("\(ChannelPlan.hostAndPort(host, port)) \(pin)")
    return kept.joined(separator: "\n") + "\n"
  }

  /// Records `pin` for `host` and `port` in the file at `path` (0600, atomic) and returns the path. An existing
  /// file that cannot be read as a pin file is left alone (the error says why).
  public static func record(
    host: String, port: UInt16, pin: String, comment: String, path: String
  ) throws(PlanningError) -> String {
    let current = try load(path: path)
    let text = try current.recording(host: host, port: port, pin: pin, comment: comment)
    try AtomicFile.writeSettings(text, to: path)
    return path
  }
}

/// The pins a plan took from the pin file (DESIGN §6), and where that file is: what a front end names when a
/// pinned host's key has changed.
public struct RecordedPins: Sendable, Hashable {
  /// The pin file's path.
  public var path: String
  /// The pins recorded there for the plan's host and port.
  public var pins: [CertificatePin]

  public init(path: String, pins: [CertificatePin]) {
    self.path = path
    self.pins = pins
  }

  /// DESIGN §6: a pinned host whose key changed shows the old and the new key side by side — `expected`, the
  /// pins the session trusted (those recorded in `recordedIn`, when it is given, with any of the account's), and
  /// the key the server has now. Every front end says it in these words and adds its own way to change it.
  public static func changedKey(
    expected: [CertificatePin], serverKey spkiSHA256: [UInt8], recordedIn: String?
  )
    -> String
  {
    // Each key once: the same pin recorded twice, or given by the account and the file, is one key.
    var keys: [String] = []
    for pin in expected.map(TranscriptText.pinText) where !keys.contains(pin) { keys.append(pin) }
    let old = keys.joined(separator: ", ")
    let source = recordedIn.map { " (recorded in \(UntrustedText($0).escaped))" } ?? ""
    return
      "the key pinned: \(old)\(source); the server's key now: sha256/\(TranscriptText.base64(spkiSHA256))"
  }
}

extension ChannelPlan {
  /// DESIGN §6: pins recorded for this host and port replace the CA check, unless the front end gave trust of
  /// its own (a pin or a CA file of its own always wins). The account's own pins stay beside them.
  public mutating func applyRecordedPins(_ file: PinFile, overrides: ChannelOverrides) {
    guard security != .plaintext, overrides.pins.isEmpty, overrides.caFile == nil else { return }
    let recorded = file.pins(host: host, port: port)
    guard !recorded.isEmpty else { return }
    recordedPins = RecordedPins(path: file.path, pins: recorded)
    if case .pins(let existing) = trust {
      trust = .pins(existing + recorded.filter { !existing.contains($0) })
    } else {
      trust = .pins(recorded)
    }
  }
}
