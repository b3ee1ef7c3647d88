import ComposerApp
import ComposerCore
import ComposerTesting
import Foundation
import MailSender
import SMTPProtocol
import Testing

/// What the runtime writes with dates and what it takes as blank, since it no longer asks classic Foundation
/// (issue 14: `DateFormatter`, `ISO8601DateFormatter` and `CharacterSet.whitespaces` brought ICU into the
/// binary). The dates are UTC, in the layouts the formatters wrote.
@Suite struct RuntimeTextTests {
  /// 2023-11-14 22:13:20.9 UTC (`date -u -d @1700000000`): the fraction is dropped, as the formatters dropped it.
  static let clock: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_700_000_000.9) }

  static func harness(_ sandbox: ComposerSandbox, keys: [Key: [ComposerEffect]]) -> HeadlessComposer<
    ScriptedProgram
  > {
    var program = ScriptedProgram()
    program.keys = keys
    let harness = HeadlessComposer(program: program, environment: sandbox.environment(now: Self.clock))
    harness.start()
    harness.settle()
    return harness
  }

  @Test func aSavedTranscriptIsNamedByItsUTCTime() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let events = [
      SendEvent(
        time: 0, insideTLS: false, payload: .connecting(server: "localhost:465", address: "127.0.0.1"))
    ]
    let harness = Self.harness(sandbox, keys: [.ctrl("s"): [.saveTranscript(events: events, outcome: nil)]])
    harness.press(.ctrl("s"))
    harness.press(.ctrl("s"))
    harness.settle()
    let saved = harness.program.messages.compactMap { message -> [String]? in
      if case .transcriptSaved(.success(let paths)) = message { paths } else { nil }
    }
    let base = sandbox.stateHome + "/sealpost/transcripts/transcript-20231114-221320"
    // The second save in the same second gets a number.
    #expect(saved == [[base + ".txt", base + ".jsonl"], [base + "-2.txt", base + "-2.jsonl"]])
  }

  @Test func aRecordedPinIsDatedInUTC() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let pin = "sha256/" + String(decoding: SASL.base64([UInt8](repeating: 7, count: 32)), as: UTF8.self)
    let harness = Self.harness(sandbox, keys: [:])
    harness.runner.perform(.recordPin(host: "localhost", port: 2525, pin: pin), terminal: harness)
    #expect(harness.waitFor("pin: success"))
    let pins = try String(contentsOfFile: sandbox.pinPath, encoding: .utf8)
    #expect(
      pins.contains("# 2023-11-14 recorded by the sealpost composer\nlocalhost:2525 \(pin)\n"), "\(pins)")
  }

  @Test func aLogLineStartsWithItsUTCTimeInISO8601() throws {
    let sandbox = try ComposerSandbox()
    defer { sandbox.remove() }
    let log = try #require(DiagnosticLog(directory: sandbox.stateHome + "/sealpost"))
    let before = Date().timeIntervalSince1970.rounded(.down)
    log.write("one line")
    let after = Date().timeIntervalSince1970
    let text = try String(contentsOfFile: log.path, encoding: .utf8)
    // `2023-11-14T22:13:20Z one line`: what `ISO8601DateFormatter` wrote by default.
    let stamp = String(text.prefix(20))
    #expect(text == stamp + " one line\n")
    #expect(stamp.count == 20 && stamp.hasSuffix("Z") && Array(stamp)[10] == "T")
    let parsed = try #require(ISO8601DateFormatter().date(from: stamp)).timeIntervalSince1970
    #expect(parsed >= before && parsed <= after)
  }

  // The editor variables are run by `sh -c`, whose blanks are space, tab and newline: one holding only spaces
  // and tabs is unset, one holding an ideographic space is a command (sh says it is not found), as sh reads it.
  // Before issue 14 that was trimmed as Unicode white space and the variable skipped.
  @Test(
    arguments: [
      ([:], nil),
      (["VISUAL": " \t ", "EDITOR": "vi"], "vi"),
      (["VISUAL": "", "EDITOR": "nano -w"], "nano -w"),
      (["VISUAL": "\u{3000}", "EDITOR": "vi"], "\u{3000}"),
      (["EDITOR": "\u{00A0}"], "\u{00A0}"),
    ] as [([String: String], String?)])
  func theEditorIsTheFirstVariableThatIsNotBlank(variables: [String: String], editor: String?) {
    #expect(ComposerEnvironment(variables: variables).editor == editor)
  }
}
