/// A client command (RFC 5321 §4.1) with its exact wire form.
///
/// `encoded()` refuses every argument that could smuggle a second command or corrupt the line: CR, LF, NUL and
/// every other C0 control or DEL, anywhere (Go's `validateLine`, Python bpo-43124).
public enum SMTPCommand: Sendable, Hashable, CustomStringConvertible {
  /// `EHLO name` (RFC 5321 §4.1.1.1).
  case ehlo(String)
  /// `HELO name` (RFC 5321 §4.1.1.1).
  case helo(String)
  /// `STARTTLS` (RFC 3207 §4).
  case startTLS
  /// `AUTH mechanism [initial-response]` (RFC 4954 §4); the initial response is base64 text already. An empty
  /// initial response is sent as `=`.
  case auth(mechanism: String, initialResponse: Secret?)
  /// A base64 line answering a `334` challenge (RFC 4954 §4).
  case saslResponse(Secret)
  /// `MAIL FROM:<reversePath> parameters…` (RFC 5321 §4.1.1.2); `""` is the null reverse-path `<>`.
  case mail(reversePath: String, parameters: [String])
  /// `RCPT TO:<forwardPath> parameters…` (RFC 5321 §4.1.1.3).
  case rcpt(forwardPath: String, parameters: [String])
  /// `DATA` (RFC 5321 §4.1.1.4).
  case data
  /// `BDAT size [LAST]` (RFC 3030 §2): the next `size` octets after the CRLF are message content, sent as is.
  case bdat(size: Int, last: Bool)
  /// `RSET` (RFC 5321 §4.1.1.5).
  case rset
  /// `NOOP` (RFC 5321 §4.1.1.9).
  case noop
  /// `QUIT` (RFC 5321 §4.1.1.10).
  case quit

  /// The longest command line in octets, CRLF included (RFC 5321 §4.5.3.1.4).
  public static let maximumLineOctets = 512
  /// The longest AUTH or SASL response line, CRLF included (RFC 4954 §4 allows 12,288 octets).
  public static let maximumAuthLineOctets = 12288

  /// The exact bytes to write, CRLF included.
  ///
  /// - Parameter utf8Paths: the session uses SMTPUTF8 (RFC 6531 §3.3), so MAIL and RCPT addresses may hold
  ///   UTF-8. Without it every byte ≥ 0x80 is refused, so no caller can send a UTF-8 envelope by mistake.
  public func encoded(utf8Paths: Bool = false) throws(SMTPCommandError) -> [UInt8] {
    var line: [UInt8]
    var limit = Self.maximumLineOctets
    switch self {
    case .ehlo(let name), .helo(let name):
      try Self.check(name, as: "EHLO/HELO name", allowEmpty: false, forbidden: [UInt8(ascii: " ")])
      line = Array((isEHLO ? "EHLO " : "HELO ").utf8) + Array(name.utf8)
    case .startTLS:
      line = Array("STARTTLS".utf8)
    case .auth(let mechanism, let initialResponse):
      limit = Self.maximumAuthLineOctets
      guard !mechanism.isEmpty,
        mechanism.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        )
      else {
        throw SMTPCommandError("SASL mechanism name is not letters, digits, '-' or '_'")
      }
      line = Array("AUTH ".utf8) + Array(mechanism.utf8)
      if let initialResponse {
        try Self.checkSecret(initialResponse.bytes)
        line +=
          [UInt8(ascii: " ")] + (initialResponse.bytes.isEmpty ? [UInt8(ascii: "=")] : initialResponse.bytes)
      }
    case .saslResponse(let response):
      limit = Self.maximumAuthLineOctets
      try Self.checkSecret(response.bytes)
      line = response.bytes
    case .mail(let reversePath, let parameters):
      try Self.checkPath(reversePath, as: "MAIL FROM address", allowEmpty: true, utf8: utf8Paths)
      line = Array("MAIL FROM:<".utf8) + Array(reversePath.utf8) + [UInt8(ascii: ">")]
      line += try Self.encode(parameters, of: "MAIL FROM")
    case .rcpt(let forwardPath, let parameters):
      try Self.checkPath(forwardPath, as: "RCPT TO address", allowEmpty: false, utf8: utf8Paths)
      line = Array("RCPT TO:<".utf8) + Array(forwardPath.utf8) + [UInt8(ascii: ">")]
      line += try Self.encode(parameters, of: "RCPT TO")
    case .data: line = Array("DATA".utf8)
    case .bdat(let size, let last):
      guard size >= 0 else { throw SMTPCommandError("BDAT size is negative") }
      line = Array("BDAT \(size)\(last ? " LAST" : "")".utf8)
    case .rset: line = Array("RSET".utf8)
    case .noop: line = Array("NOOP".utf8)
    case .quit: line = Array("QUIT".utf8)
    }
    line += [0x0D, 0x0A]
    guard line.count <= limit else {
      throw SMTPCommandError("command line is \(line.count) octets, over the limit of \(limit)")
    }
    return line
  }

  /// The command as a transcript shows it: the wire text without CRLF, with controls escaped and secrets
  /// replaced by `<redacted>` (DESIGN §3.5), e.g. `AUTH PLAIN <redacted>`.
  public var transcriptText: String {
    switch self {
    case .ehlo(let name): return "EHLO " + UntrustedText.escape(name.utf8)
    case .helo(let name): return "HELO " + UntrustedText.escape(name.utf8)
    case .startTLS: return "STARTTLS"
    case .auth(let mechanism, let initialResponse):
      let head = "AUTH " + UntrustedText.escape(mechanism.utf8)
      return initialResponse == nil ? head : head + " " + Secret.redacted
    case .saslResponse: return Secret.redacted
    case .mail(let reversePath, let parameters):
      return "MAIL FROM:<" + UntrustedText.escape(reversePath.utf8) + ">" + Self.transcript(parameters)
    case .rcpt(let forwardPath, let parameters):
      return "RCPT TO:<" + UntrustedText.escape(forwardPath.utf8) + ">" + Self.transcript(parameters)
    case .data: return "DATA"
    case .bdat(let size, let last): return "BDAT \(size)\(last ? " LAST" : "")"
    case .rset: return "RSET"
    case .noop: return "NOOP"
    case .quit: return "QUIT"
    }
  }

  /// The same as `transcriptText`, so that printing a command never shows a secret.
  public var description: String { transcriptText }

  private var isEHLO: Bool {
    if case .ehlo = self { return true }
    return false
  }

  private static func transcript(_ parameters: [String]) -> String {
    parameters.map { " " + UntrustedText.escape($0.utf8) }.joined()
  }

  private static func encode(_ parameters: [String], of command: String) throws(SMTPCommandError) -> [UInt8] {
    var bytes: [UInt8] = []
    for parameter in parameters {
      try check(parameter, as: "\(command) parameter", allowEmpty: false, forbidden: [UInt8(ascii: " ")])
      bytes += [UInt8(ascii: " ")] + Array(parameter.utf8)
    }
    return bytes
  }

  private static func checkPath(_ path: String, as name: String, allowEmpty: Bool, utf8: Bool)
    throws(SMTPCommandError)
  {
    try check(
      path, as: name, allowEmpty: allowEmpty,
      forbidden: [UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: " ")], utf8: utf8)
  }

  /// RFC 5321 §2.3.8 / §4.1.2: no control may appear in a command line; `forbidden` adds what would break the
  /// argument's syntax. The message shows the argument escaped, never raw.
  private static func check(
    _ argument: String, as name: String, allowEmpty: Bool, forbidden: [UInt8], utf8: Bool = false
  ) throws(SMTPCommandError) {
    if argument.isEmpty && !allowEmpty { throw SMTPCommandError("\(name) is empty") }
    for byte in argument.utf8 {
      if byte >= 0x80 && !utf8 {
        throw SMTPCommandError(
          "\(name) is not ASCII, and the session does not use SMTPUTF8: \(excerpt(argument.utf8))")
      }
      if isControl(byte) {
        throw SMTPCommandError(
          "\(name) contains the control character \(UntrustedText.escape([byte])): \(excerpt(argument.utf8))")
      }
      if forbidden.contains(byte) {
        throw SMTPCommandError(
          "\(name) contains '\(Character(Unicode.Scalar(byte)))': \(excerpt(argument.utf8))")
      }
    }
  }

  /// Secrets are checked without quoting them in the error (DESIGN §3.5).
  private static func checkSecret(_ bytes: [UInt8]) throws(SMTPCommandError) {
    if bytes.contains(where: isControl) {
      throw SMTPCommandError("SASL response contains a control character")
    }
    if bytes.contains(UInt8(ascii: " ")) {
      throw SMTPCommandError("SASL response contains a space")
    }
  }
}

/// C0 controls (CR, LF, NUL among them) and DEL.
func isControl(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x7F }

/// A command that cannot be sent as asked (DESIGN §4: exit 65). Never quotes a secret.
public struct SMTPCommandError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What was wrong, safe to print.
  public var message: String

  /// An error with `message`.
  public init(_ message: String) { self.message = message }

  public var description: String { message }
}
