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
      0 done; 65 not a PEM certificate, or one with no e-mail address; 66 the file missing or unreadable; 75 the \
      store cannot be written.
      """,
    subcommands: [List.self, Add.self],
    defaultSubcommand: List.self
  )

  static func store() throws(SendFailure) -> CertificateStore {
    try CLIPlanning.run { () throws(PlanningError) in
      try CertificateStore.standard(environment: ProcessInfo.processInfo.environment)
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
      commandName: "add", abstract: "Store a PEM certificate under the addresses it names.")

    @Argument(
      help: ArgumentHelp("The PEM certificate (its chain may follow it).", valueName: "file"),
      completion: .file())
    var file: String

    func run() throws {
      do throws(SendFailure) {
        let store = try CertsCommand.store()
        let certificate = try CLIPlanning.run { () throws(PlanningError) in
          try CertificateStore.readCertificate(path: file)
        }
        let names = try CLIPlanning.run { () throws(PlanningError) in try store.add(certificate) }
        Output.transcript(
          "stored the certificate for "
            + certificate.addresses.map { UntrustedText($0).escaped }.joined(separator: ", ") + " (expires "
            + MessageDate.isoDate(unixSeconds: certificate.notAfter) + ") as "
            + names.map { UntrustedText($0).escaped }.joined(separator: ", "))
      } catch {
        throw Output.refuse(error)
      }
    }
  }
}
