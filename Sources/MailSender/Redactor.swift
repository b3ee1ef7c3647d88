import SMTPProtocol

/// Removes secrets from any text before it leaves the core (DESIGN §3.5).
///
/// A hostile server may echo an AUTH blob or the password inside a reply, so every received line and every
/// error text is scrubbed of the secret itself and of its base64 forms: the whole SASL blobs Sealpost sent, and
/// the password encoded at each of the three base64 alignments it can take inside a longer blob.
struct Redactor: Sendable {
  static let mask = "<redacted>"

  /// Needles, longest first, so a blob is replaced whole before any part of it.
  private let needles: [String]

  init(secrets: [Secret]) {
    var found = Set<String>()
    for secret in secrets where !secret.bytes.isEmpty {
      found.insert(String(decoding: secret.bytes, as: UTF8.self))
      // Received lines are escaped before they are scrubbed (DESIGN §3.6): a secret with a control character,
      // a bidi control or a byte that is not UTF-8 is only found in its escaped form there.
      found.insert(UntrustedText.escape(secret.bytes))
      for needle in Self.base64Forms(of: secret.bytes) { found.insert(needle) }
    }
    // Very short needles would blank ordinary text; a 1–2 byte secret is still scrubbed verbatim.
    needles = found.filter { !$0.isEmpty }.sorted { $0.count > $1.count }
  }

  /// The base64 text that any encoding of `bytes` contains, whatever precedes it (0, 1 or 2 bytes modulo 3)
  /// and whatever follows it: only characters whose six bits come entirely from `bytes`.
  static func base64Forms(of bytes: [UInt8]) -> [String] {
    var forms: [String] = []
    for offset in 0..<3 {
      let padded = [UInt8](repeating: 0, count: offset) + bytes
      let encoded = Array(SASL.base64(padded))
      // Character k covers bits 6k..6k+5 of the padded input; keep those inside the secret's bits.
      let firstBit = offset * 8
      let endBit = (offset + bytes.count) * 8  // exclusive
      let first = (firstBit + 5) / 6
      let last = (endBit / 6) - 1  // last character whose bits end before endBit
      guard first <= last, last < encoded.count else { continue }
      let slice = encoded[first...last]
      if slice.count >= 4 { forms.append(String(decoding: slice, as: UTF8.self)) }
    }
    return forms
  }

  /// Matched by Unicode scalars, not by `Character`: a grapheme comparison would miss a secret followed by a
  /// combining mark (`pw` + U+0301 is one cluster), which a server can append to slip an echo past the scrub.
  func scrub(_ text: String) -> String {
    guard !needles.isEmpty else { return text }
    var result = Array(text.unicodeScalars)
    for needle in needles {
      result = Self.replacing(Array(needle.unicodeScalars), in: result)
    }
    var out = String.UnicodeScalarView()
    out.append(contentsOf: result)
    return String(out)
  }

  private static func replacing(_ needle: [Unicode.Scalar], in scalars: [Unicode.Scalar]) -> [Unicode.Scalar]
  {
    guard !needle.isEmpty, scalars.count >= needle.count else { return scalars }
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(scalars.count)
    var index = 0
    while index < scalars.count {
      if index + needle.count <= scalars.count && scalars[index] == needle[0]
        && scalars[index..<(index + needle.count)].elementsEqual(needle)
      {
        out.append(contentsOf: mask.unicodeScalars)
        index += needle.count
      } else {
        out.append(scalars[index])
        index += 1
      }
    }
    return out
  }
}
