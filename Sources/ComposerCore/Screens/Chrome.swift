import SMTPProtocol

/// Drawing shared by every screen: the title bar, the status line, the key line, rules, wrapped text, and the
/// screen that asks for more room.
extension ComposerModel {
  /// The screen for a terminal of `width` × `height` (when it is not the size the model last heard of, the
  /// model is drawn as it will be after that resize).
  public func render(theme: Theme, width: Int, height: Int) -> ScreenBuffer {
    var buffer = ScreenBuffer(width: width, height: height)
    render(into: &buffer, theme: theme)
    return buffer
  }

  /// Draws into `buffer` (every cell of it); returns where the terminal's cursor goes, nil to hide it.
  @discardableResult
  public func render(into buffer: inout ScreenBuffer, theme: Theme) -> (x: Int, y: Int)? {
    guard buffer.width == width, buffer.height == height else {
      var resized = self
      resized.resize(width: buffer.width, height: buffer.height)
      return resized.render(into: &buffer, theme: theme)
    }
    // The compose screen draws every cell itself (the keystroke path: no cell written twice); the others
    // start from a blank screen.
    if screen != .compose || !hasRoom { buffer.fill(style: .plain) }
    guard hasRoom else {
      renderTooSmall(into: &buffer, theme: theme)
      return nil
    }
    var cursor: (x: Int, y: Int)?
    switch screen {
    case .loading: renderLoading(into: &buffer, theme: theme)
    case .picker: renderPicker(into: &buffer, theme: theme)
    case .accountForm: cursor = renderAccountForm(into: &buffer, theme: theme)
    case .compose: cursor = renderCompose(into: &buffer, theme: theme)
    case .preview: renderPreview(into: &buffer, theme: theme)
    case .review: renderReview(into: &buffer, theme: theme)
    case .send, .probe: cursor = renderSession(into: &buffer, theme: theme)
    case .probeForm: cursor = renderProbeForm(into: &buffer, theme: theme)
    case .drafts: renderDraftList(into: &buffer, theme: theme)
    }
    if showsHelp {
      renderHelp(into: &buffer, theme: theme)
      return nil
    }
    return cursor
  }

  /// The keys of what is on screen now (the help overlay lists them all, the bottom line the main ones).
  var currentKeys: [KeyHelp] {
    switch screen {
    case .loading: [KeyHelp("Ctrl-Q", "quit", main: true)]
    case .picker:
      // Enter composes only when there is an account to compose with.
      picker.usableIndices.isEmpty ? Self.pickerKeys.filter { $0.keys != "Enter" } : Self.pickerKeys
    case .accountForm: Self.accountFormKeys
    case .compose: draft.attachPanel == nil ? Self.composeKeys : Self.attachKeys
    case .preview: Self.previewKeys
    case .review: reviewKeyTable
    case .send, .probe:
      if session?.secretPrompt != nil {
        Self.secretKeys
      } else if session?.pin?.stage == .confirming {
        Self.pinKeys
      } else {
        Self.sendKeys
      }
    case .probeForm: Self.probeFormKeys
    case .drafts:
      if draftList.loading {
        [KeyHelp("Ctrl-Q", "quit", main: true)]
      } else {
        draftList.confirming == nil ? Self.draftKeys : Self.discardKeys
      }
    }
  }

  /// The name of the screen in the title bar and the help overlay.
  var screenTitle: String {
    switch screen {
    case .loading: "reading the accounts"
    case .picker: "pick an account"
    case .accountForm: "create an account"
    case .compose: draft.attachPanel == nil ? "compose" : "attachments"
    case .preview: preview.showsRaw ? "raw message (as send --dry-run prints it)" : "preview"
    case .review: "review before sending"
    case .send: "send to \(session.map { Self.hostAndPort($0.host, $0.port) } ?? "")"
    case .probeForm: "probe a server"
    case .probe: "probe \(session.map { Self.hostAndPort($0.host, $0.port) } ?? "")"
    case .drafts: "drafts"
    }
  }

  func renderTitle(into buffer: inout ScreenBuffer, theme: Theme) {
    let style = theme.style(.title)
    buffer.fill(x: 0, y: 0, width: width, height: 1, style: style)
    var text = " Sealpost · \(screenTitle)"
    if let account, screen != .picker {
      text += " · account \(UntrustedText(account.name).escaped)"
    }
    buffer.write(text, x: 0, y: 0, maxWidth: width, style: style)
  }

  /// The bottom two rows: the status line and the key line.
  func renderBottom(into buffer: inout ScreenBuffer, theme: Theme, status line: StatusLine?) {
    let statusStyle = theme.style(line?.isError == true ? .statusError : .status)
    buffer.fill(x: 0, y: height - 2, width: width, height: 1, style: statusStyle)
    if let line { buffer.write(" " + line.text, x: 0, y: height - 2, maxWidth: width, style: statusStyle) }
    renderKeyLine(into: &buffer, theme: theme, keys: currentKeys)
  }

  func renderKeyLine(into buffer: inout ScreenBuffer, theme: Theme, keys: [KeyHelp]) {
    let style = theme.style(.keys)
    buffer.fill(x: 0, y: height - 1, width: width, height: 1, style: style)
    let text = " " + keys.filter(\.main).map(\.hint).joined(separator: "  ")
    buffer.write(text, x: 0, y: height - 1, maxWidth: width, style: style)
  }

  /// A horizontal rule across the screen, with a title on its left.
  func renderRule(into buffer: inout ScreenBuffer, theme: Theme, y: Int, title: String = "") {
    let style = theme.style(.border)
    buffer.fill(x: 0, y: y, width: width, height: 1, character: "─", style: style)
    if !title.isEmpty { buffer.write("─ \(title) ", x: 0, y: y, maxWidth: width, style: style) }
  }

  func renderLoading(into buffer: inout ScreenBuffer, theme: Theme) {
    renderTitle(into: &buffer, theme: theme)
    buffer.write(" Reading the accounts…", x: 0, y: 2, maxWidth: width, style: theme.style(.fieldText))
    renderBottom(into: &buffer, theme: theme, status: status)
  }

  func renderTooSmall(into buffer: inout ScreenBuffer, theme: Theme) {
    let style = theme.style(.statusError)
    let lines = [
      "Sealpost needs at least \(Self.minimumWidth)×\(Self.minimumHeight);",
      "this terminal is \(width)×\(height).",
      "Make it bigger: nothing is lost.",
      "Ctrl-Q quits.",
    ]
    for (row, line) in Self.wrap(lines, width: width).enumerated() where row < height {
      buffer.write(line, x: 0, y: row, maxWidth: width, style: style)
    }
  }

  /// Lines cut into rows of at most `width` columns, continuation rows indented by `indent` spaces: at the
  /// last space that fits (the space dropped) when `words`, else between clusters; a wide glyph never split.
  static func wrap(_ lines: [String], width: Int, indent: Int = 0, words: Bool = true) -> [String] {
    guard width > indent else { return lines.map { String($0.prefix(max(0, width))) } }
    let margin = String(repeating: " ", count: indent)
    var rows: [String] = []
    for line in lines {
      var row: [Character] = []
      var used = 0
      // The first column of the row's own text (after the indent of a continuation row).
      var start = 0
      for character in line {
        let columns = DisplayWidth.width(of: character)
        if used + columns > width, row.count > start {
          var carried: [Character] = []
          if words, let space = row.lastIndex(of: " "), space > start {
            carried = Array(row[(space + 1)...])
            row.removeSubrange(space...)
          }
          rows.append(String(row))
          row = Array(margin) + carried
          start = indent
          used = DisplayWidth.width(of: String(row))
        }
        row.append(character)
        used += columns
      }
      rows.append(String(row))
    }
    return rows
  }

  /// `host:port`, an IPv6 literal in brackets; peer-given text escaped.
  static func hostAndPort(_ host: String, _ port: UInt16) -> String {
    let shown = UntrustedText(host).escaped
    return host.contains(":") ? "[\(shown)]:\(port)" : "\(shown):\(port)"
  }

  /// "512 bytes", "12.1 KiB", "3.4 MiB".
  static func sizeText(_ size: Int64) -> String {
    func tenths(_ value: Int64, _ unit: Int64) -> String {
      let scaled = (value * 10 + unit / 2) / unit
      return "\(scaled / 10).\(scaled % 10)"
    }
    if size < 1024 { return "\(size) byte\(size == 1 ? "" : "s")" }
    if size < 1024 * 1024 { return "\(tenths(size, 1024)) KiB" }
    return "\(tenths(size, 1024 * 1024)) MiB"
  }
}
