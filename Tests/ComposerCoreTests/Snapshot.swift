import Foundation
import Testing

@testable import ComposerCore

/// A snapshot file under Snapshots/, written by hand:
///
/// ```
/// # comments
/// |row 0 as it shows|
/// |row 1            |
/// --- styles
/// |aaaaabbbbbbbbbbbb|
/// |aaaaaaaaaaaaaaaaa|
/// --- legend
/// a = plain
/// b = fg=cyan bg=default bold underline reverse dim
/// ```
///
/// Each row is the buffer's row between bars (a wide character takes its two columns in a monospace font);
/// the style grid, when present, has one letter a cell (a wide character's two cells have the same letter), and
/// the legend says what each letter's style is: colours by name or number, attributes by name.
struct Snapshot {
  var rows: [String] = []
  var styleRows: [String] = []
  var legend: [Character: Style] = [:]

  init(named name: String) throws {
    let url = repositoryRoot.appendingPathComponent("Tests/ComposerCoreTests/Snapshots/\(name).txt")
    let text = try String(contentsOf: url, encoding: .utf8)
    var section = "grid"
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("#") || line.isEmpty { continue }
      if line == "--- styles" || line == "--- legend" {
        section = String(line.dropFirst(4))
        continue
      }
      switch section {
      case "grid": rows.append(try Self.unbarred(line))
      case "styles": styleRows.append(try Self.unbarred(line))
      default:
        let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
        guard parts.count == 2, parts[0].count == 1, let letter = parts[0].first else {
          throw SnapshotError(message: "bad legend line \(line)")
        }
        legend[letter] = try Self.style(parts[1])
      }
    }
  }

  static func unbarred(_ line: Substring) throws -> String {
    guard line.count >= 2, line.first == "|", line.last == "|" else {
      throw SnapshotError(message: "a row must be between bars: \(line)")
    }
    return String(line.dropFirst().dropLast())
  }

  static func style(_ text: Substring) throws -> Style {
    var style = Style()
    for word in text.split(separator: " ") {
      switch word {
      case "plain": continue
      case "bold": style.bold = true
      case "underline": style.underline = true
      case "reverse": style.reverse = true
      case "dim": style.dim = true
      default:
        let parts = word.split(separator: "=")
        guard parts.count == 2, let color = ThemeFile.color(parts[1]) else {
          throw SnapshotError(message: "bad style word \(word)")
        }
        let terminal: TerminalColor
        switch color {
        case .default: terminal = .default
        case .index(let index): terminal = .index(index)
        case .rgb: throw SnapshotError(message: "write a palette index, not \(word)")
        }
        if parts[0] == "fg" { style.foreground = terminal } else { style.background = terminal }
      }
    }
    return style
  }

  /// Compares `buffer` with this snapshot; on a difference records an issue showing the buffer as rendered.
  func verify(_ buffer: ScreenBuffer, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(
      buffer.lines == rows, "text differs; the buffer shows:\n\(Self.render(buffer))",
      sourceLocation: sourceLocation)
    guard !styleRows.isEmpty else { return }
    #expect(styleRows.count == buffer.height, sourceLocation: sourceLocation)
    var mismatches: [String] = []
    for (y, row) in styleRows.enumerated() where y < buffer.height {
      let letters = Array(row)
      #expect(
        letters.count == buffer.width, "style row \(y) has \(letters.count) letters",
        sourceLocation: sourceLocation)
      for (x, letter) in letters.enumerated() where x < buffer.width {
        guard let expected = legend[letter] else {
          mismatches.append("(\(x),\(y)): no legend for \(letter)")
          continue
        }
        if buffer[x, y].style != expected {
          mismatches.append("(\(x),\(y)) \(letter): expected \(expected), found \(buffer[x, y].style)")
        }
      }
    }
    if !mismatches.isEmpty {
      Issue.record(
        "\(mismatches.count) cells differ in style, first: \(mismatches.prefix(3).joined(separator: "; "))",
        sourceLocation: sourceLocation)
    }
  }

  static func render(_ buffer: ScreenBuffer) -> String {
    buffer.lines.map { "|" + $0 + "|" }.joined(separator: "\n")
  }
}

struct SnapshotError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}
