import COpenSSL

/// Small helpers around OpenSSL's memory BIOs and error queue.
enum OpenSSLSupport {
  /// A read-only memory BIO over a copy of `bytes`; the caller frees it.
  static func bio(_ bytes: [UInt8]) -> OpaquePointer? {
    guard let bio = BIO_new(BIO_s_mem()) else { return nil }
    let written = bytes.withUnsafeBytes { raw in
      raw.isEmpty ? 0 : BIO_write(bio, raw.baseAddress, Int32(raw.count))
    }
    guard written == bytes.count else {
      BIO_free(bio)
      return nil
    }
    return bio
  }

  /// Everything written into a memory BIO.
  static func contents(of bio: OpaquePointer) -> [UInt8] {
    var data: UnsafeMutablePointer<CChar>?
    let count = sealpost_BIO_get_mem_data(bio, &data)
    guard count > 0, let data else { return [] }
    return data.withMemoryRebound(to: UInt8.self, capacity: count) {
      Array(UnsafeBufferPointer(start: $0, count: count))
    }
  }

  /// OpenSSL's reason for the last failure, in its own short words, and the queue emptied.
  static func lastError() -> String {
    let code = ERR_peek_last_error()
    defer { ERR_clear_error() }
    guard code != 0, let reason = ERR_reason_error_string(code) else { return "unknown OpenSSL error" }
    return String(cString: reason)
  }

  /// The text of an ASN.1 string as UTF-8 (invalid bytes replaced; escaped later for display).
  static func string(_ data: UnsafePointer<UInt8>?, _ length: Int32) -> String {
    guard let data, length > 0 else { return "" }
    return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
  }
}
