import Foundation
import Testing

@testable import ComposerCore

/// The process locale the composer runs in (DESIGN §7): tests set it as the curses backend will.
/// `DisplayWidth` itself counts in `C.UTF-8` whatever the process locale is, so a test elsewhere that
/// changes the process locale cannot change a width here.
func useUTF8Locale() {
  #expect(DisplayWidth.setProcessLocaleToUTF8(), "the C.UTF-8 locale is missing")
  #expect(DisplayWidth.hasUTF8Locale)
}

/// The repository's top folder.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()
