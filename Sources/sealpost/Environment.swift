import FoundationEssentials

#if canImport(Glibc)
  import Glibc
#endif

/// Process environment facts the CLI needs, read once.
enum Environment {
  nonisolated(unsafe) private static var passwordVariable: [UInt8]?

  /// Reads `SEALPOST_PASSWORD` and removes it from the environment, so no child process inherits it. The value is
  /// taken as bytes, never through a String: a password that is not UTF-8 is sent exactly as given, not with
  /// U+FFFD in place of its bytes (issue 7).
  static func takePasswordVariable() {
    if let value = getenv("SEALPOST_PASSWORD") {
      let count = strlen(value)
      passwordVariable = Array(UnsafeRawBufferPointer(start: value, count: count))
      // The bytes are overwritten where the kernel put them: unsetenv takes the variable out of `environ` but
      // leaves the original block, which /proc/PID/environ shows (red team).
      memset(value, 0, count)
      unsetenv("SEALPOST_PASSWORD")
    }
  }

  static var password: [UInt8]? { passwordVariable }

  /// The process's environment as a dictionary, made once (issue 14: Foundation builds a new dictionary from
  /// `environ` on every `ProcessInfo.processInfo.environment`, half a million instructions each, and a send asked
  /// for it four times). `SEALPOST_PASSWORD` is never in it, whether or not it was taken yet.
  static let variables: [String: String] = {
    var variables = ProcessInfo.processInfo.environment
    variables["SEALPOST_PASSWORD"] = nil
    return variables
  }()

  /// Whether the locale asks for UTF-8 output (DESIGN §5: ASCII only otherwise).
  static var isUTF8Locale: Bool {
    for name in ["LC_ALL", "LC_CTYPE", "LANG"] {
      if let value = getenv(name), value.pointee != 0 {
        // "UTF-8" or "utf8" in any case, compared as bytes (String.contains(String) would start
        // _StringProcessing's searcher: 0.3 M instructions of every run, issue 14).
        let text = Array(String(cString: value).lowercased().utf8).filter { $0 != UInt8(ascii: "-") }
        let name = Array("utf8".utf8)
        return text.indices.contains { text[$0...].starts(with: name) }
      }
    }
    return false
  }
}
