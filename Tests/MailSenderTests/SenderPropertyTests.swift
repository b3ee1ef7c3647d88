import Foundation
import MailMessage
import PropertyTesting
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender

/// Records a failure that names the case and its seed; returns whether the property held.
@discardableResult
func holds(
  _ condition: Bool, _ propertyCase: PropertyCase, _ what: @autoclosure () -> String,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
  if !condition { Issue.record("\(what()) — \(propertyCase)", sourceLocation: sourceLocation) }
  return condition
}

/// Property tests of MailSender's writers (DESIGN §5, §8): JSON strings read back by Python's json module.
@Suite struct SenderPropertyTests {
  @Test func jsonStringsReadBackWithPython() throws {
    var strings: [String] = []
    var lines: [String] = []
    var cases: [PropertyCase] = []
    for propertyCase in Property.cases("TranscriptFormat.json", count: 500) {
      var gen = propertyCase.generator
      let text =
        gen.chance(20) ? String(decoding: gen.bytes(maxLength: 40), as: UTF8.self) : gen.string(maxLength: 40)
      strings.append(text)
      cases.append(propertyCase)
      let payload: SendEvent.Payload = gen.pick([
        .command(text), .data(text), .note(.info, text), .note(.warning, text), .note(.error, text),
      ])
      let event = SendEvent(
        time: Double(gen.int(0...100_000)) / 1000, insideTLS: gen.chance(50), payload: payload)
      lines.append(TranscriptFormat.jsonl.render(event, now: 0).first ?? "")
    }
    // Python checks each literal and each line itself and answers with the indexes that failed.
    let script = """
      import sys, json, base64
      data = json.load(sys.stdin)
      bad = []
      for i, (expected, line) in enumerate(zip(data["expected"], data["lines"])):
          text = base64.b64decode(expected).decode("utf-8")
          try:
              event = json.loads(line)
              ok = event["line"] == text and "\\n" not in line and set(event) == {"t", "kind", "tls", "line"}
          except Exception as error:
              ok = False
          if not ok:
              bad.append(i)
      sys.stdout.write(json.dumps(bad))
      """
    let payload: [String: [String]] = [
      "expected": strings.map { Data($0.utf8).base64EncodedString() },
      "lines": lines,
    ]
    let input = try JSONSerialization.data(withJSONObject: payload)
    let output = try PythonOracle.run(script, input: input)
    let bad = try JSONDecoder().decode([Int].self, from: output)
    for index in bad.prefix(3) {
      Issue.record(
        "Python reads \(lines[index]) differently from \(strings[index].debugDescription) — \(cases[index])")
    }
    #expect(bad.isEmpty)
  }
}
