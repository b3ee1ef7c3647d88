/// Why a message could not be signed or encrypted, or a certificate cannot be used. The text names no secret and
/// no file content; certificate fields in it are escaped (DESIGN §3.6).
public struct ProtectionError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Kind: Sendable, Hashable {
    /// A certificate or key file that is not what it should be (not PEM, no certificate, no address).
    case invalidInput
    /// The private key is encrypted and the passphrase given (or none) does not open it.
    case passphrase
    /// The key does not belong to the certificate, or OpenSSL failed to sign or encrypt.
    case failed
  }

  public var kind: Kind
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}
