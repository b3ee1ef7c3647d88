/// How the connection is protected (DESIGN §3.1, §3.4): the one name for it in the protocol, the sender, the
/// accounts and every front end.
public enum TransportSecurity: String, Sendable, Hashable, CaseIterable {
  /// TLS from the first byte (RFC 8314 §3), port 465 by default; the driver handshakes before `start()`.
  case implicitTLS = "implicit"
  /// Plaintext greeting and EHLO, then STARTTLS (RFC 3207), refusing to go on without it; 587 or 25.
  case startTLS = "starttls"
  /// No TLS at all: only when the user asked for it (DESIGN §3.4).
  case plaintext = "none"
}
