import ComposerCore
import FoundationEssentials

/// Finds and parses a theme by name (DESIGN §7): `$XDG_CONFIG_HOME/sealpost/themes/NAME.theme` (the person's
/// own), then the `themes/` shipped beside the executable (`…/share/sealpost/themes`, or the source tree's
/// `themes/` above a build directory). A broken file is an error with `file:line`, before the screen opens.
public enum ThemeLoader {
  /// Why a theme cannot be had.
  public struct Failure: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// The file exists but does not parse (78), as opposed to a name that is not found.
    public var isBrokenFile: Bool
  }

  /// The directories looked in, in order.
  public static func directories(environment: [String: String], executable: String) -> [String] {
    var found: [String] = []
    if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
      found.append(xdg + "/sealpost/themes")
    } else if let home = environment["HOME"], !home.isEmpty {
      found.append(home + "/.config/sealpost/themes")
    }
    var directory = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<6 {
      for candidate in ["share/sealpost/themes", "themes"] {
        let path = directory.appendingPathComponent(candidate).path
        if FileManager.default.fileExists(atPath: path + "/default.theme") && !found.contains(path) {
          found.append(path)
        }
      }
      let up = directory.deletingLastPathComponent()
      if up.path == directory.path { break }
      directory = up
    }
    return found
  }

  /// The theme `name` from the first directory that has it.
  public static func load(_ name: String, directories: [String]) throws(Failure) -> ThemeFile {
    let allowed = name.unicodeScalars.allSatisfy {
      $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "-" || $0 == "_")
    }
    guard !name.isEmpty, name.count <= 64, allowed else {
      throw Failure(description: "a theme name takes letters, digits, - and _", isBrokenFile: false)
    }
    for directory in directories {
      let path = directory + "/" + name + ".theme"
      guard FileManager.default.fileExists(atPath: path) else { continue }
      guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20,
        let text = String(data: data, encoding: .utf8)
      else {
        throw Failure(
          description: "\(path): cannot read the theme (or it is not UTF-8 text)", isBrokenFile: true)
      }
      do throws(ThemeError) {
        return try ThemeFile(parsing: text, name: name, file: path)
      } catch {
        throw Failure(description: error.description, isBrokenFile: true)
      }
    }
    if name == "default" {
      do throws(ThemeError) {
        return try ThemeFile(
          parsing: ThemeFile.builtInDefaultText, name: name, file: "(built-in default theme)")
      } catch {
        throw Failure(description: error.description, isBrokenFile: true)
      }
    }
    let looked =
      directories.isEmpty
      ? "no theme directory was found" : "looked in " + directories.joined(separator: ", ")
    throw Failure(
      description: "no theme \(name) (\(looked); shipped: \(ThemeFile.shippedNames.joined(separator: ", ")))",
      isBrokenFile: false)
  }
}
