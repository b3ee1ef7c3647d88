#if canImport(Glibc)
  import Glibc
#endif

/// Bytes that can be read from the start as often as asked, never held whole (DESIGN §2: attachments stream
/// from a byte source). Every pass gives the same bytes; when it cannot (a file changed), it fails instead.
public protocol ByteSource: Sendable {
  /// How many bytes a pass gives.
  var byteCount: Int { get }
  /// Starts a new pass.
  func open() throws(MessageError) -> any ByteReader
}

/// One pass over a byte source.
public protocol ByteReader {
  /// Fills the start of `buffer` with the next bytes and returns how many; 0 only at the end.
  mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int
}

/// Bytes in memory (tests, a composer's pasted attachment).
public struct InMemoryBytes: ByteSource {
  public let bytes: [UInt8]

  public init(_ bytes: [UInt8]) { self.bytes = bytes }

  public var byteCount: Int { bytes.count }

  public func open() throws(MessageError) -> any ByteReader { InMemoryMessage.Reader(bytes: bytes) }
}

extension InMemoryMessage.Reader: ByteReader {}

/// A regular file, checked when it is named and again at each pass: a file that changes size or modification
/// time between the check and a pass, or while a pass reads it, fails that pass with a `MessageError`, so a
/// message is never sent with an attachment cut short or grown.
public struct FileByteSource: ByteSource {
  public let path: String
  public let byteCount: Int
  /// The modification time seen when the file was checked (seconds, nanoseconds).
  let modified: (seconds: Int, nanoseconds: Int)

  /// Opens and checks `path`: it must be a regular file this process can read (``MessageError/Kind/unreadableInput``
  /// otherwise, naming the path escaped).
  public init(path: String) throws(MessageError) {
    self.path = path
    let (descriptor, info) = try Self.openChecked(path)
    close(descriptor)
    byteCount = Int(info.st_size)
    modified = (Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec))
  }

  public func open() throws(MessageError) -> any ByteReader {
    let (descriptor, info) = try Self.openChecked(path)
    if Int(info.st_size) != byteCount || Int(info.st_mtim.tv_sec) != modified.seconds
      || Int(info.st_mtim.tv_nsec) != modified.nanoseconds
    {
      close(descriptor)
      throw changed("it changed since it was checked (\(byteCount) octets then, \(info.st_size) now)")
    }
    return FileReader(source: self, descriptor: descriptor)
  }

  func changed(_ reason: String) -> MessageError {
    MessageError(
      .invalidData,
      "the attachment \(DisplayText.escaped(path)) changed while the message was written: \(reason)")
  }

  static func openChecked(_ path: String) throws(MessageError) -> (Int32, stat) {
    func unreadable(_ reason: String) -> MessageError {
      MessageError(.unreadableInput, "the attachment \(DisplayText.escaped(path)): \(reason)")
    }
    // O_NONBLOCK: a FIFO must not block the open; it is refused below as not a regular file.
    let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard descriptor >= 0 else { throw unreadable(String(cString: strerror(errno))) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
      let reason = String(cString: strerror(errno))
      close(descriptor)
      throw unreadable(reason)
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      close(descriptor)
      let kind = (info.st_mode & S_IFMT) == S_IFDIR ? "it is a directory" : "it is not a regular file"
      throw unreadable(kind)
    }
    // Back to blocking reads for the regular file.
    let flags = fcntl(descriptor, F_GETFL)
    if flags >= 0 { _ = fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK) }
    return (descriptor, info)
  }

  /// Reads exactly `byteCount` bytes; fewer or more fails the pass.
  final class FileReader: ByteReader {
    let source: FileByteSource
    let descriptor: Int32
    var remaining: Int

    init(source: FileByteSource, descriptor: Int32) {
      self.source = source
      self.descriptor = descriptor
      remaining = source.byteCount
    }

    deinit { close(descriptor) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int {
      guard buffer.count > 0 else { return 0 }
      if remaining == 0 {
        // One octet more than the file had when checked means it grew.
        var probe: UInt8 = 0
        let count = readRetrying(&probe, 1)
        if count > 0 { throw source.changed("it grew past the \(source.byteCount) octets it had") }
        if count < 0 { throw source.changed(String(cString: strerror(errno))) }
        return 0
      }
      let wanted = min(buffer.count, remaining)
      guard let base = buffer.baseAddress else { return 0 }
      let count = readRetrying(base, wanted)
      if count < 0 { throw source.changed(String(cString: strerror(errno))) }
      if count == 0 {
        throw source.changed(
          "it ended after \(source.byteCount - remaining) of the \(source.byteCount) octets it had")
      }
      remaining -= count
      return count
    }

    private func readRetrying(_ pointer: UnsafeMutableRawPointer, _ count: Int) -> Int {
      while true {
        let result = Glibc.read(descriptor, pointer, count)
        if result < 0 && errno == EINTR { continue }
        return result
      }
    }
  }
}

/// A descriptor adopted with what its file was then (size and modification time), so that each later pass can
/// tell whether it is still the same file; closed when the last owner is gone. One check for every source that
/// reads a file at more than one pass (a body file, a spooled standard input, a `--message` file).
public final class AdoptedFile: Sendable {
  public let descriptor: Int32
  public let size: Int
  public let modified: timespec
  /// How errors name the file (already escaped).
  public let name: String

  /// Adopts `descriptor` (closed here if it cannot be used); a failing `fstat` is a `kind` error that says
  /// "cannot read `what`".
  public init(descriptor: Int32, name: String, kind: MessageError.Kind, what: String) throws(MessageError) {
    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
      let reason = String(cString: strerror(errno))
      close(descriptor)
      throw MessageError(kind, "cannot read \(what): \(reason)")
    }
    self.descriptor = descriptor
    self.size = Int(info.st_size)
    self.modified = info.st_mtim
    self.name = name
  }

  deinit { close(descriptor) }

  /// Up to `count` octets at `offset` into `base` (EINTR retried), never past the adopted size; 0 at the
  /// adopted end, once nothing follows it and the file is as it was. A file that grew, shrank or changed is a
  /// `changed(why)` error; a failing read says "cannot read `what`".
  public func read(
    into base: UnsafeMutableRawPointer, count: Int, at offset: Int, what: String,
    changed: (String) -> MessageError
  ) throws(MessageError) -> Int {
    let wanted = min(count, size - offset)
    if wanted <= 0 {
      var probe: UInt8 = 0
      if pread(descriptor, &probe, 1, off_t(offset)) > 0 { throw changed("it grew") }
      if let change = change() { throw changed(change) }
      return 0
    }
    var got: Int
    repeat {
      got = pread(descriptor, base, wanted, off_t(offset))
    } while got < 0 && errno == EINTR
    if got < 0 {
      throw MessageError(.invalidData, "cannot read \(what): \(String(cString: strerror(errno)))")
    }
    if got == 0 { throw changed("it became shorter") }
    return got
  }

  /// Nil when the file is as it was adopted, else why not.
  public func change() -> String? {
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { return String(cString: strerror(errno)) }
    if Int(info.st_size) != size { return "its size is now \(info.st_size) octets, it was \(size)" }
    if info.st_mtim.tv_sec != modified.tv_sec || info.st_mtim.tv_nsec != modified.tv_nsec {
      return "it was modified"
    }
    return nil
  }
}

/// Bytes behind a descriptor that was opened (and checked) elsewhere — a body file kept open, or standard input
/// spooled to an unlinked temporary file (issue 10) — read with `pread` at each pass, so no path is opened
/// again. A pass fails when the file is no longer the size and modification time it had when adopted, or when
/// it gives more or fewer octets than that size.
public struct DescriptorByteSource: ByteSource {
  let file: AdoptedFile

  /// Adopts `descriptor` (closed when the source is gone, or here if it cannot be used); `name` is how errors
  /// name it (already escaped, e.g. "standard input").
  public init(descriptor: Int32, name: String) throws(MessageError) {
    file = try AdoptedFile(descriptor: descriptor, name: name, kind: .unreadableInput, what: name)
  }

  public var byteCount: Int { file.size }

  public func open() throws(MessageError) -> any ByteReader {
    if let change = file.change() { throw changed(change) }
    return Reader(file: file, source: self)
  }

  /// The last octet, nil when empty (a signature goes after a line end of its own when the text has none).
  public func lastByte() throws(MessageError) -> UInt8? {
    guard file.size > 0 else { return nil }
    var byte: UInt8 = 0
    var got: Int
    repeat {
      got = pread(file.descriptor, &byte, 1, off_t(file.size - 1))
    } while got < 0 && errno == EINTR
    guard got == 1 else { throw changed(got < 0 ? String(cString: strerror(errno)) : "it became shorter") }
    return byte
  }

  func changed(_ why: String) -> MessageError {
    MessageError(.invalidData, "\(file.name) changed after it was checked (\(why))")
  }

  struct Reader: ByteReader {
    let file: AdoptedFile
    let source: DescriptorByteSource
    var offset = 0

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int {
      guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
      let got = try file.read(
        into: base, count: buffer.count, at: offset, what: file.name, changed: source.changed)
      offset += got
      return got
    }
  }
}

/// Several byte sources read one after the other as one (a body and the signature below it).
public struct ConcatenatedBytes: ByteSource {
  public let parts: [any ByteSource]

  public init(_ parts: [any ByteSource]) { self.parts = parts }

  public var byteCount: Int { parts.reduce(0) { $0 + $1.byteCount } }

  public func open() throws(MessageError) -> any ByteReader { Reader(parts: parts) }

  struct Reader: ByteReader {
    let parts: [any ByteSource]
    var index = 0
    var current: (any ByteReader)?

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int {
      while index < parts.count {
        if current == nil { current = try parts[index].open() }
        let count = try current?.read(into: buffer) ?? 0
        if count > 0 { return count }
        current = nil
        index += 1
      }
      return 0
    }
  }
}
