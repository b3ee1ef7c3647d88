import SMTPTransport
import Synchronization

/// A session clock that moves only when a test says so (DESIGN §8: injected clocks, no sleeps). Waits of a
/// session on this clock are woken by `advance(by:)`, so a stall test reaches its deadline without waiting for it.
public final class ManualClock: SessionClock {
  private let current = Mutex<Duration>(.zero)
  public let wakeDescriptor: Int32

  public init() { wakeDescriptor = EventDescriptor.create() }

  deinit { EventDescriptor.close(wakeDescriptor) }

  public func now() -> Duration { current.withLock { $0 } }

  /// Moves time forward and wakes every wait on this clock.
  public func advance(by duration: Duration) {
    current.withLock { $0 += duration }
    EventDescriptor.signal(wakeDescriptor)
  }

  public func acknowledgeWake() { EventDescriptor.drain(wakeDescriptor) }
}
