#if canImport(Glibc)
  import Glibc
#endif

/// A file Sealpost takes commands, secrets or trust from (a config file, its `tls_trust_file`), read through one
/// descriptor that was checked first (issue 7).
///
/// The file is opened once (`O_NONBLOCK`, so a FIFO cannot hang the open; symlinks are followed and the checks
/// apply to the target), the descriptor is `fstat`ed — a regular file, owned by the user or root, that neither
/// group nor others may write, within the size limit — and at most the limit + 1 bytes are read from that same
/// descriptor. No path is opened again after the check, so a file swapped in meanwhile is never what is read, and
/// a file that grows past the limit while it is read is refused too.
public struct CheckedFile: Sendable {
  /// What was read.
  public let bytes: [UInt8]
  /// The permission bits of what was read (`st_mode & 0o7777`).
  public let permissions: UInt32

  /// Why the file is not used. The message names neither the path (the caller puts it first) nor any content.
  public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// Missing, not a regular file, too large, an I/O error: the file cannot be used as it is.
    case unreadable(String)
    /// Someone other than the user (or root) could change it: its commands would run as the user.
    case unsafe(String)

    public enum Kind: Sendable, Hashable { case unreadable, unsafe }

    public var kind: Kind {
      switch self {
      case .unreadable: .unreadable
      case .unsafe: .unsafe
      }
    }

    /// What is wrong and how to fix it; never the file's content.
    public var message: String {
      switch self {
      case .unreadable(let message), .unsafe(let message): message
      }
    }

    public var description: String { message }
  }

  /// Opens `path` and reads it through the checked descriptor.
  /// - Parameters:
  ///   - what: the file's role in words ("config file", "trust file"), for messages.
  ///   - limit: the largest size accepted, in bytes.
  ///   - showsPath: whether the fix (`chmod`, `chown`) may name the path; false when the path is a config value,
  ///     which no message shows (issue 7): the caller names the line that set it.
  public static func read(path: String, what: String, limit: Int, showsPath: Bool = true) throws(Refusal)
    -> CheckedFile
  {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
    guard descriptor >= 0 else {
      throw Refusal.unreadable("cannot read the \(what): \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    return try read(descriptor: descriptor, path: path, what: what, limit: limit, showsPath: showsPath)
  }

  /// Checks the open `descriptor` and reads from it; `path` only words the fix in messages.
  public static func read(
    descriptor: Int32, path: String, what: String, limit: Int, showsPath: Bool = true
  ) throws(Refusal) -> CheckedFile {
    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
      throw Refusal.unreadable("cannot read the \(what): \(String(cString: strerror(errno)))")
    }
    let type = info.st_mode & S_IFMT
    guard type == S_IFREG else {
      let found =
        switch type {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
      throw Refusal.unreadable("expected the \(what) to be a regular file, found \(found)")
    }
    let quoted = showsPath ? AccountsConfig.shellQuoted(path) : "on that file"
    let user = getuid()
    guard info.st_uid == user || info.st_uid == 0 else {
      throw Refusal.unsafe(
        "the \(what) belongs to uid \(info.st_uid), not to you (uid \(user)) or root, so its owner could "
          + "change what Sealpost runs and where your password goes; if it is yours, run chown \(user) \(quoted)"
      )
    }
    let permissions = UInt32(info.st_mode & 0o7777)
    guard permissions & 0o022 == 0 else {
      throw Refusal.unsafe(
        "group or others may write the \(what) (mode \(String(permissions, radix: 8))), so they could change "
          + "what Sealpost runs and where your password goes; run chmod go-w \(quoted)")
    }
    let tooLarge = Refusal.unreadable("expected the \(what) to be at most \(Self.describe(size: limit))")
    guard info.st_size <= limit else { throw tooLarge }

    // Read from the checked descriptor, never more than limit + 1 bytes: a file that grows meanwhile is refused.
    guard let bytes = Self.read(descriptor, expected: Int(info.st_size), limit: limit) else {
      throw Refusal.unreadable("cannot read the \(what): \(String(cString: strerror(errno)))")
    }
    guard bytes.count <= limit else { throw tooLarge }
    return CheckedFile(bytes: bytes, permissions: permissions)
  }

  /// Everything `descriptor` gives until its end, but never more than `limit` + 1 bytes (so a caller sees that
  /// the input is over its limit without reading the rest); `expected` sizes the first buffer. nil when a read
  /// fails (`errno` says why).
  public static func read(_ descriptor: Int32, expected: Int, limit: Int) -> [UInt8]? {
    var bytes = [UInt8](repeating: 0, count: min(max(expected, 0), limit) + 1)
    var count = 0
    while true {
      if count == bytes.count {
        guard bytes.count <= limit else { break }
        bytes += [UInt8](repeating: 0, count: min(max(bytes.count, 4096), limit + 1 - bytes.count))
      }
      let got = bytes.withUnsafeMutableBytes { buffer in
        Glibc.read(descriptor, buffer.baseAddress.map { $0 + count }, buffer.count - count)
      }
      if got < 0 && errno == EINTR { continue }
      guard got >= 0 else { return nil }
      if got == 0 { break }
      count += got
    }
    bytes.removeSubrange(count...)
    return bytes
  }

  static func describe(size: Int) -> String {
    size >= 1 << 20 && size % (1 << 20) == 0 ? "\(size >> 20) MiB" : "\(size) bytes"
  }
}
