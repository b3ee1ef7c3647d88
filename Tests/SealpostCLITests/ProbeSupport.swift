import Foundation
import MailSenderTesting
import PropertyTesting
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Runs `openssl s_client -msg` against a test server and reads the handshake from its output.
enum SClient {
  struct Result {
    var status: Int32
    var output: String
    var killed: Bool
  }

  /// Runs s_client with `arguments`, writes `QUIT` and closes stdin (`-ign_eof` keeps it going until the
  /// server closes after its 221); killed with SIGKILL after `seconds`.
  static func run(_ arguments: [String], seconds: Double = 10) throws -> Result {
    let directory = NSTemporaryDirectory() + "sealpost-sclient-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let outPath = directory + "/out"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = ["s_client", "-msg", "-ign_eof"] + arguments
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardOutput = output
    process.standardError = output
    let input = Pipe()
    process.standardInput = input
    try process.run()
    input.fileHandleForWriting.write(Data("QUIT\r\n".utf8))
    try input.fileHandleForWriting.close()
    let end = Date().addingTimeInterval(seconds)
    var killed = false
    while process.isRunning {
      if Date() >= end {
        kill(process.processIdentifier, SIGKILL)
        killed = true
        break
      }
      usleep(10_000)
    }
    process.waitUntilExit()
    let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    return Result(status: process.terminationStatus, output: text, killed: killed)
  }

  /// "> ClientHello", "< ServerHello", "< ChangeCipherSpec"… from `-msg` lines such as
  /// `>>> TLS 1.3, Handshake [length 00c5], ClientHello`. A received ChangeCipherSpec shows up only as a record
  /// header whose first byte is 14 (the hex line under `<<< … RecordHeader`).
  static func messages(_ output: String) -> [String] {
    let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var result: [String] = []
    var lastWasReceivedCCSHeader = false
    for (index, line) in lines.enumerated() {
      let sent = line.hasPrefix(">>> ")
      guard sent || line.hasPrefix("<<< ") else { continue }
      let arrow = sent ? ">" : "<"
      if line.contains(", RecordHeader ") {
        let hex = index + 1 < lines.count ? lines[index + 1].trimmingCharacters(in: .whitespaces) : ""
        lastWasReceivedCCSHeader = !sent && hex.hasPrefix("14 ")
        if lastWasReceivedCCSHeader { result.append("< ChangeCipherSpec") }
        continue
      }
      if line.contains(", ChangeCipherSpec ") {
        if !sent && lastWasReceivedCCSHeader { continue }
        result.append("\(arrow) ChangeCipherSpec")
      } else if line.contains(", Handshake "), let comma = line.range(of: "], ", options: .backwards) {
        result.append("\(arrow) \(line[comma.upperBound...])")
      }
    }
    return result
  }
}

/// The probe's handshake trace from its `--json` document.
enum ProbeJSONDocument {
  static func parse(_ stdout: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
    return try #require(object as? [String: Any])
  }

  static func messages(_ document: [String: Any]) throws -> [String] {
    let steps = try #require(document["handshake"] as? [[String: Any]])
    return try steps.map { step in
      let direction = try #require(step["direction"] as? String)
      let record = try #require(step["record"] as? String)
      let message = try #require(step["message"] as? String)
      let arrow = direction == "sent" ? ">" : "<"
      return record == "alert" ? "\(arrow) alert \(message)" : "\(arrow) \(message)"
    }
  }
}

/// Validates JSON documents against the probe schema with Python's jsonschema (a validator nobody here wrote).
enum ProbeSchema {
  static var path: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Sources/MailSender/Schemas/probe.schema.json").path
  }

  /// The validator's status for `document` (0 = valid).
  static func validate(_ document: String) throws -> Int32 {
    try JSONSchemaValidator.shared(schema: path).status(of: document)
  }
}

/// What OpenSSL's own tools print for a certificate file.
enum OpenSSLFacts {
  /// `openssl x509 -noout -fingerprint -sha256` → "AB:CD:…".
  static func fingerprint(_ pki: TestPKI, _ path: String) throws -> String {
    let output = String(
      decoding: try pki.openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", path]), as: UTF8.self)
    return try #require(output.split(separator: "=").last).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`.
  static func pin(_ pki: TestPKI, _ path: String) throws -> String {
    let pem = try pki.openssl(["x509", "-pubkey", "-noout", "-in", path])
    let der = try pki.openssl(["pkey", "-pubin", "-outform", "der"], input: pem)
    let digest = try pki.openssl(["dgst", "-sha256", "-binary"], input: der)
    let base64 = String(decoding: try pki.openssl(["base64"], input: digest), as: UTF8.self)
    return "sha256/" + base64.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
