import Foundation
import Testing

@testable import Accounts

/// Reading files: permissions (aerc's rule, DESIGN §6), unreadable files, and the read order.
@Suite struct ConfigFileTests {
  @Test(arguments: [
    (0o600, true, true), (0o400, true, true), (0o644, true, false), (0o640, true, false),
    (0o604, true, false), (0o644, false, true),
  ])
  func aPasswordNeedsAPrivateFile(mode: Int, holdsPassword: Bool, accepted: Bool) throws {
    let directory = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/msmtprc"
    let secretLine = holdsPassword ? "password hunter2" : "passwordeval pass show mail"
    try Support.write("# mail\naccount a\nhost h\nauth on\n\(secretLine)\n", to: path, mode: mode)
    // Issue 11: the file still loads (the listing goes on); the exposure is kept for the accounts that use it.
    let config = try AccountsConfig.load(path: path, flavor: .msmtp, home: directory)
    #expect(config.accounts.count == 1)
    if accepted {
      #expect(config.exposedPassword == nil)
    } else {
      let error = try #require(config.exposedPassword)
      #expect(error.kind == .unsafePermissions)
      #expect(
        error.description
          == "\(path):5: password: the file holds a password and group or others may read it (mode "
          + "\(String(mode, radix: 8))); expected mode 600: run chmod 600 \(path)")
      #expect(!error.description.contains("hunter2"))
    }
  }

  @Test func unreadableFiles() throws {
    let directory = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    #expect(throws: ConfigError.self) { try AccountsConfig.load(path: directory, flavor: .msmtp, home: nil) }
    do {
      _ = try AccountsConfig.load(path: directory + "/missing", flavor: .msmtp, home: nil)
      Issue.record("a missing file must not load")
    } catch {
      #expect(error.kind == .unreadable)
      #expect(
        error.description == "\(directory)/missing: cannot read the config file: No such file or directory")
    }
    let path = directory + "/latin1"
    try Data("account a\nhost h\nfrom j\u{F6}e@x\n".utf8).write(to: URL(fileURLWithPath: path))
    var bytes = [UInt8]("account a\nhost h\nfrom j".utf8) + [0xF6] + Array("e@x\n".utf8)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    do {
      _ = try AccountsConfig.load(path: path, flavor: .msmtp, home: nil)
      Issue.record("invalid UTF-8 must not load")
    } catch {
      #expect(error.description == "\(path):3: expected UTF-8 text")
    }
    bytes = Array(repeating: UInt8(ascii: "#"), count: AccountsConfig.maximumSize + 1)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    #expect(throws: ConfigError.self) { try AccountsConfig.load(path: path, flavor: .msmtp, home: nil) }
  }

  @Test func shellQuotingForTheChmodHint() {
    #expect(AccountsConfig.shellQuoted("/home/u/.msmtprc") == "/home/u/.msmtprc")
    #expect(AccountsConfig.shellQuoted("/tmp/my file") == "'/tmp/my file'")
    #expect(AccountsConfig.shellQuoted("/tmp/it's") == "'/tmp/it'\\''s'")
  }

  @Test func candidatesFollowTheReadOrder() {
    #expect(
      ConfigSearch.candidates(environment: ["HOME": "/h"]).map(\.path) == [
        "/h/.config/sealpost/config", "/h/.msmtprc", "/h/.config/msmtp/config",
      ])
    #expect(
      ConfigSearch.candidates(environment: ["HOME": "/h", "XDG_CONFIG_HOME": "/x"]).map(\.path) == [
        "/x/sealpost/config", "/h/.msmtprc", "/x/msmtp/config",
      ])
    // A relative XDG_CONFIG_HOME is ignored, as the XDG specification says.
    #expect(
      ConfigSearch.candidates(environment: ["HOME": "/h", "XDG_CONFIG_HOME": "rel"]).first?.path
        == "/h/.config/sealpost/config")
    #expect(ConfigSearch.candidates(environment: [:]).isEmpty)
    #expect(
      ConfigSearch.candidates(environment: ["HOME": "/h"]).map(\.flavor) == [.sealpost, .msmtp, .msmtp])
  }

  @Test func theFirstExistingFileIsRead() throws {
    let home = try Support.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: home) }
    let environment = ["HOME": home]
    #expect(ConfigSearch.locate(explicit: nil, environment: environment) == nil)
    try Support.write("", to: home + "/.config/msmtp/config", mode: 0o600)
    #expect(
      ConfigSearch.locate(explicit: nil, environment: environment)?.path == home + "/.config/msmtp/config")
    try Support.write("", to: home + "/.msmtprc", mode: 0o600)
    #expect(ConfigSearch.locate(explicit: nil, environment: environment)?.path == home + "/.msmtprc")
    try Support.write("", to: home + "/.config/sealpost/config", mode: 0o600)
    let found = ConfigSearch.locate(explicit: nil, environment: environment)
    #expect(found?.path == home + "/.config/sealpost/config")
    #expect(found?.flavor == .sealpost)
    let explicit = ConfigSearch.locate(explicit: "/nowhere/rc", environment: environment)
    #expect(explicit == ConfigSearch.Candidate(path: "/nowhere/rc", flavor: .sealpost))
  }
}
