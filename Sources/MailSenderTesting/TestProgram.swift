import Foundation

/// Programs a test writes and then runs (a fake `secret-tool`, an editor, a password command).
public enum TestProgram {
  /// Writes `text` as an executable (mode 0700) at `path`. This process never holds a write descriptor on it: a
  /// child spawned meanwhile by another test would inherit that descriptor, and running the program would then
  /// fail with ETXTBSY (exit 126 from the shell; seen in full `swift test` runs under load). The text is staged
  /// in another file and copied by `cp`, whose descriptor ends with it.
  public static func write(_ text: String, to path: String) throws {
    let staging = path + ".staging"
    try Data(text.utf8).write(to: URL(fileURLWithPath: staging))
    let copy = Process()
    copy.executableURL = URL(fileURLWithPath: "/bin/cp")
    copy.arguments = [staging, path]
    try copy.run()
    copy.waitUntilExit()
    try FileManager.default.removeItem(atPath: staging)
    guard copy.terminationStatus == 0 else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
    try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
  }
}
