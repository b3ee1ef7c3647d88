import FoundationEssentials
import MailMessage
import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// Messages kept until a server has taken them (issue 12 §2, DESIGN §3.10): `$XDG_STATE_HOME/sealpost/outbox/`,
/// folder 0700, files 0600, every write atomic (``AtomicFile``).
///
/// Each entry is two files: `ID.eml`, the exact bytes to send (Bcc already removed), and `ID.json`, its
/// ``OutboxEntry`` sidecar (envelope, account, attempts, state). The message is written first and the sidecar
/// second, so a listed entry always has its message. `ID.lock` is locked with `flock` by whoever sends the entry;
/// the kernel drops the lock when that process dies, so a stale lock never blocks a later flush, and two flushes
/// at once never send one message twice.
public struct Outbox: Sendable {
  public let directory: String

  public init(directory: String) {
    self.directory = directory
  }

  /// The outbox of `environment`: `$XDG_STATE_HOME/sealpost/outbox`, else `~/.local/state/sealpost/outbox`.
  public static func standard(environment: [String: String]) throws(OutboxError) -> Outbox {
    Outbox(directory: try stateDirectory(environment: environment) + "/outbox")
  }

  /// `$XDG_STATE_HOME/sealpost` (an absolute path), else `$HOME/.local/state/sealpost`.
  static func stateDirectory(environment: [String: String]) throws(OutboxError) -> String {
    if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/sealpost" }
    guard let home = environment["HOME"], home.hasPrefix("/") else {
      throw OutboxError(
        .cannotWrite, "no state folder for the outbox: neither XDG_STATE_HOME nor HOME is an absolute path")
    }
    return home + "/.local/state/sealpost"
  }

  /// An entry's id: letters, digits and `-` only, so an id given on a command line never names another file.
  public static func isValidID(_ id: String) -> Bool {
    !id.isEmpty && id.count <= 64
      && id.utf8.allSatisfy {
        ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D
      }
  }

  /// A new id: the time (so `ls` sorts by age) and 48 random bits.
  static func newID(now: Date) -> String {
    var random = SystemRandomNumberGenerator()
    let stamp = Int64(now.timeIntervalSince1970 * 1000)
    return "\(stamp)-" + String(random.next() & 0xFFFF_FFFF_FFFF, radix: 16)
  }

  func messagePath(_ id: String) -> String { "\(directory)/\(id).eml" }
  func sidecarPath(_ id: String) -> String { "\(directory)/\(id).json" }
  func lockPath(_ id: String) -> String { "\(directory)/\(id).lock" }

  /// Adds a message (message file first, then its sidecar) and returns the entry as written, with its lock held
  /// (taken before the sidecar exists, so no flush can take the entry before the caller is done with it).
  public func add(
    message: [UInt8], envelope: OutboxEntry.Envelope, route: OutboxEntry.Route, state: OutboxEntry.State,
    now: Date = Date()
  ) throws(OutboxError) -> (OutboxEntry, EntryLock) {
    let id = Self.newID(now: now)
    try write(message, to: messagePath(id))
    guard let lock = try lock(id) else { throw OutboxError(.cannotWrite, "the new entry \(id) is locked") }
    var entry = OutboxEntry(
      id: id, route: route, envelope: envelope, size: message.count, attempts: 0, lastError: nil,
      state: state,
      created: now.timeIntervalSince1970, updated: now.timeIntervalSince1970)
    entry.subject = OutboxEntry.subject(of: message)
    try save(entry)
    return (entry, lock)
  }

  /// Writes the sidecar of `entry` (atomically: the old one or the new one survives a crash).
  public func save(_ entry: OutboxEntry) throws(OutboxError) {
    guard Self.isValidID(entry.id) else { throw OutboxError(.usage, "not an outbox id") }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    let data: Data
    do { data = try encoder.encode(entry) } catch {
      throw OutboxError(.unreadable, "the outbox entry \(entry.id) cannot be encoded")
    }
    try write(Array(data) + [0x0A], to: sidecarPath(entry.id))
  }

  /// Adds a message that streams (attachments, a large `--message`): written a piece at a time as a server
  /// offering no extension gets it (valid for any server), never held whole; a pass that fails adds nothing.
  public func add(
    source: any MessageSource, envelope: OutboxEntry.Envelope, route: OutboxEntry.Route,
    state: OutboxEntry.State, now: Date = Date()
  ) throws(OutboxError) -> (OutboxEntry, EntryLock) {
    let id = Self.newID(now: now)
    let written: (size: Int, head: [UInt8])
    do throws(AtomicFile.Failure) {
      written = try AtomicFile.write(source, offer: .plain, to: messagePath(id))
    } catch {
      throw OutboxError(.cannotWrite, "cannot write to the outbox: \(error.description)")
    }
    guard let lock = try lock(id) else { throw OutboxError(.cannotWrite, "the new entry \(id) is locked") }
    var entry = OutboxEntry(
      id: id, route: route, envelope: envelope, size: written.size, attempts: 0, lastError: nil,
      state: state,
      created: now.timeIntervalSince1970, updated: now.timeIntervalSince1970)
    entry.subject = OutboxEntry.subject(of: written.head)
    try save(entry)
    return (entry, lock)
  }

  private func write(_ bytes: [UInt8], to path: String) throws(OutboxError) {
    do throws(AtomicFile.Failure) {
      try AtomicFile.write(bytes, to: path)
    } catch {
      throw OutboxError(.cannotWrite, "cannot write to the outbox: \(error.description)")
    }
  }

  /// Every entry with a readable sidecar, oldest first; an entry left "sending" by a process that died (its lock
  /// is free) is shown as "delivery unknown", which is what it is.
  public func entries() -> [OutboxEntry] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
    var result: [OutboxEntry] = []
    for name in names where name.hasSuffix(".json") {
      let id = String(name.dropLast(".json".count))
      guard Self.isValidID(id), var entry = try? load(id) else { continue }
      if entry.state == .sending && !isLocked(id) { entry.state = .deliveryUnknown }
      result.append(entry)
    }
    return result.sorted { ($0.created, $0.id) < ($1.created, $1.id) }
  }

  /// The sidecar of `id`.
  public func load(_ id: String) throws(OutboxError) -> OutboxEntry {
    guard Self.isValidID(id) else {
      throw OutboxError(.usage, "\(UntrustedText(id).escaped) is not an outbox id")
    }
    guard let data = FileManager.default.contents(atPath: sidecarPath(id)) else {
      throw OutboxError(.missing, "no message \(id) in the outbox")
    }
    do {
      return try JSONDecoder().decode(OutboxEntry.self, from: data)
    } catch {
      throw OutboxError(.unreadable, "the outbox entry \(id) is unreadable (\(sidecarPath(id)))")
    }
  }

  /// The message bytes of `id`.
  public func message(_ id: String) throws(OutboxError) -> [UInt8] {
    guard Self.isValidID(id), let data = FileManager.default.contents(atPath: messagePath(id)) else {
      throw OutboxError(.missing, "the message of outbox entry \(id) is missing (\(messagePath(id)))")
    }
    return Array(data)
  }

  /// Removes an entry: the sidecar first (the entry is gone from then on), then the message and the lock file.
  public func remove(_ id: String) throws(OutboxError) {
    guard Self.isValidID(id) else { throw OutboxError(.usage, "not an outbox id") }
    guard unlink(sidecarPath(id)) == 0 || errno == ENOENT else {
      throw OutboxError(
        .cannotWrite, "cannot remove \(sidecarPath(id)): \(String(cString: strerror(errno)))")
    }
    unlink(messagePath(id))
    unlink(lockPath(id))
    syncDirectory()
  }

  private func syncDirectory() {
    let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if descriptor >= 0 {
      _ = fsync(descriptor)
      close(descriptor)
    }
  }

  /// Whether another process holds the lock of `id` now (a lock file that cannot be opened counts as held).
  public func isLocked(_ id: String) -> Bool {
    (try? lock(id)) == nil
  }

  /// Takes the lock of `id` without waiting: nil when another process holds it. The lock lasts until the
  /// returned value is released, or the process ends.
  public func lock(_ id: String) throws(OutboxError) -> EntryLock? {
    guard Self.isValidID(id) else { throw OutboxError(.usage, "not an outbox id") }
    let descriptor = open(lockPath(id), O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
      throw OutboxError(
        .cannotWrite, "cannot lock \(lockPath(id)): \(String(cString: strerror(errno)))")
    }
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
      close(descriptor)
      return nil
    }
    return EntryLock(descriptor: descriptor)
  }

  /// A held entry lock.
  public final class EntryLock: Sendable {
    let descriptor: Int32
    init(descriptor: Int32) { self.descriptor = descriptor }
    deinit { close(descriptor) }
  }
}

/// Why the outbox (or the draft store) could not do what was asked; no message content, no secret.
public struct OutboxError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Kind: Sendable, Hashable {
    /// An id that is not one (64).
    case usage
    /// No such entry (66, EX_NOINPUT).
    case missing
    /// A sidecar that cannot be decoded (65).
    case unreadable
    /// A folder or file that cannot be written: a full disk, a read-only folder (73, EX_CANTCREAT).
    case cannotWrite
  }

  public var kind: Kind
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  /// sysexits.h.
  public var exitCode: Int32 {
    switch kind {
    case .usage: 64
    case .missing: 66
    case .unreadable: 65
    case .cannotWrite: 73
    }
  }

  public var description: String { message }
}

/// The sidecar of an outbox entry (JSON): never a secret — the route names the account and the channel flags,
/// never a password or a password command.
public struct OutboxEntry: Codable, Sendable, Hashable {
  /// `queued`: due at the next flush (also while its session runs, until its final dot is about to leave).
  /// `sending`: the final dot (or LAST chunk) is about to leave or has left — written by the session's hook just
  /// before that write (issue 12 §3), so a kill before it leaves the entry queued and a kill after it leaves it
  /// known as unsure (a `sending` entry whose lock is free lists as "delivery unknown"). `delivery-unknown`:
  /// the end of data may have reached the server; resent only when named with `--include-unknown`. `failed`:
  /// refused for good (5xx, a security or configuration failure); resent only when named.
  public enum State: String, Codable, Sendable, Hashable {
    case queued, sending
    case deliveryUnknown = "delivery-unknown"
    case failed

    /// As `outbox` lists it.
    public var words: String {
      switch self {
      case .queued: "queued"
      case .sending: "sending"
      case .deliveryUnknown: "delivery unknown"
      case .failed: "failed"
      }
    }
  }

  /// The envelope, as the server is to get it.
  public struct Envelope: Codable, Sendable, Hashable {
    public var reversePath: String
    public var recipients: [String]
    public init(reversePath: String, recipients: [String]) {
      self.reversePath = reversePath
      self.recipients = recipients
    }
  }

  /// How to reach the server again: the config file and account, and the channel flags given (no secret).
  public struct Route: Codable, Sendable, Hashable {
    public var config: String?
    public var account: String?
    public var server: String?
    public var port: Int?
    public var tls: String?
    public var allowInsecure: Bool
    public var caFile: String?
    public var pins: [String]
    public var user: String?
    public var auth: String?
    public var ehlo: String?
    public var timeout: Double?

    public init(config: String?, account: String?, overrides: ChannelOverrides) {
      self.config = config
      self.account = account
      server = overrides.server
      port = overrides.port
      tls = overrides.tls
      allowInsecure = overrides.allowInsecure
      caFile = overrides.caFile
      pins = overrides.pins
      user = overrides.user
      auth = overrides.auth
      ehlo = overrides.ehlo
      timeout = overrides.timeout
    }

    public var overrides: ChannelOverrides {
      ChannelOverrides(
        server: server, port: port, tls: tls, allowInsecure: allowInsecure, caFile: caFile, pins: pins,
        user: user, auth: auth, ehlo: ehlo, timeout: timeout)
    }
  }

  public var id: String
  public var route: Route
  public var envelope: Envelope
  public var subject: String?
  /// Octets of the message file.
  public var size: Int
  /// Sessions started for this message.
  public var attempts: Int
  /// The last failure's line (escaped, scrubbed, as the verdict said it).
  public var lastError: String?
  public var state: State
  /// Seconds since 1970.
  public var created: Double
  public var updated: Double

  public init(
    id: String, route: Route, envelope: Envelope, size: Int, attempts: Int, lastError: String?, state: State,
    created: Double, updated: Double
  ) {
    self.id = id
    self.route = route
    self.envelope = envelope
    self.size = size
    self.attempts = attempts
    self.lastError = lastError
    self.state = state
    self.created = created
    self.updated = updated
  }

  /// The Subject field of `message`, unfolded, for the listing (escaped when shown).
  static func subject(of message: [UInt8]) -> String? {
    SuppliedEnvelope.headerFields(message).first { $0.name == "subject" }.map {
      $0.value.trimmingSpacesAndTabs()
    }
  }
}
