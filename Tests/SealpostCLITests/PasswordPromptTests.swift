import Foundation
import MailSenderTesting
import Testing

/// The password prompt on a real terminal (a pseudo-terminal made by Python's `pty`): no echo while typing, the
/// typed password is used, and Ctrl-C at the prompt leaves the terminal's echo on.
@Suite(.serialized) struct PasswordPromptTests {
  /// Runs the binary as the session leader of a new pty; `keys` are written once the prompt shows. Prints
  /// "echo=on|off" (the terminal's mode after the exit), "status=N" and what the terminal showed.
  static let driver = #"""
    import os, pty, select, sys, termios, time
    binary, keys = sys.argv[1], sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
    pid, master = pty.fork()
    if pid == 0:
        # As a shell would start it: the test runner may have blocked or ignored signals, and children inherit that.
        import signal
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(number, signal.SIG_DFL)
        os.execv(binary, [binary] + sys.argv[3:])
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

  static func run(keys: String, arguments: [String]) throws -> (echo: String, status: String, shown: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = ["-c", driver, CLIRunner.binary.path, keys] + arguments
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

  static func arguments(port: UInt16) throws -> [String] {
    [
      "send", "--server", "localhost:\(port)", "--tls", "starttls", "--ca-file",
      try TestPKI.shared().caCertificatePath, "--user", "u@example.test", "--from", "a@example.org", "--to",
      "b@example.org", "--timeout", "5", "--transcript", "none",
    ]
  }

  @Test func theTypedPasswordIsUsedAndNeverEchoed() throws {
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid))
    options.credentials = .init(user: "u@example.test", password: "typed-Secret-42")
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let result = try Self.run(keys: "typed-Secret-42\\r", arguments: try Self.arguments(port: server.port))
    #expect(result.status == "status=0", "\(result.shown)")
    #expect(result.shown.contains("Password for u@example.test at localhost: "))
    #expect(!result.shown.contains("typed-Secret-42"))
    #expect(result.echo == "echo=on")
    #expect(server.waitForFinishedSessions(1).first?.messages.count == 1)
  }

  @Test func ctrlCAtThePromptLeavesEchoOn() throws {
    let server = try ScriptedSMTPServer(standard: StandardSMTPOptions())
    defer { server.stop() }
    let result = try Self.run(keys: "\\x03", arguments: try Self.arguments(port: server.port))
    // Ctrl-C cancels the send (exit 130, the verdict printed) rather than killing the process.
    #expect(result.status == "status=130", "\(result.shown)")
    #expect(result.shown.contains("sealpost: cancelled — not sent"), "\(result.shown)")
    #expect(result.echo == "echo=on")
    #expect(server.sessions.isEmpty)
  }
}
