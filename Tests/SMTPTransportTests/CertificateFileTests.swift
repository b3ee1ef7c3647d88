import Foundation
import MailSenderTesting
import SMTPTransport
import Testing

@Suite("reading a CA file")
struct CertificateFileTests {
  @Test("a small CA file is read whole into a buffer of its own size, not one of the 4 MiB limit")
  func smallFileSmallBuffer() throws {
    let pki = try TestPKI.shared()
    let expected = Array(try Data(contentsOf: URL(fileURLWithPath: pki.caCertificatePath)))
    let bytes = try CertificateFile.contents(atPath: pki.caCertificatePath).get()
    #expect(bytes == expected)
    // Issue 14: zeroing a buffer of the limit cost more than parsing the file, and the bytes (kept as the key
    // of the process's TLS context) held on to it.
    #expect(bytes.capacity < 64 << 10, "a \(expected.count)-octet file kept a \(bytes.capacity)-octet buffer")
  }

  @Test("a file of exactly the limit is read whole; one octet more is refused")
  func limit() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let atLimit = directory.file("at-limit.pem")
    let overLimit = directory.file("over-limit.pem")
    try Data(repeating: 0x41, count: CertificateFile.maximumSize).write(to: URL(fileURLWithPath: atLimit))
    try Data(repeating: 0x41, count: CertificateFile.maximumSize + 1).write(
      to: URL(fileURLWithPath: overLimit))
    #expect((try? CertificateFile.contents(atPath: atLimit).get())?.count == CertificateFile.maximumSize)
    if case .failure(let failure) = CertificateFile.contents(atPath: overLimit) {
      #expect(failure.message == "it is larger than 4 MiB")
    } else {
      Issue.record("a file over the limit was read")
    }
    #expect(CertificateFile.problem(atPath: atLimit) == "it holds no PEM certificate")
  }
}
