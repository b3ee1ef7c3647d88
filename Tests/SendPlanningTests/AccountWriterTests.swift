import Accounts
import Foundation
import MailSenderTesting
import SMTPProtocol
import Testing

@testable import SendPlanning

/// The composer's new accounts in Sealpost's own config file: checked, quoted, read back, never a password.
@Suite struct AccountWriterTests {
  static func account(
    name: String = "work", host: String = "smtp.example.org", security: TransportSecurity = .implicitTLS,
    from: String = "a@example.org", user: String? = "a", command: String? = nil
  ) -> AccountWriter.NewAccount {
    AccountWriter.NewAccount(
      name: name, host: host, port: security == .startTLS ? 587 : 465, security: security, from: from,
      user: user, passwordCommand: command)
  }

  @Test func aValueWithQuotesAndBackslashesReadsBackAsWritten() throws {
    let command = #"secret-tool lookup "a b" \x"#
    let text = try AccountWriter.adding(
      Self.account(command: command), to: "account old\nhost h.example.org\n", path: "c", home: nil)
    let config = try AccountsConfig(parsing: text, path: "c", flavor: .sealpost, home: nil)
    let account = try #require(config.account(named: "work"))
    #expect(
      account.secretSource == .passwordEval(command: command, location: account.location(of: "passwordeval")))
    #expect(account.security == .implicitTLS && account.port == 465 && account.host == "smtp.example.org")
    #expect(text.hasPrefix("account old\nhost h.example.org\n\n# Added by the sealpost composer.\n"))
    #expect(config.defaultAccount?.host == "smtp.example.org")
  }

  @Test(arguments: [
    (AccountWriterTests.account(name: "two words"), "the account name"),
    (AccountWriterTests.account(security: .plaintext), "a new account uses TLS"),
    (AccountWriterTests.account(host: "smtp.example.org:25"), "without a port"),
    (AccountWriterTests.account(from: "not an address"), "From:"),
    (AccountWriterTests.account(user: "a\nhost evil.example"), "one line of text"),
    (AccountWriterTests.account(user: nil, command: "pass"), "needs a user"),
  ])
  func refusesWhatCannotBeWritten(account: AccountWriter.NewAccount, reason: String) {
    #expect {
      _ = try AccountWriter.adding(account, to: "", path: "c", home: nil)
    } throws: { error in
      (error as? PlanningError)?.failure(naming: { $0.rawValue }).description.contains(reason) == true
    }
  }

  @Test func anExistingNameIsRefusedAndTheFileLeftAlone() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = directory.file("sealpost/config")
    _ = try AccountWriter.add(Self.account(), to: path, home: nil)
    let first = try String(contentsOfFile: path, encoding: .utf8)
    #expect(throws: PlanningError.self) { _ = try AccountWriter.add(Self.account(), to: path, home: nil) }
    #expect(try String(contentsOfFile: path, encoding: .utf8) == first)
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
  }
}
