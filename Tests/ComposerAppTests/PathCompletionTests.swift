import ComposerCore
import Foundation
import MailSenderTesting
import Testing

@testable import ComposerApp

/// Review: Tab completion read the whole folder and sorted it before the limit applied, so a folder of 100,000
/// files stalled the key. The work is now bounded by the limit, whatever the folder holds.
@Suite struct PathCompletionTests {
  /// Names handed out one at a time, counting how many were taken.
  final class CountingNames: Sequence, IteratorProtocol {
    let total: Int
    private(set) var taken = 0
    init(_ total: Int) { self.total = total }
    func next() -> String? {
      guard taken < total else { return nil }
      taken += 1
      // Not in order, as readdir gives them.
      return "file-\((taken * 7_919) % total)"
    }
  }

  @Test func aHugeFolderIsReadNoFurtherThanTheMatchAfterTheLimit() {
    let names = CountingNames(100_000)
    let (found, more) = PathCompletion.matches(names, stem: "file-", limit: PathCompletion.limit)
    #expect(names.taken == PathCompletion.limit + 1, "read \(names.taken) names of 100,000")
    #expect(found.count == PathCompletion.limit)
    #expect(more)
    #expect(found == found.sorted(), "the ones kept are sorted")
  }

  @Test func aFolderWithinTheLimitIsListedWholeAndSorted() {
    let (found, more) = PathCompletion.matches(
      ["b.txt", ".hidden", "a.txt", "notes", "a.pdf"], stem: "a", limit: PathCompletion.limit)
    #expect(found == ["a.pdf", "a.txt"])
    #expect(!more)
    #expect(PathCompletion.matches([".hidden", ".x", "y"], stem: ".", limit: 1) == ([".hidden"], true))
  }

  @Test func theRealFolderSaysMoreAndTheListStaysSorted() throws {
    let directory = try TemporaryDirectory(prefix: "sealpost-completion")
    defer { directory.remove() }
    for index in 0..<(PathCompletion.limit + 50) {
      _ = FileManager.default.createFile(atPath: directory.file("report-\(index).txt"), contents: nil)
    }
    try FileManager.default.createDirectory(
      atPath: directory.file("reports"), withIntermediateDirectories: false)
    let found = PathCompletion.candidates(for: directory.path + "/rep")
    #expect(found.more)
    #expect(found.candidates.count == PathCompletion.limit)
    #expect(found.candidates == found.candidates.sorted())
    #expect(found.candidates.allSatisfy { $0.hasPrefix(directory.path + "/report") })
    let only = PathCompletion.candidates(for: directory.path + "/reports")
    #expect(only == PathCompletion.Found(candidates: [directory.path + "/reports/"], more: false))
    #expect(PathCompletion.candidates(for: directory.path + "/nothing/x").candidates.isEmpty)
  }
}
