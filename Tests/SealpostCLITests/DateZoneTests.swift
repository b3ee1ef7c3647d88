import Foundation
import Testing

/// The `Date` field a send adds is written in the local zone as the C library reads it: `TZ` (a zone name or a
/// POSIX zone string), else /etc/localtime (issue 14: the binary no longer starts Foundation's own zone reader).
/// Offsets written by hand from the zone rules: Kathmandu has been UTC+05:45 without summer time since 1986; St
/// John's is UTC-03:30, or -02:30 in summer.
@Suite struct DateZoneTests {
  static let suppliedMessage = Array(
    "From: a@example.org\r\nTo: b@example.org\r\nSubject: zone\r\n\r\nbody\r\n".utf8)

  static func dateField(_ stdout: String) -> String? {
    stdout.components(separatedBy: "\r\n").first { $0.hasPrefix("Date: ") }
  }

  @Test(
    arguments: [
      ("<+0530>-5:30", ["+0530"]),
      ("<-0330>3:30", ["-0330"]),
      ("UTC0", ["+0000"]),
      ("Asia/Kathmandu", ["+0545"]),
      ("America/St_Johns", ["-0330", "-0230"]),
    ] as [(String, [String])])
  func theDateFieldIsInTheLocalZone(zone: String, offsets: [String]) async throws {
    let composed = try await CLIRunner.run(
      [
        "send", "--dry-run", "--from", "a@example.org", "--to", "b@example.org", "--subject", "zone",
        "--body", "b",
      ],
      environment: ["TZ": zone])
    let supplied = try await CLIRunner.run(
      ["send", "--dry-run", "--to", "b@example.org", "--message", "-"], stdin: Self.suppliedMessage,
      environment: ["TZ": zone])
    for result in [composed, supplied] {
      #expect(result.status == 0, "\(result.stderr)")
      let field = try #require(Self.dateField(result.stdout), "\(result.stdout)")
      // `Date: Wed, 02 Dec 2026 07:47:12 +0530`: the zone is the last word.
      let offset = try #require(field.split(separator: " ").last.map(String.init))
      #expect(offsets.contains(offset), "\(field)")
    }
  }
}
