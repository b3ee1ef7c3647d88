import Testing

@testable import MailMessage

/// The fixed UTC layouts that replaced Foundation's `ISO8601DateFormatter` and a `DateFormatter` (issue 14).
/// The expected texts are `date -u -d @SECONDS +%Y-%m-%dT%H:%M:%SZ` (and `+%Y%m%d-%H%M%S`), the layouts the
/// formatters wrote: the log's time stamps and the names of saved transcripts.
@Suite struct MessageDateTests {
  @Test(
    arguments: [
      (0, "1970-01-01T00:00:00Z", "19700101-000000"),
      (-1, "1969-12-31T23:59:59Z", "19691231-235959"),
      (951_782_400, "2000-02-29T00:00:00Z", "20000229-000000"),
      (1_709_251_199, "2024-02-29T23:59:59Z", "20240229-235959"),
      (1_700_000_000, "2023-11-14T22:13:20Z", "20231114-221320"),
      (253_402_300_799, "9999-12-31T23:59:59Z", "99991231-235959"),
    ] as [(Int64, String, String)])
  func utcLayouts(seconds: Int64, iso: String, compact: String) {
    #expect(MessageDate.isoDateTime(unixSeconds: seconds) == iso)
    #expect(MessageDate.compactDateTime(unixSeconds: seconds) == compact)
    #expect(MessageDate.isoDate(unixSeconds: seconds) == String(iso.prefix(10)))
  }
}
