import SMTPProtocol

/// The drafts offered at start (issue 12 §1): each with its subject, recipients and age, the newest first;
/// Enter continues one, `d` discards one after asking, `n` starts a new message.
///
/// ```
///  Sealpost · drafts · account work
///  Drafts kept from earlier: continue one, or start a new message
///
///  SUBJECT                           RECIPIENTS                      SAVED
/// >Quarterly report                  bob@example.org                 5 min ago
/// ```
extension ComposerModel {
  static let draftColumns = [("SUBJECT", 34), ("RECIPIENTS", 32)]

  func renderDraftList(into buffer: inout ScreenBuffer, theme: Theme) {
    renderTitle(into: &buffer, theme: theme)
    let text = theme.style(.fieldText)
    guard !draftList.loading else {
      buffer.write(" Reading the drafts…", x: 0, y: 2, maxWidth: width, style: text)
      renderBottom(into: &buffer, theme: theme, status: status)
      return
    }
    let label = theme.style(.fieldLabel)
    let count = draftList.entries.count
    buffer.write(
      " \(count) draft\(count == 1 ? "" : "s") kept from earlier: continue one, or start a new message", x: 0,
      y: 1, maxWidth: width, style: label)
    var header = " "
    for (name, columnWidth) in Self.draftColumns { header += Self.padded(name, columnWidth) }
    header += "SAVED"
    buffer.write(header, x: 0, y: 3, maxWidth: width, style: label)
    let bottom = height - 2
    let visible = max(1, bottom - 4)
    let first = max(0, min(draftList.selection - visible + 1, count - visible))
    for (offset, entry) in draftList.entries.enumerated().dropFirst(first).prefix(visible) {
      let row = 4 + offset - first
      let selected = offset == draftList.selection
      let style = selected ? theme.style(.selection, selected: true) : text
      var subject = entry.subject.isEmpty ? "(no subject)" : UntrustedText(entry.subject).escaped
      // A draft written with another account continues with that one: the list says so before Enter does.
      if let other = entry.account, other != account?.name {
        subject = "[\(UntrustedText(other).escaped)] " + subject
      }
      let recipients = (entry.to + entry.cc + entry.bcc).joined(separator: ", ")
      var line = selected ? ">" : " "
      line += Self.padded(subject, Self.draftColumns[0].1)
      line += Self.padded(
        recipients.isEmpty ? "(no recipient)" : UntrustedText(recipients).escaped, Self.draftColumns[1].1)
      line += Self.age(Double(now) - entry.saved)
      buffer.fill(x: 0, y: row, width: width, height: 1, style: style)
      buffer.write(line, x: 0, y: row, maxWidth: width, style: style)
    }
    var line = status
    if let id = draftList.confirming, let entry = draftList.entries.first(where: { $0.id == id }) {
      let subject = entry.subject.isEmpty ? "(no subject)" : UntrustedText(entry.subject).escaped
      line = StatusLine(error: "discard the draft \"\(subject)\" for good? y discards it, n keeps it")
    }
    renderBottom(into: &buffer, theme: theme, status: line)
  }
}
