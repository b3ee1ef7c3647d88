import Foundation
import Testing

@testable import Accounts

/// Config files in the shapes of msmtp's documented examples, committed and read unchanged.
@Suite struct FixtureTests {
  static func load(_ name: String, flavor: ConfigFlavor = .msmtp) throws -> AccountsConfig {
    let path = Support.fixture(name)
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return try AccountsConfig(parsing: text, path: name, flavor: flavor, home: "/home/joe")
  }

  @Test func userExample() throws {
    let config = try Self.load("msmtprc-user")
    #expect(config.accounts.map(\.name) == ["freemail", "freemail2", "isp", "default"])
    let summaries = config.accounts.map(Support.summary)
    let ca = "ca=/etc/ssl/certs/ca-certificates.crt"
    let eval = "passwordeval(gpg2 --no-tty -q -d ~/.msmtp-password.gpg)@17"
    #expect(
      summaries == [
        "host=smtp.freemail.example port=587 security=starttls user=joe.smith auth=automatic "
          + "from=joe_smith@freemail.example \(ca) \(eval)",
        "host=smtp.freemail.example port=587 security=starttls user=joe.smith auth=automatic "
          + "from=joey@freemail.example \(ca) \(eval)",
        "host=mail.isp.example port=587 security=starttls user=12345 auth=automatic from=smithjoe@isp.example "
          + "\(ca) keyring",
        "host=smtp.freemail.example port=587 security=starttls user=joe.smith auth=automatic "
          + "from=joe_smith@freemail.example \(ca) \(eval)",
      ])
    #expect(config.defaultAccount?.parents == ["freemail"])
    #expect(config.notes.isEmpty)
    #expect(config.passwordLocation == nil)
    #expect(config.accounts.allSatisfy { $0.problems.isEmpty })
  }

  @Test func systemExample() throws {
    let config = try Self.load("msmtprc-system")
    #expect(config.accounts.map(\.name) == ["relay", "default"])
    #expect(
      config.accounts.map(Support.summary)
        == Array(
          repeating: "host=relay.lan.example port=465 security=implicit from=root@lan.example "
            + "ca=/etc/ssl/certs/ca-certificates.crt domain=workstation.lan.example timeout=30", count: 2))
    #expect(
      config.notes.map(\.description) == [
        "msmtprc-system:9: syslog: has no effect in Sealpost; ignored",
        "msmtprc-system:10: aliases: has no effect in Sealpost; ignored",
      ])
  }

  @Test func severalAccountsWithTwoParents() throws {
    let config = try Self.load("msmtprc-several")
    #expect(config.accounts.map(\.name) == ["work", "pinned", "mixed", "bridge", "default"])
    #expect(
      config.accounts.map(Support.summary) == [
        "host=smtp.work.example port=465 security=implicit user=jane doe auth=plain keyring",
        "host=- port=25 security=starttls fingerprints=1",
        "host=smtp.work.example port=465 security=implicit user=jane doe auth=plain "
          + "from=Jane \"J\" Doe <jane@work.example> fingerprints=1 keyring",
        "host=127.0.0.1 port=1025 security=none user=jane@bridge.example auth=login keyring",
        "host=smtp.work.example port=465 security=implicit user=jane doe auth=plain keyring",
      ])
    let pin = try #require(config.account(named: "mixed")?.trust.certificateSHA256.first)
    #expect(pin.prefix(4) == [0x00, 0x11, 0x22, 0x33])
    #expect(config.notes.map(\.key) == ["logfile"])
  }

  @Test func sealpostsOwnFile() throws {
    let config = try Self.load("sealpost-config", flavor: .sealpost)
    let personal = try #require(config.account(named: "personal"))
    #expect(personal.displayName == "Zoë Example")
    #expect(personal.signature == "/home/joe/.signature")
    #expect(personal.drafts == "/home/joe/Mail/drafts")
    #expect(personal.theme == "high-contrast")
    #expect(
      Support.summary(personal)
        == "host=smtp.mail.example port=465 security=implicit user=me@mail.example auth=automatic "
        + "from=me@mail.example pins=1 keyring")
    let lab = try #require(config.account(named: "lab"))
    #expect(Support.summary(lab) == "host=lab.example port=25 security=none allow_insecure")
    #expect(config.defaultAccount?.parents == ["personal"])
  }

  @Test func sealpostsFileIsNotAnMsmtpFile() throws {
    // Read as msmtp's file, Sealpost's keys are unknown: the accounts that use them are not used.
    let config = try Self.load("sealpost-config")
    #expect(
      config.account(named: "personal")?.problems.map(\.key) == [
        "theme", "display_name", "signature", "drafts", "pin",
      ])
  }
}
