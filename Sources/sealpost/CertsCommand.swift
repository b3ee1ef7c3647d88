import ArgumentParser
import FoundationEssentials
import MailMessage
import MailSender
import MessageProtection
import SMTPProtocol
import SendPlanning

/// `sealpost certs [list]` and `sealpost certs add FILE` (issue 15): recipients' S/MIME certificates, kept in
/// `$XDG_DATA_HOME/sealpost/certs/`.
struct CertsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "certs",
    abstract: "List or add recipients' S/MIME certificates (for send --encrypt).",
    discussion: """
      Certificates live in $XDG_DATA_HOME/sealpost/certs (~/.local/share/sealpost/certs), one PEM file per \
      address. send --encrypt looks each recipient up there by address (the domain in any case). Exit status: \
      0 done; 65 not a PEM certificate, or none in the file that is a person's with an e-mail address; 66 the \
      file missing or unreadable; 75 the store cannot be written.
      """,
    subcommands: [List.self, Add.self],
    defaultSubcommand: List.self
  )

  static func store() throws(SendFailure) -> CertificateStore {
    try CLIPlanning.run { () throws(PlanningError) in
      try CertificateStore.standard(environment: Environment.variables)
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "list",
      abstract: "List stored certificates: address, subject, expiry, SHA-256 fingerprint.")

    @Flag(help: "One JSON object per certificate, in an array.")
    var json = false

    func run() throws {
      let entries: [CertificateStore.Entry]
      do throws(SendFailure) {
        entries = try CertsCommand.store().entries()
      } catch {
        throw Output.refuse(error)
      }
      if json {
        let records = entries.map { entry in
          Record(
            file: entry.name, addresses: entry.certificate.addresses, subject: entry.certificate.subject,
            notAfter: MessageDate.isoDate(unixSeconds: entry.certificate.notAfter),
            fingerprint: "sha256:" + entry.certificate.fingerprint)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(records)) ?? Data("[]".utf8)
        Output.transcript(String(decoding: data, as: UTF8.self))
        return
      }
      guard !entries.isEmpty else {
        Output.transcript("(no certificates: add one with sealpost certs add FILE)")
        return
      }
      for entry in entries {
        let certificate = entry.certificate
        Output.transcript(
          certificate.addresses.map { UntrustedText($0).escaped }.joined(separator: ", ") + "  expires "
            + MessageDate.isoDate(unixSeconds: certificate.notAfter))
        Output.transcript("  subject " + UntrustedText(certificate.subject).escaped)
        Output.transcript("  sha256 " + certificate.fingerprint)
      }
    }

    struct Record: Encodable {
      var file: String
      var addresses: [String]
      var subject: String
      var notAfter: String
      var fingerprint: String
    }
  }

  struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "add",
      abstract: "Store the PEM certificates of a file under the addresses they name.",
      discussion: """
        Every certificate in the file is looked at: each person's certificate is stored under each address it \
        names, with the file's CA certificates as its chain; a CA certificate (basicConstraints CA:TRUE), or \
        one that names no address, is not stored, and a note on stderr says so. A file with no certificate \
        to store is refused (65).
        """)

    @Argument(
      help: ArgumentHelp(
        "The PEM file: a certificate and its chain, or several certificates.", valueName: "file"),
      completion: .file())
    var file: String

    /// Every certificate of the file is looked at (a leaf with its chain, or several people's): each person's
    /// is stored and named on stdout; each other one is named on stderr with the reason it was not stored.
    func run() throws {
      do throws(SendFailure) {
        let store = try CertsCommand.store()
        let certificates = try CLIPlanning.run { () throws(PlanningError) in
          try CertificateStore.readCertificates(path: file)
        }
        let additions = try CLIPlanning.run { () throws(PlanningError) in
          try store.add(each: certificates)
        }
        for addition in additions {
          switch addition {
          case .stored(let certificate, let names, let replaced):
            // "With its chain" only when the file's CA certificates issued it (red-team: said of a self-signed
            // certificate put in a bundle).
            Output.transcript(
              "stored the certificate for "
                + certificate.addresses.map { UntrustedText($0).escaped }.joined(separator: ", ")
                + " (expires " + MessageDate.isoDate(unixSeconds: certificate.notAfter) + ", sha256 "
                + certificate.fingerprint + ") as "
                + names.map { UntrustedText($0).escaped }.joined(separator: ", ")
                + (certificate.isIssuedByItsChain ? ", with the file's CA certificates as its chain" : ""))
            // A certificate never takes another's place silently.
            for old in replaced {
              Output.verdict(
                "note: it replaces the certificate \(UntrustedText(old.name).escaped) (sha256 \(old.fingerprint))"
                  + (old.storedAt.map { " stored on " + MessageDate.isoDate(unixSeconds: $0) } ?? ""))
            }
          case .skipped(let certificate, let reason):
            Output.verdict(
              "note: not stored: \(UntrustedText(certificate.subject).escaped) (sha256 "
                + "\(certificate.fingerprint)): \(reason)")
          }
        }
      } catch {
        throw Output.refuse(error)
      }
    }
  }
}
