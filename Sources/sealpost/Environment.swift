#if canImport(Glibc)
  import Glibc
#endif

/// Process environment facts the CLI needs, read once.
enum Environment {
  nonisolated(unsafe) private static var passwordVariable: [UInt8]?

  /// Reads `SEALPOST_PASSWORD` and removes it from the environment, so no child process inherits it.
  static func takePasswordVariable() {
    if let value = getenv("SEALPOST_PASSWORD") {
      passwordVariable = Array(String(cString: value).utf8)
      unsetenv("SEALPOST_PASSWORD")
    }
  }

  static var password: [UInt8]? { passwordVariable }

  /// Whether the locale asks for UTF-8 output (DESIGN §5: ASCII only otherwise).
  static var isUTF8Locale: Bool {
    for name in ["LC_ALL", "LC_CTYPE", "LANG"] {
      if let value = getenv(name), value.pointee != 0 {
        let text = String(cString: value).lowercased()
        return text.contains("utf-8") || text.contains("utf8")
      }
    }
    return false
  }
}
