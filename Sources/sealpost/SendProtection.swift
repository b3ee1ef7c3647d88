import Accounts
import FoundationEssentials
import MailMessage
import MailSender
import MessageProtection
import SMTPProtocol
import SendPlanning

/// `send --sign`, `--encrypt`, `--recipient-cert` (issue 15): the CLI's side of ``MessageProtectionPlan``.
extension SendCommand {
  /// The copies to send or print: the message itself without `--sign`/`--encrypt` (or `smime_sign on`).
  func protect(_ message: AssembledMessage, account: Account?) throws(SendFailure) -> [ProtectedCopy] {
    let signs = sign || account?.smimeSign == true
    guard signs || encrypt || !recipientCert.isEmpty else {
      return [ProtectedCopy(message: message, encryptedFor: [], summary: "")]
    }
    guard encrypt || recipientCert.isEmpty else {
      throw SendFailure(.usage, "--recipient-cert is for --encrypt")
    }
    var given: [(String, SMIMECertificate)] = []
    for argument in recipientCert {
      guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
        throw SendFailure(
          .usage, "--recipient-cert \(UntrustedText(argument).escaped): say ADDRESS=PEM (a@example.org=a.pem)"
        )
      }
      let address = String(argument[..<equals])
      let mailbox = try CLIPlanning.run { () throws(PlanningError) in
        try MessageAssemblyAddress.check(address)
      }
      let path = String(argument[argument.index(after: equals)...])
      let certificate = try CLIPlanning.run { () throws(PlanningError) in
        try CertificateStore.readCertificate(path: path)
      }
      given.append((mailbox, certificate))
    }
    let request = ProtectionRequest(sign: signs, encrypt: encrypt, givenCertificates: given)
    let environment = ProcessInfo.processInfo.environment
    return try CLIPlanning.run { () throws(PlanningError) in
      try MessageProtectionPlan.protect(
        message, request: request, account: account, environment: environment
      ) { () throws(PlanningError) in
        try CLIPlanning.secrets(passwordCommand: nil).smimePassphrase(account: account)
      }
    }
  }

  /// The stderr line before each copy of a dry run with several copies: who it goes to.
  func copyLine(_ copy: ProtectedCopy, index: Int, of count: Int) -> String {
    "copy \(index + 1) of \(count) for "
      + copy.message.recipients.map { UntrustedText($0).escaped }.joined(separator: ", ")
      + (copy.encryptedFor.isEmpty
        ? ""
        : " (encrypted for " + copy.encryptedFor.map { UntrustedText($0).escaped }.joined(separator: ", ")
          + ")")
  }
}

/// A `--recipient-cert` address, checked as any address flag is (65 for a bad one).
enum MessageAssemblyAddress {
  static func check(_ text: String) throws(PlanningError) -> String {
    do throws(MessageError) {
      return try Mailbox(parsing: text).address
    } catch {
      throw PlanningError(.dataError, "--recipient-cert: \(error.message)")
    }
  }
}
