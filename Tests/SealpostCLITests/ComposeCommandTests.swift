import Foundation
import MailSenderTesting
import Testing

/// `sealpost` with no subcommand: the composer's start-up errors, each a plain line before the screen opens.
@Suite struct ComposeCommandTests {
  /// Runs the binary on a new pseudo-terminal (Python's `pty`) with `environment`; returns its exit status and
  /// everything it wrote to the terminal. Once the screen shows ("^Q quit" on its key line), `signal` (a number)
  /// is sent to it, or else `keys` typed.
  static func onTerminal(
    _ arguments: [String], environment: [String: String], keys: String = "", signal: Int32 = 0
  ) async throws -> (status: Int32, output: String) {
    // On a thread of its own (`OffPool`): the test waits, holding no thread of the pool.
    try await OffPool.run {
      try onTerminalBlocking(arguments, environment: environment, keys: keys, signal: signal)
    }
  }

  static func onTerminalBlocking(
    _ arguments: [String], environment: [String: String], keys: String, signal: Int32
  ) throws -> (status: Int32, output: String) {
    let driver = """
      import os, pty, select, sys, time
      keys, number = sys.argv[1].encode().decode("unicode_escape").encode("latin-1"), int(sys.argv[2])
      pid, master = pty.fork()
      if pid == 0:
          os.execve(sys.argv[3], sys.argv[3:], dict(os.environ))
      out = b""
      acted = False
      end = time.time() + 20
      while time.time() < end:
          if not acted and b"^Q quit" in out:
              time.sleep(0.3)
              acted = True
              if number:
                  os.kill(pid, number)
              else:
                  os.write(master, keys)
          ready, _, _ = select.select([master], [], [], 0.1)
          if ready:
              try:
                  chunk = os.read(master, 65536)
              except OSError:
                  break
              if not chunk:
                  break
              out += chunk
          else:
              done, status = os.waitpid(pid, os.WNOHANG)
              if done:
                  break
      else:
          os.kill(pid, 9)
      try:
          _, status = os.waitpid(pid, 0)
      except ChildProcessError:
          pass
      sys.stdout.buffer.write(b"status=%d\\n" % os.waitstatus_to_exitcode(status) + out)
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = ["-c", driver, keys, String(signal), CLIRunner.binary.path] + arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "SEALPOST_PASSWORD")
    env["TERM"] = "xterm-256color"
    env["LANG"] = "C.UTF-8"
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    let first = text.prefix { $0 != "\n" }
    let status = Int32(first.dropFirst("status=".count)) ?? -1
    return (status, String(text.dropFirst(first.count + 1)))
  }

  static func home(theme: String? = nil, config: String? = nil) throws -> TemporaryDirectory {
    let directory = try TemporaryDirectory()
    let sealpost = directory.path + "/config/sealpost"
    try FileManager.default.createDirectory(atPath: sealpost + "/themes", withIntermediateDirectories: true)
    if let theme {
      try theme.write(toFile: sealpost + "/themes/broken.theme", atomically: true, encoding: .utf8)
    }
    if let config {
      _ = FileManager.default.createFile(
        atPath: sealpost + "/config", contents: Data(config.utf8), attributes: [.posixPermissions: 0o600])
    }
    return directory
  }

  @Test func withoutATerminalItIsAUsageError() async throws {
    let result = try await CLIRunner.run([])
    #expect(result.status == 64)
    #expect(
      result.stderr
        == "sealpost: usage: the composer needs a terminal: standard input and output must be one (to send "
        + "from a script, use sealpost send)\n")
    #expect(result.stdout.isEmpty)
  }

  @Test func helpStillWorksAndNamesTheComposer() async throws {
    let result = try await CLIRunner.run(["--help"])
    #expect(result.status == 0)
    #expect(result.stdout.contains("compose (default)"))
    #expect(result.stdout.contains("send"))
  }

  @Test func aBrokenThemeIsFileAndLineBeforeTheScreenOpens() async throws {
    let directory = try Self.home(theme: "# broken\ntitle.fg = chartreuse\n")
    defer { directory.remove() }
    let environment = ["HOME": directory.path, "XDG_CONFIG_HOME": directory.path + "/config"]
    let result = try await Self.onTerminal(["--theme", "broken"], environment: environment)
    #expect(result.status == 78, "\(result.output)")
    #expect(
      result.output.contains(
        "sealpost: configuration: theme: \(directory.path)/config/sealpost/themes/broken.theme:2: "))
    // curses never started: no alternate screen, no bracketed paste.
    #expect(!result.output.contains("\u{1B}[?1049h"))
    #expect(!result.output.contains("\u{1B}[?2004h"))
  }

  @Test func anUnknownThemeIsUsageFromTheFlagAndConfigurationFromTheAccount() async throws {
    let directory = try Self.home(
      config: "account default\nhost smtp.example.org\ntls on\nfrom a@example.org\ntheme nosuch\n")
    defer { directory.remove() }
    let environment = ["HOME": directory.path, "XDG_CONFIG_HOME": directory.path + "/config"]
    let flag = try await Self.onTerminal(["--theme", "nosuch"], environment: environment)
    #expect(flag.status == 64, "\(flag.output)")
    #expect(flag.output.contains("sealpost: usage: theme: no theme nosuch"))
    let account = try await Self.onTerminal([], environment: environment)
    #expect(account.status == 78, "\(account.output)")
    #expect(account.output.contains("sealpost: configuration: theme: no theme nosuch"))
  }

  @Test func anUnknownAccountIsAConfigurationErrorBeforeTheScreenOpens() async throws {
    let directory = try Self.home(config: "account work\nhost smtp.example.org\ntls on\nfrom a@example.org\n")
    defer { directory.remove() }
    let environment = ["HOME": directory.path, "XDG_CONFIG_HOME": directory.path + "/config"]
    let result = try await Self.onTerminal(["--account", "nope"], environment: environment)
    #expect(result.status == 78, "\(result.output)")
    #expect(result.output.contains("sealpost: configuration: no account nope in "))
    #expect(!result.output.contains("\u{1B}[?1049h"))
  }

  @Test(arguments: [("\\x11", Int32(0), Int32(0)), ("", SIGTERM, 143), ("", SIGHUP, 129)])
  func theTerminalIsRestoredOnCtrlQAndOnSignals(keys: String, signal: Int32, status: Int32) async throws {
    let directory = try Self.home()
    defer { directory.remove() }
    let environment = [
      "HOME": directory.path, "XDG_CONFIG_HOME": directory.path + "/config",
      "XDG_STATE_HOME": directory.path + "/state",
    ]
    let result = try await Self.onTerminal([], environment: environment, keys: keys, signal: signal)
    #expect(result.status == status, "\(result.output)")
    // Bracketed paste on, then off; the alternate screen entered, then left (curses' rmcup after endwin).
    let on = try #require(result.output.range(of: "\u{1B}[?2004h"))
    let off = try #require(result.output.range(of: "\u{1B}[?2004l", options: .backwards))
    #expect(on.upperBound <= off.lowerBound)
    let enter = try #require(result.output.range(of: "\u{1B}[?1049h"))
    let leave = try #require(result.output.range(of: "\u{1B}[?1049l", options: .backwards))
    #expect(enter.upperBound <= leave.lowerBound)
    let log = try String(contentsOfFile: directory.path + "/state/sealpost/composer.log", encoding: .utf8)
    #expect(log.contains("composer started"))
    #expect(log.contains("composer ended"))
  }
}
