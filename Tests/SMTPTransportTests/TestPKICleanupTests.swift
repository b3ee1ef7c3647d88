import Foundation
import MailSenderTesting
import Testing

/// The test kit's own hygiene: the process-wide test certificates live in a folder that goes when the process
/// does (a full run made one per test process and exit test, and left hundreds in /tmp).
@Suite("Test certificates leave nothing behind")
struct TestPKICleanupTests {
  @Test("the shared PKI's folder is removed when the process that made it exits")
  func sharedFolderGoesWithTheProcess() async throws {
    let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
      let pki = try TestPKI.shared()
      print(pki.directory)
      exit(0)
    }
    let printed = String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
    let directory = printed.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(directory.contains("sealpost-pki"), "the child printed no folder: \(printed)")
    #expect(!directory.isEmpty && !FileManager.default.fileExists(atPath: directory))
  }
}
