import COpenSSL

#if canImport(Glibc)
  import Glibc
#endif

/// A PEM file of trust anchors (`--ca-file`, `tls_trust_file`), checked before connecting so that a wrong path
/// or a file that is not PEM is an input error (exit 66), not a TLS failure after the connection is open.
///
/// The file is read through one descriptor (opened with `O_NONBLOCK`, so a FIFO cannot hang it, then `fstat`ed:
/// a regular file within `maximumSize`), and the anchors are loaded from those bytes: the path is never opened
/// again by OpenSSL after the check.
public enum CertificateFile {
  /// The largest CA file read: the system bundle (`ca-certificates.crt`) is about 200 KiB.
  public static let maximumSize = 4 << 20

  /// Why the file cannot serve as trust anchors, or nil when it holds at least one PEM certificate.
  public static func problem(atPath path: String) -> String? {
    let bytes: [UInt8]
    switch contents(atPath: path) {
    case .success(let read): bytes = read
    case .failure(let failure): return failure.message
    }
    return problem(pem: bytes)
  }

  /// Why `pem` cannot serve as trust anchors, or nil when it holds at least one PEM certificate.
  ///
  /// The check is the load: the anchors are parsed once, into the TLS context that the handshakes of this
  /// process then use (`TLSContextCache`), instead of once here and again for the handshake (issue 14).
  public static func problem(pem: [UInt8]) -> String? {
    do throws(TLSContextCache.Failure) {
      SSL_CTX_free(try TLSContextCache.acquire(.pem(pem), versions: TLSClientConfiguration.defaultVersions))
      return nil
    } catch {
      switch error {
      case .noCertificate: return "it holds no PEM certificate"
      // Not a problem of the file: the handshake meets the same failure and reports it as a TLS failure.
      case .context: return nil
      }
    }
  }

  /// Why a CA file cannot be read; the message names no content.
  public struct ReadFailure: Error, Sendable, Hashable {
    public var message: String
  }

  /// The bytes of a regular file of at most `maximumSize`, read through the descriptor that was checked.
  public static func contents(atPath path: String) -> Result<[UInt8], ReadFailure> {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
    guard descriptor >= 0 else {
      return .failure(ReadFailure(message: "cannot read it: \(String(cString: strerror(errno)))"))
    }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
      return .failure(ReadFailure(message: "cannot read it: \(String(cString: strerror(errno)))"))
    }
    guard (status.st_mode & S_IFMT) == S_IFREG else {
      return .failure(ReadFailure(message: "it is not a regular file"))
    }
    let tooLarge = ReadFailure(message: "it is larger than \(maximumSize >> 20) MiB")
    guard Int(status.st_size) <= maximumSize else { return .failure(tooLarge) }
    // Sized by the file, not by the limit: zeroing a 4 MiB buffer for a 1 KiB CA file cost more instructions
    // than the rest of the check (issue 14). A file that grows while read gets more room, up to the limit + 1.
    var bytes = [UInt8](repeating: 0, count: Int(status.st_size) + 1)
    var count = 0
    while true {
      if count == bytes.count {
        guard bytes.count <= maximumSize else { break }
        bytes += [UInt8](repeating: 0, count: min(max(bytes.count, 4096), maximumSize + 1 - bytes.count))
      }
      let got = bytes.withUnsafeMutableBytes { buffer in
        read(descriptor, buffer.baseAddress.map { $0 + count }, buffer.count - count)
      }
      if got < 0 && errno == EINTR { continue }
      guard got >= 0 else {
        return .failure(ReadFailure(message: "cannot read it: \(String(cString: strerror(errno)))"))
      }
      if got == 0 { break }
      count += got
    }
    guard count <= maximumSize else { return .failure(tooLarge) }
    bytes.removeSubrange(count...)
    return .success(bytes)
  }

  /// Calls `body` with each PEM certificate in `pem`, in order; returns how many there were.
  static func withCertificates(_ pem: [UInt8], _ body: (OpaquePointer) -> Void) -> Int {
    guard !pem.isEmpty, pem.count <= Int(Int32.max) else { return 0 }
    return pem.withUnsafeBytes { buffer -> Int in
      guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return 0 }
      defer { BIO_free(bio) }
      ERR_clear_error()
      var count = 0
      while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
        body(certificate)
        X509_free(certificate)
        count += 1
      }
      ERR_clear_error()
      return count
    }
  }
}
