import COpenSSL
import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// What OpenSSL's C callbacks report during one handshake and after it. Reached from C through the SSL's app
/// data (`Unmanaged`, unretained: the connection keeps it alive until `close()` frees the SSL). Only touched on
/// the thread that uses the connection.
final class HandshakeContext {
  /// Forwards events while `SSL_connect` runs, and during reads that pass an event handler (a TLS 1.3
  /// NewSessionTicket arrives with the first `SSL_read` after the handshake); nil otherwise: events are then
  /// dropped.
  var sink: ((TLSEvent) -> Void)?
  /// The first verification error (OpenSSL's text, depth in the chain).
  var firstVerifyFailure: (reason: String, depth: Int)?
  /// Stop the handshake at the first verification failure, so OpenSSL sends the fitting alert (unknown CA,
  /// certificate expired, bad certificate…) and the server sees a refusal, not a finished handshake and a drop.
  /// Off for pins, where a failing chain is expected and only the leaf's key decides.
  var abortOnVerifyFailure = false
  /// The version field of the ServerHello (0x0303 for 1.2 and 1.3), to explain a version failure.
  var serverHelloVersion: UInt16?
  /// Alert descriptions seen, e.g. 70 (protocol version).
  var alertDescriptions: [UInt8] = []
  var lastAlertText: String?
  /// A received ChangeCipherSpec already reported from its record header (OpenSSL passes received CCS records
  /// to the message callback only as a record header, content type 256; if it also passes the record itself,
  /// that one is not reported twice).
  var receivedCCSFromHeader = false
  /// Set once the handshake is over: from then on at most `postHandshakeLimit` handshake messages (tickets,
  /// KeyUpdates) are reported, so a server cannot flood the transcript.
  var handshakeFinished = false
  /// Whether a record header has been received yet.
  var receivedRecordHeader = false
  /// The first thing received looked like an SMTP reply (`220 `, `220-`, `554 `…) instead of a TLS record: a
  /// plaintext server on this port (issue 11: OpenSSL only says "wrong version number").
  var plaintextReply = false
  var postHandshakeMessages = 0
  static let postHandshakeLimit = 8

  func record(sent: Bool, contentType: Int32, bytes: UnsafeRawBufferPointer) {
    let direction: TLSDirection = sent ? .sent : .received
    switch contentType {
    case 22:
      // A record may carry several handshake messages; OpenSSL reports each one separately.
      guard let type = bytes.first else { return }
      if handshakeFinished {
        guard postHandshakeMessages < Self.postHandshakeLimit else { return }
        postHandshakeMessages += 1
      }
      var name = TLSHandshakeNames.name(of: type)
      if type == 2, bytes.count >= 38 {
        serverHelloVersion = UInt16(bytes[4]) << 8 | UInt16(bytes[5])
        if Array(bytes[6..<38]) == TLSHandshakeNames.helloRetryRequestRandom { name = "HelloRetryRequest" }
      }
      sink?(.handshakeMessage(direction: direction, type: type, name: name))
    case 20:
      if !sent && receivedCCSFromHeader {
        receivedCCSFromHeader = false
        return
      }
      sink?(.changeCipherSpec(direction: direction))
    case 21:
      guard bytes.count >= 2 else { return }
      let level = bytes[0]
      let description = bytes[1]
      let value = Int32(level) << 8 | Int32(description)
      let text = SSL_alert_desc_string_long(value).map { String(cString: $0) } ?? "alert \(description)"
      if alertDescriptions.count < 16 { alertDescriptions.append(description) }
      lastAlertText = text
      let levelText =
        switch level {
        case 1: "warning"
        case 2: "fatal"
        default: "level \(level)"
        }
      sink?(.alert(direction: direction, level: levelText, description: text))
    case 256:
      // SSL3_RT_HEADER: the 5-byte record header. A received ChangeCipherSpec (TLS 1.2, and TLS 1.3's
      // middlebox-compatibility one) is only visible here.
      guard !sent, bytes.count >= 5 else { return }
      if !receivedRecordHeader {
        receivedRecordHeader = true
        let digits = bytes[0..<3].allSatisfy { (0x30...0x39).contains($0) }
        plaintextReply = digits && (bytes[3] == 0x20 || bytes[3] == 0x2D)
      }
      receivedCCSFromHeader = bytes[0] == 20
      if receivedCCSFromHeader { sink?(.changeCipherSpec(direction: .received)) }
    default:
      // 257 is OpenSSL's pseudo content type for TLS 1.3 inner types.
      return
    }
  }
}

enum TLSHandshakeNames {
  /// RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest.
  static let helloRetryRequestRandom: [UInt8] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
  ]

  static func name(of type: UInt8) -> String {
    switch type {
    case 0: "HelloRequest"
    case 1: "ClientHello"
    case 2: "ServerHello"
    case 3: "HelloVerifyRequest"
    case 4: "NewSessionTicket"
    case 5: "EndOfEarlyData"
    case 8: "EncryptedExtensions"
    case 11: "Certificate"
    case 12: "ServerKeyExchange"
    case 13: "CertificateRequest"
    case 14: "ServerHelloDone"
    case 15: "CertificateVerify"
    case 16: "ClientKeyExchange"
    case 20: "Finished"
    case 21: "CertificateURL"
    case 22: "CertificateStatus"
    case 23: "SupplementalData"
    case 24: "KeyUpdate"
    case 25: "CompressedCertificate"
    case 254: "MessageHash"
    default: "HandshakeMessage(\(type))"
    }
  }
}

/// OpenSSL's error queue as one reason, e.g. "certificate verify failed", "unsupported protocol".
func openSSLErrorReason() -> String? {
  var reasons: [String] = []
  while true {
    let code = ERR_get_error()
    if code == 0 { break }
    if let reason = ERR_reason_error_string(code) {
      reasons.append(String(cString: reason))
    } else {
      var buffer = [CChar](repeating: 0, count: 256)
      ERR_error_string_n(code, &buffer, buffer.count)
      reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
  }
  return reasons.first
}
