import Accounts
import FoundationEssentials
import MailMessage
import MailSender
import SMTPProtocol
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The copy of a sent message that an account's `record` key asks for (issue 12): a Maildir folder that gets the
/// exact octets the server took — Bcc already removed, line ends as on the wire (CRLF), before dot-stuffing — once
/// the server's final 2xx after the end of data said the message was sent. Every front end calls
/// ``record(_:of:account:now:)`` after a send; a copy that cannot be written is a warning, never a failure of the
/// send (the message *was* sent).
public enum SentCopy {
  /// How the copy went.
  public enum Outcome: Sendable, Hashable {
    /// Delivered into the folder's `new/`, as this file.
    case recorded(path: String)
    /// Not written: the sentence to show after "warning: " (the key and its `file:line`, the step and the
    /// system's reason; never the folder's path, a config value).
    case failed(String)
  }

  /// The copy for `account`'s `record` folder of the message of `request`, when `report` says it was sent; nil
  /// when there is nothing to do (no account, no `record`, or not sent).
  ///
  /// The message is read once more from its source, written for the server's offer as the session wrote it
  /// (8BITMIME and SMTPUTF8 as the capabilities that counted said), so the copy holds the octets that were sent.
  @discardableResult
  public static func record(
    _ report: SendReport, of request: SendRequest, account: Account?, now: Date = Date()
  )
    -> Outcome?
  {
    guard let account, let folder = account.record else { return nil }
    return record(
      report, of: request, folder: folder, naming: "record (\(account.location(of: "record")))", now: now)
  }

  /// As ``record(_:of:account:now:)``, to the Maildir at `folder`; `naming` says which setting named it in a
  /// warning (the folder's path is never shown: it is a config value).
  @discardableResult
  public static func record(
    _ report: SendReport, of request: SendRequest, folder: String, naming: String, now: Date = Date()
  ) -> Outcome? {
    guard report.failure == nil, report.goal == .deliver else { return nil }
    do throws(Maildir.Failure) {
      let path = try Maildir(path: folder).deliver(request.message.source, offer: offer(of: report), now: now)
      return .recorded(path: path)
    } catch {
      return .failed("sent, but no copy was recorded: \(naming): \(error.reason)")
    }
  }

  /// What the session wrote the message for: the capabilities that counted (inside TLS when there was TLS).
  static func offer(of report: SendReport) -> ContentOffer {
    guard let capabilities = report.capabilitiesAfterTLS ?? report.capabilitiesBeforeTLS else {
      return .plain
    }
    return ContentOffer(eightBitMIME: capabilities.eightBitMIME, smtpUTF8: capabilities.smtpUTF8)
  }
}

/// A Maildir folder (the format of qmail's maildir(5), as Postfix, Dovecot and mutt read it): `tmp/`, `new/` and
/// `cur/`; a message is written whole into `tmp/` under a name no other delivery uses, synced, then linked into
/// `new/` (and the folder synced), so a reader never sees half a message and a crash leaves at most a file in
/// `tmp/`. Folders are made 0700, files 0600.
public struct Maildir: Sendable {
  public let path: String

  public init(path: String) {
    self.path = path
  }

  /// Why a delivery failed: the step and the system's reason, without the path.
  public struct Failure: Error, Sendable, Hashable {
    public var reason: String
  }

  /// Deliveries made by this process, for unique names (the `Q` part).
  private static let counter = Counter()

  /// Writes one pass of `source` (as written for `offer`, line ends made CRLF as on the wire) into `new/`;
  /// returns the file's path.
  ///
  /// Nothing inside the folder is followed: `tmp/`, `new/` and `cur/` are opened relative to the folder with
  /// `O_NOFOLLOW` (a symbolic link there, planted to send the copy elsewhere, is refused), the message is created
  /// relative to `tmp/` with `O_EXCL | O_NOFOLLOW` and linked relative to `new/`, never replacing a name taken.
  /// The folder itself may be a link: it is the person's own setting (a `~/Mail` linked to another disk, as mutt
  /// and Dovecot follow it).
  public func deliver(_ source: any MessageSource, offer: ContentOffer, now: Date = Date()) throws(Failure)
    -> String
  {
    try Self.makeDirectory(path)
    let root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard root >= 0 else { throw Self.failure("cannot open the folder", errno) }
    defer { close(root) }
    var folders: [String: Int32] = [:]
    defer { for descriptor in folders.values { close(descriptor) } }
    for sub in ["tmp", "new", "cur"] { folders[sub] = try Self.openSubfolder(sub, in: root) }
    guard let tmp = folders["tmp"], let new = folders["new"] else { throw Failure(reason: "no tmp/ or new/") }
    var lastError: Int32 = 0
    // A name taken (another process, a clock set back) gets a new one: the counter moves on.
    for _ in 0..<8 {
      let name = Self.uniqueName(now: now)
      let descriptor = openat(tmp, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
      guard descriptor >= 0 else {
        lastError = errno
        if errno == EEXIST { continue }
        throw Self.failure("cannot create the message in tmp/", errno)
      }
      do throws(Failure) {
        try write(source, offer: offer, to: descriptor)
      } catch {
        close(descriptor)
        unlinkat(tmp, name, 0)
        throw error
      }
      close(descriptor)
      // link(2) never replaces a name that exists (rename would), nor follows a link planted under it;
      // filesystems without hard links get a rename, only when nothing has the name.
      if linkat(tmp, name, new, name, 0) != 0 {
        let code = errno
        if code == EEXIST {
          unlinkat(tmp, name, 0)
          lastError = code
          continue
        }
        var info = stat()
        if fstatat(new, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
          unlinkat(tmp, name, 0)
          lastError = EEXIST
          continue
        }
        guard renameat(tmp, name, new, name) == 0 else {
          let renameError = errno
          unlinkat(tmp, name, 0)
          throw Self.failure("cannot move the message into new/", renameError)
        }
      } else {
        unlinkat(tmp, name, 0)
      }
      _ = fsync(new)
      _ = fsync(tmp)
      return "\(path)/new/\(name)"
    }
    throw Self.failure("no unique name in tmp/", lastError)
  }

  /// `tmp`, `new` or `cur` of the folder `root`, made 0700 when missing, opened without following a link.
  private static func openSubfolder(_ name: String, in root: Int32) throws(Failure) -> Int32 {
    if mkdirat(root, name, 0o700) != 0 && errno != EEXIST {
      throw Failure(reason: "cannot create the folder (or a part of it is not a folder)")
    }
    let descriptor = openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard descriptor >= 0 else {
      if errno == ELOOP || errno == ENOTDIR {
        throw Failure(
          reason:
            "\(name)/ of the folder is a symbolic link or not a folder: a copy is never written through "
            + "a link")
      }
      throw failure("cannot open \(name)/ of the folder", errno)
    }
    return descriptor
  }

  /// The message into `descriptor`: every bare CR or LF made CRLF as the session sends it (`DataEncoder`
  /// without dot-stuffing), then `fsync`.
  private func write(_ source: any MessageSource, offer: ContentOffer, to descriptor: Int32) throws(Failure) {
    var reader: any MessageReader
    do throws(MessageError) {
      reader = try source.open(for: offer)
    } catch {
      throw Failure(reason: "cannot read the message again: \(error.message)")
    }
    var encoder = DataEncoder(framing: .chunked)
    let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
    defer { input.deallocate() }
    var output = [UInt8]()
    output.reserveCapacity(DataEncoder.maximumEncodedCount(input.count) + DataEncoder.maximumFinishCount)
    while true {
      let count: Int
      do throws(MessageError) {
        count = try reader.read(into: input)
      } catch {
        throw Failure(reason: "cannot read the message again: \(error.message)")
      }
      output.removeAll(keepingCapacity: true)
      if count == 0 {
        encoder.finish(into: &output)
      } else {
        encoder.encode(UnsafeRawBufferPointer(rebasing: input[0..<count]), into: &output)
      }
      try Self.append(output, to: descriptor)
      if count == 0 { break }
    }
    guard fsync(descriptor) == 0 else { throw Self.failure("cannot write the message", errno) }
  }

  private static func append(_ bytes: [UInt8], to descriptor: Int32) throws(Failure) {
    var offset = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
      if written < 0 && errno == EINTR { continue }
      guard written > 0 else { throw failure("cannot write the message", errno) }
      offset += written
    }
  }

  /// `TIME.MUSECPPID_QCOUNT.HOST` (maildir(5) as Dovecot and Postfix write it), with `/` and `:` in the host
  /// name written as `\057` and `\072`.
  static func uniqueName(now: Date) -> String {
    let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
    let microseconds = Int64((now.timeIntervalSince1970 - Double(seconds)) * 1_000_000)
    var host = [CChar](repeating: 0, count: 256)
    gethostname(&host, host.count - 1)
    let name = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let safe =
      name.isEmpty
      ? "localhost"
      : name.replacing("/", with: "\\057")
        .replacing(":", with: "\\072")
    return "\(seconds).M\(microseconds)P\(getpid())Q\(counter.next()).\(safe)"
  }

  /// Creates `path` (0700) unless it is a directory already; its parents must exist or are made too.
  static func makeDirectory(_ path: String) throws(Failure) {
    do throws(AtomicFile.Failure) {
      try AtomicFile.makeDirectories(path)
    } catch {
      throw Failure(reason: "cannot create the folder (or a part of it is not a folder)")
    }
  }

  private static func failure(_ step: String, _ code: Int32) -> Failure {
    Failure(reason: "\(step): \(String(cString: strerror(code)))")
  }

  final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
      value.withLock { value in
        value += 1
        return value
      }
    }
  }
}
