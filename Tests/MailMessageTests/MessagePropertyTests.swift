import Foundation
import MailMessage
import PropertyTesting
import Testing

/// Records a failure that names the case and its seed; returns whether the property held.
@discardableResult
func holds(
  _ condition: Bool, _ propertyCase: PropertyCase, _ what: @autoclosure () -> String,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
  if !condition { Issue.record("\(what()) — \(propertyCase)", sourceLocation: sourceLocation) }
  return condition
}

/// Property tests of MailMessage's parsers and writers (DESIGN §3.8, §8): mailboxes, header fields, composed
/// and supplied messages, from random Unicode (controls, combining marks, emoji, CJK, bidi controls).
@Suite struct MessagePropertyTests {
  static let date = Date(timeIntervalSince1970: 1_795_914_123)
  static let utc = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? .current

  static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
  }

  static func isControlOrBidi(_ scalar: Unicode.Scalar) -> Bool {
    isControl(scalar) || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
  }

  // MARK: Mailbox

  static func word(_ gen: inout Gen) -> String {
    switch gen.int(0...5) {
    case 0: return gen.string(maxLength: 8)
    case 1: return gen.cleanString(maxLength: 8)
    case 2: return gen.pick(["Zoë", "Doe", "J.", "Jörg", "日本", "👨‍👩‍👧", "=?UTF-8?B?QQ==?=", "a\"b", "\\", "x y"])
    default:
      return String(
        String.UnicodeScalarView(
          (0..<gen.int(1...8)).map { _ in Unicode.Scalar(UInt8(gen.int(0x61...0x7A))) }))
    }
  }

  static func address(_ gen: inout Gen) -> String {
    let local: String
    switch gen.int(0...4) {
    case 0: local = "\"" + gen.string(maxLength: 10) + "\""
    case 1: local = word(&gen) + "." + word(&gen)
    case 2: local = String(repeating: "l", count: gen.int(60...70))
    default: local = word(&gen)
    }
    let domain: String
    switch gen.int(0...5) {
    case 0:
      domain = "[" + gen.pick(["192.0.2.1", "IPv6:::1", "IPv6:2001:db8::1", "300.1.1.1", "::1", ""]) + "]"
    case 1: domain = word(&gen) + "." + word(&gen)
    case 2:
      domain = (0..<gen.int(1...5)).map { _ in String(repeating: "d", count: gen.int(1...70)) }.joined(
        separator: ".")
    default: domain = gen.pick(["example.org", "bücher.example", "x-y.example", "-x.example", "a..b"])
    }
    return local + (gen.chance(95) ? "@" : "") + domain
  }

  static func mailboxText(_ gen: inout Gen) -> String {
    var text: String
    switch gen.int(0...5) {
    case 0: text = address(&gen)
    case 1: text = "<" + address(&gen) + ">"
    case 2:
      var name = (0..<gen.int(0...4)).map { _ in word(&gen) }.joined(separator: " ")
      if gen.chance(50) {
        // Quoted as RFC 5322 §3.2.4 says: '"' and '\\' escaped.
        name = String(
          String.UnicodeScalarView(
            name.unicodeScalars.flatMap { $0 == "\"" || $0 == "\\" ? ["\\", $0] : [$0] }))
      }
      text = "\"" + name + "\" <" + address(&gen) + ">"
    case 3:
      text = (0..<gen.int(1...4)).map { _ in word(&gen) }.joined(separator: " ") + " <" + address(&gen) + ">"
    case 4: text = gen.string(maxLength: 40)
    default: text = String(repeating: "n ", count: gen.int(100...700)) + "<" + address(&gen) + ">"
    }
    if gen.chance(20) {
      var scalars = Array(text.unicodeScalars)
      scalars.insert(
        gen.pick(["\r", "\n", "\0", "\u{1B}", "\u{85}", "\u{202E}", "\t", "\r\n"].flatMap(\.unicodeScalars)),
        at: gen.int(0...scalars.count))
      text = String(String.UnicodeScalarView(scalars))
    }
    return text
  }

  /// Renders a message with `mailbox` as sender and recipient; nil when rendering refuses it.
  static func render(
    from: Mailbox, to: [Mailbox], subject: String? = nil, body: [UInt8] = [], extra: [HeaderField] = []
  )
    -> Result<[UInt8], MessageError>
  {
    let message = ComposedMessage(
      from: from, to: to, subject: subject, body: body, extraHeaders: extra, date: date,
      messageID: "property@example.org", timeZone: utc)
    do throws(MessageError) {
      return .success(try message.rendered())
    } catch {
      return .failure(error)
    }
  }

  /// CRLF-only lines of at most 998 octets without NUL (RFC 5322 §2.1, §2.3); nil when the bytes break them.
  static func lines(_ bytes: [UInt8]) -> [[UInt8]]? {
    guard bytes.isEmpty || bytes.suffix(2) == [0x0D, 0x0A] else { return nil }
    var lines: [[UInt8]] = []
    var line: [UInt8] = []
    var index = 0
    while index < bytes.count {
      let byte = bytes[index]
      if byte == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A {
        lines.append(line)
        line = []
        index += 2
        continue
      }
      if byte == 0x0D || byte == 0x0A || byte == 0 { return nil }
      line.append(byte)
      index += 1
    }
    return lines.allSatisfy { $0.count <= 998 } ? lines : nil
  }

  @Test func mailboxesAcceptedHaveNoControlsAndRoundTrip() throws {
    let fallback = try Mailbox(parsing: "a@example.org")
    var accepted = 0
    for propertyCase in Property.cases("Mailbox", count: 1000) {
      var gen = propertyCase.generator
      let text = Self.mailboxText(&gen)
      let mailbox: Mailbox
      do {
        mailbox = try Mailbox(parsing: text)
      } catch {
        guard
          holds(
            !error.message.unicodeScalars.contains(where: Gen.isUnsafe), propertyCase,
            "raw control in \(error.message.debugDescription)")
        else { return }
        continue
      }
      accepted += 1
      let value = mailbox.headerValue
      let ok =
        // A display name may hold emoji joined by U+200D and other invisible characters (it is encoded, and
        // escaped wherever Sealpost shows it); controls and bidi controls are refused. An address holds no
        // invisible character at all (issue 7).
        !(mailbox.displayName ?? "").unicodeScalars.contains(where: Self.isControlOrBidi)
        && !mailbox.address.unicodeScalars.contains { Gen.isUnsafe($0) || $0 == " " }
        && mailbox.address.utf8.count <= 254
        && !value.unicodeScalars.contains(where: Self.isControl)
        && (mailbox.requiresSMTPUTF8 || value.unicodeScalars.allSatisfy(\.isASCII))
      guard holds(ok, propertyCase, "accepted \(text.debugDescription) as \(value.debugDescription)") else {
        return
      }
      // A name written as atoms or a quoted string parses back to the same mailbox.
      let name = mailbox.displayName ?? ""
      if name.unicodeScalars.allSatisfy(\.isASCII) && !name.contains("=?") {
        let again = try? Mailbox(parsing: value)
        guard
          holds(
            again == mailbox, propertyCase, "\(value.debugDescription) parses as \(String(describing: again))"
          )
        else { return }
      }
      let rendered = Self.render(from: mailbox, to: [mailbox, fallback])
      if case .success(let bytes) = rendered {
        guard
          holds(
            Self.lines(bytes) != nil, propertyCase,
            "rendered lines break RFC 5322 for \(value.debugDescription)")
        else { return }
      }
    }
    #expect(accepted >= 100, "mailboxes accepted: \(accepted)")
  }

  // MARK: HeaderField

  @Test func userSuppliedHeadersAcceptedHaveNoControls() {
    let names = [
      "X-Test", "Subject", "content-type", "Content-Language", "X-Ünï", "", "X Y", "Bcc", "Reply-To",
      "X-Mailer\t",
    ]
    var accepted = 0
    for propertyCase in Property.cases("HeaderField", count: 1000) {
      var gen = propertyCase.generator
      let name = gen.chance(70) ? gen.pick(names) : gen.string(maxLength: 12)
      let value = gen.chance(50) ? gen.cleanString(maxLength: 60) : gen.string(maxLength: 60)
      let line = name + (gen.chance(90) ? ":" : "") + (gen.chance(50) ? " " : "") + value
      guard let field = try? HeaderField.userSupplied(line) else { continue }
      accepted += 1
      let ok =
        !field.name.isEmpty
        && field.name.unicodeScalars.allSatisfy { (33...126).contains($0.value) && $0 != ":" }
        && !field.value.unicodeScalars.contains { Self.isControl($0) && $0 != "\t" }
        && field.value.first != " " && field.value.last != " "
      guard holds(ok, propertyCase, "accepted \(line.debugDescription)") else { return }
    }
    #expect(accepted >= 60, "header fields accepted: \(accepted)")
  }

  // MARK: ComposedMessage

  static func body(_ gen: inout Gen) -> [UInt8] {
    switch gen.int(0...4) {
    case 0: return gen.bytes(maxLength: 300)
    case 1:
      return Array(
        String(repeating: gen.pick(["é", "a", " ", ".", "\t", "日本", "😀"]), count: gen.int(900...1100)).utf8)
    default:
      return Array(
        (0..<gen.int(0...6)).map { _ in gen.string(maxLength: 60) }.joined(
          separator: gen.pick(["\n", "\r\n", "\r", ""])
        ).utf8)
    }
  }

  static func subject(_ gen: inout Gen) -> String? {
    switch gen.int(0...5) {
    case 0: return nil
    case 1: return gen.string(maxLength: 80)
    case 2:
      return (0..<gen.int(1...300)).map { _ in gen.chance(50) ? "word" : gen.cleanString(maxLength: 6) }
        .joined(separator: gen.pick([" ", "  ", "\t"]))
    case 3: return String(repeating: gen.pick(["x", "é", "\u{301}", "👨‍👩‍👧‍👦", "=?"]), count: gen.int(100...600))
    default: return gen.cleanString(maxLength: 60)
    }
  }

  struct Sample {
    var subject: String?
    var body: [UInt8]
    var bytes: [UInt8]
  }

  @Test func composedMessagesAreCRLFLinesOf998OctetsAnd7Bit() throws {
    var mailboxes = [try Mailbox(parsing: "a@example.org")]
    var samples: [Sample] = []
    for propertyCase in Property.cases("ComposedMessage", count: 200) {
      var gen = propertyCase.generator
      for _ in 0..<gen.int(0...2) {
        if let mailbox = try? Mailbox(parsing: Self.mailboxText(&gen)) { mailboxes.append(mailbox) }
      }
      let from = gen.pick(mailboxes)
      let to = (0..<gen.int(0...4)).map { _ in gen.pick(mailboxes) }
      let subject = Self.subject(&gen)
      let body = Self.body(&gen)
      let extra = (0..<gen.int(0...2)).compactMap { _ in
        try? HeaderField.userSupplied(
          "X-" + gen.pick(["A", "Long-Name", "Ü"]) + ": " + (Self.subject(&gen) ?? ""))
      }
      let message = ComposedMessage(
        from: from, to: to, subject: subject, body: body, extraHeaders: extra, date: Self.date,
        messageID: "property@example.org", timeZone: Self.utc)
      let bytes: [UInt8]
      do {
        bytes = try message.rendered()
      } catch {
        guard
          holds(
            !error.message.unicodeScalars.contains(where: Gen.isUnsafe), propertyCase,
            "raw control in \(error.message.debugDescription)")
        else { return }
        continue
      }
      let subjectHasControl = subject?.unicodeScalars.contains { Self.isControl($0) && $0 != "\t" } ?? false
      let headerEnd =
        bytes.indices.first { bytes[$0...].starts(with: [0x0D, 0x0A, 0x0D, 0x0A]) } ?? bytes.count
      let header = String(decoding: bytes[..<headerEnd], as: UTF8.self).lowercased()
      let ok =
        Self.lines(bytes) != nil && !subjectHasControl && String(validating: body, as: UTF8.self) != nil
        && (message.requiresSMTPUTF8 || bytes.allSatisfy { $0 < 0x80 })
        && !header.contains("\r\nbcc:") && !header.hasPrefix("bcc:")
      guard
        holds(
          ok, propertyCase,
          "rendered message breaks RFC 5322 or DESIGN §3.8:\n\(String(decoding: bytes, as: UTF8.self))")
      else { return }
      // ASCII addresses only, as before domains got A-labels: the generator's local parts include
      // `=?UTF-8?B?QQ==?=`, which Python reads as an encoded word (a defect) where RFC 2047 §5 allows none.
      if samples.count < 50, !message.requiresSMTPUTF8, !([from] + to).contains(where: \.requiresSMTPUTF8) {
        samples.append(Sample(subject: subject, body: body, bytes: bytes))
      }
    }
    try Self.checkWithPython(samples)
  }

  /// Python's `email` package (policy.default) reads every sample without defects, with the subject and
  /// the body as given: one process for all samples.
  static func checkWithPython(_ samples: [Sample]) throws {
    let script = """
      import sys, json, base64, email, email.policy
      out = []
      for encoded in json.load(sys.stdin):
          msg = email.message_from_bytes(base64.b64decode(encoded), policy=email.policy.default)
          defects = [repr(d) for part in msg.walk() for d in part.defects]
          for name, value in msg.items():
              defects += ['%s: %r' % (name, d) for d in getattr(value, 'defects', ())]
          subject = msg['subject']
          out.append({"defects": defects, "subject": None if subject is None else str(subject),
                      "body": msg.get_content()})
      sys.stdout.write(json.dumps(out))
      """
    struct Parsed: Decodable {
      var defects: [String]
      var subject: String?
      var body: String
    }
    let input = try JSONSerialization.data(
      withJSONObject: samples.map { Data($0.bytes).base64EncodedString() })
    let output = try PythonOracle.run(script, input: input)
    let parsed = try JSONDecoder().decode([Parsed].self, from: output)
    try #require(parsed.count == samples.count)
    #expect(samples.count >= 50)
    for (index, (sample, result)) in zip(samples, parsed).enumerated() {
      let message = String(decoding: sample.bytes, as: UTF8.self)
      #expect(result.defects.isEmpty, "sample \(index): \(result.defects)\n\(message)")
      #expect(result.subject == sample.subject, "sample \(index) subject\n\(message)")
      var body = Self.lfLines(String(decoding: sample.body, as: UTF8.self))
      if !body.isEmpty && !body.hasSuffix("\n") { body += "\n" }
      #expect(Self.lfLines(result.body) == body, "sample \(index) body\n\(message)")
    }
  }

  /// CRLF and bare CR become LF, scalar by scalar (a combining mark after a line ending must not hide it).
  static func lfLines(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    var previousCR = false
    for scalar in text.unicodeScalars {
      if scalar == "\n" && previousCR {
        previousCR = false
        continue
      }
      previousCR = scalar == "\r"
      out.append(previousCR ? "\n" : scalar)
    }
    return String(out)
  }

  // MARK: SuppliedMessage

  static let headerLines = [
    "From: a@example.org", "To: b@example.org", "Bcc: secret@example.org", "bcc:x@example.org",
    "BCC :y@example.org", "Resent-Bcc: z@example.org", " continued", "\tcontinued", "Subject: hi",
    "Date: Mon, 1 Jan 2024 00:00:00 -0000", "Message-ID: <m@example.org>", "X-Bcc: kept", "Bccx: kept",
    "Subject: Grüße",
  ]
  static let badHeaderLines = ["no colon here", ": empty name", "From : second@example.org", "X-\u{1}: c"]

  static func suppliedBytes(_ gen: inout Gen) -> [UInt8] {
    if gen.chance(15) { return gen.bytes(maxLength: 200) }
    let endings: [[UInt8]] = [[0x0D, 0x0A], [0x0A], [0x0D]]
    // Mostly one line end throughout the header, as files have; mixed ones are refused (issue 7).
    let mixed = gen.chance(20)
    let convention: [UInt8] = gen.chance(50) ? [0x0D, 0x0A] : [0x0A]
    func headerEnding(_ gen: inout Gen) -> [UInt8] { mixed ? gen.pick(endings) : convention }
    var out: [UInt8] = []
    if gen.chance(90) { out += Array("From: a@example.org".utf8) + headerEnding(&gen) }
    for _ in 0..<gen.int(0...8) {
      let line: String
      switch gen.int(0...19) {
      case 0: line = gen.pick(Self.badHeaderLines)
      case 1: line = gen.string(maxLength: 30)
      default: line = gen.pick(Self.headerLines)
      }
      out += Array(line.utf8) + headerEnding(&gen)
    }
    if gen.chance(85) {
      out += headerEnding(&gen)
      for _ in 0..<gen.int(0...5) {
        let line =
          gen.chance(5) ? String(repeating: "b", count: gen.int(990...1000)) : gen.string(maxLength: 40)
        out += Array(line.utf8) + (gen.chance(80) ? gen.pick(endings) : [])
      }
    }
    return gen.chance(30) ? gen.mutate(out) : out
  }

  @Test func suppliedMessagesArePreparedWithCRLFLinesAndNoBcc() {
    var accepted = 0
    for propertyCase in Property.cases("SuppliedMessage", count: 1000) {
      var gen = propertyCase.generator
      let input = Self.suppliedBytes(&gen)
      let prepared: [UInt8]
      do {
        let message = try SuppliedMessage(bytes: input)
        prepared = try message.prepared(date: Self.date, messageID: "added@example.org", timeZone: Self.utc)
      } catch {
        guard
          holds(
            !error.message.unicodeScalars.contains(where: Gen.isUnsafe), propertyCase,
            "raw control in \(error.message.debugDescription)")
        else { return }
        continue
      }
      accepted += 1
      guard let lines = Self.lines(prepared) else {
        holds(false, propertyCase, "prepared message has a bare CR/LF, NUL or a line over 998 octets")
        return
      }
      let headerCount = lines.firstIndex(where: \.isEmpty) ?? lines.count
      let names = lines[..<headerCount].compactMap { line -> String? in
        guard let first = line.first, first != 0x20, first != 0x09, let colon = line.firstIndex(of: 0x3A)
        else { return nil }
        return String(decoding: line[..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces)
          .lowercased()
      }
      let ok =
        !names.contains("bcc") && !names.contains("resent-bcc")
        && names.filter { $0 == "date" }.count >= 1 && names.filter { $0 == "message-id" }.count >= 1
      guard holds(ok, propertyCase, "prepared header fields: \(names)") else { return }
      // The body is sent as given, apart from line endings.
      var inputLines: [[UInt8]] = []
      var line: [UInt8] = []
      var index = 0
      while index < input.count {
        if input[index] == 0x0D || input[index] == 0x0A {
          inputLines.append(line)
          line = []
          index += input[index] == 0x0D && index + 1 < input.count && input[index + 1] == 0x0A ? 2 : 1
        } else {
          line.append(input[index])
          index += 1
        }
      }
      if !line.isEmpty { inputLines.append(line) }
      let inputBody = inputLines.firstIndex(where: \.isEmpty).map { Array(inputLines[$0...]) } ?? []
      holds(Array(lines[headerCount...]) == inputBody, propertyCase, "the body changed")
    }
    #expect(accepted >= 150, "supplied messages accepted: \(accepted)")
  }
}
