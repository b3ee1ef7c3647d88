import Accounts
import MailMessage
import MessageProtection
import SMTPProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// Recipients' S/MIME certificates (issue 15): `$XDG_DATA_HOME/sealpost/certs/` (else
/// `~/.local/share/sealpost/certs`), folder 0700, one PEM file per address, each written atomically.
public struct CertificateStore: Sendable {
  public let directory: String

  public init(directory: String) { self.directory = directory }

  /// The largest certificate file read (a certificate with its chain is a few KiB).
  public static let maximumFileSize = 256 << 10

  /// The store of `environment`.
  public static func standard(environment: [String: String]) throws(PlanningError) -> CertificateStore {
    if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
      return CertificateStore(directory: data + "/sealpost/certs")
    }
    guard let home = environment["HOME"], home.hasPrefix("/") else {
      throw PlanningError(
        .configuration, "no folder for certificates: neither XDG_DATA_HOME nor HOME is an absolute path")
    }
    return CertificateStore(directory: home + "/.local/share/sealpost/certs")
  }

  /// One stored certificate.
  public struct Entry: Sendable {
    /// The file's name in the store.
    public var name: String
    public var certificate: SMIMECertificate
  }

  /// Reads a certificate file given by a person (`certs add`, `--recipient-cert`): missing or unreadable is 66,
  /// not a PEM certificate 65. Its path is shown escaped.
  public static func readCertificate(path: String) throws(PlanningError) -> SMIMECertificate {
    try readFile(path) { pem throws(ProtectionError) in try SMIMECertificate(pem: pem) }
  }

  /// Every certificate of a file given by a person (`certs add`), each with the file's CA certificates as its
  /// chain; refused as ``readCertificate(path:)`` refuses.
  public static func readCertificates(path: String) throws(PlanningError) -> [SMIMECertificate] {
    try readFile(path) { pem throws(ProtectionError) in try SMIMECertificate.each(pem: pem) }
  }

  private static func readFile<T>(_ path: String, parse: ([UInt8]) throws(ProtectionError) -> T)
    throws(PlanningError) -> T
  {
    let file: CheckedFile
    do throws(CheckedFile.Refusal) {
      file = try CheckedFile.read(path: path, what: "certificate file", limit: maximumFileSize)
    } catch {
      throw PlanningError(
        error.kind == .unsafe ? .configuration : .noInput,
        "\(UntrustedText(path).escaped): \(error.message)")
    }
    do throws(ProtectionError) {
      return try parse(file.bytes)
    } catch {
      throw PlanningError(.dataError, "\(UntrustedText(path).escaped): \(error.message)")
    }
  }

  /// A stored certificate that another took the place of.
  public struct Replacement: Sendable {
    /// The file's name in the store.
    public var name: String
    /// SHA-256 of the certificate replaced, colon hex.
    public var fingerprint: String
    /// When it was stored (the file's modification time, seconds since 1970); nil when unknown.
    public var storedAt: Int64?
  }

  /// What ``add(each:)`` did with each certificate of a file, in file order.
  public enum Addition: Sendable {
    /// Stored under these file names (one per address it names), in place of the certificates `replaced`
    /// (never silently: a front end says so).
    case stored(SMIMECertificate, names: [String], replaced: [Replacement])
    /// Not stored, and why (a sentence to show after the certificate's subject).
    case skipped(SMIMECertificate, reason: String)
  }

  /// Stores every certificate of a file that is a person's: a certificate authority's (basicConstraints
  /// CA:TRUE) is skipped — it stays in the file of each stored certificate, as its chain — and so is one that
  /// names no address; where two name the same address, one the file's CA certificates issued is stored
  /// before one they did not (red-team: a self-signed certificate in a bundle took the place of a CA-issued
  /// one because it was valid longer), then the one valid longer. A stored certificate replaced is named in the
  /// result. No certificate to store is refused (65), naming each and why; nothing is written then.
  public func add(each certificates: [SMIMECertificate]) throws(PlanningError) -> [Addition] {
    // For each file name, the certificate that gets it: issued by the file's CA certificates first, then the
    // person's that is valid longest.
    let issued = certificates.map(\.isIssuedByItsChain)
    let rank = issued.map { $0 ? 1 : 0 }
    var owner: [String: Int] = [:]
    for (index, certificate) in certificates.enumerated() where !certificate.isAuthority {
      for address in certificate.addresses {
        let name = Self.fileName(for: address)
        if let other = owner[name],
          (rank[other], certificates[other].notAfter) >= (rank[index], certificate.notAfter)
        {
          continue
        }
        owner[name] = index
      }
    }
    let additions = certificates.enumerated().map { index, certificate -> Addition in
      if certificate.isAuthority {
        return .skipped(
          certificate, reason: "a certificate authority's (basicConstraints CA:TRUE), not a person's")
      }
      if certificate.addresses.isEmpty {
        return .skipped(
          certificate, reason: "it names no e-mail address (subjectAltName or emailAddress)")
      }
      var names: [String] = []
      for address in certificate.addresses {
        let name = Self.fileName(for: address)
        if owner[name] == index && !names.contains(name) { names.append(name) }
      }
      if names.isEmpty {
        return .skipped(
          certificate,
          reason: issued[index]
            ? "another certificate in the file for the same address is valid longer"
            : "another certificate in the file for the same address was issued by the file's CA certificates "
              + "or is valid longer")
      }
      return .stored(
        certificate, names: names, replaced: names.compactMap { replacement(of: $0, by: certificate) })
    }
    let stored = additions.filter { if case .stored = $0 { true } else { false } }
    guard !stored.isEmpty else {
      let reasons = additions.map { addition in
        guard case .skipped(let certificate, let reason) = addition else { return "" }
        return "\(UntrustedText(certificate.subject).escaped): \(reason)"
      }
      throw PlanningError(
        .dataError,
        "no certificate in the file can be stored for a recipient: \(reasons.joined(separator: "; "))")
    }
    for addition in stored {
      guard case .stored(let certificate, let names, _) = addition else { continue }
      for name in names { try write(certificate, name: name) }
    }
    return additions
  }

  /// Stores `certificate` under a name made from each of its addresses (a file per address, so a look-up by
  /// file name would also work); returns the names written. A certificate without an address is refused (65).
  @discardableResult
  public func add(_ certificate: SMIMECertificate) throws(PlanningError) -> [String] {
    guard !certificate.addresses.isEmpty else {
      throw PlanningError(
        .dataError, "the certificate names no e-mail address (subjectAltName or emailAddress)")
    }
    var names: [String] = []
    for address in certificate.addresses {
      let name = Self.fileName(for: address)
      guard !names.contains(name) else { continue }
      try write(certificate, name: name)
      names.append(name)
    }
    return names
  }

  /// The certificate stored as `name` that `certificate` would take the place of; nil when there is none, or it
  /// is the same certificate.
  private func replacement(of name: String, by certificate: SMIMECertificate) -> Replacement? {
    let path = directory + "/" + name
    guard let file = try? CheckedFile.read(path: path, what: "certificate file", limit: Self.maximumFileSize),
      let old = try? SMIMECertificate(pem: file.bytes), old.fingerprint != certificate.fingerprint
    else { return nil }
    var info = stat()
    return Replacement(
      name: name, fingerprint: old.fingerprint,
      storedAt: stat(path, &info) == 0 ? Int64(info.st_mtim.tv_sec) : nil)
  }

  private func write(_ certificate: SMIMECertificate, name: String) throws(PlanningError) {
    do throws(AtomicFile.Failure) {
      try AtomicFile.write(certificate.pem, to: directory + "/" + name)
    } catch {
      throw PlanningError(
        .temporary, "cannot store the certificate: \(UntrustedText(error.description).escaped)")
    }
  }

  /// Every readable certificate in the store, by file name. Files that are not certificates are skipped.
  public func entries() -> [Entry] {
    guard let folder = opendir(directory) else { return [] }
    defer { closedir(folder) }
    var names: [String] = []
    while let entry = readdir(folder) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name.hasSuffix(".pem") && !name.hasPrefix(".") { names.append(name) }
    }
    return names.sorted().compactMap { name in
      guard
        let file = try? CheckedFile.read(
          path: directory + "/" + name, what: "certificate file", limit: Self.maximumFileSize),
        let certificate = try? SMIMECertificate(pem: file.bytes)
      else { return nil }
      return Entry(name: name, certificate: certificate)
    }
  }

  /// The stored certificates for `address` (the domain in any case).
  public func certificates(for address: String) -> [SMIMECertificate] {
    let exact = directory + "/" + Self.fileName(for: address)
    if let file = try? CheckedFile.read(path: exact, what: "certificate file", limit: Self.maximumFileSize),
      let certificate = try? SMIMECertificate(pem: file.bytes), certificate.names(address)
    {
      return [certificate]
    }
    return entries().map(\.certificate).filter { $0.names(address) }
  }

  /// `local@domain.pem` with the domain lowercased (``Mailbox/identity(of:)``); any byte that could leave the folder or hide (`/`, controls,
  /// a leading dot, `%`) is percent-encoded, always with two hex digits. A file stored under an older name (one
  /// digit for a byte below 0x10, which could name two addresses) is still found: ``certificates(for:)`` falls back
  /// to reading every file and keeps those whose certificate names the address.
  static func fileName(for address: String) -> String {
    let text = Mailbox.identity(of: address)
    let hex = "0123456789ABCDEF".map(String.init)
    var out = ""
    for (index, byte) in text.utf8.enumerated() {
      let safe =
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
        || "@-_+=".utf8.contains(byte) || (byte == 0x2E && index > 0)
      // Always two digits: `%7` then `B` would read as `%7B` (red-team: `a\x07B@` and `a{@` shared a file).
      out += safe ? String(UnicodeScalar(byte)) : "%" + hex[Int(byte >> 4)] + hex[Int(byte & 0x0F)]
    }
    return out + ".pem"
  }
}
