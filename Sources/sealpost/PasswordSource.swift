import Foundation
import MailSender

#if canImport(Glibc)
  import Glibc
#endif

/// Where the password comes from, in the order of DESIGN §4: `--password-command` > `SEALPOST_PASSWORD` > a
/// prompt without echo on `/dev/tty`. (Account sources come with the accounts issue.)
enum PasswordSource {
  static func resolve(command: String?, prompt: String) throws(SendFailure) -> Secret {
    if let command { return try run(command) }
    if let value = Environment.password { return Secret(value) }
    return try askTerminal(prompt)
  }

  /// Runs `/bin/sh -c command` without `SEALPOST_PASSWORD` in its environment; one trailing newline is removed.
  /// The command's output is never shown, not even in an error.
  static func run(_ command: String) throws(SendFailure) -> Secret {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "SEALPOST_PASSWORD")
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardInput = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      throw SendFailure(.configuration, "the password command could not be started")
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
      throw SendFailure(
        .configuration, "the password command failed (exit status \(process.terminationStatus))")
    }
    var bytes = [UInt8](data)
    if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
    if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
    guard !bytes.isEmpty else {
      throw SendFailure(.configuration, "the password command printed nothing")
    }
    return Secret(bytes)
  }

  /// Asks on the controlling terminal with echo off; stdin may be the message.
  static func askTerminal(_ prompt: String) throws(SendFailure) -> Secret {
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
      _ = tcsetattr(fd, TCSAFLUSH, &silent)
    }
    defer {
      if hasTermios {
        var restore = saved
        _ = tcsetattr(fd, TCSAFLUSH, &restore)
      }
    }
    let promptBytes = Array(prompt.utf8)
    _ = promptBytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var bytes: [UInt8] = []
    var byte: UInt8 = 0
    while read(fd, &byte, 1) == 1 {
      if byte == UInt8(ascii: "\n") { break }
      bytes.append(byte)
      if bytes.count > 4096 { break }
    }
    _ = write(fd, "\n", 1)
    if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
    guard !bytes.isEmpty else { throw SendFailure(.configuration, "no password given") }
    return Secret(bytes)
  }
}
