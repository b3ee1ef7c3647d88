import MailSender
import SMTPProtocol

/// What a front end lets a person fill in. Planning errors name fields, never flags: the CLI words them as
/// flags (`--port`), the composer as the fields on its screen ("Port").
public enum PlanningField: String, Sendable, Hashable, CaseIterable {
  case config, account, server, port, tls, allowInsecure, caFile, pin, user, auth, passwordCommand, ehlo,
    timeout
  case from, to, cc, bcc, subject, body, bodyFile, header, message, maxSize, transcript
}

/// Text with field names left open, so each front end words them its own way.
public struct PlanningText: Sendable, Hashable, ExpressibleByStringInterpolation {
  enum Part: Sendable, Hashable {
    case text(String)
    case field(PlanningField)
  }

  var parts: [Part]

  public init(stringLiteral value: String) { parts = [.text(value)] }

  public init(stringInterpolation: Interpolation) { parts = stringInterpolation.parts }

  public struct Interpolation: StringInterpolationProtocol {
    var parts: [Part] = []
    public init(literalCapacity: Int, interpolationCount: Int) {}
    public mutating func appendLiteral(_ literal: String) { parts.append(.text(literal)) }
    public mutating func appendInterpolation(_ value: String) { parts.append(.text(value)) }
    public mutating func appendInterpolation(_ value: some CustomStringConvertible) {
      parts.append(.text(value.description))
    }
    /// A field, worded by the front end.
    public mutating func appendInterpolation(field: PlanningField) { parts.append(.field(field)) }
    /// Another text, its fields kept open.
    public mutating func appendInterpolation(_ text: PlanningText) { parts += text.parts }
  }

  public static func + (lhs: PlanningText, rhs: PlanningText) -> PlanningText {
    var joined = lhs
    joined.parts += rhs.parts
    return joined
  }

  /// The text with each field named by `name`.
  public func worded(_ name: (PlanningField) -> String) -> String {
    parts.map {
      switch $0 {
      case .text(let text): text
      case .field(let field): name(field)
      }
    }.joined()
  }

  /// The fields the text names, in order (a front end may put the cursor on the first).
  public var fields: [PlanningField] {
    parts.compactMap { if case .field(let field) = $0 { field } else { nil } }
  }
}

/// Why a send cannot be planned: its exit-code category (DESIGN §4) and words with the fields left open.
public struct PlanningError: Error, Sendable, Hashable {
  public var category: SendFailure.Category
  public var text: PlanningText

  public init(_ category: SendFailure.Category, _ text: PlanningText) {
    self.category = category
    self.text = text
  }

  /// A failure from a lower layer (its words name no field).
  public init(_ failure: SendFailure) {
    self.init(failure.category, PlanningText(stringLiteral: failure.message))
  }

  /// The failure as one front end words it.
  public func failure(naming name: (PlanningField) -> String) -> SendFailure {
    SendFailure(category, text.worded(name))
  }
}
