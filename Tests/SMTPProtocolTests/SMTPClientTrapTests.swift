import SMTPProtocol
import Testing

/// Impossible transitions from the driver's side are programmer errors and trap (DESIGN §2); these run in a
/// child process.
@Suite struct SMTPClientTrapTests {
  @Test func replyAfterFinishTraps() async {
    await #expect(processExitsWith: .failure) {
      var client = SMTPClient(
        configuration: SMTPClientConfiguration(
          security: .implicitTLS, ehloName: "c", reversePath: "a@b", recipients: ["c@d"]))
      _ = client.start()
      _ = client.received(SMTPReply(code: 554, texts: ["no"]))
      _ = client.received(SMTPReply(code: 220, texts: ["again"]))
    }
  }

  @Test func tlsEstablishedWithoutSTARTTLSTraps() async {
    await #expect(processExitsWith: .failure) {
      var client = SMTPClient(
        configuration: SMTPClientConfiguration(
          security: .startTLS, ehloName: "c", reversePath: "a@b", recipients: ["c@d"]))
      _ = client.start()
      _ = client.tlsEstablished()
    }
  }

  @Test func encodingAfterFinishTraps() async {
    await #expect(processExitsWith: .failure) {
      var encoder = DataEncoder()
      var output: [UInt8] = []
      encoder.finish(into: &output)
      encoder.encode([0x41], into: &output)
    }
  }
}
