import Accounts
import Foundation
import MailMessage
import MailSender
import SMTPProtocol
import SMTPTransport

#if canImport(Glibc)
  import Glibc
#endif

/// Where the password comes from, in the order of DESIGN §4: `--password-command` > `SEALPOST_PASSWORD` > the
/// account's `passwordeval` > its `password` > `secret-tool lookup host HOST user USER` > a prompt without echo on
/// `/dev/tty`. The account's sources serve only the account's own server (DESIGN §3.5).
enum PasswordSource {
  static func resolve(
    command: String?, plan: ChannelPlan, prompt: String, context: SecretLookupContext
  ) throws(SendFailure) -> Secret {
    if let command { return try run(command) }
    if let value = Environment.password { return Secret(value) }
    if let account = plan.account, let user = plan.user {
      let name = UntrustedText(account.name).escaped
      let environment = ProcessInfo.processInfo.environment
      if plan.isAccountServer {
        do throws(AccountSecretError) {
          switch account.secretSource {
          case .passwordEval(let command, let location):
            return try AccountSecrets.passwordEval(
              command, location: location, account: name, environment: environment)
          case .password(let secret, _):
            return secret
          case .keyringOrPrompt:
            if let secret = try AccountSecrets.keyring(
              host: plan.host, user: user, account: name, environment: environment)
            {
              return secret
            }
          case .none:
            break
          }
        } catch {
          throw SendFailure(.configuration, error.message)
        }
      } else {
        switch account.secretSource {
        case .passwordEval, .password:
          let accountServer =
            account.host.map { ChannelPlan.hostAndPort($0, account.port) } ?? "its own server"
          throw SendFailure(
            .configuration,
            "account \(name) keeps its password for \(UntrustedText(accountServer).escaped) only; for "
              + "\(UntrustedText(plan.hostAndPort).escaped) give --password-command or SEALPOST_PASSWORD — nothing was sent"
          )
        case .keyringOrPrompt, .none:
          break
        }
      }
    }
    return try askTerminal(prompt, cancellation: context.cancellation)
  }

  /// Runs `/bin/sh -c command` without `SEALPOST_PASSWORD` in its environment; one trailing newline is removed.
  /// The command's output is never shown, not even in an error.
  static func run(_ command: String) throws(SendFailure) -> Secret {
    switch ShellCommand.run(command, environment: ProcessInfo.processInfo.environment) {
    case .success(let bytes):
      guard !bytes.isEmpty else { throw SendFailure(.configuration, "the password command printed nothing") }
      return Secret(bytes)
    case .failure(.couldNotStart):
      throw SendFailure(.configuration, "the password command could not be started")
    case .failure(.exitStatus(let status)):
      throw SendFailure(.configuration, "the password command failed (exit status \(status))")
    case .failure(.signal(let signal)):
      throw SendFailure(
        .configuration, "the password command was killed by \(ShellCommand.describe(signal: signal))")
    case .failure(.tooLong):
      throw SendFailure(.configuration, "the password command printed more than 64 KiB")
    }
  }

  /// Asks on the controlling terminal with echo off; stdin may be the message.
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
      EchoGuard.arm(fd: fd, saved: saved)
      var silent = saved
      silent.c_lflag &= ~tcflag_t(ECHO)
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

  static func arm(fd: Int32, saved state: termios) {
    descriptor = fd
    saved = state
    previous = []
    for number in signals {
      var old = sigaction()
      guard sigaction(number, nil, &old) == 0 else { continue }
      // An ignored signal does not end the process: leave it ignored.
      if bits(old.__sigaction_handler.sa_handler) == bits(SIG_IGN) { continue }
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { number in
        _ = tcsetattr(EchoGuard.descriptor, TCSAFLUSH, &EchoGuard.saved)
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

  static func disarm() {
    for (number, old) in previous {
      var action = old
      sigaction(number, &action, nil)
    }
    previous = []
    descriptor = -1
  }
}
