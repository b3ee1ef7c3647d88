import ArgumentParser
import FoundationEssentials
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
/// session goes on, so the mail is not abandoned half-way; ``exit(_:)`` then reports the lost output (74,
/// EX_IOERR, when the command would otherwise have succeeded): a listing or a JSON document written to a full
/// disk must not look like a success (issue 7).
enum Output {
  static func transcript(_ line: String) { standardOutput.write(line + "\n") }

  /// Message bytes as they are (`--dry-run`): no line end added, nothing escaped.
  static func message(_ bytes: ArraySlice<UInt8>) { standardOutput.write(bytes: bytes) }

  /// One line on stderr, "sealpost: …"; ASCII only when the locale is not UTF-8 (DESIGN §5).
  static func verdict(_ line: String) {
    progressBar.clear()
    standardError.write("sealpost: " + (asciiOnly ? TranscriptFormat.ascii(line) : line) + "\n")
  }

  /// Text from the argument parser (help, usage errors), already escaped: to stdout when it was asked for
  /// (help, version), else to stderr.
  static func parserText(_ text: String, toStandardOutput: Bool) {
    let shown = (asciiOnly ? TranscriptFormat.ascii(text) : text) + "\n"
    (toStandardOutput ? standardOutput : standardError).write(shown)
  }

  /// Prints each event as it happens, in `format`.
  static func stream(_ format: TranscriptFormat) -> (SendEvent) -> Void {
    { event in
      progressBar.handle(event)
      let lines = format.render(event, asciiOnly: asciiOnly, now: Int64(time(nil)))
      if !lines.isEmpty { progressBar.clear() }
      for line in lines { transcript(line) }
    }
  }

  /// The upload's bar on stderr, when stderr is a terminal (issue 10).
  static let progressBar = ProgressBar(
    enabled: isatty(STDERR_FILENO) == 1, write: { text in standardError.write(text) })

  /// Starts a send or probe and runs it to its end: its events printed in `format` as they come, Ctrl-C or
  /// SIGTERM cancelling it (the handlers are in place before the session's thread exists).
  static func drive<Report: Sendable>(
    format: TranscriptFormat, _ start: () -> SessionHandle<Report>
  ) -> Report {
    SignalCancel.drive(start, output: stream(format))
  }

  /// A failure before the session started: its line, and the exit code to throw.
  static func refuse(_ failure: SendFailure) -> ExitCode {
    let line = CLIWording.verdict(failure.description, failure: failure)
    outcomeRecord(failure, verdict: line)
    verdict(line)
    return ExitCode(failure.exitCode)
  }

  /// Whether the command line asks for `--transcript jsonl` (set at start-up from the raw arguments, so that a
  /// usage error ArgumentParser finds before any command runs is covered too).
  nonisolated(unsafe) static var jsonLinesTranscript = false

  static func wantsJSONLines(_ arguments: [String]) -> Bool {
    for (index, argument) in arguments.enumerated() {
      if argument == "--" { break }
      if argument == "--transcript=jsonl" { return true }
      if argument == "--transcript", index + 1 < arguments.count, arguments[index + 1] == "jsonl" {
        return true
      }
    }
    return false
  }

  /// Issue 11: a JSON-lines transcript always ends with its outcome record, also when the command stopped before
  /// a session started (a usage error, an unusable account, an unreadable file): the session writes its own.
  static func outcomeRecord(_ failure: SendFailure, verdict line: String) {
    guard jsonLinesTranscript else { return }
    let record = OutcomeRecord(outcome: .failed(failure), verdict: line, exitCode: failure.exitCode)
    let event = SendEvent(time: 0, insideTLS: false, payload: .outcome(record))
    for json in TranscriptFormat.jsonl.render(event, now: Int64(time(nil))) { transcript(json) }
  }

  /// The final line; throws the exit code unless it is 0.
  static func finish(_ line: String, exitCode: Int32) throws {
    verdict(line)
    // The outcome's own code: a session cancelled by a signal says 130 or 143 there already, and a mail that was
    // sent stays 0 even if a signal came while its transcript was still being written.
    if exitCode != 0 { throw ExitCode(exitCode) }
  }

  /// EX_IOERR (sysexits.h): the output could not be written.
  static let outputErrorCode: Int32 = 74

  /// Ends the process with `code`, or with 74 when it is 0 but stdout or stderr lost a write. A lost write is
  /// said in one line on stderr while stderr still works; a failing exit code keeps its own value (it says more
  /// about the mail or the server than the lost output does).
  static func exit(_ code: Int32) -> Never {
    var final = code
    if let failure = standardOutput.failure ?? standardError.failure {
      let stream = standardOutput.failure != nil ? "standard output" : "standard error"
      verdict("could not write to \(stream) (\(failure)): the output is incomplete")
      if final == 0 { final = outputErrorCode }
    }
    Glibc.exit(final)
  }

  /// Issue 7: a process started with stdin, stdout or stderr closed (`<&-`, `>&-`) would hand that number to
  /// the next file or socket it opens — the config file read as the message, the transcript written to the
  /// SMTP socket. Each closed one is plugged with /dev/null at start-up; a closed stdin then reads as closed
  /// (66), a closed stdout or stderr as a lost write (74).
  static func protectStandardDescriptors() {
    for descriptor in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO]
    where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
      let plug = open("/dev/null", descriptor == STDIN_FILENO ? O_RDONLY : O_WRONLY)
      if plug >= 0 && plug != descriptor {
        dup2(plug, descriptor)
        close(plug)
      }
      switch descriptor {
      case STDIN_FILENO: Input.standardInputWasClosed = true
      case STDOUT_FILENO: standardOutput.markFailed("closed")
      default: standardError.markFailed("closed")
      }
    }
  }

  static let asciiOnly = !Environment.isUTF8Locale

  private static let standardOutput = Stream(descriptor: STDOUT_FILENO)
  fileprivate static let standardError = Stream(descriptor: STDERR_FILENO)

  fileprivate final class Stream: Sendable {
    let descriptor: Int32
    /// Why the first failed write failed (strerror), once one has.
    private let failed = Mutex<String?>(nil)

    init(descriptor: Int32) { self.descriptor = descriptor }

    var failure: String? { failed.withLock { $0 } }

    func markFailed(_ reason: String) { failed.withLock { $0 = $0 ?? reason } }

    func write(_ text: String) { write(bytes: Array(text.utf8)[...]) }

    func write(bytes text: ArraySlice<UInt8>) {
      failed.withLock { failed in
        guard failed == nil else { return }
        var bytes = text
        while !bytes.isEmpty {
          let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
          if written > 0 {
            bytes = bytes.dropFirst(written)
          } else if written < 0 && errno == EINTR {
            continue
          } else {
            failed = written < 0 ? String(cString: strerror(errno)) : "nothing written"
            return
          }
        }
      }
    }
  }
}

/// Input files and standard input: missing or unreadable → 66; larger than the limit → 65 (issue 7).
///
/// Every input is read through one descriptor with a bound: `open`, `fstat` (a directory is refused, a regular
/// file whose size is over the limit is refused without reading it), then `read(2)` until end of file or the
/// limit plus one octet. Standard input is fd 0 as it is: never Foundation's `FileHandle`, which traps on a
/// closed descriptor.
enum Input {
  /// The largest message or body Sealpost reads unless `--max-size` says otherwise: 64 MiB, far above what
  /// providers accept (Gmail 25 MB, Postfix's default 10 MB) and small enough to hold in memory. The one
  /// place the limit is set; streaming from disk will read this too.
  static let defaultMaximumSize = 64 << 20

  /// Set at start-up when the process began with fd 0 closed (``Output/protectStandardDescriptors()``).
  nonisolated(unsafe) static var standardInputWasClosed = false

  /// Whether standard input is a terminal: then no body is read from it unless `--body-file -` asks.
  static var standardInputIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

  static func checkReadable(_ path: String, what: String) throws(SendFailure) {
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw SendFailure(.noInput, "cannot read the \(what) \(UntrustedText(path).escaped)")
    }
  }

  /// The bytes of `path` (`-` for standard input), at most `limit` of them.
  /// With `regularOnly`, anything but a regular file is refused, and opening one never blocks (a FIFO in a
  /// folder of messages must not hang a batch).
  static func read(_ path: String, what: String, limit: Int = defaultMaximumSize, regularOnly: Bool = false)
    throws(SendFailure) -> [UInt8]
  {
    let fromStandardInput = path == "-"
    let name = fromStandardInput ? "standard input" : UntrustedText(path).escaped
    func unreadable(_ why: String) -> SendFailure {
      SendFailure(.noInput, "the \(what) from \(name): \(why)")
    }
    func tooLarge(_ size: Int?) -> SendFailure {
      let what =
        size.map { "the \(what) in \(name) is \(Self.grouped($0)) octets, over" }
        ?? "the \(what) from \(name) is over"
      return SendFailure(
        .dataError,
        "\(what) the limit of \(Self.grouped(limit)) octets (raise it with --max-size) — nothing was sent")
    }
    if fromStandardInput && standardInputWasClosed { throw unreadable("it is closed") }
    let descriptor =
      fromStandardInput ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | (regularOnly ? O_NONBLOCK : 0))
    guard descriptor >= 0 else { throw unreadable(String(cString: strerror(errno))) }
    defer { if !fromStandardInput { close(descriptor) } }

    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
      throw unreadable(errno == EBADF ? "it is closed" : String(cString: strerror(errno)))
    }
    switch info.st_mode & S_IFMT {
    case S_IFDIR: throw unreadable("it is a directory")
    case S_IFREG where Int(info.st_size) > limit: throw tooLarge(Int(info.st_size))
    case S_IFREG: break
    default: if regularOnly { throw unreadable("it is not a regular file") }
    }

    var bytes: [UInt8] = []
    if (info.st_mode & S_IFMT) == S_IFREG { bytes.reserveCapacity(Int(info.st_size) + 1) }
    // A regular file's size is known: a chunk just over it (so one read also sees the end), not 64 KiB zeroed
    // for every small file of a batch.
    let chunkSize =
      (info.st_mode & S_IFMT) == S_IFREG ? min(64 << 10, max(Int(info.st_size) + 1, 4096)) : 64 << 10
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    while true {
      // Never more than limit + 1 octets: enough to know the input is over the limit.
      let wanted = min(chunkSize, limit + 1 - bytes.count)
      let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, wanted) }
      if count == 0 { return bytes }
      if count < 0 {
        if errno == EINTR { continue }
        throw unreadable(errno == EBADF ? "it is closed" : String(cString: strerror(errno)))
      }
      bytes += chunk[0..<count]
      if bytes.count > limit { throw tooLarge(nil) }
    }
  }

  /// A `--message` as it will be sent: small ones in memory, large ones (over `streamingThreshold`) by an open
  /// descriptor that each pass reads with `pread` (issue 10).
  enum Message {
    case bytes([UInt8])
    /// An open descriptor (the caller owns it) and the name refusals use.
    case descriptor(Int32, name: String)
  }

  /// Above this a message streams: a regular file stays open and is read at each pass, standard input is
  /// spooled to an unlinked temporary file. Below it the message is simply held.
  static let streamingThreshold = 1 << 20

  /// `--message PATH|-`, at most `limit` octets: a regular file over `streamingThreshold` is kept open (its own
  /// descriptor, never opened again by path); standard input (or any pipe) is read up to the threshold and, if
  /// it goes on, spooled to a 0600 temporary file in `$TMPDIR` (else /tmp) that is unlinked at once, so nothing
  /// is left behind whatever happens. A spool that cannot be written (a full disk, a quota) is a temporary
  /// failure (75): nothing was sent, and the same command can succeed later.
  ///
  /// A body (`--body-file`, piped standard input) takes the same way (`what: "body"`): the MIME writer reads it
  /// from the descriptor at each pass.
  static func message(_ path: String, what: String = "message", limit: Int = defaultMaximumSize)
    throws(SendFailure) -> Message
  {
    let fromStandardInput = path == "-"
    let name = fromStandardInput ? "standard input" : UntrustedText(path).escaped
    if !fromStandardInput || standardInputWasClosed {
      // A regular file: open it once, and keep that descriptor when it is large.
      if !fromStandardInput {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
          throw SendFailure(.noInput, "the \(what) from \(name): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) <= limit,
          Int(info.st_size) > streamingThreshold
        {
          return .descriptor(descriptor, name: name)
        }
        close(descriptor)
      }
      return .bytes(try read(path, what: what, limit: limit))
    }
    // Standard input: a regular file behind it, read from its start, is read where it is, from a descriptor of
    // our own (a file already partly read, `(read line; sealpost …) < file`, is taken from where it stands, as a
    // pipe is).
    var info = stat()
    if fstat(STDIN_FILENO, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) <= limit,
      Int(info.st_size) > streamingThreshold, lseek(STDIN_FILENO, 0, SEEK_CUR) == 0
    {
      let copy = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)
      if copy >= 0 { return .descriptor(copy, name: name) }
    }
    if (info.st_mode & S_IFMT) == S_IFDIR { return .bytes(try read(path, what: what, limit: limit)) }
    // A pipe: up to the threshold in memory; past it, the spool.
    var head: [UInt8] = []
    let wanted = min(limit, streamingThreshold) + 1
    var chunk = [UInt8](repeating: 0, count: 64 << 10)
    while head.count < wanted {
      let count = chunk.withUnsafeMutableBytes {
        Glibc.read(STDIN_FILENO, $0.baseAddress, min($0.count, wanted - head.count))
      }
      if count == 0 { return .bytes(head) }
      if count < 0 {
        if errno == EINTR { continue }
        throw SendFailure(.noInput, "the \(what) from standard input: \(String(cString: strerror(errno)))")
      }
      head += chunk[0..<count]
    }
    if head.count > limit {
      throw SendFailure(
        .dataError,
        "the \(what) from standard input is over the limit of \(Self.grouped(limit)) octets (raise it with "
          + "--max-size) — nothing was sent")
    }
    return .descriptor(try spool(head, what: what, limit: limit), name: name)
  }

  /// Copies `head` and the rest of standard input into an unlinked temporary file; returns its descriptor.
  static func spool(_ head: [UInt8], what: String = "message", limit: Int) throws(SendFailure) -> Int32 {
    let directory = Environment.variables["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    let shownDirectory = UntrustedText(directory).escaped
    func failed(_ what: String, _ code: Int32) -> SendFailure {
      SendFailure(
        .temporary,
        "cannot spool standard input to a temporary file in \(shownDirectory) (\(what): "
          + "\(String(cString: strerror(code)))) — nothing was sent")
    }
    var template = Array((directory + "/sealpost-spool-XXXXXX").utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { buffer in
      buffer.baseAddress.map { mkstemp($0) } ?? -1
    }
    guard descriptor >= 0 else { throw failed("creating it", errno) }
    _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
    // Unlinked at once: the data lives only as long as the descriptor, and no other process can open it.
    _ = template.withUnsafeBufferPointer { buffer in buffer.baseAddress.map { unlink($0) } }
    _ = fchmod(descriptor, 0o600)
    var total = 0
    func append(_ bytes: UnsafeRawBufferPointer) throws(SendFailure) {
      var offset = 0
      while offset < bytes.count {
        guard let base = bytes.baseAddress else { return }
        let written = Glibc.write(descriptor, base + offset, bytes.count - offset)
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else {
          let code = written < 0 ? errno : ENOSPC
          close(descriptor)
          throw failed("writing", code)
        }
        offset += written
      }
      total += bytes.count
    }
    var failure: SendFailure?
    head.withUnsafeBytes { bytes in
      do throws(SendFailure) { try append(bytes) } catch { failure = error }
    }
    if let failure { throw failure }
    let chunkSize = 256 << 10
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
    defer { chunk.deallocate() }
    while true {
      let wanted = min(chunkSize, limit + 1 - total)
      let count = Glibc.read(STDIN_FILENO, chunk.baseAddress, wanted)
      if count == 0 { break }
      if count < 0 {
        if errno == EINTR { continue }
        let reason = String(cString: strerror(errno))
        close(descriptor)
        throw SendFailure(.noInput, "the \(what) from standard input: \(reason)")
      }
      try append(UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
      if total > limit {
        close(descriptor)
        throw SendFailure(
          .dataError,
          "the \(what) from standard input is over the limit of \(Self.grouped(limit)) octets (raise it with "
            + "--max-size) — nothing was sent")
      }
    }
    return descriptor
  }

  /// `--max-size`: octets, or with a K, M or G suffix (powers of 1,024).
  static func parseSize(_ text: String) -> Int? {
    var digits = Substring(text)
    var multiplier = 1
    switch digits.last {
    case "K", "k": multiplier = 1 << 10
    case "M", "m": multiplier = 1 << 20
    case "G", "g": multiplier = 1 << 30
    default: break
    }
    if multiplier > 1 { digits = digits.dropLast() }
    guard !digits.isEmpty, digits.allSatisfy({ ("0"..."9").contains($0) }), let value = Int(digits), value > 0
    else { return nil }
    let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
    return overflow || product >= Int.max / 2 ? nil : product
  }

  /// 67108864 → "67,108,864".
  static func grouped(_ value: Int) -> String {
    let digits = Array(String(value))
    var out = ""
    for (index, digit) in digits.enumerated() {
      if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
      out.append(digit)
    }
    return out
  }
}
