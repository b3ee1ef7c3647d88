import MailSender
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Ctrl-C (SIGINT) or SIGTERM during a send or probe cancels it through its handle (DESIGN §4): the connection
/// closes at once and the verdict says what happened; the exit status is 130 (143 for SIGTERM).
///
/// The handlers only write the signal number to a pipe (async-signal-safe); a watcher thread reads it and
/// cancels. Outside a session the default actions apply.
enum SignalCancel {
  /// The signal that cancelled the session, if one did.
  private static let received = Atomic<Int32>(0)
  /// The write end of the signal pipe while a session runs, else -1 (the prompt forwards SIGINT/SIGTERM here).
  nonisolated(unsafe) static var pipeWrite: Int32 = -1

  static var signal: Int32? {
    let value = received.load(ordering: .acquiring)
    return value == 0 ? nil : value
  }

  /// Runs the session behind `handle` to its end, printing events with `output`; a signal cancels it.
  static func drive<Report: Sendable>(
    _ start: () -> SessionHandle<Report>, output: (SendEvent) -> Void
  ) -> Report {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else {
      let handle = start()
      while let event = handle.nextEvent() { output(event) }
      return handle.wait()
    }
    for descriptor in fds {
      _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
      _ = fcntl(descriptor, F_SETFL, O_NONBLOCK)
    }
    pipeWrite = fds[1]
    let readEnd = fds[0]
    install()
    let handle = start()
    let watcher = Watcher(readEnd: readEnd, cancel: { status in handle.cancel(status: status) })
    watcher.start()
    while let event = handle.nextEvent() { output(event) }
    let report = handle.wait()
    restore()
    watcher.stop(writeEnd: fds[1])
    pipeWrite = -1
    close(fds[1])
    close(readEnd)
    return report
  }

  private static let signals = [SIGINT, SIGTERM]

  private static func install() {
    // A parent may hand the signals over blocked (Foundation's Process does); a send must still be
    // cancellable. A signal the parent set to be ignored (a background job) stays ignored.
    var set = sigset_t()
    sigemptyset(&set)
    for number in signals { sigaddset(&set, number) }
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    for number in signals {
      var current = sigaction()
      sigaction(number, nil, &current)
      if isIgnored(current) { continue }
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { number in
        var byte = UInt8(truncatingIfNeeded: number)
        _ = write(SignalCancel.pipeWrite, &byte, 1)
      }
      sigemptyset(&action.sa_mask)
      action.sa_flags = SA_RESTART
      sigaction(number, &action, nil)
    }
  }

  /// SIG_IGN is the handler value 1 (<signal.h>); function pointers do not compare in Swift.
  private static func isIgnored(_ action: sigaction) -> Bool {
    guard let handler = action.__sigaction_handler.sa_handler else { return false }
    return unsafeBitCast(handler, to: Int.self) == 1
  }

  private static func restore() {
    for number in signals {
      var current = sigaction()
      sigaction(number, nil, &current)
      if !isIgnored(current) { Glibc.signal(number, SIG_DFL) }
    }
  }

  /// Reads signal numbers from the pipe and cancels; a zero byte (sent by `stop`) ends it.
  private final class Watcher: @unchecked Sendable {
    let readEnd: Int32
    let cancel: @Sendable (Int32) -> Void
    private var thread = pthread_t()

    init(readEnd: Int32, cancel: @escaping @Sendable (Int32) -> Void) {
      self.readEnd = readEnd
      self.cancel = cancel
    }

    func start() {
      let context = Unmanaged.passRetained(self).toOpaque()
      pthread_create(
        &thread, nil,
        { argument in
          guard let argument else { return nil }
          let watcher = Unmanaged<Watcher>.fromOpaque(argument).takeRetainedValue()
          watcher.loop()
          return nil
        }, context)
    }

    func loop() {
      while true {
        var descriptor = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, -1)
        if ready < 0 && errno == EINTR { continue }
        var byte: UInt8 = 0
        let count = read(readEnd, &byte, 1)
        if count == 1 && byte == 0 { return }
        if count == 1 {
          _ = SignalCancel.received.compareExchange(
            expected: 0, desired: Int32(byte), ordering: .acquiringAndReleasing)
          cancel(128 + Int32(byte))
        }
      }
    }

    func stop(writeEnd: Int32) {
      var zero: UInt8 = 0
      _ = write(writeEnd, &zero, 1)
      pthread_join(thread, nil)
    }
  }
}
