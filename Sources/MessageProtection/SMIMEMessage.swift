import COpenSSL
import FoundationEssentials
import MailMessage

/// S/MIME (RFC 8551) for a complete message: the MIME entity (its Content-* fields and body) is signed
/// (`multipart/signed`, detached, SHA-256, the signer's certificate included), then encrypted
/// (`application/pkcs7-mime; smime-type=enveloped-data`, AES-256-CBC, base64 at 76 columns); the other header
/// fields (From, To, Cc, Date, Message-ID, Subject…) stay outside, readable by every server on the way.
///
/// The input is the message as Sealpost writes it for a server with no extensions: CRLF line ends, a 7-bit body
/// (quoted-printable or base64 for anything else), no line over 998 octets. That form is what is signed and what
/// is sent, so neither 8BITMIME choices nor dot-stuffing can change a signed octet. No I/O here.
public enum SMIMEMessage {
  /// The content encryption algorithm: AES-256-CBC (RFC 8551 §2.7 and RFC 3565). AES-256-GCM
  /// (AuthEnvelopedData, RFC 5083) is stronger, but many readers still cannot open it (gpgsm 2.2 of Debian 12
  /// among them); with signing, the signature inside gives the integrity CBC lacks. Nothing weaker is offered.
  public static let contentCipher = "AES-256-CBC"

  /// `message` signed by `signer` (when given), then encrypted to `recipients` (when not empty).
  public static func protect(
    _ message: [UInt8], signer: SMIMESigner?, recipients: [SMIMECertificate],
    boundary: () -> String = makeBoundary
  ) throws(ProtectionError) -> [UInt8] {
    let (outer, entity) = try split(message)
    var protected = entity
    if let signer { protected = try signed(protected, by: signer, boundary: boundary) }
    if !recipients.isEmpty { protected = try enveloped(protected, for: recipients) }
    return outer + protected
  }

  /// The header fields that stay outside (each with its CRLF) and the MIME entity: the Content-* fields, the
  /// empty line, the body.
  static func split(_ message: [UInt8]) throws(ProtectionError) -> (outer: [UInt8], entity: [UInt8]) {
    var outer: [UInt8] = []
    var content: [UInt8] = []
    var index = 0
    var inContent = false
    while true {
      guard let end = lineEnd(in: message, from: index) else {
        throw ProtectionError(.invalidInput, "the message has no end of header")
      }
      let line = message[index..<end]
      let next = end + 2
      if line.isEmpty {
        let body = Array(message[next...])
        if let problem = sevenBitProblem(body) { throw ProtectionError(.invalidInput, problem) }
        if content.isEmpty {
          content = Array("Content-Type: text/plain; charset=us-ascii\r\n".utf8)
        }
        return (outer, content + [0x0D, 0x0A] + body)
      }
      if line.first != 0x20 && line.first != 0x09 {
        inContent =
          line.count >= 8 && String(decoding: line.prefix(8), as: UTF8.self).lowercased() == "content-"
      }
      if inContent {
        content += message[index..<next]
      } else {
        outer += message[index..<next]
      }
      index = next
    }
  }

  static func lineEnd(in bytes: [UInt8], from start: Int) -> Int? {
    var index = start
    while index + 1 < bytes.count {
      if bytes[index] == 0x0D && bytes[index + 1] == 0x0A { return index }
      index += 1
    }
    return nil
  }

  /// Why `body` is not safe to sign as it will be sent (RFC 8551 §3.1.1: 7-bit, CRLF), or nil.
  static func sevenBitProblem(_ body: [UInt8]) -> String? {
    var length = 0
    var previous: UInt8 = 0
    for byte in body {
      if byte >= 0x80 || byte == 0 { return "the content is not 7-bit and cannot be signed as sent" }
      if byte == 0x0A && previous != 0x0D { return "the content has a bare line feed" }
      if byte == 0x0D || byte == 0x0A {
        length = 0
      } else {
        length += 1
        if length > 998 { return "the content has a line over 998 octets" }
      }
      previous = byte
    }
    return nil
  }

  /// `=_` and 32 random letters and digits, as the MIME writer draws them.
  public static func makeBoundary() -> String {
    let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    var generator = SystemRandomNumberGenerator()
    return "=_"
      + String((0..<32).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
  }

  /// `entity` as the first part of a `multipart/signed` entity, the detached signature the second
  /// (RFC 8551 §3.5.3, RFC 1847).
  static func signed(_ entity: [UInt8], by signer: SMIMESigner, boundary makeBoundary: () -> String)
    throws(ProtectionError) -> [UInt8]
  {
    let signature = try detachedSignature(of: entity, by: signer)
    var boundary = makeBoundary()
    while contains(entity, Array(("--" + boundary).utf8)) { boundary = makeBoundary() }
    var out = Array(
      """
      Content-Type: multipart/signed; protocol="application/pkcs7-signature";\r
       micalg=sha-256; boundary="\(boundary)"\r
      \r
      This is a signed message (S/MIME).\r
      \r
      --\(boundary)\r

      """.utf8)
    out += entity
    // The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1): the signed octets end with the
    // entity's own last line end.
    out += Array(
      """
      \r
      --\(boundary)\r
      Content-Type: application/pkcs7-signature; name=smime.p7s\r
      Content-Transfer-Encoding: base64\r
      Content-Disposition: attachment; filename=smime.p7s\r
      \r

      """.utf8)
    out += base64Lines(signature)
    out += Array("--\(boundary)--\r\n".utf8)
    return out
  }

  /// `entity` encrypted to every certificate of `recipients` (RFC 8551 §3.3).
  static func enveloped(_ entity: [UInt8], for recipients: [SMIMECertificate]) throws(ProtectionError)
    -> [UInt8]
  {
    let der = try envelopedData(of: entity, for: recipients)
    return Array(
      """
      Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\r
       name=smime.p7m\r
      Content-Transfer-Encoding: base64\r
      Content-Disposition: attachment; filename=smime.p7m\r
      \r

      """.utf8) + base64Lines(der)
  }

  /// The DER of a detached CMS SignedData over `content` with SHA-256, the signer's certificate (and the chain
  /// of its file) included, and S/MIME capabilities.
  static func detachedSignature(of content: [UInt8], by signer: SMIMESigner) throws(ProtectionError)
    -> [UInt8]
  {
    guard let input = OpenSSLSupport.bio(content) else { throw ProtectionError(.failed, "out of memory") }
    defer { BIO_free(input) }
    // CMS_BINARY: the content is already canonical (CRLF); OpenSSL must not translate it.
    let flags = UInt32(CMS_DETACHED | CMS_BINARY | CMS_PARTIAL)
    guard let cms = CMS_sign(nil, nil, nil, nil, flags) else { throw failure("cannot start the signature") }
    defer { CMS_ContentInfo_free(cms) }
    guard CMS_add1_signer(cms, signer.certificate.x509, signer.key, EVP_sha256(), UInt32(CMS_BINARY)) != nil
    else { throw failure("cannot sign with this key") }
    for certificate in signer.certificate.chain where CMS_add1_cert(cms, certificate) != 1 {
      throw failure("cannot include the certificate chain")
    }
    guard CMS_final(cms, input, nil, UInt32(CMS_DETACHED | CMS_BINARY)) == 1 else {
      throw failure("cannot sign the message")
    }
    return try der(of: cms)
  }

  /// The DER of a CMS EnvelopedData of `content` for `recipients`, AES-256-CBC.
  static func envelopedData(of content: [UInt8], for recipients: [SMIMECertificate]) throws(ProtectionError)
    -> [UInt8]
  {
    guard let input = OpenSSLSupport.bio(content), let stack = sealpost_sk_X509_new_null() else {
      throw ProtectionError(.failed, "out of memory")
    }
    defer {
      BIO_free(input)
      sealpost_sk_X509_pop_free(stack)
    }
    for recipient in recipients where X509_up_ref(recipient.x509) == 1 {
      if sealpost_sk_X509_push(stack, recipient.x509) == 0 { X509_free(recipient.x509) }
    }
    guard let cms = CMS_encrypt(stack, input, EVP_aes_256_cbc(), UInt32(CMS_BINARY)) else {
      throw failure("cannot encrypt the message")
    }
    defer { CMS_ContentInfo_free(cms) }
    return try der(of: cms)
  }

  static func der(of cms: OpaquePointer) throws(ProtectionError) -> [UInt8] {
    guard let output = BIO_new(BIO_s_mem()) else { throw ProtectionError(.failed, "out of memory") }
    defer { BIO_free(output) }
    guard i2d_CMS_bio(output, cms) == 1 else { throw failure("cannot write the CMS structure") }
    return OpenSSLSupport.contents(of: output)
  }

  static func failure(_ what: String) -> ProtectionError {
    ProtectionError(.failed, "\(what) (OpenSSL: \(OpenSSLSupport.lastError()))")
  }

  /// Base64 in lines of 76 characters, each ended with CRLF (RFC 2045 §6.8).
  static func base64Lines(_ bytes: [UInt8]) -> [UInt8] {
    let text = Data(bytes).base64EncodedString()
    var out: [UInt8] = []
    out.reserveCapacity(text.utf8.count + text.utf8.count / 76 * 2 + 2)
    var column = 0
    for byte in text.utf8 {
      out.append(byte)
      column += 1
      if column == 76 {
        out += [0x0D, 0x0A]
        column = 0
      }
    }
    if column > 0 { out += [0x0D, 0x0A] }
    return out
  }

  static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count)
    where haystack[start] == needle[0] && haystack[start..<start + needle.count].elementsEqual(needle) {
      return true
    }
    return false
  }
}
