import Foundation
import PropertyTesting
import SMTPProtocol
import Testing

/// Property tests of the encoders and small parsers of SMTPProtocol (DESIGN §3.5, §3.6, §3.8, §8).
@Suite struct EncoderPropertyTests {
  static let crlf: [UInt8] = [0x0D, 0x0A]

  // MARK: Capabilities

  static let ehloWords = [
    "AUTH", "auth", "AUTH=LOGIN", "auth=plain", "AUTH=", "SIZE", "size", "8bitmime", "STARTTLS", "pipelining",
    "-X", "X-", "x-y", "ß", "PLAIN", "login", "0", "99999999999999999999", "-1", "=", "SMTPUTF8", "ÄUTH",
  ]

  @Test func capabilitiesOfRandomRepliesAreUppercasedKeywords() {
    for propertyCase in Property.cases("Capabilities", count: 500) {
      var gen = propertyCase.generator
      var texts: [[UInt8]] = []
      for _ in 0..<gen.int(0...6) {
        var text: [UInt8] = []
        for _ in 0..<gen.int(0...4) {
          if gen.chance(30) { text.append(0x20) }
          text += gen.chance(70) ? Array(gen.pick(Self.ehloWords).utf8) : gen.bytes(maxLength: 12)
          text.append(0x20)
        }
        if gen.chance(70) { text = Array(text.dropLast()) }
        texts.append(text)
      }
      let reply = SMTPReply(
        code: 250, lines: texts.map { UntrustedText(Array("250-".utf8) + $0) },
        texts: texts.map(UntrustedText.init))
      let capabilities = Capabilities(ehloReply: reply)
      _ = (capabilities.size, capabilities.authMechanisms, capabilities.startTLS, capabilities.has("size"))
      for (keyword, parameters) in capabilities.keywords {
        let isKeyword =
          keyword.utf8.first.map { $0 != UInt8(ascii: "-") } ?? false
          && keyword.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || $0 == 0x2D
          }
        guard holds(isKeyword, propertyCase, "keyword \(keyword) is not an uppercased ehlo-keyword") else {
          return
        }
        // Every keyword came from the first word of a line (AUTH=… counts as AUTH).
        let fromALine = texts.dropFirst().contains { text in
          let first = text.split(separator: 0x20).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
          return first.uppercased() == keyword || (keyword == "AUTH" && first.uppercased().hasPrefix("AUTH="))
        }
        holds(fromALine, propertyCase, "keyword \(keyword) is on no line")
        if keyword == "AUTH" {
          holds(
            parameters == parameters.map { $0.uppercased() } && Set(parameters).count == parameters.count,
            propertyCase, "AUTH mechanisms \(parameters) not uppercased and distinct")
        }
      }
      // Every line that starts with a keyword is listed.
      for text in texts.dropFirst() {
        guard let word = text.split(separator: 0x20).first else { continue }
        let isKeyword =
          word.first.map { $0 != 0x2D } ?? false
          && word.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0 & 0xDF) || $0 == 0x2D }
        if isKeyword {
          let keyword = String(decoding: word, as: UTF8.self).uppercased()
          holds(capabilities.has(keyword), propertyCase, "keyword \(keyword) was dropped")
        }
      }
    }
  }

  // MARK: SMTPCommand

  static func argument(_ gen: inout Gen) -> String {
    switch gen.int(0...4) {
    case 0: return gen.string(maxLength: 40)
    case 1: return "user\(gen.int(0...99))@example.org"
    case 2: return String(repeating: "a", count: gen.int(490...520))
    case 3: return gen.cleanString(maxLength: 20)
    default: return String(String.UnicodeScalarView((0..<gen.length(max: 30)).map { _ in gen.scalar() }))
    }
  }

  static func secret(_ gen: inout Gen) -> Secret {
    var bytes = Array(
      Data((0..<gen.int(6...40)).map { _ in UInt8(gen.int(0...255)) }).base64EncodedString().utf8)
    if gen.chance(15) {
      bytes.insert(gen.pick([0x00, 0x0D, 0x0A, 0x20, 0x7F]), at: gen.int(0...bytes.count))
    }
    if gen.chance(3) { bytes = [UInt8](repeating: UInt8(ascii: "Q"), count: gen.int(12280...12300)) }
    return Secret(bytes)
  }

  static func command(_ gen: inout Gen) -> (SMTPCommand, arguments: [String], secret: Secret?) {
    switch gen.int(0...9) {
    case 0:
      let name = argument(&gen)
      return (gen.chance(50) ? .ehlo(name) : .helo(name), [name], nil)
    case 1:
      let mechanism = gen.chance(70) ? gen.pick(["PLAIN", "LOGIN", "X-OAUTH_2"]) : argument(&gen)
      let secret = gen.chance(80) ? Self.secret(&gen) : nil
      return (.auth(mechanism: mechanism, initialResponse: secret), [mechanism], secret)
    case 2:
      let secret = Self.secret(&gen)
      return (.saslResponse(secret), [], secret)
    case 3...5:
      let path = gen.chance(10) ? "" : argument(&gen)
      let parameters = (0..<gen.int(0...3)).map { _ in
        gen.chance(50) ? "SIZE=\(gen.int(0...99999))" : argument(&gen)
      }
      return (.mail(reversePath: path, parameters: parameters), [path] + parameters, nil)
    case 6...8:
      let path = argument(&gen)
      let parameters = (0..<gen.int(0...3)).map { _ in gen.chance(50) ? "NOTIFY=NEVER" : argument(&gen) }
      return (.rcpt(forwardPath: path, parameters: parameters), [path] + parameters, nil)
    default:
      return (gen.pick([.startTLS, .data, .rset, .noop, .quit]), [], nil)
    }
  }

  @Test func encodedCommandsAreOneLineWithoutControls() {
    for propertyCase in Property.cases("SMTPCommand.encoded", count: 800) {
      var gen = propertyCase.generator
      let (command, arguments, secret) = Self.command(&gen)
      let smuggles =
        arguments.contains { $0.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 } }
        || (secret?.bytes.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 } ?? false)
      var shown = [command.transcriptText, command.description, String(reflecting: command), "\(command)"]
      do {
        let bytes = try command.encoded()
        let body = bytes.dropLast(2)
        let ok =
          bytes.count >= 6 && Array(bytes.suffix(2)) == Self.crlf
          && !body.contains { $0 < 0x20 || $0 == 0x7F }
          && bytes.count <= SMTPCommand.maximumAuthLineOctets
        guard
          holds(ok, propertyCase, "\(command.transcriptText) encoded as \(bytes.count) octets with controls"),
          holds(!smuggles, propertyCase, "\(command.transcriptText) with CR, LF or NUL was encoded")
        else { return }
      } catch {
        shown.append(error.message)
      }
      var dumped = ""
      dump(command, to: &dumped)
      shown.append(dumped)
      for text in shown {
        // dump is for debugging: it shows arguments as Swift literals, but never a secret.
        guard
          text == dumped
            || holds(
              !text.unicodeScalars.contains(where: Gen.isUnsafe), propertyCase,
              "a control reaches the transcript: \(text.debugDescription)")
        else { return }
        if let secret, secret.bytes.count >= 8, !arguments.contains(where: { $0.utf8.count >= 8 }) {
          let secretText = String(decoding: secret.bytes, as: UTF8.self)
          guard holds(!text.contains(secretText), propertyCase, "the secret appears in \(text)") else {
            return
          }
        }
      }
    }
  }

  // MARK: DataEncoder

  /// CRLF, bare CR and bare LF each end a line, written CRLF; an unterminated last line gets CRLF.
  static func normalisedLines(_ input: [UInt8]) -> [[UInt8]] {
    var lines: [[UInt8]] = []
    var line: [UInt8] = []
    var index = 0
    while index < input.count {
      switch input[index] {
      case 0x0D:
        lines.append(line)
        line = []
        index += index + 1 < input.count && input[index + 1] == 0x0A ? 2 : 1
      case 0x0A:
        lines.append(line)
        line = []
        index += 1
      default:
        line.append(input[index])
        index += 1
      }
    }
    if !line.isEmpty { lines.append(line) }
    return lines
  }

  static func content(_ gen: inout Gen) -> [UInt8] {
    let pieces: [[UInt8]] = [
      [0x0D], [0x0A], [0x0D, 0x0A], [0x2E], [0x2E, 0x0D, 0x0A], [0x0D, 0x0A, 0x2E], [0x41],
    ]
    switch gen.int(0...2) {
    case 0: return gen.bytes(maxLength: 400)
    case 1: return (0..<gen.length(max: 200)).flatMap { _ in gen.pick(pieces) }
    default: return gen.mutate((0..<gen.length(max: 80)).flatMap { _ in gen.pick(pieces) })
    }
  }

  @Test func dataEncoderStuffsDotsAndNormalisesLineEndingsForAnyChunking() {
    for propertyCase in Property.cases("DataEncoder", count: 800) {
      var gen = propertyCase.generator
      let input = Self.content(&gen)
      let lines = Self.normalisedLines(input)
      var expected: [UInt8] = []
      for line in lines { expected += (line.first == 0x2E ? [0x2E] : []) + line + Self.crlf }
      expected += [0x2E, 0x0D, 0x0A]
      var outputs: [[UInt8]] = []
      for _ in 0..<3 {
        var encoder = DataEncoder()
        var output: [UInt8] = []
        for chunk in gen.chunks(of: input) { encoder.encode(chunk, into: &output) }
        let contentBytes = output.count
        encoder.finish(into: &output)
        guard
          holds(
            encoder.byteCount == contentBytes + (output.count - contentBytes - 3)
              && encoder.lineCount == lines.count, propertyCase,
            "counts \(encoder.lineCount) lines / \(encoder.byteCount) octets for \(output.count) octets out")
        else { return }
        outputs.append(output)
      }
      guard let output = outputs.first,
        holds(outputs.allSatisfy { $0 == output }, propertyCase, "chunkings give different output")
      else { return }
      // The wire rules, checked on the output alone.
      let body = Array(output.dropLast(3))
      var wireLines: [[UInt8]] = []
      var bareEnding = false
      var line: [UInt8] = []
      var index = 0
      while index < body.count {
        if body[index] == 0x0D && index + 1 < body.count && body[index + 1] == 0x0A {
          wireLines.append(line)
          line = []
          index += 2
        } else {
          if body[index] == 0x0D || body[index] == 0x0A { bareEnding = true }
          line.append(body[index])
          index += 1
        }
      }
      let ok =
        output.suffix(3) == [0x2E, 0x0D, 0x0A] && !bareEnding && line.isEmpty
        && !wireLines.contains([0x2E])
        && wireLines.map { $0.first == 0x2E ? Array($0.dropFirst()) : $0 } == lines
      guard holds(ok, propertyCase, "the output breaks the wire rules (bare ending: \(bareEnding))") else {
        return
      }
      holds(output == expected, propertyCase, "output differs from the reference dot-stuffing")
    }
  }

  // MARK: SASL base64

  @Test func base64RoundTripsAndRefusesEveryNonCanonicalForm() {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=".utf8)
    for propertyCase in Property.cases("SASL base64", count: 1500) {
      var gen = propertyCase.generator
      let bytes = (0..<gen.length(max: 100)).map { _ in UInt8(gen.int(0...255)) }
      let encoded = SASL.base64(bytes)
      guard
        holds(
          encoded == Array(Data(bytes).base64EncodedString().utf8), propertyCase,
          "base64 differs from Foundation's"),
        holds(SASL.base64Decode(encoded) == bytes, propertyCase, "decode(encode(x)) ≠ x")
      else { return }
      // Any text: it decodes only when it is exactly what base64 writes for the result.
      var text: [UInt8]
      switch gen.int(0...2) {
      case 0: text = (0..<gen.length(max: 24)).map { _ in gen.chance(95) ? gen.pick(alphabet) : gen.byte() }
      case 1:
        text = encoded
        if !text.isEmpty { text[gen.int(0...(text.count - 1))] = gen.pick(alphabet) }
      default: text = gen.mutate(encoded, insertions: [Array("=".utf8), Array("==".utf8), [0x20], [0x0A]])
      }
      if let decoded = SASL.base64Decode(text) {
        guard holds(SASL.base64(decoded) == text, propertyCase, "accepted non-canonical \(text)") else {
          return
        }
      }
    }
  }

  // MARK: UntrustedText

  /// Reverses `\u{XXXX}` and `\xNN` (only meaningful for input without backslashes).
  static func unescaped(_ text: String) -> [UInt8]? {
    let scalars = Array(text.unicodeScalars)
    var out: [UInt8] = []
    var index = 0
    func hexValue(_ range: Range<Int>) -> UInt32? {
      guard range.upperBound <= scalars.count, !range.isEmpty else { return nil }
      return UInt32(String(String.UnicodeScalarView(scalars[range])), radix: 16)
    }
    while index < scalars.count {
      guard scalars[index] == "\\" else {
        out += Array(String(scalars[index]).utf8)
        index += 1
        continue
      }
      if index + 1 < scalars.count, scalars[index + 1] == "x", let byte = hexValue((index + 2)..<(index + 4))
      {
        out.append(UInt8(byte))
        index += 4
      } else if index + 2 < scalars.count, scalars[index + 1] == "u", scalars[index + 2] == "{",
        let close = scalars[index...].firstIndex(of: "}"), let value = hexValue((index + 3)..<close),
        let scalar = Unicode.Scalar(value)
      {
        out += Array(String(scalar).utf8)
        index = close + 1
      } else {
        return nil
      }
    }
    return out
  }

  @Test func escapedTextHasNoControlsAndKeepsCleanText() {
    for propertyCase in Property.cases("UntrustedText", count: 1500) {
      var gen = propertyCase.generator
      var bytes = gen.chance(50) ? gen.bytes(maxLength: 60) : Array(gen.string(maxLength: 30).utf8)
      if gen.chance(30) { bytes = gen.mutate(bytes) }
      let escaped = UntrustedText(bytes).escaped
      guard
        holds(
          !escaped.unicodeScalars.contains(where: Gen.isUnsafe), propertyCase,
          "escaped text keeps a control: \(escaped.debugDescription)"),
        holds(String(validating: Array(escaped.utf8), as: UTF8.self) != nil, propertyCase, "not UTF-8")
      else { return }
      if !bytes.contains(UInt8(ascii: "\\")) {
        guard holds(Self.unescaped(escaped) == bytes, propertyCase, "escaping lost bytes: \(escaped)") else {
          return
        }
      }
      let clean = gen.cleanString(maxLength: 30)
      holds(
        UntrustedText(clean).escaped == clean, propertyCase, "clean text changed: \(clean.debugDescription)")
    }
  }
}
