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
      passwordVariable = Array(UnsafeRawBufferPointer(start: value, count: strlen(value)))
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
