import FoundationEssentials
import MailMessage
import SMTPProtocol
import SendPlanning
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The composer's diagnostics: nothing may print over the screen, so they go to
/// `$XDG_STATE_HOME/sealpost/composer.log` (mode 0600). Only fixed words, effect names, paths and verdicts
/// (which the core has scrubbed) are written: never a secret, a message body or a config value.
public final class DiagnosticLog: @unchecked Sendable {
  /// The log's path.
  public let path: String
  private let descriptor: Int32
  private let lock = Mutex(())

  /// Opens (creates) the log in `directory`; nil when it cannot be had.
  public init?(directory: String) {
    guard (try? AtomicFile.makeDirectories(directory)) != nil else { return nil }
    path = directory + "/composer.log"
    descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard descriptor >= 0 else { return nil }
    _ = fchmod(descriptor, 0o600)
  }

  deinit { close(descriptor) }

  /// The descriptor, for sending the process's stderr here while the screen is up.
  public var fileDescriptor: Int32 { descriptor }

  /// One line, escaped (DESIGN §3.6), with the time.
  public func write(_ line: String) {
    let stamp = MessageDate.isoDateTime(unixSeconds: Int64(Date().timeIntervalSince1970.rounded(.down)))
    let bytes = Array("\(stamp) \(UntrustedText(line).escaped)\n".utf8)
    lock.withLock { _ in
      _ = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
    }
  }
}
