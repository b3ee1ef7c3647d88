import Foundation
import MailMessage
import MailSenderTesting
import Testing

@testable import SendPlanning

/// The `record` Maildir copy (issue 12) against a hostile local folder: a symbolic link planted inside the
/// Maildir — `tmp/`, `new/` or `cur/` itself, or a name in `tmp/` or `new/` — never redirects the write.
@Suite struct MaildirTests {
  static let message = Array("Subject: s\n\nhello\n".utf8)

  static func isSymbolicLink(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
  }

  static func entries(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
  }

  /// `tmp/`, `new/` or `cur/` a link to a folder elsewhere (another user's, a web root): the copy is refused
  /// with a reason, and nothing is written there.
  @Test(arguments: ["tmp", "new", "cur"])
  func aSubfolderThatIsALinkIsRefusedAndNothingIsWrittenThroughIt(_ sub: String) throws {
    let directory = try TemporaryDirectory(prefix: "sealpost-maildir")
    defer { directory.remove() }
    let elsewhere = directory.file("elsewhere")
    try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
    let folder = directory.file("Sent")
    for name in ["tmp", "new", "cur"] where name != sub {
      try FileManager.default.createDirectory(atPath: folder + "/" + name, withIntermediateDirectories: true)
    }
    try FileManager.default.createSymbolicLink(atPath: folder + "/" + sub, withDestinationPath: elsewhere)
    #expect {
      _ = try Maildir(path: folder).deliver(InMemoryMessage(Self.message), offer: .plain)
    } throws: { error in
      (error as? Maildir.Failure)?.reason
        == "\(sub)/ of the folder is a symbolic link or not a folder: a copy is never written through a link"
    }
    #expect(Self.entries(elsewhere).isEmpty)
    #expect(Self.isSymbolicLink(folder + "/" + sub), "the link is left as it was")
    #expect(Self.entries(folder + "/" + (sub == "tmp" ? "new" : "tmp")).isEmpty)
  }

  /// Links planted under the names the next deliveries will take (this process, this second): none is followed
  /// or replaced; the copy goes under a free name, or is refused when every name tried was taken. (O_EXCL and
  /// link(2) guarded this before the descriptors did; kept so that neither goes.)
  @Test func linksPlantedUnderTheNextNamesAreNeitherFollowedNorReplaced() throws {
    let directory = try TemporaryDirectory(prefix: "sealpost-maildir")
    defer { directory.remove() }
    let folder = directory.file("Sent")
    for name in ["tmp", "new", "cur"] {
      try FileManager.default.createDirectory(atPath: folder + "/" + name, withIntermediateDirectories: true)
    }
    let now = Date(timeIntervalSince1970: 1_790_000_000.25)
    let sample = Maildir.uniqueName(now: now)
    // TIME.MUSECPPID_QCOUNT.HOST: the same name with the next counters.
    let marker = try #require(sample.range(of: "P\(getpid())Q"))
    let prefix = String(sample[..<marker.upperBound])
    let rest = sample[marker.upperBound...]
    let counter = try #require(Int(rest.prefix { $0.isNumber }))
    let host = String(rest.drop { $0.isNumber })
    var targets: [String] = []
    for next in (counter + 1)...(counter + 12) {
      let name = prefix + "\(next)" + host
      for sub in ["tmp", "new"] {
        let target = directory.file("target-\(sub)-\(next)")
        targets.append(target)
        try FileManager.default.createSymbolicLink(
          atPath: "\(folder)/\(sub)/\(name)", withDestinationPath: target)
      }
    }
    let result = Result {
      try Maildir(path: folder).deliver(InMemoryMessage(Self.message), offer: .plain, now: now)
    }
    for target in targets { #expect(!FileManager.default.fileExists(atPath: target), "\(target)") }
    let planted = Self.entries(folder + "/new").filter { Self.isSymbolicLink(folder + "/new/" + $0) }
    #expect(planted.count == 12, "no planted link is replaced")
    if case .success(let path) = result {
      #expect(!Self.isSymbolicLink(path))
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("Subject: s\r\n\r\nhello\r\n".utf8))
    }
  }

  /// The folder itself may be a link the person made (`~/Mail` on another disk): it is followed, as mutt and
  /// Dovecot follow it; what is inside still is not.
  @Test func theFolderItselfMayBeALink() throws {
    let directory = try TemporaryDirectory(prefix: "sealpost-maildir")
    defer { directory.remove() }
    let real = directory.file("disk/Mail")
    try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: directory.file("Mail"), withDestinationPath: real)
    let path = try Maildir(path: directory.file("Mail")).deliver(InMemoryMessage(Self.message), offer: .plain)
    #expect(path.hasPrefix(directory.file("Mail") + "/new/"))
    #expect(Self.entries(real + "/new").count == 1)
    #expect(Self.entries(real + "/tmp").isEmpty)
  }
}
