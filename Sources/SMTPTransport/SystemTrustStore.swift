import COpenSSL

#if canImport(Glibc)
  import Glibc
#endif

/// The system's CA store, read certificate by certificate as a chain needs one.
///
/// OpenSSL's default paths (`SSL_CTX_set_default_verify_paths`) are a file and directories: the file, Debian's
/// /etc/ssl/certs/ca-certificates.crt, is parsed whole, all ~140 certificates through OpenSSL 3's decoders —
/// 230 M instructions, nine tenths of a send's CPU, before the first byte goes out (issue 14) — and from the
/// directories (`SSL_CERT_DIR`, else the default one) OpenSSL reads only the issuer a chain asks for, by its
/// subject-hash name. Debian's `update-ca-certificates` writes every CA of the bundle into the default directory
/// under those names. So when the file is the system bundle, the store is the directories alone: the trust is
/// never wider than the default paths' (the same directories, without the file), and on Debian it is the same. A
/// CA that is only in the bundle (added by hand without rehashing) makes a chain fail to verify, never pass.
///
/// The directories are used as OpenSSL would use them: `SSL_CERT_DIR`'s, or the default one — never the default
/// one added to `SSL_CERT_DIR`'s (red team: that trusted whatever the default directory held besides the bundle,
/// such as a rehashed snake-oil certificate). `SSL_CERT_FILE` naming another file, or directories without a
/// subject-hash name: OpenSSL's default paths, as before.
enum SystemTrustStore {
  /// Points `context` at the system store; false if OpenSSL could not.
  static func load(into context: OpaquePointer) -> Bool {
    if let directories = lookupDirectories(), SSL_CTX_load_verify_dir(context, directories) == 1 {
      return true
    }
    return SSL_CTX_set_default_verify_paths(context) == 1
  }

  /// The directories to read the system store from, colon-separated, as OpenSSL's default paths name them
  /// (`SSL_CERT_DIR`, else the default directory). Nil when the default paths must be loaded instead: the file
  /// they would load is not the system bundle, or no directory has a subject-hash name.
  static func lookupDirectories() -> String? {
    let defaultFile = String(cString: X509_get_default_cert_file())
    if let file = getenv(X509_get_default_cert_file_env()).map({ String(cString: $0) }),
      !isSameFile(file, defaultFile)
    {
      return nil
    }
    let list =
      getenv(X509_get_default_cert_dir_env()).map { String(cString: $0) }
      ?? String(cString: X509_get_default_cert_dir())
    let directories = list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
    guard directories.contains(where: hasHashedName) else { return nil }
    return directories.joined(separator: ":")
  }

  /// Whether both paths name one file (links followed); false if either cannot be read.
  static func isSameFile(_ first: String, _ second: String) -> Bool {
    var a = stat()
    var b = stat()
    guard stat(first, &a) == 0, stat(second, &b) == 0 else { return false }
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino
  }

  /// Whether `directory` has an entry named like `5ad8a5d6.0`: eight hex digits, a dot and a number (the names
  /// `openssl rehash` gives; `.r0` names are CRLs).
  static func hasHashedName(_ directory: String) -> Bool {
    guard let stream = opendir(directory) else { return false }
    defer { closedir(stream) }
    while let entry = readdir(stream) {
      let matches = withUnsafeBytes(of: entry.pointee.d_name) { raw -> Bool in
        isHashedName(raw.prefix { $0 != 0 })
      }
      if matches { return true }
    }
    return false
  }

  static func isHashedName<Bytes: Collection>(_ name: Bytes) -> Bool where Bytes.Element == UInt8 {
    let bytes = Array(name)
    guard bytes.count >= 10, bytes[8] == UInt8(ascii: ".") else { return false }
    let hex = bytes[..<8].allSatisfy { byte in
      (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
    let number = bytes[9...].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    return hex && number
  }
}
