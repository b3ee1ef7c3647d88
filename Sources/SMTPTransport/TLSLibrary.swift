import COpenSSL

/// OpenSSL's process-wide set-up (issue 14).
public enum TLSLibrary {
  /// Tells OpenSSL not to run `OPENSSL_cleanup` at exit. It registers that with `atexit` on first use, and it
  /// cost 1.4 M of the 52 M instructions of one send, freeing memory that the kernel takes back with the
  /// process anyway. Call it before anything uses OpenSSL (once OpenSSL has registered its handler, the call
  /// changes nothing). No secret outlives its owner because of it: key material is cleansed when the `SSL`,
  /// `SSL_CTX` or key holding it is freed, which each connection and signer does when it closes.
  public static func skipCleanupAtExit() {
    _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
  }
}
