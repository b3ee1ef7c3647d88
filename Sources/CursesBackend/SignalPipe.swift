#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The write end of the self-pipe the signal handler writes to. Set before the handlers are installed and
/// cleared after they are removed, from the terminal's owner only.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Only async-signal-safe work: one byte (the signal's number) into the pipe; errno kept.
private func writeSignalNumber(_ number: Int32) {
  let saved = errno
  var byte = UInt8(truncatingIfNeeded: number)
  _ = write(signalPipeWriteEnd, &byte, 1)
  errno = saved
}

/// curses' own SIGWINCH handler, which the one here calls first.
nonisolated(unsafe) private var cursesWindowChangeHandler: sighandler_t?

/// curses' handler (it records the resize that `wget_wch` then reports), then a byte into the pipe: the
/// signal may be delivered to any thread, and without the byte a poll on the UI thread would not wake up.
private func chainWindowChange(_ number: Int32) {
  // SIG_DFL is 0 and SIG_IGN 1: neither can be called.
  if let handler = cursesWindowChangeHandler, unsafeBitCast(handler, to: Int.self) > 1 { handler(number) }
  writeSignalNumber(number)
}

/// SIGTERM, SIGHUP and SIGINT (sent by `kill`: in raw mode Ctrl-C is a key) turned into bytes on a pipe the
/// input loop polls, so the loop — never a handler — restores the terminal (`endwin` is not
/// async-signal-safe). SIGWINCH stays curses' (its handler is called first) and also writes a byte, so a
/// resize wakes the loop whichever thread the signal hit. One at a time per process; the previous
/// dispositions come back on ``restore()``.
final class SignalPipe {
  static let signals: [Int32] = [SIGTERM, SIGHUP, SIGINT]

  let readEnd: Int32
  private let writeEnd: Int32
  private var previous: [(Int32, sighandler_t?)] = []

  init?() {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { return nil }
    for end in ends {
      _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
      _ = fcntl(end, F_SETFD, FD_CLOEXEC)
    }
    readEnd = ends[0]
    writeEnd = ends[1]
    signalPipeWriteEnd = writeEnd
    for number in Self.signals {
      previous.append((number, signal(number, writeSignalNumber)))
    }
    let cursesHandler = signal(SIGWINCH, chainWindowChange)
    cursesWindowChangeHandler = cursesHandler
    previous.append((SIGWINCH, cursesHandler))
  }

  /// The signals that arrived since the last call, oldest first.
  func drain() -> [Int32] {
    var received: [Int32] = []
    var bytes = [UInt8](repeating: 0, count: 16)
    while true {
      let count = read(readEnd, &bytes, bytes.count)
      guard count > 0 else { break }
      received += bytes[..<count].map { Int32($0) }
    }
    return received
  }

  /// Puts the previous handlers back and closes the pipe.
  func restore() {
    for (number, handler) in previous { signal(number, handler) }
    previous = []
    signalPipeWriteEnd = -1
    close(readEnd)
    close(writeEnd)
  }
}
