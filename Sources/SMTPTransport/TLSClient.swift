import COpenSSL
import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

extension SMTPConnection {
  /// Upgrades this connection to TLS (after a STARTTLS `220`, or right after connect for implicit TLS).
  ///
  /// Events go to `onEvent` as they happen: `.clientHello`, the handshake records, then `.established`. If the
  /// handshake fails, or finishes with a peer that is not trusted, the connection is closed before this throws
  /// (`.tlsHandshakeFailed`, `.untrustedPeer(summary)`, `.timedOut`, `.cancelled`, `.connectionLost`): nothing
  /// is ever written on such a connection.
  public func startTLS(
    _ configuration: TLSClientConfiguration, deadline: Deadline,
    onEvent: (TLSEvent) -> Void
  ) throws(TransportError) -> TLSSessionSummary {
    guard descriptor >= 0 else { throw TransportError(.connectionLost, "the connection is closed") }
    guard ssl == nil else { throw TransportError(.io, "TLS is already active on this connection") }
    // Round trips of the handshake: each turn from records we sent to records the server sent (TLS 1.3: one,
    // TLS 1.2: two). Counted from the record trace, which sees the order: a wait for readability would miss a
    // flight whose answer was already there when OpenSSL looked (it happens on loopback).
    var lastDirection: TLSDirection?
    var turns = 0
    let counting: (TLSEvent) -> Void = { event in
      let direction: TLSDirection?
      switch event {
      case .clientHello: direction = .sent
      case .handshakeMessage(let dir, _, _), .changeCipherSpec(let dir), .alert(let dir, _, _):
        direction = dir
      case .established: direction = nil
      }
      if let direction {
        if direction == .received && lastDirection == .sent { turns += 1 }
        lastDirection = direction
      }
      onEvent(event)
    }
    defer { roundTrips += turns }
    do throws(TransportError) {
      return try handshake(configuration, deadline: deadline, onEvent: counting)
    } catch {
      // Kept past close(), which drops the handshake's context.
      handshakeSawPlaintextReply = handshakeContext?.plaintextReply == true
      close()
      throw error
    }
  }

  private func handshake(
    _ configuration: TLSClientConfiguration, deadline: Deadline,
    onEvent: (TLSEvent) -> Void
  ) throws(TransportError) -> TLSSessionSummary {
    Signals.ignoreSIGPIPE()
    ERR_clear_error()
    var name = configuration.serverName
    if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
    let isIPLiteral = IPAddressParser.isLiteral(name)

    // The context (anchors, versions) is made once per process and shared (TLSContextCache); the name, SNI,
    // verification and pins below are set on this connection's SSL.
    let versions = configuration.versions
    let anchors: TLSContextCache.Anchors
    var source = ""
    switch configuration.trust {
    case .certificateAuthorities(caFile: let file?):
      // The file replaces the system store; a self-signed certificate in it is an anchor. It is read once
      // through a checked descriptor (a FIFO cannot hang it), and OpenSSL gets the bytes, not the path.
      switch CertificateFile.contents(atPath: file) {
      case .success(let pem): anchors = .pem(pem)
      case .failure(let failure):
        throw TransportError(.tlsHandshakeFailed, "cannot load CA file \(file): \(failure.message)")
      }
      source = file
    case .certificateAuthorityPEM(let pem, let from):
      anchors = .pem(pem)
      source = from
    case .certificateAuthorities(caFile: nil), .pins:
      anchors = .system
    }
    let context: OpaquePointer
    do throws(TLSContextCache.Failure) {
      context = try TLSContextCache.acquire(anchors, versions: versions)
    } catch {
      switch error {
      case .noCertificate:
        throw TransportError(
          .tlsHandshakeFailed, "cannot load CA file \(source): it holds no PEM certificate")
      case .context(let message):
        throw TransportError(.tlsHandshakeFailed, message)
      }
    }
    self.context = context
    if configuration.trust.isCertificateAuthorities, name.isEmpty {
      throw TransportError(.tlsHandshakeFailed, "no server name to verify the certificate against")
    }

    guard let ssl = SSL_new(context) else {
      throw TransportError(.tlsHandshakeFailed, "cannot create a TLS session: \(openSSLErrorReason() ?? "")")
    }
    self.ssl = ssl
    guard SSL_set_fd(ssl, descriptor) == 1 else {
      throw TransportError(.tlsHandshakeFailed, "cannot attach TLS to the socket")
    }
    SSL_set_connect_state(ssl)
    if !name.isEmpty {
      if isIPLiteral {
        // RFC 6066: no SNI for an IP literal; the IP must be in an IP SAN.
        guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 else {
          throw TransportError(.tlsHandshakeFailed, "cannot verify against IP address \(name)")
        }
      } else {
        guard sealpost_SSL_set_tlsext_host_name(ssl, name) == 1 else {
          throw TransportError(.tlsHandshakeFailed, "cannot send server name \(name)")
        }
        SSL_set_hostflags(ssl, sealpost_X509_CHECK_FLAGS_SAN_ONLY_NO_PARTIAL_WILDCARDS())
        guard SSL_set1_host(ssl, name) == 1 else {
          throw TransportError(.tlsHandshakeFailed, "cannot verify against host name \(name)")
        }
      }
    }

    let handshakeContext = HandshakeContext()
    self.handshakeContext = handshakeContext
    _ = sealpost_SSL_set_app_data(ssl, Unmanaged.passUnretained(handshakeContext).toOpaque())
    if configuration.trust.isCertificateAuthorities { handshakeContext.abortOnVerifyFailure = true }
    SSL_set_verify(ssl, SSL_VERIFY_PEER) { preverified, store in
      // Record the first failure. With CA trust, stop right there: OpenSSL sends its alert, and the chain
      // received so far is still reported below. With pins, let the handshake finish so the leaf's key decides;
      // the verdict below closes the connection before anything is written.
      guard preverified != 1, let store, let ssl = sealpost_X509_STORE_CTX_get_ssl(store),
        let raw = sealpost_SSL_get_app_data(ssl)
      else { return 1 }
      let context = Unmanaged<HandshakeContext>.fromOpaque(raw).takeUnretainedValue()
      if context.firstVerifyFailure == nil {
        let code = X509_STORE_CTX_get_error(store)
        let reason = X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "error \(code)"
        context.firstVerifyFailure = (reason, Int(X509_STORE_CTX_get_error_depth(store)))
      }
      return context.abortOnVerifyFailure ? 0 : 1
    }
    SSL_set_msg_callback(ssl) { written, _, contentType, buffer, length, ssl, _ in
      guard let ssl, let buffer, let raw = sealpost_SSL_get_app_data(ssl) else { return }
      let context = Unmanaged<HandshakeContext>.fromOpaque(raw).takeUnretainedValue()
      context.record(
        sent: written != 0, contentType: contentType,
        bytes: UnsafeRawBufferPointer(start: buffer, count: length))
    }

    do throws(TransportError) {
      try withoutActuallyEscaping(onEvent) { (sink) throws(TransportError) -> Void in
        handshakeContext.sink = sink
        defer { handshakeContext.sink = nil }
        sink(.clientHello(serverNameIndication: isIPLiteral || name.isEmpty ? nil : name, versions: versions))
        try runHandshake(ssl, versions: versions, deadline: deadline)
      }
    } catch {
      // Stopped by our own verify callback: report the chain as received, with OpenSSL's reason.
      guard handshakeContext.abortOnVerifyFailure, handshakeContext.firstVerifyFailure != nil,
        error.kind == .tlsHandshakeFailed
      else { throw error }
      handshakeContext.handshakeFinished = true
      let summary = try sessionSummary(ssl, configuration: configuration, name: name)
      onEvent(.established(summary))
      throw untrusted(summary, name: name)
    }
    // The message callback stays: a TLS 1.3 NewSessionTicket (and any later alert) arrives during reads, which
    // report it through `read(maxBytes:deadline:onTLSEvent:)`.
    handshakeContext.handshakeFinished = true

    let summary = try sessionSummary(ssl, configuration: configuration, name: name)
    onEvent(.established(summary))
    if summary.verdict.isTrusted {
      tlsEstablished = true
      acknowledgeQuickly()
      return summary
    }
    throw untrusted(summary, name: name)
  }

  private func untrusted(_ summary: TLSSessionSummary, name: String) -> TransportError {
    switch summary.verdict {
    case .failed(let reason, let depth):
      let at = depth.map { " (certificate \($0) of the chain)" } ?? ""
      return TransportError(
        .untrustedPeer(summary), "certificate of \(peer) not trusted for \(name): \(reason)\(at)")
    case .pinMismatch, .verified, .pinned:
      return TransportError(.untrustedPeer(summary), "the key of \(peer) matches none of the configured pins")
    }
  }

  private func runHandshake(
    _ ssl: OpaquePointer, versions: ClosedRange<TLSVersion>, deadline: Deadline
  ) throws(TransportError) {
    while true {
      if cancellation.isCancelled { throw TransportError(.cancelled, "cancelled during the TLS handshake") }
      ERR_clear_error()
      let result = SSL_connect(ssl)
      if result == 1 {
        // The client's Finished went last: the next read waits for the server.
        awaitingPeer = true
        return
      }
      let code = errno
      let error = SSL_get_error(ssl, result)
      switch error {
      case SSL_ERROR_WANT_READ:
        try SocketWait.wait(
          descriptor: descriptor, events: SocketWait.readable, deadline: deadline,
          cancellation: cancellation, step: "waiting for the TLS handshake with \(peer)")
      case SSL_ERROR_WANT_WRITE:
        try SocketWait.wait(
          descriptor: descriptor, events: SocketWait.writable, deadline: deadline,
          cancellation: cancellation, step: "waiting for the TLS handshake with \(peer)")
      case SSL_ERROR_ZERO_RETURN:
        tlsBroken = true
        throw TransportError(.connectionLost, "\(peer) closed the connection during the TLS handshake")
      case SSL_ERROR_SYSCALL:
        tlsBroken = true
        let detail = code == 0 ? "closed the connection" : errorText(code)
        throw TransportError(.connectionLost, "\(peer) \(detail) during the TLS handshake")
      default:
        tlsBroken = true
        let reason = openSSLErrorReason()
        if let reason, reason.contains("unexpected eof") {
          throw TransportError(.connectionLost, "\(peer) closed the connection during the TLS handshake")
        }
        throw TransportError(.tlsHandshakeFailed, handshakeFailureMessage(reason: reason, versions: versions))
      }
    }
  }

  private func handshakeFailureMessage(reason: String?, versions: ClosedRange<TLSVersion>) -> String {
    let minimum = versions.lowerBound
    let alerts = handshakeContext?.alertDescriptions ?? []
    let reasonText = reason ?? "unknown error"
    let versionReasons = ["unsupported protocol", "protocol version", "no protocols available"]
    let isVersionFailure = alerts.contains(70) || versionReasons.contains(where: { reasonText.contains($0) })
    if isVersionFailure && minimum < .tls12 {
      // An explicit old-version attempt (the probe's --versions): say what was refused, not what is missing.
      let offered = minimum == versions.upperBound ? "\(minimum)" : "\(minimum)–\(versions.upperBound)"
      let alert = alerts.contains(70) ? "alert protocol version" : reasonText
      return "TLS handshake failed: the server does not accept \(offered) (\(alert))"
    }
    if isVersionFailure {
      let offered: String
      if let raw = handshakeContext?.serverHelloVersion, let version = TLSVersion(rawValue: Int(raw)),
        version < minimum
      {
        offered = version == .tls11 ? "TLS 1.0–1.1" : "\(version)"
      } else {
        offered = "versions older than \(minimum)"
      }
      return "TLS handshake failed: server offers only \(offered) (alert protocol version)"
    }
    if let alert = handshakeContext?.lastAlertText, !reasonText.contains(alert) {
      return "TLS handshake failed: \(reasonText) (alert \(alert))"
    }
    return "TLS handshake failed: \(reasonText)"
  }

  private func sessionSummary(
    _ ssl: OpaquePointer, configuration: TLSClientConfiguration, name: String
  ) throws(TransportError) -> TLSSessionSummary {
    guard let version = TLSVersion(rawValue: Int(SSL_version(ssl))) else {
      throw TransportError(.tlsHandshakeFailed, "TLS handshake failed: unknown protocol version")
    }
    guard version >= configuration.versions.lowerBound else {
      throw TransportError(
        .tlsHandshakeFailed, "TLS handshake failed: server negotiated \(version), below the minimum")
    }
    let cipherPointer = SSL_get_current_cipher(ssl)
    let cipher =
      (SSL_CIPHER_standard_name(cipherPointer) ?? SSL_CIPHER_get_name(cipherPointer)).map {
        String(cString: $0)
      } ?? "unknown"

    var chain: [CertificateSummary] = []
    if let stack = SSL_get_peer_cert_chain(ssl) {
      for index in 0..<sealpost_sk_X509_num(stack) {
        if let certificate = sealpost_sk_X509_value(stack, index) {
          chain.append(CertificateInspector.summary(of: certificate))
        }
      }
    }
    // After a handshake stopped at verification OpenSSL has not set the peer certificate yet: the leaf is
    // then the first certificate of the chain as received.
    let leaf = SSL_get0_peer_certificate(ssl).map { CertificateInspector.summary(of: $0) } ?? chain.first

    let chainVerdict: TLSVerdict
    if leaf == nil {
      chainVerdict = .failed(reason: "the server sent no certificate", depth: 0)
    } else if let failure = handshakeContext?.firstVerifyFailure {
      chainVerdict = .failed(reason: failure.reason, depth: failure.depth)
    } else {
      let result = SSL_get_verify_result(ssl)
      if result == X509_V_OK {
        chainVerdict = .verified(name: name)
      } else {
        let reason = X509_verify_cert_error_string(result).map { String(cString: $0) } ?? "error \(result)"
        chainVerdict = .failed(reason: reason, depth: nil)
      }
    }

    let verdict: TLSVerdict
    switch configuration.trust {
    case .certificateAuthorities, .certificateAuthorityPEM:
      verdict = chainVerdict
    case .pins(let pins):
      if let leaf {
        let match = pins.first { pin in
          switch pin {
          case .spkiSHA256(let hash): hash == leaf.spkiSHA256
          case .certificateSHA256(let hash): hash == leaf.sha256
          }
        }
        verdict = match.map { .pinned($0) } ?? .pinMismatch(spkiSHA256: leaf.spkiSHA256)
      } else {
        verdict = .failed(reason: "the server sent no certificate", depth: 0)
      }
    }

    return TLSSessionSummary(
      version: version, cipher: cipher, group: Self.negotiatedGroup(ssl),
      peerSignatureAlgorithm: Self.peerSignatureAlgorithm(ssl, leafKey: leaf?.publicKey),
      chain: chain, verdict: verdict, chainVerification: chainVerdict)
  }

  /// The key-exchange group, e.g. "X25519", "secp256r1"; nil when OpenSSL cannot say.
  static func negotiatedGroup(_ ssl: OpaquePointer) -> String? {
    let nid = sealpost_SSL_get_negotiated_group(ssl)
    guard nid != NID_undef else { return nil }
    // "X25519"/"X448" as RFC 8446 spells them in prose; the rest by their TLS names ("secp256r1", "ffdhe2048").
    if nid == NID_X25519 || nid == NID_X448 { return OBJ_nid2sn(nid).map { String(cString: $0) } }
    if let name = SSL_group_to_name(ssl, nid) { return String(cString: name) }
    return OBJ_nid2sn(nid).map { String(cString: $0) }
  }

  /// The TLS SignatureScheme name of the server's handshake signature, e.g. "ecdsa_secp256r1_sha256".
  static func peerSignatureAlgorithm(_ ssl: OpaquePointer, leafKey: String?) -> String? {
    var type: Int32 = 0
    guard SSL_get_peer_signature_type_nid(ssl, &type) == 1 else { return nil }
    var hash: Int32 = 0
    let hasHash = sealpost_SSL_get_peer_signature_nid(ssl, &hash) == 1
    let hashName: String? =
      switch hash {
      case NID_sha1: "sha1"
      case NID_sha224: "sha224"
      case NID_sha256: "sha256"
      case NID_sha384: "sha384"
      case NID_sha512: "sha512"
      // TLS 1.0/1.1 sign with MD5 and SHA-1 together (RFC 4346 §7.4.3).
      case NID_md5_sha1: "md5_sha1"
      default: hasHash ? OBJ_nid2sn(hash).map { String(cString: $0).lowercased() } : nil
      }
    switch type {
    case EVP_PKEY_ED25519: return "ed25519"
    case EVP_PKEY_ED448: return "ed448"
    default: break
    }
    guard hasHash, let hashName else { return nil }
    switch type {
    case EVP_PKEY_EC:
      let curve: String? =
        switch hash {
        case NID_sha256: "secp256r1"
        case NID_sha384: "secp384r1"
        case NID_sha512: "secp521r1"
        default: nil
        }
      return curve.map { "ecdsa_\($0)_\(hashName)" } ?? "ecdsa_\(hashName)"
    case EVP_PKEY_RSA_PSS:
      let isPSSKey = leafKey?.hasPrefix("RSA-PSS") ?? false
      return (isPSSKey ? "rsa_pss_pss_" : "rsa_pss_rsae_") + hashName
    case EVP_PKEY_RSA:
      return "rsa_pkcs1_" + hashName
    case EVP_PKEY_DSA:
      return "dsa_" + hashName
    default:
      return OBJ_nid2sn(type).map { "\(String(cString: $0).lowercased())_\(hashName)" }
    }
  }

  // MARK: I/O inside TLS

  func tlsRead(_ ssl: OpaquePointer, count: Int, deadline: Deadline) throws(TransportError)
    -> [UInt8]
  {
    var buffer = [UInt8](repeating: 0, count: count)
    while true {
      if cancellation.isCancelled { throw TransportError(.cancelled, "cancelled while reading from \(peer)") }
      ERR_clear_error()
      var received = 0
      let result = buffer.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &received) }
      if result == 1 {
        buffer.removeSubrange(received...)
        return buffer
      }
      try handleTLSError(ssl, result: result, errno: errno, deadline: deadline, step: "reading from \(peer)")
      if SSL_get_error(ssl, result) == SSL_ERROR_ZERO_RETURN { return [] }
    }
  }

  func tlsWrite(_ ssl: OpaquePointer, bytes: UnsafeRawBufferPointer, deadline: Deadline)
    throws(TransportError)
  {
    var offset = 0
    while offset < bytes.count {
      if cancellation.isCancelled { throw TransportError(.cancelled, "cancelled while writing to \(peer)") }
      let result = sealpost_ssl_write_from(ssl, bytes.baseAddress, bytes.count, &offset)
      if result == 1 { continue }
      try handleTLSError(ssl, result: result, errno: errno, deadline: deadline, step: "writing to \(peer)")
      if SSL_get_error(ssl, result) == SSL_ERROR_ZERO_RETURN {
        throw TransportError(.connectionLost, "\(peer) closed the TLS session")
      }
    }
  }

  /// Waits for WANT_READ/WANT_WRITE, returns for ZERO_RETURN (the caller decides), throws for the rest.
  private func handleTLSError(
    _ ssl: OpaquePointer, result: Int32, errno code: Int32, deadline: Deadline, step: String
  ) throws(TransportError) {
    switch SSL_get_error(ssl, result) {
    case SSL_ERROR_WANT_READ:
      try SocketWait.wait(
        descriptor: descriptor, events: SocketWait.readable, deadline: deadline, cancellation: cancellation,
        step: step)
    case SSL_ERROR_WANT_WRITE:
      try SocketWait.wait(
        descriptor: descriptor, events: SocketWait.writable, deadline: deadline, cancellation: cancellation,
        step: step)
    case SSL_ERROR_ZERO_RETURN:
      return
    case SSL_ERROR_SYSCALL:
      tlsBroken = true
      let detail = code == 0 ? "closed without TLS close_notify" : errorText(code)
      throw TransportError(.connectionLost, "connection to \(peer) lost while \(step): \(detail)")
    default:
      tlsBroken = true
      throw TransportError(
        .io, "TLS error while \(step): \(openSSLErrorReason() ?? "unknown error")")
    }
  }

  /// A server often writes one reply as several small segments (a session ticket then the greeting, a TLS
  /// record then the next); if it does not disable Nagle, each later segment waits for our ACK of the earlier
  /// one, which Linux delays up to 40 ms. Quick-ACK mode (Linux; it lapses by itself, so it is set again before
  /// every read and after the handshake) answers at once. Measured against Postfix with
  /// Tests/bench/send-latency.sh.
  func acknowledgeQuickly() {
    var one: Int32 = 1
    _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
  }
}
