import Foundation
import MailSenderTesting
import Testing

/// Issue 10: the upload's progress bar, on a real terminal (a pseudo-terminal made by Python's `pty`, as the
/// prompt tests do): on stderr only, for an upload that takes over a second, erased before the verdict.
@Suite struct ProgressBarTests {
  /// Runs the binary on a new pty (`argv[3]` columns wide; 0: as made) with stdout sent to the file `argv[2]`
  /// (so the pty shows stderr alone) and prints "status=N" then everything the terminal showed.
  static let driver = #"""
    import fcntl, os, pty, select, struct, sys, termios, time
    binary, stdout_path, columns = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pid, master = pty.fork()
    if pid == 0:
        if columns:
            fcntl.ioctl(2, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.execv(binary, [binary] + sys.argv[4:])
    shown, deadline, status = b"", time.time() + 60, None
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                chunk = b""
            shown += chunk
            if chunk:
                continue
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    print(f"status={code}")
    sys.stdout.write(shown.decode("utf-8", "replace"))
    """#

  /// Runs the driver on a thread of its own (`OffPool`): the test waits, holding no thread of the pool.
  static func run(_ arguments: [String], columns: Int = 0) async throws -> (
    status: String, terminal: String, stdout: String
  ) {
    try await OffPool.run { try runBlocking(arguments, columns: columns) }
  }

  static func runBlocking(_ arguments: [String], columns: Int) throws -> (
    status: String, terminal: String, stdout: String
  ) {
    let directory = NSTemporaryDirectory() + "sealpost-bar-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let stdoutPath = directory + "/stdout"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = ["-c", driver, CLIRunner.binary.path, stdoutPath, "\(columns)"] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "SEALPOST_PASSWORD")
    environment.removeValue(forKey: "XDG_CONFIG_HOME")
    environment["HOME"] = directory
    environment["LANG"] = "C.UTF-8"
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let stdout = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
    let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    return (parts.first ?? "", parts.count > 1 ? parts[1] : "", stdout)
  }

  static func arguments(_ server: ScriptedSMTPServer, message: String) throws -> [String] {
    [
      "send", "--server", "localhost:\(server.port)", "--tls", "starttls", "--ca-file",
      try TestPKI.shared().caCertificatePath, "--from", "a@example.org", "--to", "b@example.org", "--timeout",
      "30", "--message", message,
    ]
  }

  static func messageFile(megabytes: Int, in directory: String) throws -> String {
    let path = directory + "/large-\(megabytes).eml"
    let text =
      "From: a@example.org\r\nTo: b@example.org\r\nSubject: bar\r\n\r\n"
      + String(repeating: String(repeating: "z", count: 510) + "\r\n", count: megabytes << 11)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// A server that reads nothing of the message for two seconds: the upload lasts over a second, so the bar
  /// shows on the terminal (stderr), never on stdout, and is gone before the verdict.
  @Test(arguments: [0, 60, 20])
  func aSlowUploadShowsTheBarOnStderrOnlyAndErasesItBeforeTheVerdict(columns: Int) async throws {
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid))
    options.stall = .beforeReadingData(seconds: 2)
    options.capabilitiesAfterTLS.removeAll { $0.hasPrefix("SIZE") }
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let directory = NSTemporaryDirectory() + "sealpost-bar-msg-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let result = try await Self.run(
      try Self.arguments(server, message: try Self.messageFile(megabytes: 16, in: directory)),
      columns: columns)
    #expect(result.status == "status=0", "\(result.terminal.suffix(500))")
    // The full bar on a wide terminal, a shorter one at 60 columns, the percentage alone at 20; never a line
    // as wide as the terminal (it would wrap, and could not be redrawn in place).
    #expect(
      result.terminal.contains(columns == 20 ? "\rsending " : "\rsending ["), "\(result.terminal.suffix(500))"
    )
    #expect(result.terminal.contains("%"))
    let widest =
      result.terminal.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).filter {
        $0.hasPrefix("sending")
      }.map { $0.replacingOccurrences(of: "\u{1B}[K", with: "").count }.max() ?? 0
    #expect(widest > 0 && widest < (columns == 0 ? 80 : columns), "widest bar line \(widest)")
    // Erased, then the verdict on a clean line.
    #expect(result.terminal.contains("\r\u{1B}[Ksealpost: sent"), "\(result.terminal.suffix(300))")
    #expect(!result.stdout.contains("sending ["))
    #expect(result.stdout.contains("[message: "))
  }

  /// A quick upload shows no bar.
  @Test func aQuickUploadShowsNoBar() async throws {
    let server = try ScriptedSMTPServer(
      standard: StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid)))
    defer { server.stop() }
    let directory = NSTemporaryDirectory() + "sealpost-bar-msg-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/small.eml"
    try Data("From: a@example.org\r\nSubject: s\r\n\r\nsmall\r\n".utf8).write(to: URL(fileURLWithPath: path))
    let result = try await Self.run(try Self.arguments(server, message: path))
    #expect(result.status == "status=0", "\(result.terminal)")
    #expect(!result.terminal.contains("sending ["))
    #expect(result.terminal.contains("sealpost: sent"))
  }
}
