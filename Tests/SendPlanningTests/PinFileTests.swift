import Accounts
import Foundation
import MailSender
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Testing

@testable import SendPlanning

/// Sealpost's pin file (DESIGN §6): read for every send, written by the composer's "pin this key".
@Suite struct PinFileTests {
  static let key = [UInt8](repeating: 7, count: 32)
  static let pin = "sha256/" + Data(key).base64EncodedString()
  static let other = "sha256/" + Data(repeating: 9, count: 32).base64EncodedString()

  @Test func readsHostPortAndPinLinesWithComments() throws {
    let file = try PinFile(
      parsing: "# 2026-12-01 recorded\nsmtp.example.org:465 \(Self.pin)\n\n[::1]:2525 \(Self.other)\n",
      path: "pins")
    #expect(file.pins(host: "SMTP.example.org.", port: 465) == [.spkiSHA256(Self.key)])
    #expect(file.pins(host: "smtp.example.org", port: 587).isEmpty)
    #expect(file.pins(host: "::1", port: 2525).count == 1)
  }

  @Test(arguments: [
    ("smtp.example.org \(PinFileTests.pin)", 1, "the host has no port"),
    ("# c\nsmtp.example.org:465", 2, "expected `HOST:PORT sha256/BASE64`"),
    ("smtp.example.org:465 sha1/AAAA", 1, "SHA-1 and MD5 pins are refused"),
    ("x:1 y:2 \(PinFileTests.pin)", 1, "expected `HOST:PORT sha256/BASE64`"),
    ("smtp.example.org:465 sha256/short", 1, "expected sha256/BASE64"),
    // The file's blanks are space and tab (issue 14: no longer trimmed as Unicode white space, which let a
    // line of no-break spaces pass for an empty one and a pin with a trailing ideographic space pass whole).
    ("\u{00A0}\u{00A0}", 1, "expected `HOST:PORT sha256/BASE64`"),
    ("# c\nsmtp.example.org:465 \(PinFileTests.pin)\u{3000}", 2, "expected sha256/BASE64"),
    ("\u{2003}smtp.example.org:465 \(PinFileTests.pin)", 1, "not a HOST:PORT"),
    // Red team: "\r\n" is one Character, so a comment then CRLF made the whole file one comment line.
    ("# comment\r\nGARBAGE LINE\r\n", 2, "the host has no port"),
    ("# a\r\n# b\r\nsmtp.example.org:465 sha256/short\r\n", 3, "expected sha256/BASE64"),
  ])
  func refusesBadLinesWithFileAndLine(text: String, line: Int, reason: String) {
    #expect {
      _ = try PinFile(parsing: text, path: "/home/a/.config/sealpost/pins")
    } throws: { error in
      guard let error = error as? PlanningError else { return false }
      let words = error.failure(naming: { $0.rawValue }).description
      return error.category == .configuration && words.contains("/home/a/.config/sealpost/pins:\(line): ")
        && words.contains(reason)
    }
  }

  /// Red team: a pin file converted to CRLF line ends keeps its pins, as ssh's known_hosts does, instead of
  /// reading as one comment line and losing every pin without a word.
  @Test func crlfLinesAreLinesAndTheirPinsAreHonoured() throws {
    let file = try PinFile(
      parsing: "# 2026-12-01 recorded\r\nsmtp.example.org:465 \(Self.pin)\r\n\r\n# other\r\n"
        + "[::1]:2525 \(Self.other)\r\n",
      path: "pins")
    #expect(file.pins(host: "smtp.example.org", port: 465) == [.spkiSHA256(Self.key)])
    #expect(file.pins(host: "::1", port: 2525).count == 1)
    #expect(file.entries.count == 2)
  }

  /// Red team: a pin written twice is one pin, and the two-key message of a changed key names it once.
  @Test func aDuplicatePinIsOnePinAndShownOnce() throws {
    let file = try PinFile(
      parsing: "smtp.example.org:465 \(Self.pin)\n# again\nsmtp.example.org:465 \(Self.pin)\n", path: "pins")
    #expect(file.pins(host: "smtp.example.org", port: 465) == [.spkiSHA256(Self.key)])
    let message = RecordedPins.changedKey(
      expected: [.spkiSHA256(Self.key), .spkiSHA256(Self.key)], serverKey: Array(repeating: 9, count: 32),
      recordedIn: "pins")
    #expect(message == "the key pinned: \(Self.pin) (recorded in pins); the server's key now: \(Self.other)")
  }

  /// Red team: a pin file that is a symbolic link leading nowhere (or in a loop) is not "no pin file", whose
  /// recorded pins would be ignored for the CA check: 78, naming the file. Nothing there at all is no pin file.
  @Test func aDanglingOrLoopingLinkIsAnErrorNamingTheFile() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let dangling = directory.path + "/dangling"
    try FileManager.default.createSymbolicLink(
      atPath: dangling, withDestinationPath: directory.path + "/none")
    let loop = directory.path + "/loop"
    try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
    for path in [dangling, loop] {
      #expect {
        _ = try PinFile.load(path: path)
      } throws: { error in
        guard let error = error as? PlanningError else { return false }
        let words = error.failure(naming: { $0.rawValue }).description
        return error.category == .configuration && words.contains("\(path): cannot read the pin file")
          && words.contains("symbolic link")
      }
    }
    #expect(try PinFile.load(path: directory.path + "/absent").entries.isEmpty)
    #expect(try PinFile.load(path: directory.path + "/absent/pins").entries.isEmpty)
  }

  /// Red team, as ssh checks the folders of authorized_keys: a pin file in a folder group or others may write
  /// (without the sticky bit) is refused, since they could remove it and with it every pin; a sticky folder
  /// such as /tmp is not.
  @Test func aPinFileInAFolderOthersMayWriteIsRefused() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let folder = directory.path + "/sealpost"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let path = folder + "/pins"
    _ = FileManager.default.createFile(
      atPath: path, contents: Data("smtp.example.org:465 \(Self.pin)\n".utf8),
      attributes: [.posixPermissions: 0o600])
    #expect(try PinFile.load(path: path).entries.count == 1)
    try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: folder)
    #expect {
      _ = try PinFile.load(path: path)
    } throws: { error in
      guard let error = error as? PlanningError else { return false }
      let words = error.failure(naming: { $0.rawValue }).description
      return error.category == .configuration
        && words.contains("\(path): group or others may write the pin file's folder (mode 777)")
        && words.contains("chmod go-w \(folder)")
    }
    try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: folder)
    #expect(try PinFile.load(path: path).entries.count == 1)
    try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder)
  }

  @Test func recordingReplacesThePinOfTheSameHostAndPortWithItsComment() throws {
    let file = try PinFile(
      parsing: "# old\nsmtp.example.org:465 \(Self.other)\n# keep\nother.example.org:465 \(Self.other)\n",
      path: "pins")
    let text = try file.recording(host: "smtp.example.org", port: 465, pin: Self.pin, comment: "new\u{1B}[2J")
    #expect(
      text
        == "# keep\nother.example.org:465 \(Self.other)\n# new [2J\nsmtp.example.org:465 \(Self.pin)\n")
    #expect(throws: PlanningError.self) {
      _ = try file.recording(host: "a", port: 1, pin: "sha1/AAAA", comment: "")
    }
  }

  @Test func recordWritesA0600FileAtomicallyAndLoadReadsIt() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let environment = ["XDG_CONFIG_HOME": directory.path + "/config", "HOME": directory.path]
    let path = try #require(PinFile.path(environment: environment))
    #expect(path == directory.path + "/config/sealpost/pins")
    #expect(try PinFile.load(environment: environment).entries.isEmpty)
    _ = try PinFile.record(host: "localhost", port: 2465, pin: Self.pin, comment: "c", path: path)
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
    let directoryAttributes = try FileManager.default.attributesOfItem(
      atPath: directory.path + "/config/sealpost")
    #expect((directoryAttributes[.posixPermissions] as? Int) == 0o700)
    #expect(
      try PinFile.load(environment: environment).pins(host: "localhost", port: 2465) == [
        .spkiSHA256(Self.key)
      ])
    // No temporary file is left beside it.
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory.path + "/config/sealpost") == ["pins"])
    // A pin file others may write is refused, as a config file is.
    try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: path)
    #expect(throws: PlanningError.self) { _ = try PinFile.load(environment: environment) }
  }

  static func plan(_ lines: [String], overrides: ChannelOverrides = ChannelOverrides()) throws -> ChannelPlan
  {
    let text = (["account a", "host mail.example.org", "port 465", "tls on", "tls_starttls off"] + lines)
      .joined(separator: "\n")
    let config = try AccountsConfig(parsing: text, path: "t.conf", flavor: .sealpost, home: "/nonexistent")
    let account = try #require(config.account(named: "a"))
    return try ChannelPlan(overrides: overrides, account: account)
  }

  @Test func aRecordedPinReplacesTheCACheckUnlessTheFrontEndGaveTrust() throws {
    let file = try PinFile(parsing: "mail.example.org:465 \(Self.pin)\n", path: "pins")
    var plan = try Self.plan([])
    plan.applyRecordedPins(file, overrides: ChannelOverrides())
    #expect(plan.trust == .pins([.spkiSHA256(Self.key)]))

    var other = try Self.plan([], overrides: ChannelOverrides(port: 587, tls: "starttls"))
    other.applyRecordedPins(file, overrides: ChannelOverrides(port: 587, tls: "starttls"))
    #expect(other.trust == .certificateAuthorities(caFile: nil))

    let flagged = ChannelOverrides(caFile: "/etc/ca.pem")
    var withFlag = try Self.plan([], overrides: flagged)
    withFlag.applyRecordedPins(file, overrides: flagged)
    #expect(withFlag.trust == .certificateAuthorities(caFile: "/etc/ca.pem"))
  }
}
