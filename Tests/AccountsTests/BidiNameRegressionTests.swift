import Testing

@testable import Accounts

/// Found by ConfigPropertyTests: a bidi control (U+202A–202E, U+2066–2069) in a key or an account name reached
/// the terminal raw through `AccountProblem`, `ConfigNote` and the plaintext refusal (DESIGN §3.6), while
/// `ConfigError` already escaped its key. Failed before the fix.
@Suite struct BidiNameRegressionTests {
  /// Since issue 7 an unknown key is not shown at all (it may be a secret on the wrong line), escaped or not.
  @Test func aBidiControlInAnUnknownMsmtpKeyIsNotShown() throws {
    let config = try Support.parse("account a\nhost h\n\u{202E}x y")
    let problem = try #require(config.account(named: "a")?.problems.first)
    #expect(problem.description == "t.rc:3: " + problem.message)
    #expect(!problem.description.unicodeScalars.contains("\u{202E}"))
    #expect(!problem.description.contains("x:"))
  }

  @Test func aBidiControlInAnAccountNameIsEscapedInThePlaintextRefusal() throws {
    let config = try Support.parse("account \u{2066}evil\u{2069}\nhost h")
    let account = try #require(config.accounts.first)
    let problem = try #require(
      account.plaintextProblem(host: "mx.example.org", allowInsecure: false, authenticates: false))
    #expect(problem.description.contains("account \\u{2066}evil\\u{2069} has tls off"))
    #expect(!problem.description.unicodeScalars.contains { (0x2066...0x2069).contains($0.value) })
  }

  /// Since issue 7 a note names only a key Sealpost knows; any other word is left out, escaped or not.
  @Test func notesNameOnlyKnownKeys() {
    let note = ConfigNote(location: ConfigLocation(file: "t.rc", line: 1), key: "\u{202E}k", message: "m")
    #expect(note.description == "t.rc:1: m")
    let known = ConfigNote(location: ConfigLocation(file: "t.rc", line: 1), key: "logfile", message: "m")
    #expect(known.description == "t.rc:1: logfile: m")
  }
}
