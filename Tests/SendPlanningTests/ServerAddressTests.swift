import MailMessage
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender
@testable import SendPlanning

@Suite struct ServerAddressTests {
  @Test(
    arguments: [
      ("smtp.example.org", "smtp.example.org", nil),
      ("smtp.example.org:587", "smtp.example.org", 587),
      ("192.0.2.1:25", "192.0.2.1", 25),
      ("[::1]:2525", "::1", 2525),
      ("[::1]", "::1", nil),
      ("::1", "::1", nil),
      ("localhost:1025", "localhost", 1025),
    ] as [(String, String, UInt16?)])
  func parses(text: String, host: String, port: UInt16?) throws {
    let address = try ServerAddress(parsing: text)
    #expect(address.host == host)
    #expect(address.port == port)
  }

  @Test func twoPortsSayWhatIsExpected() throws {
    let error = try #require(throws: PlanningError.self) { try ServerAddress(parsing: "127.0.0.1:2525:25") }
    #expect(error.category.exitCode == 64)
    #expect(
      error.text.worded { "--\($0.rawValue)" }
        == "bad --server 127.0.0.1:2525:25: expected HOST, HOST:PORT or [IPv6]:PORT (an IPv6 address with a "
        + "port goes in brackets)")
    #expect(error.text.fields == [.server])
  }

  @Test(arguments: [
    "", "host:", "host:0", "host:65536", "host:abc", "[::1", "[example.org]:25", "a b", "host\r\nMAIL",
    ":25", "exa\u{1B}mple.org",
    // Issue 7: two ports, or colons that make no IPv6 address, are usage errors, not host names to look up.
    "127.0.0.1:2525:25", "host:25:26", "1:2:3", "[1:2:3]:25", "::1::2", "fe80::1%eth0",
  ])
  func rejects(text: String) {
    #expect(throws: PlanningError.self) { try ServerAddress(parsing: text) }
    do {
      _ = try ServerAddress(parsing: text)
    } catch {
      let message = error.text.worded(\.rawValue)
      #expect(error.category.exitCode == 64)
      #expect(!message.contains("\r"))
      #expect(!message.contains("\u{1B}"))
    }
  }

  @Test(
    arguments: [
      (nil, nil, 465, TransportSecurity.implicitTLS),
      (nil, .implicitTLS, 465, .implicitTLS),
      (nil, .startTLS, 587, .startTLS),
      (nil, .plaintext, 25, .plaintext),
      (465, nil, 465, .implicitTLS),
      (587, nil, 587, .startTLS),
      (25, nil, 25, .startTLS),
      (2525, .startTLS, 2525, .startTLS),
      (1025, .plaintext, 1025, .plaintext),
    ] as [(UInt16?, TransportSecurity?, UInt16, TransportSecurity)])
  func portRules(
    port: UInt16?, security: TransportSecurity?, expectedPort: UInt16, expected: TransportSecurity
  )
    throws
  {
    let (resolvedPort, mode) = try ServerAddress.plan(port: port, security: security)
    #expect(resolvedPort == expectedPort)
    #expect(mode == expected)
  }

  @Test func otherPortWithoutModeIsUsage() {
    let error = #expect(throws: PlanningError.self) { try ServerAddress.plan(port: 2525, security: nil) }
    #expect(error?.category == .usage)
    #expect(
      error?.failure(naming: { _ in "--tls" }).message
        == "port 2525 has no standard mode: say --tls implicit, starttls or none")
  }
}
