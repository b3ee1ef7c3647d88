import MailMessage
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender

@Suite struct RedactorTests {
  // Hand-computed: base64("\0alice\0s3cret-pw") = "AGFsaWNlAHMzY3JldC1wdw=="
  @Test func plainBlobAndPasswordAreScrubbedFromEchoes() throws {
    let password = Secret("s3cret-pw")
    let blob = try SASL.plainInitialResponse(user: "alice", password: password)
    #expect(String(decoding: blob.bytes, as: UTF8.self) == "AGFsaWNlAHMzY3JldC1wdw==")
    let redactor = Redactor(secrets: [password, blob])
    #expect(redactor.scrub("535 5.7.8 bad AGFsaWNlAHMzY3JldC1wdw==") == "535 5.7.8 bad <redacted>")
    #expect(redactor.scrub("535 you said s3cret-pw") == "535 you said <redacted>")
    #expect(redactor.scrub("250 nothing secret here") == "250 nothing secret here")
  }

  /// The password inside any base64 stream, at each of the three alignments, is found.
  @Test(arguments: [
    // base64("s3cret-pw")        = "czNjcmV0LXB3"   → whole groups "czNjcmV0LXB3"
    ("czNjcmV0LXB3", true),
    // base64("x" + "s3cret-pw")  = "eHMzY3JldC1wdw==" → inner chars "MzY3JldC1wd"
    ("eHMzY3JldC1wdw==", true),
    // base64("xy" + "s3cret-pw") = "eHlzM2NyZXQtcHc=" → inner chars "zM2NyZXQtcH"
    ("eHlzM2NyZXQtcHc=", true),
    ("c3VwZXJ1c2Vy", false),  // "superuser"
  ])
  func passwordFoundAtEveryAlignment(echo: String, contains: Bool) {
    let redactor = Redactor(secrets: [Secret("s3cret-pw")])
    let scrubbed = redactor.scrub("334 " + echo)
    #expect(scrubbed.contains("<redacted>") == contains)
  }

  @Test func base64FormsAreTheBitsOwnedByTheSecret() {
    #expect(
      Redactor.base64Forms(of: Array("s3cret-pw".utf8)) == ["czNjcmV0LXB3", "MzY3JldC1wd", "zM2NyZXQtcH"])
  }
}

/// Red team: a secret echoed with a combining mark after it is one grapheme with the mark; the scrub compares
/// Unicode scalars, so it is still found.
@Suite struct RedactorCombiningMarkTests {
  @Test(arguments: ["\u{0301}", "\u{20DD}", "\u{FE0F}", "\u{200D}"])
  func aSecretFollowedByACombiningMarkIsScrubbed(mark: String) {
    let redactor = Redactor(secrets: [Secret(Array("hunter2".utf8))])
    let scrubbed = redactor.scrub("535 5.7.8 bad password hunter2\(mark) here")
    #expect(!scrubbed.contains("hunter2"), "\(scrubbed.debugDescription)")
    // Compared by scalars: the mark now combines with the mask's ">".
    #expect(
      Array(scrubbed.unicodeScalars).starts(with: "535 5.7.8 bad password <redacted>".unicodeScalars))
  }
}
