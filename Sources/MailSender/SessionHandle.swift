import SMTPTransport
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A running send or probe (DESIGN §2): its events as they happen, `cancel()`, and the result.
///
/// The session runs on a thread of its own. Events are queued without bound and never wait for a consumer, so
/// a slow or blocked consumer neither slows the session nor eats its deadlines, and no event is lost. Consume the
/// events one way per handle: `nextEvent()` (blocking), `availableEvents()` with `eventDescriptor` in a poll(2)
/// loop (the terminal UI), or the `events` async sequence. The last event is always the outcome.
public final class SessionHandle<Report: Sendable>: Sendable {
  private let state = ConditionLock(State())
  private let cancellation: Cancellation
  /// Readable while events are queued (an eventfd); -1 if the kernel gave none.
  public let eventDescriptor: Int32

  private struct State: @unchecked Sendable {
    var queue: [SendEvent] = []
    var head = 0
    var delivered = false
    var report: Report?
    var continuation: AsyncStream<SendEvent>.Continuation?
    var reportWaiters: [CheckedContinuation<Report, Never>] = []
  }

  init(cancellation: Cancellation) {
    self.cancellation = cancellation
    eventDescriptor = EventDescriptor.create()
  }

  deinit {
    EventDescriptor.close(eventDescriptor)
  }

  /// Runs `body` on a new thread; `body` emits through `emit` and returns the report.
  static func start(
    cancellation: Cancellation,
    _ body: @escaping @Sendable (_ emit: @escaping @Sendable (SendEvent) -> Void) -> Report
  ) -> SessionHandle {
    let handle = SessionHandle(cancellation: cancellation)
    SessionThread.run {
      let report = body { event in handle.append(event) }
      handle.finish(report)
    }
    return handle
  }

  // MARK: Control

  /// Cancels the session: the connection (or password command) is closed at once. Before the write holding the
  /// final dot the outcome is "cancelled — not sent"; after it, "delivery unknown". Idempotent.
  public func cancel() { cancellation.cancel() }

  /// Cancels with the exit status the outcome should report (143 when the reason was SIGTERM).
  public func cancel(status: Int32) { cancellation.cancel(status: status) }

  public var isCancelled: Bool { cancellation.isCancelled }

  /// The session has ended and its report is ready (events may still be queued).
  public var isFinished: Bool { state.withLock { $0.report != nil } }

  // MARK: Events

  /// The next event, waiting for it; nil once every event has been returned and the session has ended.
  public func nextEvent() -> SendEvent? {
    state.wait(until: { $0.head < $0.queue.count || $0.report != nil }) { state in
      guard state.head < state.queue.count else { return nil }
      return Self.pop(&state)
    }
  }

  /// The events queued now, without waiting (and the descriptor drained).
  public func availableEvents() -> [SendEvent] {
    EventDescriptor.drain(eventDescriptor)
    return state.withLock { state in
      let events = Array(state.queue[state.head...])
      state.queue.removeAll(keepingCapacity: false)
      state.head = 0
      return events
    }
  }

  /// The events as an async sequence; it finishes after the outcome event.
  public var events: AsyncStream<SendEvent> {
    let (stream, continuation) = AsyncStream.makeStream(
      of: SendEvent.self, bufferingPolicy: .unbounded)
    state.withLock { state in
      for event in state.queue[state.head...] { continuation.yield(event) }
      state.queue.removeAll()
      state.head = 0
      if state.report != nil {
        continuation.finish()
      } else {
        state.continuation = continuation
      }
    }
    return stream
  }

  // MARK: Result

  /// Waits for the session to end and returns its report.
  public func wait() -> Report {
    state.wait(until: { $0.report != nil }) { state in
      guard let report = state.report else { preconditionFailure("woken without a report") }
      return report
    }
  }

  /// The report, once the session has ended.
  public var report: Report {
    get async {
      await withCheckedContinuation { waiter in
        let ready: Report? = state.withLock { state in
          if let report = state.report { return report }
          state.reportWaiters.append(waiter)
          return nil
        }
        if let ready { waiter.resume(returning: ready) }
      }
    }
  }

  // MARK: Session side

  private func append(_ event: SendEvent) {
    let wasEmpty = state.withLockSignalling { state in
      if let continuation = state.continuation {
        continuation.yield(event)
        return false
      }
      let wasEmpty = state.head == state.queue.count
      state.queue.append(event)
      return wasEmpty
    }
    // Only when the queue was empty: a poll(2) consumer drains the descriptor before it takes the queue, so
    // events added meanwhile are taken with the rest (a batch's thousands of events cost no system call each).
    if wasEmpty { EventDescriptor.signal(eventDescriptor) }
  }

  private func finish(_ report: Report) {
    let waiters = state.withLockSignalling { state in
      state.report = report
      state.continuation?.finish()
      state.continuation = nil
      let waiters = state.reportWaiters
      state.reportWaiters = []
      return waiters
    }
    for waiter in waiters { waiter.resume(returning: report) }
    EventDescriptor.signal(eventDescriptor)
  }

  private static func pop(_ state: inout State) -> SendEvent {
    let event = state.queue[state.head]
    state.head += 1
    if state.head == state.queue.count {
      state.queue.removeAll(keepingCapacity: true)
      state.head = 0
    }
    return event
  }
}

/// A send in progress.
public typealias SendHandle = SessionHandle<SendReport>
/// A probe in progress.
public typealias ProbeHandle = SessionHandle<ProbeReport>

/// A mutex with a condition variable: the one place a consumer thread blocks on the session.
final class ConditionLock<Value>: @unchecked Sendable {
  private var value: Value
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

  init(_ value: Value) {
    self.value = value
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
  }

  deinit {
    pthread_cond_destroy(condition)
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
    condition.deallocate()
  }

  func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&value)
  }

  /// Runs `body` under the lock, then wakes every waiter.
  func withLockSignalling<T>(_ body: (inout Value) throws -> T) rethrows -> T {
    pthread_mutex_lock(mutex)
    defer {
      pthread_cond_broadcast(condition)
      pthread_mutex_unlock(mutex)
    }
    return try body(&value)
  }

  /// Waits until `predicate` holds, then runs `body` under the lock.
  func wait<T>(until predicate: (Value) -> Bool, _ body: (inout Value) throws -> T) rethrows -> T {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    while !predicate(value) { pthread_cond_wait(condition, mutex) }
    return try body(&value)
  }
}

/// A detached thread for one session (a session blocks in poll(2), so it does not belong on a shared pool).
enum SessionThread {
  private final class Job {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
  }

  static func run(_ body: @escaping @Sendable () -> Void) {
    var thread = pthread_t()
    let job = Unmanaged.passRetained(Job(body)).toOpaque()
    let created = pthread_create(
      &thread, nil,
      { argument in
        guard let argument else { return nil }
        Unmanaged<Job>.fromOpaque(argument).takeRetainedValue().body()
        return nil
      }, job)
    if created == 0 {
      pthread_detach(thread)
    } else {
      // No thread to be had: run here rather than not at all.
      Unmanaged<Job>.fromOpaque(job).takeRetainedValue().body()
    }
  }
}
