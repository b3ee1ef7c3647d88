import Foundation
import MailSenderTesting
import Testing

/// Issue 7, items 8 and 9, on a real terminal (a pseudo-terminal made by Python's `pty`, as
/// `PasswordPromptTests` does): every signal whose default action ends the process leaves the terminal's echo on
/// when it arrives at the prompt, and the prompt escapes the user name and host it shows.
@Suite(.serialized) struct HostileLocalPromptTests {
  /// Runs the binary as the session leader of a new pty; once the prompt shows, sends it `signal` (a number, 0
  /// for none) and then writes `keys`. Prints "echo=on|off", "status=N" (negative: the signal that ended it)
  /// and what the terminal showed.
  static let driver = #"""
    import os, pty, select, signal, sys, termios, time
    binary, number = sys.argv[1], int(sys.argv[2])
    keys = sys.argv[3].encode().decode("unicode_escape").encode("latin-1")
    pid, master = pty.fork()
    if pid == 0:
        # As a shell would start it: no signal blocked or ignored.
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for each in range(1, signal.NSIG):
            try:
                signal.signal(each, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
        os.execv(binary, [binary] + sys.argv[4:])
    shown, deadline, sent = b"", time.time() + 10, False
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        if not sent and b"Password for" in shown:
            time.sleep(0.2)
            if number:
                os.kill(pid, number)
            if keys:
                os.write(master, keys)
            sent = True
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        os.kill(pid, 9)
        done, status = os.waitpid(pid, 0)
    if not done:
        done, status = os.waitpid(pid, 0)
    # What the process wrote just before it ended may still wait in the pty: read it too.
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    echo = "on" if termios.tcgetattr(master)[3] & termios.ECHO else "off"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    print(f"echo={echo}")
    print(f"status={code}")
    print(shown.decode("utf-8", "replace"))
    """#

  /// Runs the driver on a thread of its own (`OffPool`): the test waits, holding no thread of the pool.
  static func run(signal: Int32, keys: String = "", arguments: [String]) async throws -> (
    echo: String, status: String, shown: String
  ) {
    try await OffPool.run { try runBlocking(signal: signal, keys: keys, arguments: arguments) }
  }

  static func runBlocking(signal: Int32, keys: String, arguments: [String]) throws -> (
    echo: String, status: String, shown: String
  ) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = ["-c", driver, CLIRunner.binary.path, "\(signal)", keys] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "SEALPOST_PASSWORD")
    environment["LANG"] = "C.UTF-8"
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let lines = text.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
    return (lines.first ?? "", lines.count > 1 ? lines[1] : "", lines.count > 2 ? lines[2] : "")
  }

  static func arguments(user: String = "u@example.test") -> [String] {
    [
      "send", "--server", "localhost:2", "--tls", "starttls", "--user", user, "--from", "a@example.org",
      "--to",
      "b@example.org", "--timeout", "5", "--transcript", "none",
    ]
  }

  /// SIGUSR1, SIGALRM and the other signals whose default action ends the process (SIGKILL and SIGSTOP cannot be
  /// caught; SIGPIPE is ignored by Sealpost) leave the echo on; the process still ends by that signal.
  @Test(arguments: [
    SIGUSR1, SIGALRM, SIGUSR2, SIGVTALRM, SIGPROF, SIGXCPU, SIGPWR, SIGIO, SIGHUP,
    __libc_current_sigrtmin(), __libc_current_sigrtmax(),
  ])
  func aSignalAtThePromptLeavesEchoOn(signal: Int32) async throws {
    let result = try await Self.run(signal: signal, arguments: Self.arguments())
    #expect(result.status == "status=-\(signal)", "\(result.shown)")
    #expect(result.echo == "echo=on", "signal \(signal)")
  }

  /// Ctrl-C and SIGTERM at the prompt cancel the send, as at every other stage (red team): echo back on, the
  /// verdict printed, exit 130 or 143 — not a death by the signal.
  @Test(arguments: [SIGINT, SIGTERM])
  func ctrlCAtThePromptCancelsTheSend(signal: Int32) async throws {
    let result = try await Self.run(signal: signal, arguments: Self.arguments())
    #expect(result.status == "status=\(128 + signal)", "\(result.shown)")
    #expect(result.echo == "echo=on", "signal \(signal)")
    #expect(result.shown.contains("sealpost: cancelled — not sent"), "\(result.shown)")
  }

  /// The prompt shows the user name and host as everything else does: DEL, C1 controls and bidi controls
  /// escaped, never raw.
  @Test func thePromptEscapesTheUserName() async throws {
    let user = "u\u{7F}\u{9B}31m\u{202E}x@example.test"
    let result = try await Self.run(signal: 0, keys: "\\x03", arguments: Self.arguments(user: user))
    #expect(result.status == "status=130", "\(result.shown)")
    #expect(
      result.shown.contains("Password for u\\u{007F}\\u{009B}31m\\u{202E}x@example.test at localhost: "))
    #expect(!result.shown.unicodeScalars.contains { [0x7F, 0x9B, 0x202E].contains($0.value) })
  }
}
