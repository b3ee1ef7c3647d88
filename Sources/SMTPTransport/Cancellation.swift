import COpenSSL
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Cancels a send from any thread. `cancel()` wakes a connection blocked in connect, read, write or the TLS
/// handshake at once: every wait polls this object's eventfd, which becomes readable on cancel and stays so.
public final class Cancellation: Sendable {
  private let cancelled = Atomic<Bool>(false)
  /// Readable once cancelled; -1 if the kernel gave no descriptor (waits then poll the flag every 50 ms). Waits
  /// outside the transport (a password prompt) poll it too.
  public let eventDescriptor: Int32

  public init() {
    eventDescriptor = sealpost_eventfd()
  }

  deinit {
    if eventDescriptor >= 0 { Glibc.close(eventDescriptor) }
  }

  /// The exit status a cancelled send reports: 130 (as after SIGINT) unless the canceller says otherwise (143 for
  /// SIGTERM), so the outcome and the process agree.
  public var status: Int32 { statusStorage.load(ordering: .acquiring) }
  private let statusStorage = Atomic<Int32>(130)

  /// Idempotent; the first status given wins.
  public func cancel(status: Int32) {
    if !isCancelled { statusStorage.store(status, ordering: .releasing) }
    cancel()
  }

  /// Idempotent.
  public func cancel() {
    let (exchanged, _) = cancelled.compareExchange(
      expected: false, desired: true, ordering: .acquiringAndReleasing)
    guard exchanged, eventDescriptor >= 0 else { return }
    var one: UInt64 = 1
    _ = withUnsafeBytes(of: &one) { Glibc.write(eventDescriptor, $0.baseAddress, $0.count) }
  }

  public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
}

/// Process-wide signal set-up.
public enum Signals {
  /// Writing to a socket the peer closed raises SIGPIPE, which kills the process (OpenSSL writes with
  /// `write(2)`, which has no MSG_NOSIGNAL). Idempotent; `SMTPConnection.connect` calls it too.
  public static func ignoreSIGPIPE() {
    _ = signal(SIGPIPE, SIG_IGN)
  }
}

/// Process-wide memory set-up.
public enum ProcessMemory {
  /// One malloc arena for every thread (see `sealpost_single_malloc_arena` in the C shim). Call it before the
  /// first thread starts.
  public static func useOneArena() {
    sealpost_single_malloc_arena()
  }
}

/// A counter descriptor (eventfd: non-blocking, close-on-exec) that a thread signals and another polls: how a
/// session wakes a poll(2) loop, and how a manual clock wakes a waiting session.
public enum EventDescriptor {
  /// A new descriptor, or -1 if the kernel gave none.
  public static func create() -> Int32 { sealpost_eventfd() }

  /// Makes `descriptor` readable.
  public static func signal(_ descriptor: Int32) {
    guard descriptor >= 0 else { return }
    var one: UInt64 = 1
    _ = withUnsafeBytes(of: &one) { Glibc.write(descriptor, $0.baseAddress, $0.count) }
  }

  /// Makes `descriptor` unreadable again until the next `signal`.
  public static func drain(_ descriptor: Int32) {
    guard descriptor >= 0 else { return }
    var value: UInt64 = 0
    _ = withUnsafeMutableBytes(of: &value) { Glibc.read(descriptor, $0.baseAddress, $0.count) }
  }

  public static func close(_ descriptor: Int32) {
    if descriptor >= 0 { Glibc.close(descriptor) }
  }
}
