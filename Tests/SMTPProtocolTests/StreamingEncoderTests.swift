import PropertyTesting
import SMTPProtocol
import Testing

/// The buffer form of `DataEncoder` (issue 10): the session encodes each read of the message into a fixed
/// buffer, so the line-start and held-CR state must carry across any split point, for both framings, and give
/// exactly what one call over the whole message gives.
@Suite struct StreamingEncoderTests {
  /// The whole message in one call (the reference), then the same message split at random points and fed
  /// through the pointer form into one fixed buffer per piece.
  static func whole(_ input: [UInt8], framing: DataEncoder.Framing) -> (
    bytes: [UInt8], lines: Int, octets: Int
  ) {
    var encoder = DataEncoder(framing: framing)
    var output: [UInt8] = []
    encoder.encode(input, into: &output)
    encoder.finish(into: &output)
    return (output, encoder.lineCount, encoder.byteCount)
  }

  static func pieces(_ input: [UInt8], splits: [Int], framing: DataEncoder.Framing) -> (
    bytes: [UInt8], lines: Int, octets: Int
  ) {
    var encoder = DataEncoder(framing: framing)
    var output: [UInt8] = []
    var start = 0
    for end in splits + [input.count] {
      let piece = Array(input[start..<end])
      start = end
      // A buffer of exactly the documented maximum, filled with a byte the encoder never writes on its own.
      var buffer = [UInt8](repeating: 0xEE, count: DataEncoder.maximumEncodedCount(piece.count))
      let written = piece.withUnsafeBytes { source in
        buffer.withUnsafeMutableBytes { encoder.encode(source, into: $0) }
      }
      output += buffer[0..<written]
    }
    encoder.finish(into: &output)
    return (output, encoder.lineCount, encoder.byteCount)
  }

  static func content(_ gen: inout Gen) -> [UInt8] {
    let pieces: [[UInt8]] = [
      [0x0D], [0x0A], [0x0D, 0x0A], [0x2E], [0x2E, 0x0D, 0x0A], [0x0D, 0x0A, 0x2E], [0x41],
      Array("a longer run of text without any line end".utf8), [0x0A, 0x2E, 0x2E], [0xC3, 0xA9],
    ]
    switch gen.int(0...2) {
    case 0: return gen.bytes(maxLength: 2000)
    case 1: return (0..<gen.length(max: 400)).flatMap { _ in gen.pick(pieces) }
    default: return gen.mutate((0..<gen.length(max: 200)).flatMap { _ in gen.pick(pieces) })
    }
  }

  @Test(arguments: [DataEncoder.Framing.dotTerminated, .chunked])
  func piecesAtRandomSplitPointsGiveTheWholeMessageEncoding(framing: DataEncoder.Framing) {
    for propertyCase in Property.cases("StreamingEncoder \(framing)", count: 1500) {
      var gen = propertyCase.generator
      let input = Self.content(&gen)
      let reference = Self.whole(input, framing: framing)
      for _ in 0..<4 {
        var splits: [Int] = []
        if !input.isEmpty {
          // Every split point at most once, in order; sometimes one octet pieces, sometimes a few large ones.
          let count = gen.int(0...min(input.count, gen.chance(20) ? input.count : 8))
          splits = Array(Set((0..<count).map { _ in gen.int(0...input.count) })).sorted()
        }
        let split = Self.pieces(input, splits: splits, framing: framing)
        guard
          holds(
            split.bytes == reference.bytes && split.lines == reference.lines
              && split.octets == reference.octets,
            propertyCase, "split at \(splits) the encoding differs from the whole message's")
        else { return }
      }
    }
  }

  /// Hand-written: what crosses a boundary. A CR at the end of a piece whose LF starts the next, a line end at
  /// the end of a piece and a dot at the start of the next, an empty piece between.
  @Test(arguments: [
    (["a\r", "\nb"], "a\r\nb\r\n.\r\n"),
    (["a\r", "", "\n.b"], "a\r\n..b\r\n.\r\n"),
    (["a\n", ".b"], "a\r\n..b\r\n.\r\n"),
    (["a\r", ".b"], "a\r\n..b\r\n.\r\n"),
    (["a", ".b"], "a.b\r\n.\r\n"),
    (["\r", "\r", "\n"], "\r\n\r\n.\r\n"),
    ([".", "."], "...\r\n.\r\n"),
  ])
  func stateCrossesPieceBoundaries(pieces: [String], wire: String) {
    var encoder = DataEncoder()
    var output: [UInt8] = []
    for piece in pieces {
      let bytes = Array(piece.utf8)
      var buffer = [UInt8](repeating: 0, count: DataEncoder.maximumEncodedCount(bytes.count))
      let written = bytes.withUnsafeBytes { source in
        buffer.withUnsafeMutableBytes { encoder.encode(source, into: $0) }
      }
      output += buffer[0..<written]
    }
    encoder.finish(into: &output)
    #expect(String(decoding: output, as: UTF8.self) == wire)
  }

  /// The worst case for the bound: every octet a bare line end, after a held CR.
  @Test func theMaximumEncodedCountIsReachedAndNeverExceeded() {
    var encoder = DataEncoder()
    var output: [UInt8] = []
    encoder.encode([0x0D], into: &output)
    let input = [UInt8](repeating: 0x0A, count: 1)
    var buffer = [UInt8](repeating: 0, count: DataEncoder.maximumEncodedCount(input.count))
    // The held CR and the LF make one CRLF: 2 octets of a maximum of 4.
    let first = input.withUnsafeBytes { source in
      buffer.withUnsafeMutableBytes { encoder.encode(source, into: $0) }
    }
    #expect(first == 2)
    var fresh = DataEncoder()
    fresh.encode([0x0D], into: &output)
    let dots = [UInt8(ascii: ".")]
    let second = dots.withUnsafeBytes { source in
      buffer.withUnsafeMutableBytes { fresh.encode(source, into: $0) }
    }
    #expect(second == DataEncoder.maximumEncodedCount(1))
    #expect(Array(buffer[0..<second]) == [0x0D, 0x0A, 0x2E, 0x2E])
  }
}
