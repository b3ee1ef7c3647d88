import Foundation
import MailSenderTesting
import Testing

/// Red team: `probe --ports` judged the other ports with the probed port's recorded pin. Pins are recorded per
/// HOST:PORT (DESIGN §6): each port tried is judged with its own recorded pins (or the CA check when it has none),
/// as a send to it would be, while a `--pin` given on the command line applies to every port. The servers listen
/// on [::1]:587 and [::1]:465, the ports `--ports` tries by number; 127.0.0.1's are left alone.
@Suite(.serialized) struct RecordedPinPortsTests {
  /// A STARTTLS server on [::1]:587 with `submission`'s key and an implicit-TLS one on [::1]:465 with
  /// `implicit`'s, the probe run with `arguments` and `--json`: the text run's stdout and the JSON document's
  /// port 465 entry.
  static func probePorts(
    submission: TestIdentity, implicit: TestIdentity, pins: String, arguments: [String] = []
  ) throws -> (text: CLIRunner.Result, json: CLIRunner.Result, port465: [String: Any]) {
    let starttls = try ScriptedSMTPServer(
      standard: StandardSMTPOptions(tlsIdentity: submission),
      options: {
        var options = ScriptedSMTPServer.Options(listenOnIPv6: true)
        options.fixedIPv6Port = 587
        return options
      }())
    defer { starttls.stop() }
    let implicitServer = try ScriptedSMTPServer(
      standard: StandardSMTPOptions(tlsIdentity: implicit),
      options: {
        var options = ScriptedSMTPServer.Options(implicitTLS: implicit, listenOnIPv6: true)
        options.fixedIPv6Port = 465
        return options
      }())
    defer { implicitServer.stop() }
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    try sandbox.write(pins, to: sandbox.xdg + "/sealpost/pins")
    let probe = ["probe", "[::1]:587", "--tls", "starttls", "--ports", "--timeout", "5"] + arguments
    let text = try CLIRunner.run(probe, environment: sandbox.environment)
    let json = try CLIRunner.run(probe + ["--json"], environment: sandbox.environment)
    #expect(try ProbeSchema.validate(json.stdout) == 0)
    let document = try ProbeJSONDocument.parse(json.stdout)
    let ports = try #require(document["ports"] as? [[String: Any]])
    let port465 = try #require(ports.first { $0["port"] as? Int == 465 })
    return (text, json, port465)
  }

  @Test func eachPortIsJudgedWithItsOwnRecordedPin() throws {
    let pki = try TestPKI.shared()
    let keyA = pki.identity(.selfSigned)
    let keyB = pki.identity(.valid)
    let pinA = try RecordedPinTests.spkiPin(of: keyA.certificatePath)
    let pinB = try RecordedPinTests.spkiPin(of: keyB.certificatePath)
    let pins = "# 587\n[::1]:587 \(pinA)\n# 465\n[::1]:465 \(pinB)\n"

    // 465 serves 587's key, not its own recorded one: not trusted there, though the probed port is.
    let borrowed = try Self.probePorts(submission: keyA, implicit: keyA, pins: pins)
    #expect(borrowed.text.status == 0, "\(borrowed.text.stderr)")
    let line465 = try #require(
      borrowed.text.stdout.split(separator: "\n").first { $0.contains(" port 465 (implicit TLS): ") })
    #expect(line465.contains("NOT trusted: no pin matches (the server's key is \(pinA))"), "\(line465)")
    #expect(!line465.contains("; pinned "), "\(line465)")
    #expect(borrowed.json.status == 0, "\(borrowed.json.stderr)")
    #expect(borrowed.port465["trusted"] as? Bool == false, "\(borrowed.port465)")
    #expect(borrowed.port465["tls"] as? Bool == true, "\(borrowed.port465)")
    // The JSON names the pins 465 was judged with: its own recorded one, and the file (schema 5).
    let recorded465 = try #require(borrowed.port465["recorded_pins"] as? [String: Any], "\(borrowed.port465)")
    #expect(recorded465["pins"] as? [String] == [pinB], "\(recorded465)")
    #expect((recorded465["file"] as? String)?.hasSuffix("/sealpost/pins") == true, "\(recorded465)")

    // 465 serves its own recorded key: trusted, and the line says where the pin was recorded.
    let own = try Self.probePorts(submission: keyA, implicit: keyB, pins: pins)
    #expect(own.text.status == 0, "\(own.text.stderr)")
    let ownLine = try #require(
      own.text.stdout.split(separator: "\n").first { $0.contains(" port 465 (implicit TLS): ") })
    #expect(ownLine.contains("; pinned \(pinB) (recorded in "), "\(ownLine)")
    #expect(own.port465["trusted"] as? Bool == true, "\(own.port465)")

    // A --pin given on the command line is the trust of every port, as for send.
    let flagged = try Self.probePorts(
      submission: keyA, implicit: keyA, pins: pins, arguments: ["--pin", pinA])
    #expect(flagged.text.status == 0, "\(flagged.text.stderr)")
    #expect(flagged.port465["trusted"] as? Bool == true, "\(flagged.port465)")
    #expect(flagged.port465["recorded_pins"] is NSNull, "the flag's pin, not the file's: \(flagged.port465)")
    // No recorded pin for 465: the CA check, which a self-signed key fails.
    let unrecorded = try Self.probePorts(submission: keyA, implicit: keyA, pins: "[::1]:587 \(pinA)\n")
    #expect(unrecorded.text.status == 0, "\(unrecorded.text.stderr)")
    #expect(unrecorded.port465["trusted"] as? Bool == false, "\(unrecorded.port465)")
    #expect(unrecorded.port465["recorded_pins"] is NSNull, "\(unrecorded.port465)")
  }
}
