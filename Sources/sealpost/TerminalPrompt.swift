import Accounts
import FoundationEssentials
import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning

#if canImport(Glibc)
  import Glibc
#endif

/// The CLI's prompt: no echo, on `/dev/tty` (stdin may be the message). Password commands run with the terminal
/// as it is: the CLI does not draw on it.
struct TerminalPrompt: SecretPrompt {
  func askSecret(_ prompt: String, cancellation: Cancellation) throws(SendFailure) -> Secret {
    try Self.askTerminal(prompt, cancellation: cancellation)
  }

  func withTerminalReleased<T>(_ body: () -> T) -> T { body() }

  /// Cancelling the send ends the prompt at once (echo restored).
  static func askTerminal(_ prompt: String, cancellation: Cancellation? = nil) throws(SendFailure) -> Secret {
    let fd = open("/dev/tty", O_RDWR | O_NOCTTY)
    guard fd >= 0 else {
      throw SendFailure(
        .configuration,
        "no password source: give --password-command or SEALPOST_PASSWORD (there is no terminal to ask on)")
    }
    defer { close(fd) }
    var saved = termios()
    let hasTermios = tcgetattr(fd, &saved) == 0
    if hasTermios {
      var silent = saved
      silent.c_lflag &= ~tcflag_t(ECHO)
      EchoGuard.arm(fd: fd, saved: saved, silent: silent)
      _ = tcsetattr(fd, TCSAFLUSH, &silent)
    }
    defer {
      if hasTermios {
        var restore = saved
        _ = tcsetattr(fd, TCSAFLUSH, &restore)
        EchoGuard.disarm()
      }
    }
    let promptBytes = Array(prompt.utf8)
    _ = promptBytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var bytes: [UInt8] = []
    var byte: UInt8 = 0
    while true {
      var fds = [
        pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
        pollfd(fd: cancellation?.eventDescriptor ?? -1, events: Int16(POLLIN), revents: 0),
      ]
      if poll(&fds, 2, -1) < 0 && errno == EINTR { continue }
      if cancellation?.isCancelled == true || fds[1].revents != 0 {
        _ = write(fd, "\n", 1)
        throw SendFailure(.cancelled, "cancelled — not sent", reason: .cancelled)
      }
      guard read(fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") else { break }
      bytes.append(byte)
      if bytes.count > 4096 { break }
    }
    _ = write(fd, "\n", 1)
    if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
    guard !bytes.isEmpty else { throw SendFailure(.configuration, "no password given") }
    return Secret(bytes)
  }
}

/// Ctrl-C (or a kill) at the password prompt must not leave the terminal without echo: while the prompt is up,
/// every signal whose default action ends the process (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGALRM…, the
/// real-time signals too) first restores the saved terminal mode (tcsetattr is async-signal-safe), then takes its
/// default action. A signal the process ignores (`nohup`) stays ignored; when the prompt ends, every disposition
/// is put back as it was.
private enum EchoGuard {
  nonisolated(unsafe) static var descriptor: Int32 = -1
  nonisolated(unsafe) static var saved = termios()
  /// The mode with echo off, put back when the process continues after a stop (Ctrl-Z, then `fg`).
  nonisolated(unsafe) static var silent = termios()
  nonisolated(unsafe) static var previous: [(Int32, sigaction)] = []

  /// The signals whose default action is to terminate (signal(7)); SIGKILL and SIGSTOP cannot be caught.
  static var signals: [Int32] {
    var numbers: [Int32] = [
      SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE,
      SIGALRM, SIGTERM, SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSYS,
    ]
    // SIGRTMIN and SIGRTMAX are functions in glibc (libc keeps the first few for itself).
    numbers += Array(__libc_current_sigrtmin()...__libc_current_sigrtmax())
    return numbers
  }

  static func arm(fd: Int32, saved state: termios, silent quiet: termios) {
    descriptor = fd
    saved = state
    silent = quiet
    previous = []
    armStop()
    for number in signals {
      var old = sigaction()
      guard sigaction(number, nil, &old) == 0 else { continue }
      // An ignored signal does not end the process: leave it ignored.
      if bits(old.__sigaction_handler.sa_handler) == bits(SIG_IGN) { continue }
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { number in
        _ = tcsetattr(EchoGuard.descriptor, TCSAFLUSH, &EchoGuard.saved)
        // During a send, Ctrl-C and SIGTERM cancel it (the prompt then ends on the cancellation and the verdict
        // is printed), as everywhere else in the send; only without a send do they end the process here.
        if (number == SIGINT || number == SIGTERM) && SignalCancel.pipeWrite >= 0 {
          var byte = UInt8(truncatingIfNeeded: number)
          _ = write(SignalCancel.pipeWrite, &byte, 1)
          return
        }
        signal(number, SIG_DFL)
        raise(number)
      }
      sigemptyset(&action.sa_mask)
      if sigaction(number, &action, nil) == 0 { previous.append((number, old)) }
    }
  }

  private static func bits(_ handler: __sighandler_t?) -> Int {
    handler.map { unsafeBitCast($0, to: Int.self) } ?? 0
  }

  /// Ctrl-Z at the prompt: echo back on while stopped, off again when continued (as OpenSSH's readpassphrase).
  private static func armStop() {
    var old = sigaction()
    guard sigaction(SIGTSTP, nil, &old) == 0, bits(old.__sigaction_handler.sa_handler) != bits(SIG_IGN) else {
      return
    }
    if installStopHandler() { previous.append((SIGTSTP, old)) }
  }

  /// sigaction, tcsetattr and raise are async-signal-safe: the handler puts itself back after the stop.
  @discardableResult
  static func installStopHandler() -> Bool {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in
      _ = tcsetattr(EchoGuard.descriptor, TCSAFLUSH, &EchoGuard.saved)
      signal(SIGTSTP, SIG_DFL)
      raise(SIGTSTP)
      // Continued: stop the same way next time, and hide what is typed from here on.
      EchoGuard.installStopHandler()
      _ = tcsetattr(EchoGuard.descriptor, TCSAFLUSH, &EchoGuard.silent)
    }
    sigemptyset(&action.sa_mask)
    // Not blocked while the handler runs, so the raise stops the process there and then.
    action.sa_flags = Int32(SA_NODEFER)
    return sigaction(SIGTSTP, &action, nil) == 0
  }

  static func disarm() {
    for (number, old) in previous {
      var action = old
      sigaction(number, &action, nil)
    }
    previous = []
    descriptor = -1
  }
}
