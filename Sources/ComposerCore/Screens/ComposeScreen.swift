/// The compose screen: title, From, To, Cc, Bcc, Subject (a field's address problem beside it), the
/// attachments, a rule, the body editor, the status line and the key line.
///
/// ```
///  Sealpost · compose · account work
/// From:    Alice <alice@example.org>
/// To:      bob@example.org
/// Cc:      carol@                    missing domain
/// Bcc:
/// Subject: Hello
/// Attach:  report.pdf (12.1 KiB)
/// ────────────────────────────────────────
/// body…
/// ```
extension ComposerModel {
  static let headerRows: [(Draft.Field, Int)] = [(.from, 1), (.to, 2), (.cc, 3), (.bcc, 4), (.subject, 5)]

  func renderCompose(into buffer: inout ScreenBuffer, theme: Theme) -> (x: Int, y: Int)? {
    renderTitle(into: &buffer, theme: theme)
    var cursor: (x: Int, y: Int)?
    let labelStyle = theme.style(.fieldLabel)
    for (field, row) in Self.headerRows {
      let focused = draft.focus == field && draft.attachPanel == nil
      buffer.fill(x: 0, y: row, width: Draft.labelWidth, height: 1, style: labelStyle)
      buffer.write(field.label, x: 0, y: row, maxWidth: Draft.labelWidth, style: labelStyle)
      let fieldWidth = draft.fieldWidth(field, screenWidth: width)
      var text = draft[field]
      if focused {
        cursor = text.render(
          into: &buffer, x: Draft.labelWidth, y: row, width: fieldWidth,
          style: theme.style(.fieldText, selected: true))
      } else {
        Self.renderStart(
          of: text.text, into: &buffer, x: Draft.labelWidth, y: row, width: fieldWidth,
          style: theme.style(.fieldText))
      }
      if let problem = draft.problems[field] {
        let x = Draft.labelWidth + fieldWidth
        let style = theme.style(.fieldError)
        buffer.fill(x: x, y: row, width: width - x, height: 1, style: style)
        buffer.write("  " + problem, x: x, y: row, maxWidth: width - x, style: style)
      }
    }
    renderAttachmentRow(into: &buffer, theme: theme, y: 6)
    renderRule(into: &buffer, theme: theme, y: 7)
    let bodyCursor = draft.body.render(
      into: &buffer, x: 0, y: Draft.bodyTop, style: theme.style(.fieldText),
      controlStyle: theme.style(.fieldError))
    if draft.focus == .body && draft.attachPanel == nil { cursor = bodyCursor }
    if let panel = draft.attachPanel {
      cursor = renderAttachPanel(panel, into: &buffer, theme: theme)
    }
    // A draft that could not be saved says so until a save works (the message on screen stays as it is).
    renderBottom(into: &buffer, theme: theme, status: status ?? drafts.problem.map { StatusLine(error: $0) })
    return cursor
  }

  /// A field the cursor is not in, from its start (review by hand: after Tab, To showed the tail of its last
  /// edit, "mple.org>, 山田 太郎 <…", beginning in the middle of an address); a text wider than the field ends
  /// with "…" in its last column.
  static func renderStart(
    of text: String, into buffer: inout ScreenBuffer, x: Int, y: Int, width: Int, style: Style
  ) {
    buffer.fill(x: x, y: y, width: width, height: 1, style: style)
    let glyphs = DisplayWidth.glyphs(of: text)
    guard glyphs.reduce(0, { $0 + $1.width }) > width, width > 1 else {
      buffer.write(glyphs: glyphs, x: x, y: y, maxWidth: width, style: style)
      return
    }
    buffer.write(glyphs: glyphs, x: x, y: y, maxWidth: width - 1, style: style)
    buffer.write("…", x: x + width - 1, y: y, maxWidth: 1, style: style)
  }

  func renderAttachmentRow(into buffer: inout ScreenBuffer, theme: Theme, y: Int) {
    let labelStyle = theme.style(.fieldLabel)
    buffer.fill(x: 0, y: y, width: Draft.labelWidth, height: 1, style: labelStyle)
    buffer.write("Attach:", x: 0, y: y, style: labelStyle)
    let style = theme.style(.fieldText)
    buffer.fill(x: Draft.labelWidth, y: y, width: width - Draft.labelWidth, height: 1, style: style)
    let text =
      draft.attachments.isEmpty
      ? "(none; Ctrl-T attaches)"
      : draft.attachments.map { Self.attachmentText($0) }.joined(separator: ", ")
    buffer.write(text, x: Draft.labelWidth, y: y, maxWidth: width - Draft.labelWidth, style: style)
  }

  /// "report.pdf (12.1 KiB)": the file's name and its size, or that it is being checked.
  static func attachmentText(_ attachment: Draft.Attachment, fullPath: Bool = false) -> String {
    let name =
      fullPath
      ? attachment.path : String(attachment.path.split(separator: "/").last ?? Substring(attachment.path))
    return "\(name) (\(attachment.size.map(sizeText) ?? "checking…"))"
  }

  /// The Ctrl-T panel over the body: the attachments, and the path being typed with its candidates.
  func renderAttachPanel(_ panel: Draft.AttachPanel, into buffer: inout ScreenBuffer, theme: Theme)
    -> (x: Int, y: Int)?
  {
    let top = Draft.bodyTop
    let bottom = height - Draft.bodyBottomMargin
    let style = theme.style(.help)
    buffer.fill(x: 0, y: top, width: width, height: bottom - top, style: style)
    buffer.write(" Attachments", x: 0, y: top, maxWidth: width, style: theme.style(.fieldLabel))
    var row = top + 1
    if draft.attachments.isEmpty {
      buffer.write("   (none)", x: 0, y: row, maxWidth: width, style: style)
      row += 1
    }
    for (index, attachment) in draft.attachments.enumerated() where row < bottom - 2 {
      let selected = index == panel.selection && panel.path == nil
      let rowStyle = selected ? theme.style(.selection, selected: true) : style
      buffer.fill(x: 0, y: row, width: width, height: 1, style: rowStyle)
      buffer.write(
        (selected ? " > " : "   ") + Self.attachmentText(attachment, fullPath: true), x: 0, y: row,
        maxWidth: width, style: rowStyle)
      row += 1
    }
    guard let path = panel.path else { return nil }
    row += 1
    let label = " Path: "
    buffer.write(label, x: 0, y: row, style: theme.style(.fieldLabel))
    var field = path
    let cursor = field.render(
      into: &buffer, x: label.count, y: row, width: width - label.count,
      style: theme.style(.fieldText, selected: true))
    row += 1
    // The last row left says that more match than are listed (never hidden below the candidates).
    let listed = panel.more ? bottom - 1 : bottom
    for candidate in panel.candidates where row < listed {
      buffer.write("   " + candidate, x: 0, y: row, maxWidth: width, style: style)
      row += 1
    }
    if panel.more, row < bottom {
      buffer.write(
        "   more… (only some matches are listed: type more of the name)", x: 0, y: row, maxWidth: width,
        style: style)
    }
    return cursor
  }
}
