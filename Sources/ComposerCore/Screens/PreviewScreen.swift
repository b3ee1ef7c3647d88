/// The preview: the message as the recipient sees it (decoded headers, the body, the attachments with their
/// sizes), or on `r` the raw message as `send --dry-run` prints it.
extension ComposerModel {
  /// The lines of the message as read.
  var previewLines: [(String, ThemeRole)] {
    var lines: [(String, ThemeRole)] = []
    func header(_ name: String, _ value: String) {
      guard !value.isEmpty else { return }
      lines.append(("\(name): \(value)", .fieldLabel))
    }
    header("From", draft.from.text)
    header("To", AddressList.split(draft.to.text).joined(separator: ", "))
    header("Cc", AddressList.split(draft.cc.text).joined(separator: ", "))
    header("Bcc", AddressList.split(draft.bcc.text).joined(separator: ", "))
    header("Subject", draft.subject.text.isEmpty ? "(no subject)" : draft.subject.text)
    if !draft.attachments.isEmpty {
      lines.append(("Attachments:", .fieldLabel))
      for attachment in draft.attachments {
        lines.append(("  " + Self.attachmentText(attachment), .fieldText))
      }
    }
    lines.append(("", .fieldText))
    for line in draft.body.lines {
      // A line holding a control (refused at the review) stands out; the control shows as its escape.
      lines.append((String(line), line.contains(where: BodyEditor.holdsControl) ? .fieldError : .fieldText))
    }
    return lines
  }

  func renderPreview(into buffer: inout ScreenBuffer, theme: Theme) {
    renderTitle(into: &buffer, theme: theme)
    var rows: [(String, ThemeRole)] = []
    if preview.showsRaw {
      if let problem = preview.rawProblem {
        rows = Self.wrap(["The message cannot be built yet: \(problem)"], width: width).map {
          ($0, .fieldError)
        }
      } else if let raw = preview.raw {
        for line in raw.lines {
          for row in Self.wrap([line], width: width, words: false) { rows.append((row, .transcriptData)) }
        }
        if raw.omittedLines > 0 {
          let lines = raw.omittedLines == 1 ? "1 more line" : "\(raw.omittedLines) more lines"
          rows.append(("… and \(lines), not shown here (send --dry-run prints them all)", .transcriptInfo))
        }
      } else {
        rows = [("building the raw message…", .transcriptInfo)]
      }
    } else {
      for (line, role) in previewLines {
        for row in Self.wrap([line], width: width, indent: 2) { rows.append((row, role)) }
      }
    }
    let visible = height - 3
    let first = min(preview.scroll, max(0, rows.count - visible))
    for (offset, (text, role)) in rows.dropFirst(first).prefix(visible).enumerated() {
      buffer.write(text, x: 0, y: 1 + offset, maxWidth: width, style: theme.style(role))
    }
    renderBottom(into: &buffer, theme: theme, status: status)
  }
}
