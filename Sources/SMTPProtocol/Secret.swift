/// The bytes of a password or a SASL blob (already base64 text when it is a SASL line).
///
/// DESIGN §3.5: a secret never appears in transcripts, logs or errors. `description`, `debugDescription` and the
/// reflection `Mirror` (used by `dump`) all give `<redacted>`; only `bytes` reaches the wire.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
  CustomReflectable
{
  /// The secret bytes; read them only to put them on the wire or into a SASL encoding.
  public let bytes: [UInt8]

  /// Wraps `bytes` as a secret.
  public init(_ bytes: [UInt8]) { self.bytes = bytes }

  /// Wraps the UTF-8 bytes of `string` as a secret.
  public init(_ string: String) { self.bytes = Array(string.utf8) }

  /// Always `<redacted>`.
  public var description: String { Self.redacted }

  /// Always `<redacted>`.
  public var debugDescription: String { Self.redacted }

  /// A mirror without children, so `dump` and reflection show only `<redacted>`.
  public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

  /// The text shown wherever a secret would be.
  public static let redacted = "<redacted>"
}
