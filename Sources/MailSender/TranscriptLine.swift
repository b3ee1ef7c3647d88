import SMTPProtocol
import SMTPTransport

/// One line of the text transcript (DESIGN §5), derived from a `SendEvent`. `line` is escaped (§3.6) and free
/// of secrets (§3.5).
public struct TranscriptLine: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable, CaseIterable {
    case connect, send, recv, tls, info, warning, error, data
  }

  /// Seconds since the start of the session.
  public var time: Double
  public var kind: Kind
  /// Whether the line crossed (or describes) the TLS-protected channel.
  public var insideTLS: Bool
  public var line: String

  public init(time: Double, kind: Kind, insideTLS: Bool, line: String) {
    self.time = time
    self.kind = kind
    self.insideTLS = insideTLS
    self.line = line
  }
}

extension SendEvent {
  /// The event's transcript lines: none for stage changes, recipient results and progress (they are data for a
  /// front end; replies and commands already show them), one per reply line, several for a TLS outcome with its
  /// chain. `now` (Unix seconds) words the certificates' validity.
  public func transcriptLines(now: Int64) -> [TranscriptLine] {
    func line(_ kind: TranscriptLine.Kind, _ text: String) -> TranscriptLine {
      TranscriptLine(time: time, kind: kind, insideTLS: insideTLS, line: text)
    }
    switch payload {
    case .stage, .recipient, .progress:
      return []
    case .connecting(let server, let address):
      return [line(.connect, "Connecting to \(server) (\(address))")]
    case .command(let text):
      return [line(.send, text)]
    case .reply(let reply):
      return reply.lines.map { line(.recv, $0) }
    case .tls(let event, let showsChain):
      var lines = TranscriptText.lines(for: event, now: now)
      if !showsChain, case .established = event { lines = Array(lines.prefix(1)) }
      return lines.map { line(.tls, $0) }
    case .data(let text):
      return [line(.data, text)]
    case .note(let level, let text):
      switch level {
      case .info: return [line(.info, text)]
      case .warning: return [line(.warning, text)]
      case .error: return [line(.error, text)]
      }
    case .outcome(let record):
      return [line(record.exitCode == 0 ? .info : .error, record.verdict)]
    }
  }
}
