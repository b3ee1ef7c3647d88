import Testing

@testable import SMTPTransport

/// The names `openssl rehash` (and Debian's `update-ca-certificates`) give certificates in a store directory:
/// the subject hash as eight lowercase hex digits, a dot and a number; `.rN` are CRLs.
@Suite struct SystemTrustStoreNameTests {
  @Test(
    arguments: [
      ("5ad8a5d6.0", true), ("5ad8a5d6.12", true), ("00000000.9", true),
      ("5AD8A5D6.0", false), ("5ad8a5d6.r0", false), ("5ad8a5d.0", false), ("5ad8a5d6.", false),
      ("5ad8a5d6", false), ("ca-certificates.crt", false), ("5ad8a5d6x0", false), ("g0000000.0", false),
      ("5ad8a5d6.0.pem", false),
    ] as [(String, Bool)])
  func subjectHashNames(name: String, expected: Bool) {
    #expect(SystemTrustStore.isHashedName(Array(name.utf8)) == expected)
  }

  @Test func aFolderWithoutSuchNamesIsNotAStoreDirectory() {
    #expect(!SystemTrustStore.hasHashedName("/nonexistent-\(UInt64.random(in: 0...UInt64.max))"))
  }
}
