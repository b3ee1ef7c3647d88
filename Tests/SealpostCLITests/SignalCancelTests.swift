import Foundation
import MailSenderTesting
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Ctrl-C (SIGINT) or SIGTERM during `sealpost send` cancels through the send handle (DESIGN §4, issue 8): the
/// connection closes at once, the verdict says "cancelled — not sent" (or "delivery unknown" after the final
/// dot), and the exit status is 130 (143 for SIGTERM).
@Suite struct SignalCancelTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var stage: String
    var stall: StandardSMTPOptions.Stall
    var signal: Int32
    var status: Int32
    var verdict: String
    var testDescription: String { "\(stage), signal \(signal)" }
  }

  nonisolated static let cases: [Case] = [
    Case(
      stage: "greeting", stall: .beforeGreeting(seconds: 5), signal: SIGINT, status: 130,
      verdict: "sealpost: cancelled — not sent"),
    Case(
      stage: "envelope", stall: .beforeReplyTo(verb: "MAIL", seconds: 5), signal: SIGTERM, status: 143,
      verdict: "sealpost: cancelled — not sent"),
    Case(
      stage: "awaiting_final_reply", stall: .afterFinalDot(seconds: 5), signal: SIGINT, status: 130,
      verdict: "sealpost: delivery unknown: cancelled while reading"),
  ]

  @Test(arguments: cases)
  func aSignalCancelsTheSend(_ signalCase: Case) async throws {
    var options = try SendCommandTests.standard()
    options.stall = signalCase.stall
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let arguments =
      try SendCommandTests.baseArguments(port: server.port, mode: "starttls") + ["--transcript", "jsonl"]
    let (result, signalled, ended) = try await OffPool.run {
      var signalled: ContinuousClock.Instant?
      let result = try CLIRunner.run(arguments) { process, stdoutPath in
        // Wait until the transcript says the session is in the stage, then signal it.
        let limit = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < limit {
          let text = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
          if text.contains("\"stage\":\"\(signalCase.stage)\"") { break }
          usleep(5_000)
        }
        usleep(100_000)
        signalled = ContinuousClock.now
        kill(process.processIdentifier, signalCase.signal)
      }
      return (result, signalled, ContinuousClock.now)
    }
    #expect(result.status == signalCase.status, "\(result.stderr)")
    #expect(result.stderr.hasPrefix(signalCase.verdict), "\(result.stderr)")
    #expect(result.stdout.contains("\"kind\":\"outcome\""), "the JSON-lines transcript ends with the outcome")
    // The outcome's exit code is the process's (red team: it said 130 for SIGTERM, and 75 after the dot).
    let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
    let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
    #expect((object?["outcome"] as? [String: Any])?["exit"] as? Int == Int(signalCase.status), "\(last)")
    if let signalled { #expect(ended - signalled < .seconds(1)) }
    #expect(server.waitForFinishedSessions(1, timeout: 2).count == 1)
  }
}
