import Foundation
import MailSenderTesting
import MessageProtection
import Testing

@testable import SendPlanning

/// Certificates for S/MIME encryption (issue 15): each refusal typed, with its reason.
@Suite struct SMIMECertificateTests {
  static func certificate(_ kind: SMIMETestKind) throws -> SMIMECertificate {
    let path = try TestPKI.shared().smime(kind).certificatePath
    return try SMIMECertificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
  }

  static var trust: SMIMETrust { SMIMETrust(caFile: try? TestPKI.shared().smimeCACertificatePath) }

  @Test func aValidCertificateIsUsableForItsAddressInAnyDomainCase() throws {
    let bob = try Self.certificate(.bob)
    #expect(bob.addresses == ["bob@example.test"])
    #expect(bob.refusal(forEncryptionTo: "bob@example.test", trust: Self.trust) == nil)
    #expect(bob.refusal(forEncryptionTo: "bob@EXAMPLE.Test", trust: Self.trust) == nil)
    #expect(bob.fingerprint.split(separator: ":").count == 32)
  }

  @Test func eachRefusalIsTypedWithItsReason() throws {
    let expired = try Self.certificate(.expired)
    #expect(
      expired.refusal(forEncryptionTo: "dave@example.test", trust: Self.trust) == .expired("2021-01-01"))
    let signOnly = try Self.certificate(.signOnly)
    #expect(
      signOnly.refusal(forEncryptionTo: "erin@example.test", trust: Self.trust)
        == .keyUsage("keyEncipherment"))
    let bob = try Self.certificate(.bob)
    #expect(
      bob.refusal(forEncryptionTo: "zed@example.test", trust: Self.trust)
        == .addressMismatch(["bob@example.test"]))
    // The local part is not folded: only the domain is case-insensitive.
    #expect(bob.refusal(forEncryptionTo: "Bob@example.test", trust: Self.trust) != nil)
    let unknown = try Self.certificate(.unknownCA)
    guard
      case .untrusted(let reason)? = unknown.refusal(forEncryptionTo: "frank@example.test", trust: Self.trust)
    else {
      Issue.record("an unknown CA must be refused as untrusted")
      return
    }
    #expect(reason.contains("issuer certificate"))
    // The system store does not hold the test CA either.
    guard case .untrusted? = bob.refusal(forEncryptionTo: "bob@example.test", trust: SMIMETrust()) else {
      Issue.record("the test CA is not in the system store")
      return
    }
  }

  @Test func notACertificateIsRefused() {
    #expect(throws: ProtectionError.self) { try SMIMECertificate(pem: Array("hello\n".utf8)) }
    #expect(throws: ProtectionError.self) {
      try SMIMECertificate(pem: Array("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8))
    }
  }

  @Test func storeFileNamesCannotLeaveTheFolder() {
    #expect(CertificateStore.fileName(for: "Bob@Example.TEST") == "Bob@example.test.pem")
    #expect(CertificateStore.fileName(for: "../../x@y") == "%2E.%2F..%2Fx@y.pem")
    #expect(!CertificateStore.fileName(for: "a/b\u{0}@c").contains("/"))
  }

  /// Red-team: escapes without a zero made `a\x07B@x.org` and `a{@x.org` the same file (`a%7B@x.org.pem`), so
  /// one recipient's certificate could be stored over, or found as, another's.
  @Test func storeFileNamesEscapeWithTwoDigits() {
    #expect(CertificateStore.fileName(for: "a\u{07}B@x.org") == "a%07B@x.org.pem")
    #expect(CertificateStore.fileName(for: "a{@x.org") == "a%7B@x.org.pem")
    #expect(CertificateStore.fileName(for: "a\u{0}@c") == "a%00@c.pem")
    // Every byte gets a name of its own: no two one-byte local parts share a file.
    let names = Set(
      (0...0x7F).map { CertificateStore.fileName(for: String(UnicodeScalar(UInt8($0))) + "@x.org") })
    #expect(names.count == 0x80)
  }

  @Test func theStoreAddsListsAndFindsByAddress() throws {
    let directory = try TemporaryDirectory(prefix: "sealpost-certs")
    defer { directory.remove() }
    let store = CertificateStore(directory: directory.path + "/certs")
    let names = try store.add(try Self.certificate(.bob))
    #expect(names == ["bob@example.test.pem"])
    var info = stat()
    #expect(stat(directory.path + "/certs", &info) == 0)
    #expect(info.st_mode & 0o777 == 0o700)
    #expect(store.entries().map(\.name) == ["bob@example.test.pem"])
    #expect(store.certificates(for: "bob@EXAMPLE.test").count == 1)
    #expect(store.certificates(for: "carol@example.test").isEmpty)
  }

  /// A self-signed certificate for `address`, valid ten years (longer than the test CA's people's), not a CA's.
  static func selfSigned(for address: String, in directory: TemporaryDirectory) throws -> String {
    let config = directory.file("evil.cnf")
    try Data(
      """
      [req]
      distinguished_name = dn
      x509_extensions = ext
      prompt = no
      [dn]
      CN = Evil
      [ext]
      basicConstraints = critical,CA:FALSE
      keyUsage = digitalSignature, keyEncipherment
      subjectAltName = email:\(address)

      """.utf8
    ).write(to: URL(fileURLWithPath: config))
    let path = directory.file("evil.pem")
    _ = try TestPKI.shared().openssl([
      "req", "-x509", "-config", config, "-newkey", "rsa:2048", "-nodes", "-keyout",
      directory.file("evil.key"),
      "-out", path, "-days", "3650",
    ])
    return path
  }

  /// Red-team: `certs add alice.crt`, then `certs add` of a bundle of bob's, the CA's and a self-signed
  /// certificate for alice (valid longer) stored the self-signed one in place of alice's CA-issued certificate,
  /// silently, "with the file's CA certificates as its chain". A certificate the file's CA certificates issued
  /// now wins over one valid longer; one that replaces a stored certificate says which; and only one the CA
  /// certificates issued is said to have them as its chain.
  @Test func aBundleNeverSilentlyReplacesACAIssuedCertificate() throws {
    let directory = try TemporaryDirectory(prefix: "sealpost-certs")
    defer { directory.remove() }
    let pki = try TestPKI.shared()
    func pem(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    let evilPath = try Self.selfSigned(for: "alice@example.test", in: directory)
    let store = CertificateStore(directory: directory.path + "/certs")
    let alice = try Self.certificate(.alice)
    try store.add(alice)

    // The file holds alice's CA-issued certificate and the self-signed one valid longer: the issued one wins.
    let both = try SMIMECertificate.each(
      pem: try pem(pki.smime(.alice).certificatePath) + pem(pki.smimeCACertificatePath) + pem(evilPath))
    #expect(both[0].isIssuedByItsChain && !both[2].isIssuedByItsChain)
    #expect(both[2].notAfter > both[0].notAfter, "the self-signed one is valid longer")
    let kept = try store.add(each: both)
    guard case .stored(let stored, _, let replaced) = kept[0], case .skipped(_, let reason) = kept[2] else {
      Issue.record("alice's CA-issued certificate must be kept: \(kept)")
      return
    }
    #expect(
      stored.fingerprint == alice.fingerprint && replaced.isEmpty, "the same certificate: no replacement")
    #expect(reason.contains("issued by the file's CA certificates"))
    #expect(store.certificates(for: "alice@example.test").map(\.fingerprint) == [alice.fingerprint])

    // Alone for alice in a file (with bob's and the CA's), it is still stored, but says what it replaces.
    let bundle = try SMIMECertificate.each(
      pem: try pem(pki.smime(.bob).certificatePath) + pem(pki.smimeCACertificatePath) + pem(evilPath))
    #expect(bundle[0].isIssuedByItsChain && !bundle[2].isIssuedByItsChain)
    let additions = try store.add(each: bundle)
    guard case .stored(_, let bobNames, let bobReplaced) = additions[0],
      case .stored(_, let names, let replacedAlice) = additions[2]
    else {
      Issue.record("bob's and the self-signed one are stored: \(additions)")
      return
    }
    #expect(bobNames == ["bob@example.test.pem"] && bobReplaced.isEmpty)
    #expect(names == ["alice@example.test.pem"])
    #expect(replacedAlice.map(\.name) == ["alice@example.test.pem"])
    #expect(replacedAlice.map(\.fingerprint) == [alice.fingerprint])
    #expect(replacedAlice.first?.storedAt != nil)
    // A certificate alone in its file has no chain that issued it.
    #expect(!alice.isIssuedByItsChain)
  }
}
