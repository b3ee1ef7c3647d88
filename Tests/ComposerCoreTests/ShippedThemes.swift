import Foundation
import Testing

@testable import ComposerCore

/// A shipped theme file, parsed.
func shippedTheme(_ name: String) throws -> ThemeFile {
  let url = repositoryRoot.appendingPathComponent("themes/\(name).theme")
  let text = try String(contentsOf: url, encoding: .utf8)
  return try ThemeFile(parsing: text, name: name, file: "themes/\(name).theme")
}

@Suite struct BuiltInThemeTests {
  /// The built-in default is the shipped file, word for word, and parses.
  @Test func theBuiltInDefaultIsTheShippedFile() throws {
    let url = repositoryRoot.appendingPathComponent("themes/default.theme")
    #expect(try String(contentsOf: url, encoding: .utf8) == ThemeFile.builtInDefaultText)
    _ = try ThemeFile(parsing: ThemeFile.builtInDefaultText, name: "default", file: "built-in")
  }
}
