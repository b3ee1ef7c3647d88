import PropertyTesting
import SendPlanning
import Testing

/// Server addresses from random text (DESIGN §4): what is accepted has a clean host; what is refused says so
/// without a raw control character.
@Suite struct ServerAddressPropertyTests {
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
            !error.text.worded(\.rawValue).unicodeScalars.contains(where: Gen.isUnsafe), propertyCase,
            "raw control in \(error.text.worded(\.rawValue).debugDescription)")
        else { return }
      }
    }
    #expect(accepted >= 200, "too few addresses accepted: \(accepted)")
  }

}

/// Records a failure that names the case and its seed; returns whether the property held.
@discardableResult
func holds(
  _ condition: Bool, _ propertyCase: PropertyCase, _ what: @autoclosure () -> String,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
  if !condition { Issue.record("\(what()) — \(propertyCase)", sourceLocation: sourceLocation) }
  return condition
}
