import ComposerCore
import FoundationEssentials
import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// Tab completion of an attachment path: the entries of the directory named so far that start with the rest,
/// directories with a `/` after them, sorted; hidden entries only when the prefix asks for them.
enum PathCompletion {
  static let limit = 200

  static func candidates(for prefix: String, home: String? = ProcessInfo.processInfo.environment["HOME"])
    -> [String]
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
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
    let typedBase = prefix.lastIndex(of: "/").map { String(prefix[...$0]) } ?? (tilde ? "~/" : "")
    var found: [String] = []
    for name in names.sorted() where name.hasPrefix(stem) {
      if name.hasPrefix(".") && !stem.hasPrefix(".") { continue }
      var isDirectory = false
      let full = (directory == "/" ? "" : directory) + "/" + name
      _ = FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory)
      found.append(typedBase + name + (isDirectory ? "/" : ""))
      if found.count == limit { break }
    }
    return found
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
