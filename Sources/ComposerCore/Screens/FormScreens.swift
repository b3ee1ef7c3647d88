/// The two forms: the one that creates an account when there is none, and the probe's host, port and mode.
extension ComposerModel {
  func renderAccountForm(into buffer: inout ScreenBuffer, theme: Theme) -> (x: Int, y: Int)? {
    renderTitle(into: &buffer, theme: theme)
    let intro = [
      "There is no account yet. This one goes into Sealpost's own config file (mode 0600).",
      "No password is stored: give a command that prints it, or leave that empty to be asked when sending.",
    ]
    let text = theme.style(.fieldText)
    var row = 2
    for line in Self.wrap(intro, width: width - 2) {
      buffer.write(line, x: 1, y: row, maxWidth: width - 1, style: text)
      row += 1
    }
    row += 1
    let cursor = renderForm(accountForm.form, into: &buffer, theme: theme, top: row)
    renderBottom(into: &buffer, theme: theme, status: status)
    return cursor
  }

  func renderProbeForm(into buffer: inout ScreenBuffer, theme: Theme) -> (x: Int, y: Int)? {
    renderTitle(into: &buffer, theme: theme)
    buffer.write(
      " Connect, show the TLS handshake, chain and capabilities; nothing is sent.", x: 0, y: 2,
      maxWidth: width, style: theme.style(.fieldText))
    let cursor = renderForm(probeForm.form, into: &buffer, theme: theme, top: 4)
    renderBottom(into: &buffer, theme: theme, status: status)
    return cursor
  }

  static let formLabelWidth = 19

  func renderForm(_ form: FormFields, into buffer: inout ScreenBuffer, theme: Theme, top: Int)
    -> (x: Int, y: Int)?
  {
    var cursor: (x: Int, y: Int)?
    let fieldWidth = max(1, width - Self.formLabelWidth - 1)
    for (index, label) in form.labels.enumerated() {
      let row = top + index
      let focused = index == form.focus
      buffer.write(
        " " + label + ":", x: 0, y: row, maxWidth: Self.formLabelWidth, style: theme.style(.fieldLabel))
      let style = theme.style(.fieldText, selected: focused)
      if index == form.choiceIndex {
        buffer.fill(x: Self.formLabelWidth, y: row, width: fieldWidth, height: 1, style: style)
        let choices = form.choices.map { $0 == form.choice ? "(•) \($0.rawValue)" : "( ) \($0.rawValue)" }
        buffer.write(
          choices.joined(separator: "   "), x: Self.formLabelWidth, y: row, maxWidth: fieldWidth, style: style
        )
        if focused { cursor = (Self.formLabelWidth + 1, row) }
      } else {
        var field = form.fields[index]
        let position = field.render(
          into: &buffer, x: Self.formLabelWidth, y: row, width: fieldWidth, style: style)
        if focused { cursor = position }
      }
    }
    if let problem = form.problem {
      for (offset, line) in Self.wrap([problem], width: width - 2).enumerated() {
        buffer.write(
          line, x: 1, y: top + form.labels.count + 1 + offset, maxWidth: width - 1,
          style: theme.style(.fieldError))
      }
    }
    return cursor
  }
}
