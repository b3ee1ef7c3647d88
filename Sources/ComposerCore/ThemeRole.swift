/// What a piece of the screen is, for the theme: every style the composer draws with is one of these roles,
/// or its `.selected` form (the same role under the cursor or picked in a list).
public enum ThemeRole: String, Sendable, Hashable, CaseIterable {
  case title
  case status
  case statusError = "status.error"
  case statusOK = "status.ok"
  /// The key hints on the bottom line.
  case keys
  case fieldLabel = "field.label"
  case fieldText = "field.text"
  case fieldError = "field.error"
  /// The text cursor where the terminal's own cursor is not used, and the focused field.
  case cursor
  /// The picked item of a list.
  case selection
  case transcriptPlain = "transcript.plain"
  case transcriptTLS = "transcript.tls"
  case transcriptTLSStep = "transcript.tlsstep"
  case transcriptInfo = "transcript.info"
  case transcriptWarning = "transcript.warning"
  case transcriptError = "transcript.error"
  case transcriptData = "transcript.data"
  case verdictOK = "verdict.ok"
  case verdictRefused = "verdict.refused"
  case verdictUnknown = "verdict.unknown"
  case verdictCancelled = "verdict.cancelled"
  case border
  case help

  /// The name in a theme file.
  public var name: String { rawValue }

  /// The role this one takes unset attributes from: `status.error` from `status`; none for a top-level role.
  public var parent: ThemeRole? {
    guard let dot = rawValue.lastIndex(of: ".") else { return nil }
    return ThemeRole(rawValue: String(rawValue[..<dot]))
  }
}
