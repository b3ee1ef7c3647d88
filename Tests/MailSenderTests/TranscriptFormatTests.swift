import Testing

@testable import MailSender

@Suite struct TranscriptFormatTests {
  @Test(arguments: [
    (
      TranscriptEvent(time: 0, kind: .connect, insideTLS: false, line: "Connecting to a:587 (127.0.0.1)"),
      "=== +0.000 Connecting to a:587 (127.0.0.1)"
    ),
    (
      TranscriptEvent(time: 0.0314, kind: .recv, insideTLS: false, line: "220 a ESMTP"),
      "<-  +0.031 220 a ESMTP"
    ),
    (
      TranscriptEvent(time: 0.0315, kind: .send, insideTLS: false, line: "EHLO [127.0.0.1]"),
      " -> +0.032 EHLO [127.0.0.1]"
    ),
    (
      TranscriptEvent(time: 1.5, kind: .send, insideTLS: true, line: "AUTH PLAIN <redacted> (user alice)"),
      " ~> +1.500 AUTH PLAIN <redacted> (user alice)"
    ),
    (TranscriptEvent(time: 12.0, kind: .recv, insideTLS: true, line: "250 ok"), "<~  +12.000 250 ok"),
    (
      TranscriptEvent(time: 0.093, kind: .tls, insideTLS: false, line: "TLS < ServerHello"),
      "~~  +0.093 TLS < ServerHello"
    ),
    (TranscriptEvent(time: 0.3, kind: .error, insideTLS: true, line: "refused: x"), "*** +0.300 refused: x"),
    (TranscriptEvent(time: 0.3, kind: .warning, insideTLS: false, line: "plaintext"), "!!  +0.300 plaintext"),
    (
      TranscriptEvent(time: 0.19, kind: .data, insideTLS: true, line: "[message: 42 lines, 1,873 bytes]"),
      " ~> +0.190 [message: 42 lines, 1,873 bytes]"
    ),
  ])
  func textLines(event: TranscriptEvent, expected: String) {
    #expect(TranscriptFormat.text.render(event) == expected)
  }

  @Test func asciiOnlyEscapesEverythingElse() {
    let event = TranscriptEvent(time: 0, kind: .tls, insideTLS: false, line: "TLS 1.2–1.3 … Zoë")
    #expect(TranscriptFormat.text.render(event, asciiOnly: true) == "~~  +0.000 TLS 1.2-1.3 ... Zo\\u{00EB}")
  }

  @Test func jsonLine() {
    let event = TranscriptEvent(time: 0.25, kind: .recv, insideTLS: true, line: "250 \"ok\" \\ done")
    #expect(
      TranscriptFormat.jsonl.render(event)
        == #"{"t":0.250,"kind":"recv","tls":true,"line":"250 \"ok\" \\ done"}"#)
    #expect(TranscriptFormat.none.render(event) == nil)
  }

  @Test func jsonEscapesControls() {
    #expect(TranscriptFormat.jsonString("a\u{1B}b\u{85}\n") == #""a\u001bb\u0085\n""#)
  }

  @Test func groupedNumbers() {
    #expect(SendSession.grouped(0) == "0")
    #expect(SendSession.grouped(999) == "999")
    #expect(SendSession.grouped(1873) == "1,873")
    #expect(SendSession.grouped(1_234_567) == "1,234,567")
  }

  @Test func isoDates() {
    #expect(TranscriptText.isoDate(0) == "1970-01-01")
    #expect(TranscriptText.isoDate(1_795_000_000) == "2026-11-18")
    #expect(TranscriptText.isoDate(951_782_400) == "2000-02-29")
    #expect(TranscriptText.isoDate(-86_400) == "1969-12-31")
  }
}
