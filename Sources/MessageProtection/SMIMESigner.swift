import COpenSSL

/// The sender's certificate and private key, ready to sign (RFC 8551 §3.5). The key never leaves OpenSSL and no
/// text about it quotes the file or the passphrase.
public final class SMIMESigner: @unchecked Sendable {
  // @unchecked: the key and certificate are only read after init (OpenSSL's signing does not mutate them).
  public let certificate: SMIMECertificate
  let key: OpaquePointer

  deinit { EVP_PKEY_free(key) }

  /// Whether the PEM key is encrypted: reading it without a passphrase asks for one. Nobody is prompted.
  public static func keyNeedsPassphrase(_ keyPEM: [UInt8]) -> Bool {
    guard let bio = OpenSSLSupport.bio(keyPEM) else { return false }
    defer { BIO_free(bio) }
    var asked: Int32 = 0
    let key = sealpost_PEM_read_private_key(bio, nil, 0, &asked)
    if let key { EVP_PKEY_free(key) }
    ERR_clear_error()
    return key == nil && asked == 1
  }

  /// The signer from PEM files' bytes. An encrypted key needs `passphrase` (a wrong one is `.passphrase`); a
  /// key that is not the certificate's is refused.
  public init(certificatePEM: [UInt8], keyPEM: [UInt8], passphrase: [UInt8]?) throws(ProtectionError) {
    certificate = try SMIMECertificate(pem: certificatePEM)
    guard let bio = OpenSSLSupport.bio(keyPEM) else { throw ProtectionError(.failed, "out of memory") }
    defer { BIO_free(bio) }
    var asked: Int32 = 0
    let read: OpaquePointer? =
      if let passphrase {
        passphrase.withUnsafeBufferPointer { buffer in
          buffer.withMemoryRebound(to: CChar.self) { chars in
            sealpost_PEM_read_private_key(bio, chars.baseAddress, chars.count, &asked)
          }
        }
      } else {
        sealpost_PEM_read_private_key(bio, nil, 0, &asked)
      }
    ERR_clear_error()
    guard let read else {
      if asked == 1 {
        throw ProtectionError(
          .passphrase,
          passphrase == nil
            ? "the private key is encrypted and no passphrase was given"
            : "the passphrase does not open the private key (wrong passphrase?)")
      }
      throw ProtectionError(.invalidInput, "expected a PEM private key, found none that can be read")
    }
    key = read
    guard X509_check_private_key(certificate.x509, read) == 1 else {
      ERR_clear_error()
      throw ProtectionError(.invalidInput, "the private key does not belong to the certificate")
    }
    guard !certificate.addresses.isEmpty else {
      throw ProtectionError(.invalidInput, "the certificate names no e-mail address")
    }
  }

  /// Whether this signer's certificate is for `address`.
  public func signs(for address: String) -> Bool { certificate.names(address) }
}
