import SMTPProtocol

/// The masked password field: a one-line field whose text reaches nothing but the `.answerSecret` effect. Its
/// description and reflection (`dump`, a failed test's expectation, a debugger's summary) say `<redacted>`, as
/// `Secret`'s do (DESIGN §3.5).
struct MaskedField: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
  private var field = TextField()

  /// How many characters were typed: the mask shows one mark each.
  var count: Int { field.characters.count }

  /// The typed text as the secret it is.
  var secret: Secret { Secret(field.text) }

  mutating func handle(_ key: Key) { field.handle(key) }

  mutating func insert(_ text: String) { field.insert(text) }

  var description: String { Secret.redacted }
  var debugDescription: String { Secret.redacted }
  var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

extension ComposerModel: CustomReflectable {
  /// Reflection shows where the composer is, never what it holds: an account's settings may hold a secret on the
  /// wrong line (issue 7), and the password field holds one.
  public var customMirror: Mirror {
    Mirror(self, children: ["screen": screen, "width": width, "height": height], displayStyle: .struct)
  }
}
