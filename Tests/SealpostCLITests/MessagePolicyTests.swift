import Foundation
import MailSenderTesting
import Testing

/// DESIGN §3.8 and §4 at the binary level: what `--message` may carry, what the server must offer for it, and
/// how the transcript adapts to the terminal.
@Suite(.serialized) struct MessagePolicyTests {
  static func server(_ configure: (inout StandardSMTPOptions) -> Void = { _ in }) throws -> ScriptedSMTPServer
  {
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid))
    configure(&options)
    return try ScriptedSMTPServer(standard: options)
  }

  static func arguments(_ server: ScriptedSMTPServer, _ extra: [String]) throws -> [String] {
    [
      "send", "--server", "localhost:\(server.port)", "--tls", "starttls", "--ca-file",
      try TestPKI.shared().caCertificatePath, "--from", "a@example.org", "--to", "b@example.org", "--timeout",
      "5",
    ] + extra
  }

  static let eightBitMessage = Array(
    "From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n\r\nGrüße aus Köln\r\n".utf8)

  @Test func eightBitMessageToAServerWithout8BITMIMEIsRefused() throws {
    let server = try Self.server { $0.capabilitiesAfterTLS = ["PIPELINING", "SIZE 10240000"] }
    defer { server.stop() }
    let result = try CLIRunner.run(
      try Self.arguments(server, ["--message", "-"]), stdin: Self.eightBitMessage)
    #expect(result.status == 65, "\(result.stderr)")
    #expect(result.stderr.contains("8BITMIME"))
    let commands = server.waitForFinishedSessions(1).flatMap(\.commands)
    #expect(!commands.contains { $0.hasPrefix("MAIL") || $0.hasPrefix("DATA") })
  }

  @Test func eightBitMessageGoesWithBody8BITMIME() throws {
    let server = try Self.server()
    defer { server.stop() }
    let result = try CLIRunner.run(
      try Self.arguments(server, ["--message", "-"]), stdin: Self.eightBitMessage)
    #expect(result.status == 0, "\(result.stderr)")
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.commands.contains { $0.hasPrefix("MAIL FROM:<a@example.org> BODY=8BITMIME") })
    #expect(
      session.messages.first.map { Array($0.suffix(19)) } == Array("Grüße aus Köln\r\n".utf8).suffix(19))
  }

  @Test func aLineOver998OctetsIsRefusedBeforeConnecting() throws {
    let server = try Self.server()
    defer { server.stop() }
    let long = "From: a@example.org\r\nSubject: x\r\n\r\n" + String(repeating: "x", count: 999) + "\r\n"
    let result = try CLIRunner.run(try Self.arguments(server, ["--message", "-"]), stdin: Array(long.utf8))
    #expect(result.status == 65, "\(result.stderr)")
    #expect(result.stderr.contains("998"))
    #expect(server.sessions.isEmpty)
  }

  @Test func noAuthAfterTLSIsRefusedWithWhatTheServerOffers() throws {
    let server = try Self.server {
      $0.capabilitiesAfterTLS = ["PIPELINING", "AUTH CRAM-MD5 GSSAPI"]
      $0.credentials = .init(user: "u", password: "p")
    }
    defer { server.stop() }
    let result = try CLIRunner.run(
      try Self.arguments(server, ["--user", "u", "--password-command", "echo p"]))
    #expect(result.status == 77, "\(result.stderr)")
    #expect(result.stderr.contains("CRAM-MD5 GSSAPI"), "\(result.stderr)")
    #expect(!server.waitForFinishedSessions(1).flatMap(\.commands).contains { $0.hasPrefix("AUTH") })
  }

  @Test func transcriptNoneLeavesOnlyTheVerdict() throws {
    let server = try Self.server()
    defer { server.stop() }
    let result = try CLIRunner.run(try Self.arguments(server, ["--transcript", "none"]))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.isEmpty)
    #expect(result.stderr == "sealpost: sent: 250 2.0.0 Ok: queued\n")
  }

  @Test func asciiTranscriptWhenTheLocaleIsNotUTF8() throws {
    let server = try Self.server()
    defer { server.stop() }
    let result = try CLIRunner.run(
      try Self.arguments(server, ["--subject", "Grüße"]), environment: ["LANG": "C", "LC_ALL": "C"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.unicodeScalars.allSatisfy { $0.isASCII })
    #expect(result.stdout.contains("TLS > ClientHello (SNI localhost, TLS 1.2-1.3)"))
  }

  @Test func nulInThePasswordIsBadData() throws {
    let server = try Self.server()
    defer { server.stop() }
    let result = try CLIRunner.run(
      try Self.arguments(server, ["--user", "u", "--password-command", "printf 'a\\000b'"]))
    #expect(result.status == 65, "\(result.stderr)")
    #expect(server.sessions.isEmpty)
  }
}

/// A reader that goes away (`sealpost send … | head -1`) must not crash the process: found trying the product.
/// Since issue 7 the lost output is said and the exit code is 74 (EX_IOERR), the verdict still saying "sent".
@Suite struct ClosedOutputTests {
  @Test func aClosedStdoutDoesNotCrashAndTheMailStillGoes() throws {
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid))
    options.tlsIdentity = nil
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let process = Process()
    process.executableURL = CLIRunner.binary
    process.arguments = [
      "send", "--server", "localhost:\(server.port)", "--tls", "none", "--from", "a@example.org", "--to",
      "b@example.org", "--timeout", "5",
    ]
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = FileHandle.nullDevice
    // The reader is gone before the first line is written.
    try output.fileHandleForReading.close()
    try process.run()
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationReason == .exit)
    #expect(process.terminationStatus == 74, "\(stderr)")
    #expect(
      stderr
        == "sealpost: sent: 250 2.0.0 Ok: queued\n"
        + "sealpost: could not write to standard output (Broken pipe): the output is incomplete\n")
    #expect(server.waitForFinishedSessions(1).first?.messages.count == 1)
  }
}
