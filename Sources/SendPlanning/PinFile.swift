import Accounts
import FoundationEssentials
import MailMessage
import MailSender
import SMTPProtocol
import SMTPTransport

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

  /// The pin file at `path`; empty when it does not exist. Errors name `file:line` (78).
  public static func load(path: String) throws(PlanningError) -> PinFile {
    guard FileManager.default.fileExists(atPath: path) else {
      return PinFile(path: path, entries: [], lines: [])
    }
    let file: CheckedFile
    do throws(CheckedFile.Refusal) {
      file = try CheckedFile.read(path: path, what: "pin file", limit: maximumSize)
    } catch {
      throw PlanningError(.configuration, "\(UntrustedText(path).escaped): \(error.message)")
    }
    return try PinFile(parsing: String(decoding: file.bytes, as: UTF8.self), path: path)
  }

  /// Parses the text of a pin file read from `path` (the name used in errors).
  public init(parsing text: String, path: String) throws(PlanningError) {
    self.path = path
    entries = []
    lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
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

  /// The pins recorded for `host` and `port`.
  public func pins(host: String, port: UInt16) -> [CertificatePin] {
    entries.filter { $0.port == port && ChannelPlan.sameHost($0.host, host) }.map {
      .spkiSHA256($0.spkiSHA256)
    }
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
    do throws(AtomicFile.Failure) {
      try AtomicFile.write(Array(text.utf8), to: path)
    } catch {
      throw PlanningError(
        .configuration, PlanningText(stringLiteral: UntrustedText(error.description).escaped))
    }
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
    let old = expected.map(TranscriptText.pinText).joined(separator: ", ")
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
