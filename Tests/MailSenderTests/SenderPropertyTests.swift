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

/// Property tests of MailSender's parsers and writers (DESIGN §4, §5, §8): server addresses from random text,
/// and JSON strings read back by Python's json module.
@Suite struct SenderPropertyTests {
  static func serverText(_ gen: inout Gen) -> String {
    let hosts = [
      "smtp.example.org", "localhost", "192.0.2.1", "::1", "[::1]", "[2001:db8::1]", "[example.org]", "a_b-c",
      "bücher.example", "",
    ]
    let ports = ["", ":25", ":0", ":65535", ":65536", ":", ":x", ":587:1", ": 25"]
    var text: String
    switch gen.int(0...2) {
    case 0: text = gen.string(maxLength: 30)
    default: text = gen.pick(hosts) + gen.pick(ports)
    }
    if gen.chance(40) {
      var scalars = Array(text.unicodeScalars)
      for _ in 0..<gen.int(1...3) { scalars.insert(gen.scalar(), at: gen.int(0...scalars.count)) }
      text = String(String.UnicodeScalarView(scalars))
    }
    return text
  }

  @Test func serverAddressesAcceptedHaveCleanHosts() {
    var accepted = 0
    for propertyCase in Property.cases("ServerAddress", count: 2000) {
      var gen = propertyCase.generator
      let text = Self.serverText(&gen)
      do {
        let address = try ServerAddress(parsing: text)
        accepted += 1
        let ok =
          !address.host.isEmpty && address.port != 0
          && address.host.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value != 0x7F }
        guard holds(ok, propertyCase, "accepted \(text.debugDescription) as \(address)") else { return }
      } catch {
        guard
          holds(
            !error.message.unicodeScalars.contains(where: Gen.isUnsafe), propertyCase,
            "raw control in \(error.message.debugDescription)")
        else { return }
      }
    }
    #expect(accepted >= 200, "too few addresses accepted: \(accepted)")
  }

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
