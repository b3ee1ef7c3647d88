import ArgumentParser
import Foundation
import MailMessage
import MailSender
import SMTPProtocol
import SMTPTransport
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// stdout for the transcript (flushed per event), stderr for the verdict (DESIGN §4).
///
/// Written with write(2): a reader that went away (`sealpost send … | head -1`) must not crash the process
/// (Foundation's `FileHandle.write` traps on EPIPE). Once a stream fails, its later lines are dropped and the
/// session goes on, so the exit code still tells what happened to the mail.
enum Output {
  static func transcript(_ line: String) { standardOutput.write(line + "\n") }

  /// One line on stderr, "sealpost: …"; ASCII only when the locale is not UTF-8 (DESIGN §5).
  static func verdict(_ line: String) {
    standardError.write("sealpost: " + (asciiOnly ? TranscriptFormat.ascii(line) : line) + "\n")
  }

  /// Prints each event as it happens, in `format`.
  static func stream(_ format: TranscriptFormat) -> (SendEvent) -> Void {
    { event in
      for line in format.render(event, asciiOnly: asciiOnly, now: Int64(time(nil))) { transcript(line) }
    }
  }

  /// Runs a started send or probe to its end: its events printed in `format` as they come, Ctrl-C or SIGTERM
  /// cancelling it.
  static func drive<Report: Sendable>(_ handle: SessionHandle<Report>, format: TranscriptFormat) -> Report {
    let print = stream(format)
    return SignalCancel.drive(handle, output: print)
  }

  /// A failure before the session started: its line, and the exit code to throw.
  static func refuse(_ failure: SendFailure) -> ExitCode {
    verdict(CLIWording.verdict(failure.description, failure: failure))
    return ExitCode(failure.exitCode)
  }

  /// The final line; throws the exit code unless it is 0.
  static func finish(_ line: String, exitCode: Int32) throws {
    verdict(line)
    // A session cancelled by a signal exits as 128 + the signal (130 for Ctrl-C, 143 for SIGTERM).
    let code = SignalCancel.exitCode(exitCode)
    if code != 0 { throw ExitCode(code) }
  }

  static let asciiOnly = !Environment.isUTF8Locale

  private static let standardOutput = Stream(descriptor: STDOUT_FILENO)
  private static let standardError = Stream(descriptor: STDERR_FILENO)

  private final class Stream: Sendable {
    let descriptor: Int32
    private let failed = Mutex(false)

    init(descriptor: Int32) { self.descriptor = descriptor }

    func write(_ text: String) {
      failed.withLock { failed in
        guard !failed else { return }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
          let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
          if written > 0 {
            bytes = bytes.dropFirst(written)
          } else if written < 0 && errno == EINTR {
            continue
          } else {
            failed = true
            return
          }
        }
      }
    }
  }
}

/// Input files: missing or unreadable → 66.
enum Input {
  static func checkReadable(_ path: String, what: String) throws(SendFailure) {
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw SendFailure(.noInput, "cannot read the \(what) \(UntrustedText(path).escaped)")
    }
  }

  static func read(_ path: String, what: String) throws(SendFailure) -> [UInt8] {
    if path == "-" {
      return [UInt8](FileHandle.standardInput.readDataToEndOfFile())
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw SendFailure(.noInput, "cannot read the \(what) \(UntrustedText(path).escaped)")
    }
    return [UInt8](data)
  }
}
