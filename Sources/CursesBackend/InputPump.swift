import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Reads the terminal as its bytes arrive, on a thread of its own, and hands them to curses through a pipe, so
/// that the time between two keys is seen where it happens rather than when the UI thread gets round to
/// reading (review: Esc and then `q` a human moment later were read as Alt-q whenever the UI thread was busy
/// drawing while both arrived, because curses then found the two bytes together).
///
/// The one decision it makes: a read that ends in ESC waits up to ``escapeDelay`` for more. Bytes that come
/// within it go on with the ESC (Alt+key, which a terminal sends in one write; a key sequence split in two
/// reads). When nothing comes, the ESC was the Esc key alone: it goes on as ``loneEscape``, a sequence the
/// terminal defines as its own key (`define_key`), so whatever follows later is never joined to it. This is
/// the neomutt/vim convention (25 ms), measured at the terminal, not at the UI thread.
///
/// It stops reading while the terminal is lent out (``pause()``: an editor or a pinentry reads it then), and
/// for good on ``stop()``; at the end of the input (EOF, a hang-up) it closes the pipe, which curses then sees
/// as the end of its input.
final class InputPump: @unchecked Sendable {
  /// How long after a trailing ESC more bytes still belong with it: ncurses' escape delay.
  static let escapeDelay: Int32 = 25
  /// What a lone Esc becomes on the pipe: xterm's modifyOtherKeys form of the Esc key itself
  /// (`CSI 27 ; 1 ; 27 ~`: key 27 with no modifier), defined as a key of its own.
  static let loneEscape: [UInt8] = Array("\u{1B}[27;1;27~".utf8)
  /// Bytes read ahead of curses at most; beyond that the terminal's own buffer holds the rest.
  static let pendingLimit = 64 << 10

  enum State: Sendable {
    case running, paused, stopped
  }

  /// The terminal (not owned).
  private let source: Int32
  /// The pipe's write end (owned; closed when the pump ends).
  private let sink: Int32
  /// A pipe that wakes the pump's poll when its state changes.
  private let wakeRead: Int32
  private let wakeWrite: Int32
  private let state = Mutex(State.running)
  private let parked = DispatchSemaphore(value: 0)
  private let ended = DispatchSemaphore(value: 0)
  private let hasEnded = Atomic(false)

  /// - Parameters:
  ///   - source: the terminal's descriptor, read from the pump's thread only.
  ///   - sink: the write end of the pipe curses reads; the pump closes it when it ends.
  init?(source: Int32, sink: Int32) {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { return nil }
    for end in ends + [sink] {
      _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
      _ = fcntl(end, F_SETFD, FD_CLOEXEC)
    }
    self.source = source
    self.sink = sink
    wakeRead = ends[0]
    wakeWrite = ends[1]
  }

  deinit {
    close(wakeRead)
    close(wakeWrite)
  }

  func start() {
    DispatchQueue(label: "sealpost.terminal.input").async { [self] in
      run()
      close(sink)
      hasEnded.store(true, ordering: .releasing)
      parked.signal()
      ended.signal()
    }
  }

  /// Stops reading the terminal until ``resume()``; returns once the pump no longer reads it.
  func pause() {
    guard !hasEnded.load(ordering: .acquiring) else { return }
    state.withLock { $0 = .paused }
    poke()
    parked.wait()
  }

  func resume() {
    state.withLock { if $0 == .paused { $0 = .running } }
    poke()
  }

  /// Ends the pump (idempotent); returns once its thread has stopped reading.
  func stop() {
    let wasRunning = state.withLock { state -> Bool in
      defer { state = .stopped }
      return state != .stopped
    }
    guard wasRunning else { return }
    poke()
    ended.wait()
  }

  private func poke() {
    var byte: UInt8 = 1
    _ = write(wakeWrite, &byte, 1)
  }

  private func drainWake() {
    var bytes = [UInt8](repeating: 0, count: 64)
    while read(wakeRead, &bytes, bytes.count) > 0 {}
  }

  private func run() {
    var pending: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    var acknowledged = false
    while true {
      switch state.withLock({ $0 }) {
      case .stopped:
        return
      case .paused:
        if !acknowledged {
          acknowledged = true
          parked.signal()
        }
        var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 1, -1)
        drainWake()
        continue
      case .running:
        acknowledged = false
      }
      var fds = [
        pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        pollfd(fd: sink, events: Int16(pending.isEmpty ? 0 : POLLOUT), revents: 0),
        pollfd(fd: source, events: Int16(pending.count < Self.pendingLimit ? POLLIN : 0), revents: 0),
      ]
      if poll(&fds, nfds_t(fds.count), -1) < 0 {
        guard errno == EINTR else { return }
        continue
      }
      if fds[0].revents != 0 {
        drainWake()
        continue
      }
      if fds[1].revents & Int16(POLLERR | POLLHUP) != 0 { return }
      if !pending.isEmpty, fds[1].revents != 0 {
        guard flush(&pending) else { return }
      }
      guard fds[2].revents != 0 else { continue }
      guard var chunk = readChunk(&buffer) else {
        // The end of the input: what was read goes first, then the pipe closes.
        _ = flushBlocking(&pending)
        return
      }
      // Bytes read that end in ESC: more within the escape delay belongs with them; else a lone Esc.
      var ended = false
      while chunk.last == 0x1B {
        var wait = [pollfd(fd: source, events: Int16(POLLIN), revents: 0)]
        if poll(&wait, 1, Self.escapeDelay) > 0 {
          guard let more = readChunk(&buffer) else {
            ended = true
            break
          }
          chunk += more
        } else {
          chunk.removeLast()
          chunk += Self.loneEscape
        }
      }
      pending += chunk
      guard flush(&pending) else { return }
      if ended {
        _ = flushBlocking(&pending)
        return
      }
    }
  }

  /// One read of the terminal; nil at its end (EOF, a hang-up, an error other than an interruption).
  private func readChunk(_ buffer: inout [UInt8]) -> [UInt8]? {
    while true {
      let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
      if count > 0 { return Array(buffer[..<count]) }
      if count < 0, errno == EINTR { continue }
      if count < 0, errno == EAGAIN { return [] }
      return nil
    }
  }

  /// Writes what the pipe takes now; false when curses' side is gone.
  private func flush(_ pending: inout [UInt8]) -> Bool {
    while !pending.isEmpty {
      let written = pending.withUnsafeBytes { write(sink, $0.baseAddress, $0.count) }
      if written > 0 {
        pending.removeFirst(written)
        continue
      }
      if written < 0, errno == EINTR { continue }
      return written < 0 && errno == EAGAIN
    }
    return true
  }

  /// Writes everything, waiting for room (at the end of the input, for at most a second in all).
  private func flushBlocking(_ pending: inout [UInt8]) -> Bool {
    var waits = 0
    while !pending.isEmpty {
      guard flush(&pending) else { return false }
      guard !pending.isEmpty, waits < 100 else { break }
      var fds = [pollfd(fd: sink, events: Int16(POLLOUT), revents: 0)]
      _ = poll(&fds, 1, 10)
      waits += 1
    }
    return pending.isEmpty
  }
}
