import Foundation

/// A directory under the system temp folder that a test owns; removed by `remove()`.
public struct TemporaryDirectory: Sendable {
  public let path: String

  public init(prefix: String = "sealpost-test") throws {
    let base = NSTemporaryDirectory()
    let url = URL(fileURLWithPath: base).appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    self.path = url.path
  }

  /// The absolute path of `name` inside this directory.
  public func file(_ name: String) -> String { path + "/" + name }

  public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
