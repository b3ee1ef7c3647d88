import Foundation
import MailSender

/// stdout for the transcript (flushed per event), stderr for the verdict (DESIGN §4).
enum Output {
  static func transcript(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
  }

  static func verdict(_ line: String) {
    FileHandle.standardError.write(Data(("sealpost: " + line + "\n").utf8))
  }
}

/// Input files: missing or unreadable → 66.
enum Input {
  static func checkReadable(_ path: String, what: String) throws(SendFailure) {
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw SendFailure(.noInput, "cannot read the \(what) \(UntrustedText(path).escaped)")
    }
  }

  static func read(_ path: String, what: String) throws(SendFailure) -> [UInt8] {
    if path == "-" {
      return [UInt8](FileHandle.standardInput.readDataToEndOfFile())
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw SendFailure(.noInput, "cannot read the \(what) \(UntrustedText(path).escaped)")
    }
    return [UInt8](data)
  }
}
