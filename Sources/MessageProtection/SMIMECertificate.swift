import COpenSSL
import MailMessage

#if canImport(Glibc)
  import Glibc
#endif

/// An X.509 certificate for S/MIME (RFC 8550): the first certificate of a PEM file, with any others in the file
/// kept as the chain it may need (or each of a file's certificates, ``each(pem:)``). Reads only; nothing here
/// touches a file.
public final class SMIMECertificate: @unchecked Sendable {
  // @unchecked: the X509 objects are never mutated after parsing, and OpenSSL's reference counts are atomic.
  let x509: OpaquePointer
  /// The other certificates of the file (intermediates), in file order.
  let chain: [OpaquePointer]

  /// The e-mail addresses the certificate is for: its subjectAltName rfc822Names, else the subject's
  /// emailAddress (RFC 8550 §3), as written in it.
  public let addresses: [String]
  /// The subject in RFC 2253 form, as written (escape it before showing it).
  public let subject: String
  /// Validity, in seconds since 1970.
  public let notBefore: Int64
  public let notAfter: Int64
  /// SHA-256 of the whole certificate, colon hex (`AB:CD:…`).
  public let fingerprint: String
  /// basicConstraints CA:TRUE: the certificate of a certificate authority, not of a person.
  public let isAuthority: Bool

  deinit {
    X509_free(x509)
    for certificate in chain { X509_free(certificate) }
  }

  /// The certificates in `pem`: the first is the certificate, the rest its chain. Refused: no certificate, or
  /// bytes that are not PEM certificates.
  public convenience init(pem: [UInt8]) throws(ProtectionError) {
    let certificates = try Self.read(pem)
    self.init(x509: certificates[0], chain: Array(certificates.dropFirst()))
  }

  /// Every certificate in `pem`, in file order, each with the file's CA certificates (``isAuthority``) as
  /// its chain: a leaf followed by its intermediates, or several people's certificates in one file (what
  /// `certs add` stores one by one). Refused as ``init(pem:)`` refuses.
  public static func each(pem: [UInt8]) throws(ProtectionError) -> [SMIMECertificate] {
    let certificates = try read(pem)
    let authorities = certificates.filter(isAuthority)
    return certificates.map { x509 in
      let chain = authorities.filter { $0 != x509 && X509_up_ref($0) == 1 }
      return SMIMECertificate(x509: x509, chain: chain)
    }
  }

  /// The certificates of a PEM file, owned by the caller; at least one.
  private static func read(_ pem: [UInt8]) throws(ProtectionError) -> [OpaquePointer] {
    guard let bio = OpenSSLSupport.bio(pem) else { throw ProtectionError(.failed, "out of memory") }
    defer { BIO_free(bio) }
    var certificates: [OpaquePointer] = []
    while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(certificate) }
    // The loop ends on "no start line" at the end of the input; anything else is a broken certificate.
    let error = ERR_peek_last_error()
    ERR_clear_error()
    guard !certificates.isEmpty else {
      throw ProtectionError(
        .invalidInput, "expected a PEM certificate (-----BEGIN CERTIFICATE-----), found none")
    }
    if error != 0 && ERR_GET_REASON(error) != PEM_R_NO_START_LINE {
      for certificate in certificates { X509_free(certificate) }
      throw ProtectionError(.invalidInput, "a certificate in the file cannot be read")
    }
    return certificates
  }

  /// basicConstraints CA:TRUE (RFC 5280 §4.2.1.9): a certificate authority's, never a person's.
  static func isAuthority(_ x509: OpaquePointer) -> Bool {
    X509_get_extension_flags(x509) & UInt32(EXFLAG_CA) != 0
  }

  /// Takes ownership of `x509` and `chain`.
  init(x509: OpaquePointer, chain: [OpaquePointer]) {
    self.x509 = x509
    self.chain = chain
    addresses = Self.addresses(of: x509)
    subject = Self.subject(of: x509)
    notBefore = Self.seconds(X509_get0_notBefore(x509))
    notAfter = Self.seconds(X509_get0_notAfter(x509))
    fingerprint = Self.fingerprint(of: x509)
    isAuthority = Self.isAuthority(x509)
  }

  /// The certificate alone, as PEM (what the certificate store keeps).
  public var pem: [UInt8] {
    guard let bio = BIO_new(BIO_s_mem()) else { return [] }
    defer { BIO_free(bio) }
    guard PEM_write_bio_X509(bio, x509) == 1 else { return [] }
    for certificate in chain where PEM_write_bio_X509(bio, certificate) != 1 { return [] }
    return OpenSSLSupport.contents(of: bio)
  }

  /// Whether the certificate names `address`: the local part exactly, the domain in any case (RFC 5321 §2.4).
  public func names(_ address: String) -> Bool {
    addresses.contains { Mailbox.sameAddress($0, address) }
  }

  /// Why the certificate cannot be used to encrypt to `address`, or nil: within its validity, a key usage that
  /// allows encryption (when the extension is there), `address` among its addresses, and a chain to `trust` for
  /// S/MIME encryption (`X509_PURPOSE_SMIME_ENCRYPT`).
  public func refusal(forEncryptionTo address: String, trust: SMIMETrust) -> CertificateRefusal? {
    if X509_cmp_current_time(X509_get0_notAfter(x509)) < 0 {
      return .expired(MessageDate.isoDate(unixSeconds: notAfter))
    }
    if X509_cmp_current_time(X509_get0_notBefore(x509)) > 0 {
      return .notYetValid(MessageDate.isoDate(unixSeconds: notBefore))
    }
    let usage = sealpost_X509_key_usage(x509)
    if usage >= 0 {
      // RSA encrypts the content key (keyEncipherment); EC agrees on one (keyAgreement, RFC 5753).
      let isEC = X509_get0_pubkey(x509).map { EVP_PKEY_get_base_id($0) == EVP_PKEY_EC } ?? false
      let needed = isEC ? sealpost_KU_KEY_AGREEMENT() : sealpost_KU_KEY_ENCIPHERMENT()
      if usage & needed == 0 { return .keyUsage(isEC ? "keyAgreement" : "keyEncipherment") }
    }
    guard names(address) else { return .addressMismatch(addresses) }
    if let reason = chainFailure(trust: trust) { return .untrusted(reason) }
    return nil
  }

  /// Whether the CA certificates of its own file (the chain ``each(pem:)`` gives it) issued it: it verifies
  /// with them as the only anchors, signatures and names, whatever the time or purpose (a person's file whose
  /// certificate authority is not trusted here still issued it). False with no chain, and for a certificate
  /// put beside CA certificates that did not issue it (red-team: a self-signed one in a bundle).
  public var isIssuedByItsChain: Bool {
    guard !chain.isEmpty, let store = X509_STORE_new() else { return false }
    defer { X509_STORE_free(store) }
    for certificate in chain where X509_STORE_add_cert(store, certificate) != 1 {
      ERR_clear_error()
      return false
    }
    guard let context = X509_STORE_CTX_new() else { return false }
    defer { X509_STORE_CTX_free(context) }
    defer { ERR_clear_error() }
    guard X509_STORE_CTX_init(context, store, x509, nil) == 1 else { return false }
    X509_STORE_CTX_set_flags(context, UInt(X509_V_FLAG_PARTIAL_CHAIN) | UInt(X509_V_FLAG_NO_CHECK_TIME))
    return X509_verify_cert(context) == 1
  }

  /// OpenSSL's reason the chain does not verify to `trust` for S/MIME encryption, or nil.
  func chainFailure(trust: SMIMETrust) -> String? {
    guard let store = X509_STORE_new() else { return "out of memory" }
    defer { X509_STORE_free(store) }
    let loaded: Int32
    if let caFile = trust.caFile {
      loaded = X509_STORE_load_file(store, caFile)
    } else {
      loaded = X509_STORE_set_default_paths(store)
    }
    guard loaded == 1 else {
      ERR_clear_error()
      return "the CA file cannot be read"
    }
    guard let context = X509_STORE_CTX_new() else { return "out of memory" }
    defer { X509_STORE_CTX_free(context) }
    guard let untrusted = sealpost_sk_X509_new_null() else { return "out of memory" }
    defer { sealpost_sk_X509_pop_free(untrusted) }
    for certificate in chain where X509_up_ref(certificate) == 1 {
      if sealpost_sk_X509_push(untrusted, certificate) == 0 { X509_free(certificate) }
    }
    guard X509_STORE_CTX_init(context, store, x509, untrusted) == 1 else {
      return OpenSSLSupport.lastError()
    }
    _ = X509_STORE_CTX_set_purpose(context, X509_PURPOSE_SMIME_ENCRYPT)
    let verified = X509_verify_cert(context)
    defer { ERR_clear_error() }
    guard verified == 1 else {
      let code = X509_STORE_CTX_get_error(context)
      return X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "error \(code)"
    }
    return nil
  }

  static func addresses(of x509: OpaquePointer) -> [String] {
    var found: [String] = []
    if let names = sealpost_X509_get_subject_alt_names(x509) {
      defer { sealpost_GENERAL_NAMES_free(names) }
      for index in 0..<sealpost_GENERAL_NAMES_num(names) {
        var data: UnsafePointer<UInt8>?
        var length: Int32 = 0
        if sealpost_GENERAL_NAMES_email(names, index, &data, &length) == 1 {
          found.append(OpenSSLSupport.string(data, length))
        }
      }
    }
    if found.isEmpty, let name = X509_get_subject_name(x509) {
      var position: Int32 = -1
      while true {
        position = X509_NAME_get_index_by_NID(name, NID_pkcs9_emailAddress, position)
        guard position >= 0, let entry = X509_NAME_get_entry(name, position),
          let value = X509_NAME_ENTRY_get_data(entry)
        else { break }
        found.append(OpenSSLSupport.string(ASN1_STRING_get0_data(value), ASN1_STRING_length(value)))
      }
    }
    return found.filter { !$0.isEmpty }
  }

  static func subject(of x509: OpaquePointer) -> String {
    guard let bio = BIO_new(BIO_s_mem()) else { return "" }
    defer { BIO_free(bio) }
    _ = X509_NAME_print_ex(bio, X509_get_subject_name(x509), 0, sealpost_XN_FLAG_RFC2253_UTF8())
    return String(decoding: OpenSSLSupport.contents(of: bio), as: UTF8.self)
  }

  static func seconds(_ time: UnsafePointer<ASN1_TIME>?) -> Int64 {
    guard let time else { return 0 }
    var parts = tm()
    guard ASN1_TIME_to_tm(time, &parts) == 1 else { return 0 }
    return Int64(timegm(&parts))
  }

  static func fingerprint(of x509: OpaquePointer) -> String {
    var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    guard X509_digest(x509, EVP_sha256(), &digest, &length) == 1 else { return "" }
    let hex = Array("0123456789ABCDEF")
    return digest.prefix(Int(length)).map { String([hex[Int($0 >> 4)], hex[Int($0 & 15)]]) }.joined(
      separator: ":")
  }
}

/// Where certificates chain to: the system store, or a CA file that replaces it (as `--ca-file` does for TLS).
public struct SMIMETrust: Sendable, Hashable {
  public var caFile: String?

  public init(caFile: String? = nil) { self.caFile = caFile }
}

/// Why a certificate cannot be used for a recipient (each worded with the reason; the caller adds the address).
public enum CertificateRefusal: Error, Sendable, Hashable, CustomStringConvertible {
  /// No certificate for the address in the store or given for the send.
  case missing
  case expired(String)
  case notYetValid(String)
  /// The keyUsage extension lacks the usage named.
  case keyUsage(String)
  /// The certificate is for other addresses (those it names).
  case addressMismatch([String])
  /// The chain does not verify (OpenSSL's reason).
  case untrusted(String)

  public var description: String {
    switch self {
    case .missing: "no certificate (none in the certificate store, none given for this send)"
    case .expired(let date): "the certificate expired on \(date)"
    case .notYetValid(let date): "the certificate is not valid before \(date)"
    case .keyUsage(let usage): "the certificate's key usage does not allow encryption (no \(usage))"
    case .addressMismatch(let addresses):
      addresses.isEmpty
        ? "the certificate names no e-mail address"
        : "the certificate is for "
          + addresses.map { DisplayText.escaped($0) }.joined(separator: ", ") + ", not this address"
    case .untrusted(let reason): "the certificate is not trusted: \(DisplayText.escaped(reason))"
    }
  }
}
