import SMTPTransport

/// One line of the session as the user sees it (DESIGN §5). Emitted by the core as it happens; rendered by the
/// CLI as text or JSON lines and by the terminal UI. `line` is already escaped (§3.6) and redacted (§3.5).
public struct TranscriptEvent: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable, CaseIterable {
    case connect, send, recv, tls, info, warning, error, data
  }

  /// Seconds since the start of the session.
  public var time: Double
  public var kind: Kind
  /// Whether the line crossed (or describes) the TLS-protected channel.
  public var insideTLS: Bool
  /// Display text, safe for a terminal and free of secrets.
  public var line: String
  /// For `kind == .tls`: the structured step, so a UI can show details.
  public var tls: TLSEvent?

  public init(time: Double, kind: Kind, insideTLS: Bool, line: String, tls: TLSEvent? = nil) {
    self.time = time
    self.kind = kind
    self.insideTLS = insideTLS
    self.line = line
    self.tls = tls
  }
}
