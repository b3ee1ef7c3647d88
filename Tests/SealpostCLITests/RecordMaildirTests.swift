import Foundation
import MailSenderTesting
import PropertyTesting
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The account key `record` (issue 12): a Maildir that gets the exact octets sent after the final 2xx, read back
/// with Python's `mailbox.Maildir` (a reader nobody here wrote); a copy that cannot be written is a warning and
/// never changes the exit status.
@Suite(.serialized) struct RecordMaildirTests {
  /// Each message of the Maildir at `path` as Python's `mailbox.Maildir` reads it (bytes), with the defects its
  /// `email` parser finds; also the entries of tmp/, new/ and cur/.
  static func maildir(_ path: String) throws -> (
    messages: [[UInt8]], defects: Int, tmp: Int, new: Int, cur: Int
  ) {
    let script = """
      import base64, json, mailbox, os, sys
      from email import policy
      from email.parser import BytesParser
      path = sys.stdin.read()
      box = mailbox.Maildir(path, factory=None, create=False)
      messages, defects = [], 0
      for key in sorted(box.keys()):
          data = box.get_bytes(key)
          messages.append(base64.b64encode(data).decode())
          for part in BytesParser(policy=policy.default).parsebytes(data).walk():
              defects += len(part.defects)
      print(json.dumps({"messages": messages, "defects": defects,
          "tmp": len(os.listdir(path + "/tmp")), "new": len(os.listdir(path + "/new")),
          "cur": len(os.listdir(path + "/cur"))}))
      """
    let output = try PythonOracle.run(script, input: Data(path.utf8))
    let object = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
    let messages = (object["messages"] as? [String] ?? []).compactMap { Data(base64Encoded: $0) }.map {
      [UInt8]($0)
    }
    return (
      messages, object["defects"] as? Int ?? -1, object["tmp"] as? Int ?? -1, object["new"] as? Int ?? -1,
      object["cur"] as? Int ?? -1
    )
  }

  static func mode(_ path: String) -> mode_t {
    var info = stat()
    return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
  }

  /// A UTF-8 body: quoted-printable for a server without 8BITMIME, 8bit for one with it — the copy must be the
  /// one that went, so it is written for the same offer.
  @Test(arguments: [true, false])
  func sendRecordsTheOctetsSentWithoutBcc(eightBit: Bool) throws {
    let sandbox = try OutboxCommandTests.Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(
      standard: try OutboxCommandTests.options {
        if !eightBit { $0.capabilitiesAfterTLS.removeAll { $0 == "8BITMIME" } }
      })
    defer { server.stop() }
    let folder = sandbox.directory.file("Mail/sent")
    try sandbox.point(at: server.port, extra: "record \(folder)")
    let result = try sandbox.run([
      "send", "--config", sandbox.config, "--to", "b@example.org", "--bcc", "hidden@example.org",
      "--subject", "Grüße", "--body", "Zoë's line: ünïcödé\nsecond line", "--transcript", "none",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(!result.stderr.contains("warning"), "\(result.stderr)")
    let sent = try #require(server.waitForFinishedSessions(1).first?.messages.first)
    let text = String(decoding: sent, as: UTF8.self)
    #expect(
      text.contains(
        eightBit ? "Content-Transfer-Encoding: 8bit" : "Content-Transfer-Encoding: quoted-printable"))
    #expect(!text.contains("hidden@example.org"))
    let box = try Self.maildir(folder)
    #expect(box.messages == [Array(sent)], "the copy is the octets the server got")
    #expect(box.defects == 0 && box.tmp == 0 && box.new == 1 && box.cur == 0)
    for sub in ["", "/tmp", "/new", "/cur"] { #expect(Self.mode(folder + sub) == 0o700, "\(sub)") }
    let file = try #require(try FileManager.default.contentsOfDirectory(atPath: folder + "/new").first)
    #expect(Self.mode(folder + "/new/" + file) == 0o600)
    // maildir(5) names: TIME.MUSECPPID_QCOUNT.HOST
    #expect(
      file.range(of: #"^[0-9]+\.M[0-9]+P[0-9]+Q[0-9]+\..+$"#, options: .regularExpression) != nil, "\(file)")
  }

  /// sendmail's message with LF line ends: the copy has them as sent, CRLF.
  @Test func sendmailRecordsTooAndTwoSendsMakeTwoFiles() throws {
    let sandbox = try OutboxCommandTests.Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { server.stop() }
    let folder = sandbox.directory.file("sent")
    try sandbox.point(at: server.port, extra: "record \(folder)")
    for _ in 0..<2 {
      let result = try sandbox.run(
        ["sendmail", "--config", sandbox.config, "-t"], stdin: SendmailCommandTests.message)
      #expect(result.status == 0 && result.stderr.isEmpty, "\(result.stderr)")
    }
    let box = try Self.maildir(folder)
    #expect(
      box.messages.map { String(decoding: $0, as: UTF8.self) }
        == Array(repeating: SendmailCommandTests.expectedData, count: 2))
    #expect(box.new == 2 && box.tmp == 0)
  }

  @Test func aCopyThatCannotBeWrittenIsAWarningAndTheSendStillSucceeds() throws {
    let sandbox = try OutboxCommandTests.Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(standard: try OutboxCommandTests.options())
    defer { server.stop() }
    // Under a regular file: the folder cannot be made.
    let blocker = sandbox.directory.file("plain-file")
    _ = FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
    try sandbox.point(at: server.port, extra: "record \(blocker)/sent")
    for arguments in [
      ["send", "--config", sandbox.config, "--to", "b@example.org", "--body", "x", "--transcript", "none"],
      ["sendmail", "--config", sandbox.config, "-t"],
    ] {
      let result = try sandbox.run(
        arguments, stdin: arguments[0] == "sendmail" ? SendmailCommandTests.message : nil)
      #expect(result.status == 0, "\(arguments[0]): \(result.stderr)")
      #expect(
        result.stderr.contains(
          "sealpost: warning: sent, but no copy was recorded: record (\(sandbox.config):12): cannot create the folder"
        ),
        "\(arguments[0]): \(result.stderr)")
      #expect(!result.stderr.contains(blocker), "the folder is a config value: not shown")
    }
    #expect(server.waitForFinishedSessions(2).allSatisfy { $0.messages.count == 1 })
  }

  @Test func aMessageNotSentIsNotRecorded() throws {
    let sandbox = try OutboxCommandTests.Sandbox()
    defer { sandbox.remove() }
    let server = try ScriptedSMTPServer(
      standard: try OutboxCommandTests.options { $0.finalReply = "554 5.7.1 rejected" })
    defer { server.stop() }
    let folder = sandbox.directory.file("sent")
    try sandbox.point(at: server.port, extra: "record \(folder)")
    let result = try sandbox.run([
      "send", "--config", sandbox.config, "--to", "b@example.org", "--body", "x", "--transcript", "none",
    ])
    #expect(result.status == 69)
    #expect(!FileManager.default.fileExists(atPath: folder))
  }
}
