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
      let (address, path) = try Self.recipientCertArgument(argument)
      let certificate = try CLIPlanning.run { () throws(PlanningError) in
        try CertificateStore.readCertificate(path: path)
      }
      given.append((address, certificate))
    }
    let request = ProtectionRequest(sign: signs, encrypt: encrypt, givenCertificates: given)
    let environment = Environment.variables
    return try CLIPlanning.run { () throws(PlanningError) in
      try MessageProtectionPlan.protect(
        message, request: request, account: account, environment: environment
      ) { () throws(PlanningError) in
        try CLIPlanning.secrets(passwordCommand: nil).smimePassphrase(account: account)
      }
    }
  }

  /// `ADDRESS=PEM`: the address checked as any address flag is (65), the path as given; no `=` is 64.
  static func recipientCertArgument(_ argument: String) throws(SendFailure) -> (address: String, path: String)
  {
    guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
      throw SendFailure(
        .usage, "--recipient-cert \(UntrustedText(argument).escaped): say ADDRESS=PEM (a@example.org=a.pem)")
    }
    let address = try CLIPlanning.run { () throws(PlanningError) in
      try MessageAssemblyAddress.check(String(argument[..<equals]))
    }
    return (address, String(argument[argument.index(after: equals)...]))
  }

  /// A `--recipient-cert` for an address that gets no copy — neither a recipient (To, Cc, Bcc) nor the sender —
  /// would be ignored, and is most likely a typo or a recipient left out: a usage error (64) naming each such
  /// address, before any file is read or any connection made. The domain is compared in any case, the local
  /// part exactly (RFC 5321 §2.4), as the certificate look-up does.
  func checkRecipientCerts(_ checked: MessageAssembly.CheckedFields) throws(SendFailure) {
    guard !recipientCert.isEmpty else { return }
    guard encrypt else { throw SendFailure(.usage, "--recipient-cert is for --encrypt") }
    // A complete message is refused as a whole by protect(): it cannot be encrypted at all.
    guard let sender = checked.sender, message == nil else { return }
    var given: [String] = []
    for argument in recipientCert { given.append(try Self.recipientCertArgument(argument).address) }
    let readers = [sender] + checked.to + checked.cc + checked.bcc
    let strangers = Mailbox.unique(given).filter { address in
      !readers.contains { Mailbox.sameAddress($0.address, address) }
    }
    guard !strangers.isEmpty else { return }
    let names = strangers.map { UntrustedText($0).escaped }
    throw SendFailure(
      .usage,
      "--recipient-cert for \(names.joined(separator: ", ")): "
        + (names.count == 1 ? "not a recipient" : "not recipients")
        + " of this message (--to, --cc, --bcc) nor its sender, so the certificate would not be used — "
        + "correct the address or add the recipient")
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
