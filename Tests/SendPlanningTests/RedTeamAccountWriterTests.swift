import Accounts
import Foundation
import MailSenderTesting
import Testing

@testable import SendPlanning

/// Red team: a password typed into the account form's password command field was written as `passwordeval`, and
/// every send then ran it through the shell, which printed it back ("sh: 1: …: not found").
@Suite struct RedTeamAccountWriterTests {
  static let password = "Tr0ub4dor-and-3"

  static func account(command: String) -> AccountWriter.NewAccount {
    AccountWriter.NewAccount(
      name: "work", host: "smtp.example.org", port: 465, security: .implicitTLS, from: "a@example.org",
      user: "a", passwordCommand: command)
  }

  @Test func aPasswordInTheCommandFieldIsRefusedWithoutQuotingIt() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = directory.file("sealpost/config")
    let error = #expect(throws: PlanningError.self) {
      try AccountWriter.add(
        Self.account(command: Self.password), to: path, home: nil, searchPath: "/usr/bin:/bin")
    }
    #expect(error?.category == .dataError)
    let words = error?.text.worded { $0.rawValue } ?? ""
    #expect(words.contains("is it the password itself?"))
    #expect(!words.contains(Self.password))
    #expect(!FileManager.default.fileExists(atPath: path))
  }

  @Test(arguments: [
    "sh", "echo", "cat", "gpg-fake --decrypt ~/.mail.gpg", "$HOME/bin/pw", "/bin/true", "./pw",
    "pass show mail",
  ])
  func aCommandIsWritten(command: String) throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let text = try AccountWriter.adding(
      Self.account(command: command), to: "", path: "c", home: nil, searchPath: "/usr/bin:/bin")
    #expect(text.contains("passwordeval "))
  }

  @Test func aProgramOnTheSearchPathIsACommand() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let program = directory.file("mailpw")
    try TestProgram.write("#!/bin/sh\necho x\n", to: program)
    #expect(throws: PlanningError.self) {
      try AccountWriter.adding(
        Self.account(command: "mailpw"), to: "", path: "c", home: nil, searchPath: "/bin")
    }
    let text = try AccountWriter.adding(
      Self.account(command: "mailpw"), to: "", path: "c", home: nil, searchPath: "/bin:" + directory.path)
    #expect(text.contains("passwordeval \"mailpw\""))
  }
}
