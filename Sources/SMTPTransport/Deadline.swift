#if canImport(Glibc)
  import Glibc
#endif

/// The time source of a session: deadlines and transcript timestamps (DESIGN §3.7, §8).
///
/// Production uses `SystemClock`. A test uses a manual clock (`MailSenderTesting.ManualClock`) so a stall test
/// takes the deadline it sets and no real time: waits poll the clock's `wakeDescriptor` beside the socket and
/// re-read `now()` whenever it becomes readable.
public protocol SessionClock: Sendable {
  /// Monotonic time since an origin of the clock's choosing.
  func now() -> Duration
  /// A descriptor that becomes readable when the clock jumps forward, or -1 for a clock whose time only flows.
  /// A waiter that sees it readable calls `acknowledgeWake()` and computes the time left again.
  var wakeDescriptor: Int32 { get }
  /// Drains `wakeDescriptor` after it was seen readable.
  func acknowledgeWake()
}

/// The real, monotonic clock (`CLOCK_MONOTONIC` through `ContinuousClock`).
public struct SystemClock: SessionClock {
  private let origin: ContinuousClock.Instant

  public init() { origin = ContinuousClock.now }

  public func now() -> Duration { ContinuousClock.now - origin }
  public var wakeDescriptor: Int32 { -1 }
  public func acknowledgeWake() {}
}

/// A point in a session clock's time by which a protocol step must be done.
public struct Deadline: Sendable {
  public let clock: any SessionClock
  /// On `clock`'s time line.
  public let instant: Duration

  public init(clock: any SessionClock, instant: Duration) {
    self.clock = clock
    self.instant = instant
  }

  /// `duration` from the clock's now.
  public static func after(_ duration: Duration, on clock: any SessionClock) -> Deadline {
    Deadline(clock: clock, instant: clock.now() + duration)
  }

  /// The earlier of two deadlines on the same clock.
  public func capped(at other: Duration) -> Deadline {
    Deadline(clock: clock, instant: min(instant, clock.now() + other))
  }

  public var hasPassed: Bool { clock.now() >= instant }

  /// Milliseconds left, rounded up, for poll(2); 0 once passed.
  public var millisecondsLeft: Int32 {
    let remaining = instant - clock.now()
    guard remaining > .zero else { return 0 }
    let (seconds, attoseconds) = remaining.components
    let total = seconds.multipliedReportingOverflow(by: 1000)
    if total.overflow || total.partialValue > Int64(Int32.max) - 1 { return Int32.max }
    return Int32(total.partialValue + attoseconds / 1_000_000_000_000_000 + 1)
  }
}
