import Foundation

/// Deterministic property testing for Sealpost's parsers and encoders (DESIGN §8, §9).
///
/// Every property draws its cases from `Property.cases(_:count:)`: each case has its own 64-bit seed, derived
/// from a fixed base seed and the property's name, so a failure names exactly the case to rerun:
///
///     SEALPOST_PROPERTY_CASE=0x… swift test --filter Property
///
/// `SEALPOST_PROPERTY_SEED` replaces the base seed (new cases, same counts) and `SEALPOST_PROPERTY_SCALE`
/// multiplies every count (e.g. 100 for a long local run). Neither is set in CI.
public enum Property {
  /// The base seed of every run unless `SEALPOST_PROPERTY_SEED` says otherwise.
  public static let defaultSeed: UInt64 = 0x5EA1_905F_2026_0C0D

  public static var baseSeed: UInt64 {
    environmentNumber("SEALPOST_PROPERTY_SEED") ?? defaultSeed
  }

  static var scale: Int {
    environmentNumber("SEALPOST_PROPERTY_SCALE").map { max(1, Int(truncatingIfNeeded: $0)) } ?? 1
  }

  /// `count` cases of the property `name` (or only the case `SEALPOST_PROPERTY_CASE` names).
  public static func cases(_ name: String, count: Int) -> [PropertyCase] {
    if let only = environmentNumber("SEALPOST_PROPERTY_CASE") {
      return [PropertyCase(property: name, index: 0, seed: only)]
    }
    var mixer = SplitMix64(seed: baseSeed ^ fnv1a(name))
    return (0..<(count * scale)).map { index in
      PropertyCase(property: name, index: index, seed: mixer.next())
    }
  }

  /// FNV-1a of the UTF-8 bytes: a stable hash (Swift's `Hasher` is seeded per process).
  public static func fnv1a(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x100_0000_01b3
    }
    return hash
  }

  /// Decimal or 0x-prefixed hexadecimal.
  static func environmentNumber(_ name: String) -> UInt64? {
    guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else { return nil }
    if text.lowercased().hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) }
    return UInt64(text)
  }

  /// The seed as the failure messages print it.
  public static func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
  }
}

/// One generated case: its seed, and the generator that draws from it.
public struct PropertyCase: Sendable, CustomStringConvertible {
  public let property: String
  public let index: Int
  public let seed: UInt64

  /// A fresh generator for this case: the same values every time.
  public var generator: Gen { Gen(seed: seed) }

  /// Printed with every failed expectation: the case and how to run it alone.
  public var description: String {
    "\(property) case \(index), seed \(Property.hex(seed)) "
      + "(rerun: SEALPOST_PROPERTY_CASE=\(Property.hex(seed)) swift test --filter Property)"
  }
}

/// SplitMix64 (Steele, Lea, Flood 2014; Vigna's reference constants): small, fast, and the same on every
/// platform, unlike `SystemRandomNumberGenerator`.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }
}

/// Value generators over a `SplitMix64`, biased towards the inputs that break parsers: line endings, NUL,
/// controls, dots, quotes, brackets, non-ASCII and invalid UTF-8.
public struct Gen {
  public var rng: SplitMix64

  public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

  /// Uniform in `range` (not empty).
  public mutating func int(_ range: ClosedRange<Int>) -> Int {
    Int.random(in: range, using: &rng)
  }

  /// True with probability `percent`/100.
  public mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

  public mutating func pick<T>(_ items: [T]) -> T {
    items[int(0...(items.count - 1))]
  }

  /// A length that is usually small and sometimes large.
  public mutating func length(max: Int) -> Int {
    switch int(0...9) {
    case 0...5: int(0...min(max, 8))
    case 6...8: int(0...min(max, 64))
    default: int(0...max)
    }
  }

  /// Bytes a line-oriented parser cares about, and sometimes any byte.
  public static let interestingBytes: [UInt8] =
    Array("\r\n\r\n. -:<>\"\\=@,;0123459aZ\t".utf8) + [
      0x00, 0x7F, 0x80, 0x9F, 0xC2, 0xC3, 0xA9, 0xE2, 0x80, 0xAE, 0xED, 0xA0, 0xF0, 0xF4, 0x90, 0xFF, 0x1B,
    ]

  public mutating func byte() -> UInt8 {
    chance(60) ? pick(Self.interestingBytes) : UInt8.random(in: 0...255, using: &rng)
  }

  public mutating func bytes(maxLength: Int) -> [UInt8] {
    (0..<length(max: maxLength)).map { _ in byte() }
  }

  /// Scalars that break text handling: controls (C0, DEL, C1), bidi controls, line and paragraph separators,
  /// combining marks, zero-width joiners, emoji, CJK, the BOM, the last scalar, and address punctuation.
  public static let interestingScalars: [Unicode.Scalar] = [
    "\0", "\t", "\n", "\r", "\u{1B}", "\u{7F}", "\u{85}", "\u{9B}", "\u{A0}", "\u{202A}", "\u{202E}",
    "\u{2066}", "\u{2069}", "\u{2028}", "\u{2029}", "\u{200B}", "\u{200D}", "\u{FEFF}", "\u{0301}",
    "\u{0308}", "\u{20DD}", "é", "ß", "Ω", "日", "本", "語", "한", "😀", "👨", "👩", "👧", "🇩", "🇰", "\u{1F3FD}",
    "\u{10FFFF}", "\u{E000}", " ", " ", " ", ".", "..", ":", ";", ",", "@", "<", ">", "\"", "\\", "(", ")",
    "[", "]", "=", "?", "_", "-", "#", "'", "a", "b", "z", "A", "Q", "0", "9",
  ].compactMap { $0.unicodeScalars.count == 1 ? $0.unicodeScalars.first : nil }

  public mutating func scalar() -> Unicode.Scalar {
    switch int(0...9) {
    case 0...4: return pick(Self.interestingScalars)
    case 5...7: return Unicode.Scalar(UInt8(int(0x20...0x7E)))
    default:
      // Any scalar: the BMP more often than the supplementary planes; surrogates are not scalars.
      let value = UInt32(chance(80) ? int(0...0xFFFF) : int(0x10000...0x10FFFF))
      return Unicode.Scalar(value) ?? "\u{FFFD}"
    }
  }

  /// A string of random scalars (so grapheme clusters form by chance: combining marks, ZWJ, flags).
  public mutating func string(maxLength: Int) -> String {
    var text = String.UnicodeScalarView()
    for _ in 0..<length(max: maxLength) { text.append(scalar()) }
    return String(text)
  }

  /// A string without C0/C1 controls, DEL and bidi controls.
  public mutating func cleanString(maxLength: Int) -> String {
    String(String.UnicodeScalarView(string(maxLength: maxLength).unicodeScalars.filter { !Gen.isUnsafe($0) }))
  }

  /// What must never reach a terminal raw: C0, DEL, C1, the bidi controls of DESIGN §3.6 and, since issue 7,
  /// every format character (Cf: U+200B–200F, U+061C, U+FEFF, U+00AD…), the line and paragraph separators and
  /// the other default-ignorable code points. Written from the Unicode categories, apart from the product's
  /// list.
  public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    if value < 0x20 || value == 0x7F || (0x80...0x9F).contains(value) || (0x202A...0x202E).contains(value)
      || (0x2066...0x2069).contains(value)
    {
      return true
    }
    let properties = scalar.properties
    return [.format, .lineSeparator, .paragraphSeparator].contains(properties.generalCategory)
      || properties.isDefaultIgnorableCodePoint
  }

  /// `bytes` cut into random pieces (empty pieces included) that concatenate back to `bytes`.
  public mutating func chunks(of bytes: [UInt8]) -> [[UInt8]] {
    var result: [[UInt8]] = []
    var start = 0
    let style = int(0...3)
    while start < bytes.count {
      let size: Int
      switch style {
      case 0: size = 1
      case 1: size = int(0...3)
      case 2: size = int(1...17)
      default: size = int(0...bytes.count)
      }
      let end = min(bytes.count, start + size)
      result.append(Array(bytes[start..<end]))
      start = end
    }
    if chance(20) { result.insert([], at: int(0...result.count)) }
    return result
  }

  /// A random edit of `bytes`: flip, insert, delete, duplicate or truncate.
  public mutating func mutate(_ bytes: [UInt8], insertions: [[UInt8]] = []) -> [UInt8] {
    var out = bytes
    for _ in 0..<int(1...4) {
      let position = int(0...out.count)
      switch int(0...5) {
      case 0 where !out.isEmpty:
        out[min(position, out.count - 1)] = byte()
      case 1:
        out.insert(contentsOf: insertions.isEmpty || chance(50) ? [byte()] : pick(insertions), at: position)
      case 2 where !out.isEmpty:
        let end = min(out.count, position + int(1...8))
        out.removeSubrange(min(position, end)..<end)
      case 3 where !out.isEmpty:
        let start = int(0...(out.count - 1))
        let end = min(out.count, start + int(1...64))
        out.insert(contentsOf: out[start..<end], at: position)
      case 4:
        out = Array(out.prefix(position))
      default:
        out.insert(contentsOf: [UInt8](repeating: byte(), count: int(1...300)), at: position)
      }
    }
    return out
  }
}
