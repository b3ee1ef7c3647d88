import SMTPTransport

/// The plaintext rules of DESIGN §3.4, decided by the connected peer's address, never by its name.
enum ChannelPolicy {
  /// Called right after connecting without TLS, before a byte is sent.
  static func checkPlaintext(peer: PeerAddress, allowInsecure: Bool, hasCredentials: Bool) throws(SendFailure)
  {
    guard !peer.isLoopback else { return }
    if hasCredentials {
      // No override exists: the permission for plaintext covers mail, never a password.
      throw SendFailure(
        .security,
        "AUTH is never sent over plaintext to a non-loopback host (\(peer.host)) — nothing was sent",
        reason: .plaintextAuthentication)
    }
    if !allowInsecure {
      throw SendFailure(
        .security,
        "plaintext to a non-loopback host (\(peer.host)) was not explicitly allowed — nothing was sent",
        reason: .plaintextNotAllowed)
    }
  }
}
