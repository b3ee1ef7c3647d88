import Foundation

/// Waiting without holding one of Swift's concurrency threads.
///
/// Swift Testing runs tests on Swift's cooperative pool, which has as many threads as the machine has cores (2 on
/// the team's machine). A test that blocks a pool thread — in `waitUntilExit` while the binary sits at a prompt or
/// waits out a deadline, in a read from a pty driver, in a sleep, while a scripted server stalls — leaves that
/// core idle and keeps every other test off it. `OffPool.run` moves such a wait to a thread of its own and
/// suspends the test meanwhile, so the pool goes on with other tests, and tests that wait run at the same time
/// instead of one after another.
///
/// Only the blocking part belongs in `work`; expectations (`#expect`) stay in the test's own task, after the
/// `await`, where Swift Testing knows which test they belong to.
public enum OffPool {
  /// Runs `work` on a new thread and returns (or throws) what it did, once it has.
  public static func run<T: Sendable, E: Error>(_ work: @escaping @Sendable () throws(E) -> T) async throws(E)
    -> T
  {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, E>, Never>) in
      let thread = Thread {
        continuation.resume(returning: Result { () throws(E) -> T in try work() })
      }
      thread.name = "OffPool"
      thread.start()
    }
    return try result.get()
  }
}
