import COpenSSL

#if canImport(Glibc)
  import Glibc
#endif

/// A PEM file of trust anchors (`--ca-file`, `tls_trust_file`), checked before connecting so that a wrong path
/// or a file that is not PEM is an input error (exit 66), not a TLS failure after the connection is open.
public enum CertificateFile {
  /// Why the file cannot serve as trust anchors, or nil when it holds at least one PEM certificate.
  public static func problem(atPath path: String) -> String? {
    var status = stat()
    guard stat(path, &status) == 0 else { return "cannot read it: \(String(cString: strerror(errno)))" }
    guard (status.st_mode & S_IFMT) == S_IFREG else { return "it is not a regular file" }
    guard let bio = BIO_new_file(path, "r") else { return "cannot open it" }
    defer { BIO_free(bio) }
    ERR_clear_error()
    guard let first = PEM_read_bio_X509(bio, nil, nil, nil) else {
      ERR_clear_error()
      return "it holds no PEM certificate"
    }
    X509_free(first)
    ERR_clear_error()
    return nil
  }
}
