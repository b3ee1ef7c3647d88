import Foundation

/// The runtime's clock for a headless test: it stands still until the test moves it, so a draft's save timer
/// (issue 12) fires exactly when the test says, without waiting. Give ``now`` to
/// `ComposerSandbox.environment(now:)` and call ``HeadlessComposer/advance(_:by:)``.
public final class TestClock: @unchecked Sendable {
  private let lock = NSLock()
  private var current: Date

  public init(_ start: Date = Date(timeIntervalSince1970: 1_796_126_400)) {
    current = start
  }

  /// The time now, for `ComposerEnvironment.now`.
  public var now: @Sendable () -> Date {
    { [self] in
      lock.lock()
      defer { lock.unlock() }
      return current
    }
  }

  public func advance(by duration: Duration) {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    lock.lock()
    current = current.addingTimeInterval(seconds)
    lock.unlock()
  }
}
