import Foundation
import MailSenderTesting
import SMTPTransport
import Testing

/// A deadline `seconds` from now.
func deadline(_ seconds: Double = 5) -> Deadline {
  .after(.milliseconds(Int(seconds * 1000)), on: SystemClock())
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Reads CRLF lines from a connection, keeping what follows a line for the next call.
final class LineReader {
  let connection: SMTPConnection
  var buffer: [UInt8] = []

  init(_ connection: SMTPConnection) { self.connection = connection }

  /// One line without CRLF; nil at EOF.
  func line(deadline: Deadline = deadline()) throws -> String? {
    while true {
      if let end = buffer.indices.dropLast().first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 }) {
        let line = Array(buffer[..<end])
        buffer.removeSubrange(...(end + 1))
        return text(line)
      }
      let data = try connection.read(maxBytes: 4096, deadline: deadline)
      if data.isEmpty { return nil }
      buffer += data
    }
  }

  /// The lines of one SMTP reply (up to the line whose fourth character is a space).
  func reply(deadline: Deadline = deadline()) throws -> [String] {
    var lines: [String] = []
    while let line = try line(deadline: deadline) {
      lines.append(line)
      if line.count < 4 || line.dropFirst(3).first == " " { break }
    }
    return lines
  }
}

/// A server doing implicit TLS that greets with "220 tls ok" and then records one line.
func implicitTLSServer(
  _ kind: TestIdentityKind, versions: ClosedRange<ServerTLSVersion> = .tls12 ... .tls13,
  listenOnIPv6: Bool = false
) throws -> ScriptedSMTPServer {
  let pki = try TestPKI.shared()
  return try ScriptedSMTPServer(
    options: .init(
      implicitTLS: pki.identity(kind), versions: versions, listenOnIPv6: listenOnIPv6, timeout: 3)
  ) { session in
    try session.send("220 tls ok")
    _ = try session.readLine()
  }
}

struct HandshakeOutcome {
  var result: Result<TLSSessionSummary, TransportError>
  var events: [TLSEvent]
  var connection: SMTPConnection

  var summary: TLSSessionSummary? { try? result.get() }
  var error: TransportError? {
    if case .failure(let error) = result { return error }
    return nil
  }
  var untrustedSummary: TLSSessionSummary? {
    if case .untrustedPeer(let summary) = error?.kind { return summary }
    return nil
  }
  var handshakeNames: [String] {
    events.compactMap {
      if case .handshakeMessage(_, _, let name) = $0 { return name }
      return nil
    }
  }
}

/// Connects to `server` and runs the client handshake.
func handshake(
  with server: ScriptedSMTPServer, host: String = "127.0.0.1", port: UInt16? = nil, serverName: String,
  trust: TLSTrust, versions: ClosedRange<TLSVersion> = .tls12 ... .tls13, seconds: Double = 5
) throws -> HandshakeOutcome {
  let connection = try SMTPConnection.connect(
    host: host, port: port ?? server.port, deadline: deadline(seconds), cancellation: Cancellation())
  var events: [TLSEvent] = []
  let result: Result<TLSSessionSummary, TransportError>
  do {
    result = .success(
      try connection.startTLS(
        TLSClientConfiguration(serverName: serverName, trust: trust, versions: versions),
        deadline: deadline(seconds)
      ) { events.append($0) })
  } catch {
    result = .failure(error)
  }
  return HandshakeOutcome(result: result, events: events, connection: connection)
}

func hex(_ bytes: [UInt8]) -> String {
  bytes.map { byte in
    let digits = String(byte, radix: 16, uppercase: true)
    return digits.count == 1 ? "0" + digits : digits
  }.joined()
}
