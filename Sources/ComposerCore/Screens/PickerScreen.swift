import SMTPProtocol

/// The account picker: each account with host, port, TLS mode and where its secret comes from; an account that
/// cannot be used shows the planning layer's reason (file:line) under it and cannot be picked.
extension ComposerModel {
  // TLS holds "starttls, pinned" whole (16 columns and the space after it).
  static let pickerColumns = [("ACCOUNT", 16), ("HOST", 24), ("PORT", 6), ("TLS", 18)]

  func renderPicker(into buffer: inout ScreenBuffer, theme: Theme) {
    renderTitle(into: &buffer, theme: theme)
    let text = theme.style(.fieldText)
    let bottom = height - 2
    switch catalog {
    case .loading:
      break
    case .failed(let reason):
      buffer.write(" The accounts cannot be read:", x: 0, y: 2, maxWidth: width, style: text)
      for (offset, row) in Self.wrap([reason], width: width - 2, indent: 2).enumerated()
      where 3 + offset < bottom {
        buffer.write(row, x: 1, y: 3 + offset, maxWidth: width - 1, style: theme.style(.fieldError))
      }
    case .loaded(let loaded):
      let file = loaded.config.map { UntrustedText($0.path).escaped } ?? "no config file"
      buffer.write(" Accounts in \(file)", x: 0, y: 1, maxWidth: width, style: theme.style(.fieldLabel))
      var header = " "
      for (name, columnWidth) in Self.pickerColumns { header += Self.padded(name, columnWidth) }
      header += "SECRET"
      buffer.write(header, x: 0, y: 3, maxWidth: width, style: theme.style(.fieldLabel))
      // Rows: each account, and its reason under it when it cannot be used; scrolled to the selection.
      var rows: [(String, ThemeRole, Bool)] = []
      var selectedRow = 0
      for (index, entry) in picker.entries.enumerated() {
        let selected = index == picker.selection && entry.isUsable
        if selected { selectedRow = rows.count }
        var line = selected ? ">" : " "
        let cells = [
          UntrustedText(entry.account.name).escaped, entry.hostText, "\(entry.account.port)", entry.tlsText,
        ]
        for (cell, (_, columnWidth)) in zip(cells, Self.pickerColumns) {
          line += Self.padded(cell, columnWidth)
        }
        line += entry.account.secretSource.summary
        rows.append((line, entry.isUsable ? .fieldText : .fieldError, selected))
        if let problem = entry.problem {
          for row in Self.wrap(["     unusable: \(problem)"], width: width, indent: 15) {
            rows.append((row, .fieldError, false))
          }
        }
      }
      let visible = max(1, bottom - 4)
      let first = max(0, min(selectedRow - visible + 1, rows.count - visible))
      for (offset, (line, role, selected)) in rows.dropFirst(first).prefix(visible).enumerated() {
        let style = selected ? theme.style(.selection, selected: true) : theme.style(role)
        buffer.fill(x: 0, y: 4 + offset, width: width, height: 1, style: style)
        buffer.write(line, x: 0, y: 4 + offset, maxWidth: width, style: style)
      }
    }
    renderBottom(into: &buffer, theme: theme, status: status)
  }

  /// `text` cut (with an ellipsis) or padded to `columns` columns, the last one always a space.
  static func padded(_ text: String, _ columns: Int) -> String {
    let room = max(1, columns - 1)
    var out = ""
    var used = DisplayWidth.width(of: text)
    if used > room {
      used = 0
      for character in text {
        let width = DisplayWidth.width(of: character)
        if used + width > room - 1 { break }
        out.append(character)
        used += width
      }
      out += "…"
      used += 1
    } else {
      out = text
    }
    return out + String(repeating: " ", count: max(0, columns - used))
  }
}
