import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender

/// DESIGN §3.3: bytes after the `220` to STARTTLS are an injection, also when the `220` ends exactly where a
/// read ends. The parser's buffer is then empty and only the socket holds the injected bytes, so only the look
/// into the socket (`hasPendingInput()`) finds them; without it a ClientHello goes out on a tampered channel.
@Suite struct StartTLSReadBoundaryTests {
  typealias H = SendHarness

  /// The session reads 4,096 bytes at a time: a `220` of 4,096 octets ends the first read, one of 8,192 the
  /// second.
  static let boundaries = [4096, 8192]

  /// The premise, checked on the transport alone: the kit's `220` arrives as whole reads of 4,096 bytes, and
  /// the injected line is still in the socket after the last of them.
  @Test(arguments: boundaries)
  func theInjectedLineWaitsInTheSocketBehindFullReads(octets: Int) throws {
    let server = try ScriptedSMTPServer(
      standard: try H.standard { $0.startTLS = .injectAtReadBoundary(line: "250 injected", octets: octets) })
    defer { server.stop() }
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: .after(.seconds(5), on: SystemClock()),
      cancellation: Cancellation())
    defer { connection.close() }
    func read() throws -> [UInt8] {
      try connection.read(maxBytes: 4096, deadline: .after(.seconds(5), on: SystemClock()))
    }
    func write(_ text: String) throws {
      try connection.write(Array(text.utf8), deadline: .after(.seconds(5), on: SystemClock()))
    }

    var greeting: [UInt8] = []
    while !greeting.ends(with: "\r\n") { greeting += try read() }
    try write("EHLO [127.0.0.1]\r\n")
    var ehlo: [UInt8] = []
    while !ehlo.ends(with: "250 STARTTLS\r\n") { ehlo += try read() }
    #expect(!connection.hasPendingInput())
    try write("STARTTLS\r\n")
    var ready: [UInt8] = []
    for _ in 0..<(octets / 4096) {
      let chunk = try read()
      #expect(chunk.count == 4096)
      ready += chunk
    }
    #expect(ready == StandardSMTPOptions.reply(code: 220, last: "2.0.0 Ready to start TLS", octets: octets))
    #expect(ready.ends(with: "\r\n220 2.0.0 Ready to start TLS\r\n"))
    #expect(connection.hasPendingInput())
    #expect(try read() == Array("250 injected\r\n".utf8))
  }

  @Test(arguments: boundaries)
  func injectionBehindA220EndingOnAReadBoundaryIsRefused(octets: Int) throws {
    let outcome = try H.run(
      server: try H.standard { $0.startTLS = .injectAtReadBoundary(line: "250 injected", octets: octets) }
    ) { $0.timeout = .seconds(2) }
    #expect(outcome.report.exitCode == 77, "\(outcome.report.verdictLine)")
    #expect(
      outcome.report.verdictLine
        == "refused: STARTTLS tampered: the server sent data after its 220 reply, before the TLS handshake"
        + " — nothing was sent")
    // The whole 220 was read (and shown); the injected line never was, and no handshake was started.
    let lines = outcome.lines
    #expect(lines.contains("<-  220 2.0.0 Ready to start TLS"), "\(lines.suffix(3))")
    #expect(!lines.contains { $0.contains("injected") })
    #expect(!lines.contains { $0.hasPrefix("~~  TLS > ClientHello") }, "\(lines.suffix(3))")
    let session = try #require(outcome.sessions.first)
    #expect(session.clientHellos == 0, "a ClientHello went out on a tampered channel")
    #expect(String(decoding: session.receivedPlaintext, as: UTF8.self).hasSuffix("\r\nSTARTTLS\r\n"))
    let bytesInsideTLS = session.receivedInsideTLS.count
    #expect(bytesInsideTLS == 0)
    #expect(!outcome.serverSawMailOrAuth)
  }
}

extension [UInt8] {
  fileprivate func ends(with text: String) -> Bool {
    let suffix = Array(text.utf8)
    return count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
  }
}
