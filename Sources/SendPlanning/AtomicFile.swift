import MailMessage
import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// Files Sealpost writes for the person (its config file, the pin file, saved transcripts): mode 0600 in a
/// directory made 0700 when it is missing, written whole or not at all — a temporary file beside the target,
/// `fsync`, `rename`, then `fsync` of the directory, so a crash leaves the old file or the new one, never half.
public enum AtomicFile {
  /// Why a file could not be written: the path and the system's reason (never the content).
  public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
  }

  /// Writes `bytes` to `path` atomically with mode 0600 (parent directories made 0700 as needed).
  public static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
    try write(to: path) { descriptor in fill(descriptor, with: bytes) }
  }

  /// Writes the text of one of the person's settings files (the config file, the pin file) atomically; a failure
  /// is a configuration error naming the path and the system's reason.
  static func writeSettings(_ text: String, to path: String) throws(PlanningError) {
    do throws(Failure) {
      try write(Array(text.utf8), to: path)
    } catch {
      throw PlanningError(
        .configuration, PlanningText(stringLiteral: UntrustedText(error.description).escaped))
    }
  }

  /// Writes one pass over `source` (as written for `offer`) to `path` atomically, a piece at a time, never the
  /// whole message in memory; returns its size and its first 64 KiB (enough for a header). A pass that fails
  /// leaves nothing behind.
  public static func write(_ source: any MessageSource, offer: ContentOffer, to path: String) throws(Failure)
    -> (size: Int, head: [UInt8])
  {
    var size = 0
    var head: [UInt8] = []
    try write(to: path) { descriptor in
      guard fchmod(descriptor, 0o600) == 0 else { return "cannot set the mode of" }
      var reader: any MessageReader
      do throws(MessageError) {
        reader = try source.open(for: offer)
      } catch {
        return "cannot read the message for"
      }
      var buffer = [UInt8](repeating: 0, count: 64 << 10)
      while true {
        var result: Result<Int, MessageError> = .success(0)
        buffer.withUnsafeMutableBytes { raw in
          result = Result { () throws(MessageError) in try reader.read(into: raw) }
        }
        guard case .success(let count) = result else { return "cannot read the message for" }
        if count == 0 { break }
        if head.count < 64 << 10 { head += buffer[0..<min(count, (64 << 10) - head.count)] }
        if let problem = append(descriptor, buffer[0..<count]) { return problem }
        size += count
      }
      return fsync(descriptor) == 0 ? nil : "cannot write"
    }
    return (size, head)
  }

  /// The temporary file, `fill`, `rename`, the folder's `fsync`: `fill` writes the content and returns what
  /// failed, or nil.
  private static func write(to path: String, fill: (Int32) -> String?) throws(Failure) {
    let directory = parent(of: path)
    try makeDirectories(directory)
    var template = Array((path + ".tmp-XXXXXX").utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
      guard let base = buffer.baseAddress else { return -1 }
      return mkstemp(base)
    }
    guard descriptor >= 0 else { throw failure("cannot write", path) }
    let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var written = false
    defer { if !written { unlink(temporary) } }
    let problem = fill(descriptor)
    close(descriptor)
    if let problem { throw failure(problem, path) }
    guard rename(temporary, path) == 0 else { throw failure("cannot replace", path) }
    written = true
    let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if directoryDescriptor >= 0 {
      _ = fsync(directoryDescriptor)
      close(directoryDescriptor)
    }
  }

  /// Writes all of `bytes` to `descriptor`; what failed, or nil.
  private static func append(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>) -> String? {
    var offset = bytes.startIndex
    while offset < bytes.endIndex {
      let count = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { return "cannot write" }
      offset += count
    }
    return nil
  }

  /// Writes `bytes` to `descriptor` with mode 0600 and syncs it; what failed, or nil.
  private static func fill(_ descriptor: Int32, with bytes: [UInt8]) -> String? {
    guard fchmod(descriptor, 0o600) == 0 else { return "cannot set the mode of" }
    if let problem = append(descriptor, bytes[...]) { return problem }
    return fsync(descriptor) == 0 ? nil : "cannot write"
  }

  /// Creates `path` and its missing parents with mode 0700.
  public static func makeDirectories(_ path: String) throws(Failure) {
    var info = stat()
    if stat(path, &info) == 0 {
      guard info.st_mode & S_IFMT == S_IFDIR else { throw Failure(description: "\(path) is not a directory") }
      return
    }
    let up = parent(of: path)
    if up != path { try makeDirectories(up) }
    guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
      throw failure("cannot create the directory", path)
    }
  }

  static func parent(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }

  private static func failure(_ what: String, _ path: String) -> Failure {
    Failure(description: "\(what) \(path): \(String(cString: strerror(errno)))")
  }
}
