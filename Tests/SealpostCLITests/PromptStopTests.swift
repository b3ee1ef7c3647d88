import Foundation
import MailSenderTesting
import Testing

/// Red team: Ctrl-Z at the password prompt, then `fg`, showed the password as it was typed. The prompt now puts
/// echo back while stopped and takes it away again when continued (as OpenSSH's readpassphrase does). Driven
/// through a real interactive bash on a pseudo-terminal, since only a shell with job control can stop and resume
/// the process.
@Suite(.serialized) struct PromptStopTests {
  static let driver = #"""
    import os, pty, select, signal, sys, termios, time
    binary = sys.argv[1]
    pid, fd = pty.fork()
    if pid == 0:
        # As a terminal would start the shell: no signal blocked or ignored.
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for each in range(1, signal.NSIG):
            try:
                signal.signal(each, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
        os.environ["PS1"] = "SHELL$ "
        os.environ["LANG"] = "C.UTF-8"
        os.execv("/bin/bash", ["bash", "--norc", "--noprofile", "-i"])
    def drain(seconds, until=None):
        out, end = b"", time.time() + seconds
        while time.time() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    break
            if until is not None and until in out:
                break
        return out
    drain(1.0, b"SHELL$ ")
    command = binary + " send --server localhost:2 --tls starttls --user u@example.test --from a@example.org" \
        + " --to b@example.org --transcript none\n"
    os.write(fd, command.encode())
    shown = drain(5.0, b"Password for")
    print("prompt=" + ("yes" if b"Password for" in shown else "no"))
    time.sleep(0.3)
    os.write(fd, b"\x1a")
    drain(5.0, b"Stopped")
    drain(5.0, b"SHELL$ ")
    os.write(fd, b"fg\n")
    # Wait for the resumed prompt to take echo away (or give up after a while and report what is there).
    end = time.time() + 5
    drain(0.3)
    while time.time() < end and termios.tcgetattr(fd)[3] & termios.ECHO:
        drain(0.05)
    time.sleep(0.2)
    print("echo-after-fg=" + ("on" if termios.tcgetattr(fd)[3] & termios.ECHO else "off"))
    os.write(fd, b"TypedSecret99\n")
    out = drain(3.0, b"SHELL$ ")
    print("secret-shown=" + ("yes" if b"TypedSecret99" in out else "no"))
    os.write(fd, b"exit\n")
    drain(0.5)
    try:
        os.kill(pid, 9)
    except OSError:
        pass
    os.waitpid(pid, 0)
    """#

  @Test func ctrlZThenFgKeepsThePasswordHidden() async throws {
    // The driver runs on a thread of its own (`OffPool`): the test waits, holding no thread of the pool.
    let text = try await OffPool.run {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
      process.arguments = ["-c", Self.driver, CLIRunner.binary.path]
      var environment = ProcessInfo.processInfo.environment
      environment.removeValue(forKey: "SEALPOST_PASSWORD")
      process.environment = environment
      let output = Pipe()
      process.standardOutput = output
      try process.run()
      let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      return text
    }
    #expect(text.contains("prompt=yes"), "\(text)")
    #expect(text.contains("echo-after-fg=off"), "\(text)")
    #expect(text.contains("secret-shown=no"), "\(text)")
  }
}
