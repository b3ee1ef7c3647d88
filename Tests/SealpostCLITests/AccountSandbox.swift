import Foundation
import MailSenderTesting

/// A private HOME, XDG_CONFIG_HOME and TMPDIR for one CLI test, plus a folder for fake programs on PATH.
struct AccountSandbox {
  let root: String
  var home: String { root + "/home" }
  var xdg: String { root + "/xdg" }
  var tmp: String { root + "/tmp" }
  var bin: String { root + "/bin" }
  /// Files the test itself wrote (configs, fake programs): they may hold the password on purpose.
  private(set) var inputs: Set<String> = []

  init() throws {
    root = try TemporaryDirectory(prefix: "sealpost-accounts-cli").path
    for folder in [home, xdg, tmp, bin] {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
  }

  func remove() { try? FileManager.default.removeItem(atPath: root) }

  var environment: [String: String] {
    [
      "HOME": home, "XDG_CONFIG_HOME": xdg, "TMPDIR": tmp,
      "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
    ]
  }

  /// Writes `text` to `path` with `mode` (creating folders) and returns the path.
  @discardableResult
  mutating func write(_ text: String, to path: String, mode: Int = 0o600) throws -> String {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    inputs.insert(path)
    return path
  }

  /// A fake `secret-tool` first on PATH.
  mutating func fakeSecretTool(_ script: String) throws {
    let path = bin + "/secret-tool"
    try TestProgram.write("#!/bin/sh\n" + script + "\n", to: path)
    inputs.insert(path)
  }

  /// Every regular file under the sandbox that the test did not write itself.
  func writtenFiles() -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
    var files: [String] = []
    for case let relative as String in walker {
      let path = root + "/" + relative
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
        !inputs.contains(path)
      {
        files.append(path)
      }
    }
    return files
  }
}
