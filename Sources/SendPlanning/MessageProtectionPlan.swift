import Accounts
import MailMessage
import MailSender
import MessageProtection
import SMTPProtocol
import SMTPTransport

/// What a person asked for: S/MIME signing and encryption of one send (issue 15).
public struct ProtectionRequest: Sendable {
  public var sign: Bool
  public var encrypt: Bool
  /// Certificates given for this send (`--recipient-cert ADDRESS=PEM`), tried before the store.
  public var givenCertificates: [(address: String, certificate: SMIMECertificate)]

  public init(sign: Bool = false, encrypt: Bool = false, givenCertificates: [(String, SMIMECertificate)] = [])
  {
    self.sign = sign
    self.encrypt = encrypt
    self.givenCertificates = givenCertificates.map { (address: $0.0, certificate: $0.1) }
  }

  public var isEmpty: Bool { !sign && !encrypt }
}

/// One copy of a protected message: its own envelope and bytes.
public struct ProtectedCopy: Sendable {
  /// The copy as the core sends it (content in memory, envelope of this copy only).
  public var message: AssembledMessage
  /// Who can decrypt it (the recipients of this copy and the sender); empty when it is only signed.
  public var encryptedFor: [String]
  /// The transcript's words for it: "signed by …, encrypted for N recipients".
  public var summary: String

  public init(message: AssembledMessage, encryptedFor: [String], summary: String) {
    self.message = message
    self.encryptedFor = encryptedFor
    self.summary = summary
  }
}

/// Signs and encrypts an assembled message (issue 15): every certificate is checked before anything is built or
/// sent, all or nothing. With encryption the To/Cc copy is encrypted to To, Cc and the sender; each Bcc
/// recipient gets a copy of its own, encrypted to it and the sender, so no copy names a Bcc recipient to others.
public enum MessageProtectionPlan {
  /// The largest key or certificate file read.
  static let maximumKeySize = 256 << 10

  /// The copies to send for `assembled` (one when it is only signed or has no Bcc).
  /// - Parameters:
  ///   - passphrase: asked only when the key is encrypted; returns the passphrase or throws the front end's
  ///     failure (no source → 78).
  public static func protect(
    _ assembled: AssembledMessage, request: ProtectionRequest, account: Account?, store: CertificateStore?,
    passphrase: () throws(PlanningError) -> Secret
  ) throws(PlanningError) -> [ProtectedCopy] {
    guard !request.isEmpty else {
      return [ProtectedCopy(message: assembled, encryptedFor: [], summary: "")]
    }
    guard let mime = assembled.source as? MIMEMessage else {
      throw PlanningError(
        .usage,
        "\(field: .message) is sent unchanged, so it cannot be signed or encrypted: compose it with "
          + "\(field: .subject), \(field: .body) and \(field: .to) instead")
    }
    let composed = mime.composed
    let sender = composed.from.address
    let signer = request.sign ? try loadSigner(account: account, passphrase: passphrase) : nil
    if let signer, !signer.signs(for: sender) {
      let names = signer.certificate.addresses.map { UntrustedText($0).escaped }.joined(separator: ", ")
      throw PlanningError(
        .configuration,
        "the S/MIME certificate (smime_cert) is for \(names), not for the sender "
          + "\(UntrustedText(sender).escaped) — nothing was sent")
    }

    // The groups of recipients, each a copy: To+Cc together, each Bcc alone (only when encrypting).
    // Each mailbox once (the domain in any case, RFC 5321 §2.4), so none gets two copies or two recipient infos.
    let open = Mailbox.envelope(composed.to + composed.cc).map(\.address)
    let blind = Array(
      Mailbox.envelope(composed.to + composed.cc + composed.bcc).map(\.address).dropFirst(open.count))
    var groups: [[String]] = []
    if request.encrypt {
      if !open.isEmpty { groups.append(open) }
      for address in blind { groups.append([address]) }
    } else {
      groups = [open + blind]
    }

    // Every certificate first, all or nothing (DESIGN §3.10): each refusal named.
    // By ``Mailbox/key(of:)``: one certificate per mailbox, whichever spelling a group holds.
    var certificates: [[UInt8]: SMIMECertificate] = [:]
    if request.encrypt {
      var refusals: [String] = []
      for (address, result) in usableCertificates(
        for: [sender] + open + blind, request: request, own: signer?.certificate, account: account,
        store: store)
      {
        switch result {
        case .success(let certificate): certificates[Mailbox.key(of: address)] = certificate
        case .failure(let refusal):
          refusals.append("\(UntrustedText(address).escaped): \(refusal)")
        }
      }
      if !refusals.isEmpty {
        throw PlanningError(
          .dataError,
          "cannot encrypt for every recipient, so nothing was sent (never a clear copy): "
            + "\(refusals.joined(separator: "; "))")
      }
    }

    // The message as written for a server with no extensions: 7-bit, so what is signed is what is sent.
    let plain: [UInt8]
    do throws(MessageError) {
      plain = try mime.bytes(for: .plain)
    } catch {
      throw MessageAssembly.planningError(error)
    }
    var copies: [ProtectedCopy] = []
    for group in groups {
      let readers = request.encrypt ? group.filter { !Mailbox.sameAddress($0, sender) } + [sender] : []
      let bytes: [UInt8]
      do throws(ProtectionError) {
        bytes = try SMIMEMessage.protect(
          plain, signer: signer, recipients: readers.compactMap { certificates[Mailbox.key(of: $0)] })
      } catch {
        throw PlanningError(.dataError, "cannot protect the message: \(error.message) — nothing was sent")
      }
      var message = assembled
      message.content = MessageContent(bytes: bytes)
      message.source = InMemoryMessage(bytes)
      message.recipients = group.map { address in
        (try? IDNA.asciiAddress(address)) ?? address
      }
      var words: [String] = []
      if let signer { words.append("signed by \(signer.certificate.addresses.first ?? sender)") }
      if !readers.isEmpty {
        words.append("encrypted for \(readers.count) recipient\(readers.count == 1 ? "" : "s")")
      }
      copies.append(
        ProtectedCopy(
          message: message, encryptedFor: readers, summary: words.joined(separator: ", ")))
    }
    return copies
  }

  /// Each address (once, in order) with its usable certificate or the refusal: the one check the send makes
  /// before encrypting, and the composer's review shows. `own` is the signer's certificate when it is loaded;
  /// otherwise the account's `smime_cert` is read (the sender's copy is encrypted to it even unsigned).
  static func usableCertificates(
    for addresses: [String], request: ProtectionRequest, own: SMIMECertificate?, account: Account?,
    store: CertificateStore?
  ) -> [(String, Result<SMIMECertificate, CertificateRefusal>)] {
    let trust = SMIMETrust(caFile: account?.smimeCAFile)
    var own = own
    if own == nil, let path = account?.smimeCertificate,
      let file = try? CheckedFile.read(
        path: path, what: "certificate file", limit: maximumKeySize, showsPath: false)
    {
      own = try? SMIMECertificate(pem: file.bytes)
    }
    return Mailbox.unique(addresses).map { address in
      (address, usableCertificate(for: address, request: request, own: own, store: store, trust: trust))
    }
  }

  /// One recipient of an encrypted send, as the composer's review lists them (issue 15).
  public struct RecipientStatus: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable {
      case from = "From"
      case to = "To"
      case cc = "Cc"
      case bcc = "Bcc"
    }
    public var address: String
    public var role: Role
    /// The usable certificate's last day (`YYYY-MM-DD`), or why there is none.
    public var certificate: Result<String, CertificateRefusal>

    public init(address: String, role: Role, certificate: Result<String, CertificateRefusal>) {
      self.address = address
      self.role = role
      self.certificate = certificate
    }

    /// Whether the send can encrypt for this recipient.
    public var isUsable: Bool { if case .success = certificate { true } else { false } }
  }

  /// The certificate of every recipient of an encrypted send — the sender, To, Cc, Bcc, each address once —
  /// from the same look-up and checks ``protect(_:request:account:store:passphrase:)`` makes (given
  /// certificates, the account's own, the store; validity, key usage, address, chain). Reads files: the
  /// front end runs it off its key path.
  public static func recipientStatuses(
    sender: String, to: [String], cc: [String], bcc: [String], request: ProtectionRequest, account: Account?,
    store: CertificateStore?
  ) -> [RecipientStatus] {
    var roles: [(String, RecipientStatus.Role)] = [(sender, .from)]
    roles += to.map { ($0, .to) } + cc.map { ($0, .cc) } + bcc.map { ($0, .bcc) }
    roles = Mailbox.unique(roles, by: \.0)
    let results = usableCertificates(
      for: roles.map(\.0), request: request, own: nil, account: account, store: store)
    return zip(roles, results).map { role, result in
      RecipientStatus(
        address: role.0, role: role.1,
        certificate: result.1.map { MessageDate.isoDate(unixSeconds: $0.notAfter) })
    }
  }

  /// ``recipientStatuses(sender:to:cc:bcc:request:account:store:)`` for the fields a front end holds, checked
  /// as a send checks them, with the certificate store of `environment`.
  public static func recipientStatuses(
    of fields: MessageFields, request: ProtectionRequest, account: Account?, environment: [String: String]
  ) throws(PlanningError) -> [RecipientStatus] {
    let checked = try MessageAssembly.check(fields, account: account)
    guard let sender = checked.sender else {
      throw PlanningError(
        .usage,
        "\(field: .message) is sent unchanged, so it cannot be signed or encrypted: compose it with "
          + "\(field: .subject), \(field: .body) and \(field: .to) instead")
    }
    return recipientStatuses(
      sender: sender.address, to: Mailbox.envelope(checked.to).map(\.address),
      cc: Mailbox.envelope(checked.cc).map(\.address), bcc: Mailbox.envelope(checked.bcc).map(\.address),
      request: request, account: account, store: try CertificateStore.standard(environment: environment))
  }

  /// `protect` with the certificate store of `environment` (looked for only when encrypting): what
  /// `sealpost send` and the composer both call.
  public static func protect(
    _ assembled: AssembledMessage, request: ProtectionRequest, account: Account?,
    environment: [String: String], passphrase: () throws(PlanningError) -> Secret
  ) throws(PlanningError) -> [ProtectedCopy] {
    let store = request.encrypt ? try CertificateStore.standard(environment: environment) : nil
    return try protect(assembled, request: request, account: account, store: store, passphrase: passphrase)
  }

  /// The first certificate for `address` that can be used, else the reason the best one cannot: given for the
  /// send, the signer's own (for the sender), then the store.
  static func usableCertificate(
    for address: String, request: ProtectionRequest, own: SMIMECertificate?, store: CertificateStore?,
    trust: SMIMETrust
  ) -> Result<SMIMECertificate, CertificateRefusal> {
    var candidates = request.givenCertificates.filter { Mailbox.sameAddress($0.address, address) }.map(
      \.certificate)
    if let own, own.names(address) { candidates.append(own) }
    candidates += store?.certificates(for: address) ?? []
    var first: CertificateRefusal?
    for certificate in candidates {
      guard let refusal = certificate.refusal(forEncryptionTo: address, trust: trust) else {
        return .success(certificate)
      }
      if first == nil { first = refusal }
    }
    return .failure(first ?? .missing)
  }

  /// The account's signer: `smime_cert` and `smime_key` read through checked descriptors; a key file group or
  /// others may read is refused as a password file is (78); an encrypted key takes `passphrase()`.
  static func loadSigner(account: Account?, passphrase: () throws(PlanningError) -> Secret)
    throws(PlanningError) -> SMIMESigner
  {
    guard let account, let certificatePath = account.smimeCertificate, let keyPath = account.smimeKey else {
      throw PlanningError(
        .configuration,
        "signing needs the account's smime_cert and smime_key (a PEM certificate and its private key)"
          + (account.map { " (account \(UntrustedText($0.name).escaped))" } ?? "") + " — nothing was sent")
    }
    let name = UntrustedText(account.name).escaped
    func read(_ path: String, key: String, what: String) throws(PlanningError) -> CheckedFile {
      do throws(CheckedFile.Refusal) {
        return try CheckedFile.read(path: path, what: what, limit: maximumKeySize, showsPath: false)
      } catch {
        throw PlanningError(
          error.kind == .unsafe ? .configuration : .noInput,
          "\(account.location(of: key)): \(key): \(error.message) (account \(name)) — nothing was sent")
      }
    }
    let certificate = try read(certificatePath, key: "smime_cert", what: "S/MIME certificate file")
    let key = try read(keyPath, key: "smime_key", what: "S/MIME key file")
    if key.permissions & 0o077 != 0 {
      throw PlanningError(
        .configuration,
        "\(account.location(of: "smime_key")): smime_key: group or others may read the private key file (mode "
          + "\(String(key.permissions & 0o777, radix: 8))); expected mode 600: run chmod 600 on that file "
          + "(account \(name)) — nothing was sent")
    }
    var secret: Secret?
    if SMIMESigner.keyNeedsPassphrase(key.bytes) { secret = try passphrase() }
    do throws(ProtectionError) {
      return try SMIMESigner(
        certificatePEM: certificate.bytes, keyPEM: key.bytes, passphrase: secret?.bytes)
    } catch {
      let category: SendFailure.Category = error.kind == .passphrase ? .configuration : .configuration
      throw PlanningError(
        category,
        "\(account.location(of: "smime_key")): smime_key: \(error.message) (account \(name)) — nothing was sent"
      )
    }
  }
}

extension SecretResolver {
  /// The passphrase of the account's encrypted S/MIME key: its `smime_passphrase_eval` command, else the front
  /// end's prompt; neither → 78. Like a password, it is never taken from an argument, and never shown.
  public func smimePassphrase(account: Account?, cancellation: Cancellation = Cancellation())
    throws(PlanningError) -> Secret
  {
    let name = account.map { UntrustedText($0.name).escaped } ?? "(none)"
    if let account, let command = account.smimePassphraseEval {
      let what = "\(account.location(of: "smime_passphrase_eval")): smime_passphrase_eval (account \(name))"
      if ShellCommand.namesNoProgram(command, path: environment["PATH"]) {
        throw PlanningError(
          .configuration,
          "\(what) is one word that names no program on PATH and no shell built-in, so it was not run: is it "
            + "the passphrase itself? It takes a command that prints the passphrase (the value is not shown)")
      }
      let bounds = ShellCommand.Bounds(stopDescriptor: cancellation.eventDescriptor)
      let run = { [environment] in ShellCommand.run(command, environment: environment, bounds: bounds) }
      switch prompt?.withTerminalReleased(run) ?? run() {
      case .success(let bytes) where !bytes.isEmpty: return Secret(bytes)
      case .success: throw PlanningError(.configuration, "\(what) printed nothing")
      case .failure:
        throw PlanningError(.configuration, "\(what) failed; its output is not shown — nothing was sent")
      }
    }
    guard let prompt else {
      throw PlanningError(
        .configuration,
        "the S/MIME key is encrypted and there is no passphrase source: set smime_passphrase_eval in the "
          + "account, or run on a terminal to be asked — nothing was sent")
    }
    let secret: Secret
    do throws(SendFailure) {
      secret = try prompt.askSecret(
        "Passphrase of the S/MIME key of account \(name): ", cancellation: cancellation)
    } catch {
      // The prompt's own words speak of a password: say what is missing here.
      guard error.category == .configuration else {
        throw PlanningError(error.category, PlanningText(stringLiteral: error.message))
      }
      throw PlanningError(
        .configuration,
        "the S/MIME key is encrypted and there is no passphrase source (no terminal to ask on): set "
          + "smime_passphrase_eval in the account — nothing was sent")
    }
    guard !secret.bytes.isEmpty else {
      throw PlanningError(.configuration, "the passphrase from the prompt is empty — nothing was sent")
    }
    return secret
  }
}
