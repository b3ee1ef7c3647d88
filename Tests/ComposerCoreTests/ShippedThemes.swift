import Foundation

@testable import ComposerCore

/// A shipped theme file, parsed.
func shippedTheme(_ name: String) throws -> ThemeFile {
  let url = repositoryRoot.appendingPathComponent("themes/\(name).theme")
  let text = try String(contentsOf: url, encoding: .utf8)
  return try ThemeFile(parsing: text, name: name, file: "themes/\(name).theme")
}
