import ComposerCore

/// The lines of a message that arrives a piece at a time: the first `limit` kept (each cut at
/// ``maximumLineBytes``), the rest only counted, so a message of any size takes bounded memory.
struct RawLines {
  /// A kept line longer than this is cut (the raw view wraps lines; a message's lines are at most 998).
  static let maximumLineBytes = 4096

  let limit: Int
  private var lines: [String] = []
  private var omitted = 0
  private var current: [UInt8] = []
  /// Bytes in the current line so far, kept or not.
  private var currentLength = 0

  init(limit: Int) { self.limit = max(0, limit) }

  mutating func add(_ bytes: ArraySlice<UInt8>) {
    for byte in bytes {
      if byte == UInt8(ascii: "\n") {
        if current.last == UInt8(ascii: "\r") { current.removeLast() }
        endLine()
        continue
      }
      currentLength += 1
      if lines.count < limit, current.count <= Self.maximumLineBytes { current.append(byte) }
    }
  }

  private mutating func endLine() {
    if lines.count < limit {
      lines.append(String(decoding: current.prefix(Self.maximumLineBytes), as: UTF8.self))
    } else {
      omitted += 1
    }
    current.removeAll(keepingCapacity: true)
    currentLength = 0
  }

  /// The lines read; a last line without a line end counts too.
  mutating func finish() -> RawMessage {
    if currentLength > 0 { endLine() }
    return RawMessage(lines: lines, omittedLines: omitted)
  }
}
