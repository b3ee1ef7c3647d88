import MailSender
import SMTPTransport

/// The core words its outcomes without naming any flag (the composer's user never typed one); the CLI adds the
/// flag that helps, chosen by the failure's reason.
enum CLIWording {
  /// The verdict line with the CLI's hint, if one helps.
  static func verdict(_ line: String, failure: SendFailure?, tls: TLSSessionSummary? = nil) -> String {
    guard let failure, let hint = hint(failure.reason, tls: tls) else { return line }
    return "\(line); \(hint)"
  }

  static func hint(_ reason: SendFailure.Reason, tls: TLSSessionSummary?) -> String? {
    switch reason {
    case .noRecipient:
      return "say --to, --cc or --bcc"
    case .plaintextNotAllowed:
      return "--allow-insecure allows plaintext to it (never with a login)"
    case .authenticationUnavailable(_, let startTLSOffered) where startTLSOffered:
      return "try --tls starttls"
    case .untrustedCertificate:
      guard let leaf = tls?.chain.first else { return nil }
      return "for a private CA give --ca-file CA.pem; to trust this key alone, --pin sha256/"
        + TranscriptText.base64(leaf.spkiSHA256)
    default:
      return nil
    }
  }
}
