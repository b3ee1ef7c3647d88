import SMTPProtocol

/// A TLS protocol version as OpenSSL names it.
public enum TLSVersion: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
  case tls10 = 0x0301
  case tls11 = 0x0302
  case tls12 = 0x0303
  case tls13 = 0x0304

  public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool { lhs.rawValue < rhs.rawValue }

  /// "TLS 1.2", as shown in transcripts.
  public var description: String {
    switch self {
    case .tls10: "TLS 1.0"
    case .tls11: "TLS 1.1"
    case .tls12: "TLS 1.2"
    case .tls13: "TLS 1.3"
    }
  }
}

/// A pin that replaces chain and name checks (DESIGN §3.2).
public enum CertificatePin: Sendable, Hashable {
  /// SHA-256 of the leaf's DER SubjectPublicKeyInfo (`--pin sha256/BASE64`).
  case spkiSHA256([UInt8])
  /// SHA-256 of the whole DER leaf certificate (msmtp's `tls_fingerprint`).
  case certificateSHA256([UInt8])
}

/// Where trust comes from for one TLS connection (DESIGN §3.2).
public enum TLSTrust: Sendable, Hashable {
  /// The CA chain and the name. `caFile` nil means the system store; a file *replaces* the system store, and a
  /// self-signed certificate in it is a trust anchor.
  case certificateAuthorities(caFile: String?)
  /// The CA chain and the name, with the anchors given as PEM bytes (a config's `tls_trust_file`, read once
  /// through a checked descriptor, so no path is opened again after the check). Replaces the system store like a
  /// CA file; `source` names where the bytes came from, for messages.
  case certificateAuthorityPEM([UInt8], source: String)
  /// The leaf must match one of these pins; the chain and name are still evaluated and shown, not required.
  case pins([CertificatePin])

  /// Whether trust comes from a CA chain and the name (a file, PEM bytes or the system store), not a pin.
  public var isCertificateAuthorities: Bool {
    if case .pins = self { return false }
    return true
  }
}

/// What a TLS client handshake must achieve.
public struct TLSClientConfiguration: Sendable {
  /// The name the user asked for: a DNS name (sent as SNI, checked against DNS SANs) or an IP literal
  /// (no SNI, checked against IP SANs).
  public var serverName: String
  public var trust: TLSTrust
  /// The versions offered. The default client offers 1.2–1.3; only the probe's `--versions` goes lower.
  public var versions: ClosedRange<TLSVersion>

  /// TLS 1.2–1.3: what every client connection offers unless the probe asks for older versions.
  public static let defaultVersions: ClosedRange<TLSVersion> = .tls12 ... .tls13

  public init(
    serverName: String, trust: TLSTrust, versions: ClosedRange<TLSVersion> = defaultVersions
  ) {
    self.serverName = serverName
    self.trust = trust
    self.versions = versions
  }
}

/// Who sent a TLS record.
public enum TLSDirection: Sendable, Hashable {
  /// Sealpost → server.
  case sent
  /// Server → Sealpost.
  case received
}

/// One certificate of the chain as the server sent it. Text fields come from the peer and are untrusted.
public struct CertificateSummary: Sendable, Hashable {
  public var subject: UntrustedText
  public var issuer: UntrustedText
  /// `DNS:name`, `IP:addr` entries, in certificate order.
  public var subjectAlternativeNames: [UntrustedText]
  /// Seconds since 1970 (UTC).
  public var notBefore: Int64
  public var notAfter: Int64
  /// e.g. "RSA 2048", "EC P-256", "Ed25519".
  public var publicKey: String
  /// e.g. "sha256WithRSAEncryption".
  public var signatureAlgorithm: String
  /// SHA-256 of the DER certificate.
  public var sha256: [UInt8]
  /// SHA-256 of the DER SubjectPublicKeyInfo (the value `--pin sha256/…` takes, base64).
  public var spkiSHA256: [UInt8]

  public init(
    subject: UntrustedText, issuer: UntrustedText, subjectAlternativeNames: [UntrustedText],
    notBefore: Int64, notAfter: Int64, publicKey: String, signatureAlgorithm: String,
    sha256: [UInt8], spkiSHA256: [UInt8]
  ) {
    self.subject = subject
    self.issuer = issuer
    self.subjectAlternativeNames = subjectAlternativeNames
    self.notBefore = notBefore
    self.notAfter = notAfter
    self.publicKey = publicKey
    self.signatureAlgorithm = signatureAlgorithm
    self.sha256 = sha256
    self.spkiSHA256 = spkiSHA256
  }
}

/// The trust decision for a handshake.
public enum TLSVerdict: Sendable, Hashable {
  /// Chain verified to a trusted anchor and the leaf matches this name or IP.
  case verified(name: String)
  /// The leaf matched a configured pin.
  case pinned(CertificatePin)
  /// Chain or name verification failed: OpenSSL's reason and the depth in the chain (0 = leaf).
  case failed(reason: String, depth: Int?)
  /// Pins were configured and none matched; `spkiSHA256` is the leaf's actual SPKI hash.
  case pinMismatch(spkiSHA256: [UInt8])

  public var isTrusted: Bool {
    switch self {
    case .verified, .pinned: true
    case .failed, .pinMismatch: false
    }
  }
}

/// What was negotiated, and whether the peer can be trusted.
public struct TLSSessionSummary: Sendable, Hashable {
  public var version: TLSVersion
  /// IANA/RFC name, e.g. "TLS_AES_256_GCM_SHA384" (OpenSSL's standard name).
  public var cipher: String
  /// Key-exchange group, e.g. "X25519"; nil when OpenSSL cannot say.
  public var group: String?
  /// e.g. "ecdsa_secp256r1_sha256"; nil when unknown.
  public var peerSignatureAlgorithm: String?
  /// The chain as the server sent it, leaf first.
  public var chain: [CertificateSummary]
  public var verdict: TLSVerdict
  /// What the chain and name check said on its own: `.verified(name:)` or `.failed(reason:depth:)`. Equals
  /// `verdict` for CA trust; with pins it is shown next to the pin verdict but decides nothing (DESIGN §3.2).
  /// nil when not evaluated.
  public var chainVerification: TLSVerdict?

  public init(
    version: TLSVersion, cipher: String, group: String?, peerSignatureAlgorithm: String?,
    chain: [CertificateSummary], verdict: TLSVerdict, chainVerification: TLSVerdict? = nil
  ) {
    self.version = version
    self.cipher = cipher
    self.group = group
    self.peerSignatureAlgorithm = peerSignatureAlgorithm
    self.chain = chain
    self.verdict = verdict
    self.chainVerification = chainVerification
  }
}

/// One observable step of a handshake, in the order it happened.
public enum TLSEvent: Sendable, Hashable {
  /// The ClientHello is about to go out.
  case clientHello(serverNameIndication: String?, versions: ClosedRange<TLSVersion>)
  /// A handshake message (content type 22); `name` e.g. "ServerHello", `type` the handshake type byte.
  case handshakeMessage(direction: TLSDirection, type: UInt8, name: String)
  /// A ChangeCipherSpec record (content type 20).
  case changeCipherSpec(direction: TLSDirection)
  /// An alert, e.g. level "fatal", description "certificate unknown".
  case alert(direction: TLSDirection, level: String, description: String)
  /// The handshake finished (the verdict may still be a failure: then nothing is sent on the connection).
  case established(TLSSessionSummary)
}
