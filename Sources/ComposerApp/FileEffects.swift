import ComposerCore
import FoundationEssentials
import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// Tab completion of an attachment path: the entries of the directory named so far that start with the rest,
/// directories with a `/` after them; hidden entries only when the prefix asks for them. The work is bounded
/// whatever the directory holds (review: a folder of 100,000 files was read whole and sorted before the limit
/// applied, and the key stalled): the entries are read one at a time (`readdir`), the first ``limit`` matches
/// are kept, one more says that there are more, and only those are sorted.
enum PathCompletion {
  static let limit = 200

  /// The matches found (sorted), and whether the directory holds more than these.
  struct Found: Sendable, Hashable {
    var candidates: [String]
    var more: Bool
  }

  static func candidates(for prefix: String, home: String? = ProcessInfo.processInfo.environment["HOME"])
    -> Found
  {
    var expanded = prefix
    var tilde = false
    if prefix == "~" || prefix.hasPrefix("~/"), let home {
      expanded = home + prefix.dropFirst()
      tilde = true
    }
    let directory: String
    let stem: String
    if let slash = expanded.lastIndex(of: "/") {
      directory = slash == expanded.startIndex ? "/" : String(expanded[..<slash])
      stem = String(expanded[expanded.index(after: slash)...])
    } else {
      directory = "."
      stem = expanded
    }
    guard let stream = DirectoryNames(path: directory) else { return Found(candidates: [], more: false) }
    let typedBase = prefix.lastIndex(of: "/").map { String(prefix[...$0]) } ?? (tilde ? "~/" : "")
    let (names, more) = matches(stream, stem: stem, limit: limit)
    let found = names.map { name in
      var isDirectory = false
      let full = (directory == "/" ? "" : directory) + "/" + name
      _ = FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory)
      return typedBase + name + (isDirectory ? "/" : "")
    }
    return Found(candidates: found, more: more)
  }

  /// The first `limit` names that start with `stem` (hidden ones only when `stem` is), sorted, and whether
  /// another one follows; `names` is read no further than the match after the limit.
  static func matches(_ names: some Sequence<String>, stem: String, limit: Int) -> (
    names: [String], more: Bool
  ) {
    var found: [String] = []
    for name in names where name.hasPrefix(stem) {
      if name.hasPrefix(".") && !stem.hasPrefix(".") { continue }
      if found.count == limit { return (found.sorted(), true) }
      found.append(name)
    }
    return (found.sorted(), false)
  }
}

/// The names in a directory as `readdir(3)` gives them, one at a time (no `.` and `..`); the directory is
/// closed when the sequence is read to its end or released.
final class DirectoryNames: Sequence, IteratorProtocol {
  private var handle: OpaquePointer?

  init?(path: String) {
    guard let handle = opendir(path) else { return nil }
    self.handle = handle
  }

  deinit { if let handle { closedir(handle) } }

  func next() -> String? {
    while let handle, let entry = readdir(handle) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { return name }
    }
    if let handle { closedir(handle) }
    handle = nil
    return nil
  }
}

/// Whether a file can be attached: a regular file that can be read, and its size. Messages quote the path
/// escaped (it is typed text).
enum AttachmentCheck {
  static func check(_ path: String, home: String? = ProcessInfo.processInfo.environment["HOME"]) -> Result<
    Int64, ComposerProblem
  > {
    var expanded = path
    if path == "~" || path.hasPrefix("~/"), let home { expanded = home + path.dropFirst() }
    let shown = UntrustedText(path).escaped
    let descriptor = open(expanded, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
    guard descriptor >= 0 else {
      return .failure(ComposerProblem("\(shown): \(String(cString: strerror(errno)))"))
    }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
      return .failure(ComposerProblem("\(shown): \(String(cString: strerror(errno)))"))
    }
    guard info.st_mode & S_IFMT == S_IFREG else {
      return .failure(ComposerProblem("\(shown): not a regular file"))
    }
    return .success(Int64(info.st_size))
  }
}
