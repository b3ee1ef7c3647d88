import Dispatch

// Lanes for test suites that mostly wait. Swift Testing runs tests on Swift's concurrency pool, which is as wide as the machine has cores (2 on the team's
// machine). A test that blocks in `waitUntilExit` while the binary sits at a password prompt, waits out a
// `--timeout` or a stalled server, or while a pty driver sleeps, holds one of those two threads and leaves its
// core idle. The suites that mostly wait run on lanes of their own instead (a global actor on a serial queue: one
// thread outside the pool each), so the pool keeps both cores busy meanwhile. A lane runs one test at a time,
// so a suite on a lane is serialized, and the lanes add at most two processes that mostly sleep to the load.

/// The lane of the suites that drive the binary on a pseudo-terminal (prompts, Ctrl-Z, the composer's start).
@globalActor public actor TerminalLane {
  public static let shared = TerminalLane()
  private static let executor = QueueExecutor(label: "sealpost.tests.terminal-lane")
  public nonisolated var unownedExecutor: UnownedSerialExecutor { Self.executor.asUnownedSerialExecutor() }
}

/// The lane of the suites that wait for deadlines: stalled servers, `--timeout`, password commands that sleep.
@globalActor public actor DeadlineLane {
  public static let shared = DeadlineLane()
  private static let executor = QueueExecutor(label: "sealpost.tests.deadline-lane")
  public nonisolated var unownedExecutor: UnownedSerialExecutor { Self.executor.asUnownedSerialExecutor() }
}

/// A serial executor on a dispatch queue of its own (dispatch gives such a queue a thread outside the pool).
public final class QueueExecutor: SerialExecutor {
  private let queue: DispatchQueue

  public init(label: String) { queue = DispatchQueue(label: label) }

  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    let executor = asUnownedSerialExecutor()
    queue.async { job.runSynchronously(on: executor) }
  }

  public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
}
