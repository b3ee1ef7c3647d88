import ComposerCore
import Testing

@testable import ComposerApp

@Suite struct ThemeLoaderTests {
  /// A binary copied without its `themes/` folder still opens with the default theme; other names still need
  /// their file.
  @Test func theDefaultThemeNeedsNoFile() throws {
    let theme = try ThemeLoader.load("default", directories: [])
    #expect(theme.name == "default")
    #expect(throws: ThemeLoader.Failure.self) { try ThemeLoader.load("light", directories: []) }
  }
}
