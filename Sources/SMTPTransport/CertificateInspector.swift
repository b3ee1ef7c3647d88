import COpenSSL
import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// Turns an OpenSSL X509 into a `CertificateSummary`. Text fields come from the peer: they stay bytes
/// (`UntrustedText`) until displayed.
enum CertificateInspector {
  static func summary(of certificate: OpaquePointer) -> CertificateSummary {
    CertificateSummary(
      subject: UntrustedText(name(X509_get_subject_name(certificate))),
      issuer: UntrustedText(name(X509_get_issuer_name(certificate))),
      subjectAlternativeNames: subjectAlternativeNames(certificate).map { UntrustedText($0) },
      notBefore: unixTime(X509_get0_notBefore(certificate)),
      notAfter: unixTime(X509_get0_notAfter(certificate)),
      publicKey: publicKeyDescription(certificate),
      signatureAlgorithm: OBJ_nid2ln(X509_get_signature_nid(certificate)).map { String(cString: $0) }
        ?? "unknown",
      sha256: certificateSHA256(certificate),
      spkiSHA256: spkiSHA256(certificate))
  }

  /// One-line RFC 2253 form, e.g. "CN=localhost,O=Example".
  static func name(_ name: OpaquePointer?) -> [UInt8] {
    guard let name, let bio = BIO_new(BIO_s_mem()) else { return [] }
    defer { BIO_free(bio) }
    guard X509_NAME_print_ex(bio, name, 0, sealpost_XN_FLAG_RFC2253_UTF8()) >= 0 else { return [] }
    var data: UnsafeMutablePointer<CChar>?
    let length = sealpost_BIO_get_mem_data(bio, &data)
    guard let data, length > 0 else { return [] }
    return UnsafeRawBufferPointer(start: data, count: length).map { $0 }
  }

  /// "DNS:name" and "IP:addr" entries in certificate order; other kinds are left out.
  static func subjectAlternativeNames(_ certificate: OpaquePointer) -> [[UInt8]] {
    guard let names = sealpost_X509_get_subject_alt_names(certificate) else { return [] }
    defer { sealpost_GENERAL_NAMES_free(names) }
    var result: [[UInt8]] = []
    for index in 0..<sealpost_GENERAL_NAMES_num(names) {
      var data: UnsafePointer<UInt8>?
      var length: Int32 = 0
      let kind = sealpost_GENERAL_NAMES_entry(names, index, &data, &length)
      let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: Int(length))) } ?? []
      switch kind {
      case 1:
        result.append(Array("DNS:".utf8) + bytes)
      case 2:
        let text = IPAddressParser.format(bytes) ?? bytes.map { hexDigits($0) }.joined()
        result.append(Array("IP:\(text)".utf8))
      default:
        continue
      }
    }
    return result
  }

  static func unixTime(_ time: UnsafePointer<ASN1_TIME>?) -> Int64 {
    guard let time else { return 0 }
    var parts = tm()
    guard ASN1_TIME_to_tm(time, &parts) == 1 else { return 0 }
    return Int64(timegm(&parts))
  }

  /// "RSA 2048", "EC P-256", "Ed25519".
  static func publicKeyDescription(_ certificate: OpaquePointer) -> String {
    guard let key = X509_get0_pubkey(certificate) else { return "unknown" }
    let bits = EVP_PKEY_get_bits(key)
    switch EVP_PKEY_get_base_id(key) {
    case EVP_PKEY_RSA: return "RSA \(bits)"
    case EVP_PKEY_RSA_PSS: return "RSA-PSS \(bits)"
    case EVP_PKEY_ED25519: return "Ed25519"
    case EVP_PKEY_ED448: return "Ed448"
    case EVP_PKEY_DSA: return "DSA \(bits)"
    case EVP_PKEY_EC:
      var buffer = [CChar](repeating: 0, count: 80)
      var length = 0
      guard EVP_PKEY_get_group_name(key, &buffer, buffer.count, &length) == 1 else { return "EC \(bits)" }
      let group = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
      let nid = OBJ_sn2nid(group)
      if nid != NID_undef, let nist = EC_curve_nid2nist(nid) { return "EC \(String(cString: nist))" }
      return "EC \(group)"
    case let other:
      let name = OBJ_nid2sn(other).map { String(cString: $0) } ?? "key"
      return "\(name) \(bits)"
    }
  }

  static func certificateSHA256(_ certificate: OpaquePointer) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    guard X509_digest(certificate, EVP_sha256(), &digest, &length) == 1 else { return [] }
    return Array(digest.prefix(Int(length)))
  }

  /// SHA-256 of the DER SubjectPublicKeyInfo (not of the key bit string, which X509_pubkey_digest hashes).
  static func spkiSHA256(_ certificate: OpaquePointer) -> [UInt8] {
    guard let publicKey = X509_get_X509_PUBKEY(certificate) else { return [] }
    let length = i2d_X509_PUBKEY(publicKey, nil)
    guard length > 0 else { return [] }
    var der = [UInt8](repeating: 0, count: Int(length))
    let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
      var cursor = buffer.baseAddress
      return i2d_X509_PUBKEY(publicKey, &cursor)
    }
    guard written == length else { return [] }
    return sha256(der)
  }

  static func sha256(_ bytes: [UInt8]) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    let ok = bytes.withUnsafeBytes { raw in
      EVP_Digest(raw.baseAddress, raw.count, &digest, &length, EVP_sha256(), nil)
    }
    return ok == 1 ? Array(digest.prefix(Int(length))) : []
  }

  private static func hexDigits(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16, uppercase: true)
    return digits.count == 1 ? "0" + digits : digits
  }
}
