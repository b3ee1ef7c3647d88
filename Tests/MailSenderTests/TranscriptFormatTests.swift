import Foundation
import MailMessage
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender

@Suite struct TranscriptFormatTests {
  @Test(arguments: [
    (
      TranscriptLine(time: 0, kind: .connect, insideTLS: false, line: "Connecting to a:587 (127.0.0.1)"),
      "=== +0.000 Connecting to a:587 (127.0.0.1)"
    ),
    (
      TranscriptLine(time: 0.0314, kind: .recv, insideTLS: false, line: "220 a ESMTP"),
      "<-  +0.031 220 a ESMTP"
    ),
    (
      TranscriptLine(time: 0.0315, kind: .send, insideTLS: false, line: "EHLO [127.0.0.1]"),
      " -> +0.032 EHLO [127.0.0.1]"
    ),
    (
      TranscriptLine(time: 1.5, kind: .send, insideTLS: true, line: "AUTH PLAIN <redacted> (user alice)"),
      " ~> +1.500 AUTH PLAIN <redacted> (user alice)"
    ),
    (TranscriptLine(time: 12.0, kind: .recv, insideTLS: true, line: "250 ok"), "<~  +12.000 250 ok"),
    (
      TranscriptLine(time: 0.093, kind: .tls, insideTLS: false, line: "TLS < ServerHello"),
      "~~  +0.093 TLS < ServerHello"
    ),
    (TranscriptLine(time: 0.3, kind: .error, insideTLS: true, line: "refused: x"), "*** +0.300 refused: x"),
    (TranscriptLine(time: 0.3, kind: .warning, insideTLS: false, line: "plaintext"), "!!  +0.300 plaintext"),
    (
      TranscriptLine(time: 0.19, kind: .data, insideTLS: true, line: "[message: 42 lines, 1,873 bytes]"),
      " ~> +0.190 [message: 42 lines, 1,873 bytes]"
    ),
  ])
  func textLines(event: TranscriptLine, expected: String) {
    #expect(TranscriptFormat.text.render(event) == expected)
  }

  @Test func asciiOnlyEscapesEverythingElse() {
    let event = TranscriptLine(time: 0, kind: .tls, insideTLS: false, line: "TLS 1.2–1.3 … Zoë")
    #expect(TranscriptFormat.text.render(event, asciiOnly: true) == "~~  +0.000 TLS 1.2-1.3 ... Zo\\u{00EB}")
  }

  /// Written by hand from schema version 2: a reply is one object with its code, enhanced status and lines.
  @Test func jsonReply() {
    let event = SendEvent(
      time: 0.25, insideTLS: true,
      payload: .reply(
        ReplyRecord(code: 250, enhanced: "2.0.0", lines: ["250-a \"ok\"", "250 2.0.0 \\ done"])))
    #expect(
      TranscriptFormat.jsonl.render(event, now: 0)
        == [
          #"{"kind":"recv","reply":{"code":250,"enhanced":"2.0.0","lines":["250-a \"ok\"","250 2.0.0 \\ done"]},"t":0.25,"tls":true}"#
        ])
    #expect(TranscriptFormat.none.render(event, now: 0).isEmpty)
    #expect(
      TranscriptFormat.text.render(event, now: 0) == [
        #"<~  +0.250 250-a "ok""#, #"<~  +0.250 250 2.0.0 \ done"#,
      ])
  }

  @Test func jsonOutcomeAndProgress() {
    let failure = SendFailure(
      .security, "STARTTLS not offered by a — nothing was sent", reason: .startTLSMissing)
    let outcome = SendEvent(
      time: 1, insideTLS: false,
      payload: .outcome(OutcomeRecord(outcome: .failed(failure), verdict: failure.description, exitCode: 77)))
    #expect(
      TranscriptFormat.jsonl.render(outcome, now: 0) == [
        #"{"kind":"outcome","outcome":{"exit":77,"kind":"starttls_missing","verdict":"refused: STARTTLS not offered by a — nothing was sent"},"t":1,"tls":false}"#
      ])
    #expect(
      TranscriptFormat.text.render(outcome, now: 0) == [
        "*** +1.000 refused: STARTTLS not offered by a — nothing was sent"
      ])
    let progress = SendEvent(time: 0.5, insideTLS: true, payload: .progress(sent: 65_536, total: 100_000))
    #expect(
      TranscriptFormat.jsonl.render(progress, now: 0) == [
        #"{"kind":"progress","sent":65536,"t":0.5,"tls":true,"total":100000}"#
      ])
    #expect(TranscriptFormat.text.render(progress, now: 0).isEmpty)
  }

  @Test func jsonEscapesControls() throws {
    let event = SendEvent(time: 0, insideTLS: false, payload: .note(.info, "a\u{1B}b\u{85}\n"))
    let line = try #require(TranscriptFormat.jsonl.render(event, now: 0).first)
    #expect(!line.unicodeScalars.contains { $0.value < 0x20 })
    let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    #expect(object?["line"] as? String == "a\u{1B}b\u{85}\n")
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
