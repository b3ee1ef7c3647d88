/// Why the transport gave up. Carries no secret: the transport never sees message or credential bytes in its
/// error paths.
public struct TransportError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Kind: Sendable, Hashable {
    /// The name does not resolve (exit 68).
    case hostNotFound
    /// Every address refused or was unreachable (exit 69).
    case connectionRefused
    /// A protocol step passed its deadline (exit 75).
    case timedOut
    /// The peer closed or reset the connection (exit 75).
    case connectionLost
    /// The caller cancelled (exit 75).
    case cancelled
    /// The TLS handshake failed before a verdict: protocol version, alert, malformed records (exit 77).
    case tlsHandshakeFailed
    /// The handshake finished but the peer is not trusted; `summary` shows the chain (exit 77).
    case untrustedPeer(TLSSessionSummary)
    /// Any other socket error (exit 75).
    case io
  }

  public var kind: Kind
  /// One line for the user, e.g. "connection to 127.0.0.1:2525 refused".
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}
