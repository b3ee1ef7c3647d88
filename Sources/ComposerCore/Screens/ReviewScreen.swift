import SMTPProtocol

/// The review before sending: the channel (transport, server and port, trust, login), the headers with the
/// envelope beside them, the warnings, and what stops the send.
extension ComposerModel {
  static let reviewLabelWidth = 11

  /// One row of the review: pieces of text at their columns, each cut to its columns.
  struct ReviewRow: Sendable {
    struct Piece: Sendable {
      var text: String
      var x: Int
      var columns: Int
      var role: ThemeRole
    }
    var pieces: [Piece] = []
    /// How many recipients of the envelope (RCPT TO) the row names: counted while it is out of view.
    var recipients = 0

    init(_ pieces: [Piece] = [], recipients: Int = 0) {
      self.pieces = pieces
      self.recipients = recipients
    }

    init(_ text: String, x: Int = 0, columns: Int, role: ThemeRole) {
      pieces = [Piece(text: text, x: x, columns: columns, role: role)]
    }
  }

  /// Every row of the review at the current width, from the channel to what stops the send: the screen shows
  /// as many as fit from ``Review/scroll`` on (review: with 60 recipients at 80×24 the envelope was cut at
  /// the bottom of the screen, and nobody could see whom the message went to before sending it). Values too
  /// long for their column are wrapped, never cut: a To field of 60 mailboxes takes the rows it needs.
  func reviewRows(_ review: Review) -> [ReviewRow] {
    var rows: [ReviewRow] = []
    let labelWidth = Self.reviewLabelWidth
    /// A label and its value, the value wrapped under itself in `columns` less the label's.
    func pairs(_ name: String, _ value: String, x: Int, columns: Int) -> [[ReviewRow.Piece]] {
      let lines = Self.wrap([value], width: max(1, columns - labelWidth))
      return lines.enumerated().map { index, line in
        var pieces: [ReviewRow.Piece] = []
        if index == 0 {
          pieces.append(ReviewRow.Piece(text: name, x: x, columns: labelWidth, role: .fieldLabel))
        }
        pieces.append(
          ReviewRow.Piece(text: line, x: x + labelWidth, columns: columns - labelWidth, role: .fieldText))
        return pieces
      }
    }
    for (name, value) in review.channel + Self.protectionRows(review) {
      rows += pairs(" " + name, value, x: 0, columns: width).map { ReviewRow($0) }
    }
    rows.append(ReviewRow())
    // Headers on the left, the envelope beside them.
    let half = width / 2
    if !review.headers.isEmpty || !review.envelope.isEmpty {
      rows.append(
        ReviewRow([
          ReviewRow.Piece(text: " Headers", x: 0, columns: half, role: .title),
          ReviewRow.Piece(text: " Envelope", x: half, columns: width - half, role: .title),
        ]))
      let left = review.headers.flatMap { pairs(" " + $0.0, $0.1, x: 0, columns: half - 1) }
      let right = review.envelope.map { line in
        (pairs(" " + line.0, line.1, x: half, columns: width - half), line.0 == "RCPT TO" ? 1 : 0)
      }
      let rightRows = right.flatMap { pieces, count in pieces.enumerated().map { ($1, $0 == 0 ? count : 0) } }
      for index in 0..<max(left.count, rightRows.count) {
        var row = ReviewRow()
        if index < left.count { row.pieces += left[index] }
        if index < rightRows.count {
          row.pieces += rightRows[index].0
          row.recipients = rightRows[index].1
        }
        rows.append(row)
      }
      rows.append(ReviewRow())
    }
    if review.encrypt && review.order != nil {
      rows += certificateRows(review)
    }
    func wrapped(_ text: String, _ role: ThemeRole) {
      for line in Self.wrap([text], width: width - 1, indent: 2) {
        rows.append(ReviewRow(line, x: 1, columns: width - 1, role: role))
      }
    }
    for warning in review.warnings + review.remarks.warnings { wrapped("! " + warning, .transcriptWarning) }
    for note in review.remarks.notes { wrapped("· note: " + note, .transcriptInfo) }
    for problem in review.blocking where problem != "no recipient" {
      wrapped("✗ cannot send: " + problem, .fieldError)
    }
    // Why encryption stops the send, whole (the status line, one row, cut it before its remedy: "… encryption
    // is on, an"), once the certificates are known.
    if review.certificates != nil || review.certificateProblem != nil, let block = review.protectionBlock {
      wrapped("✗ cannot send: " + block, .fieldError)
    }
    while rows.last?.pieces.isEmpty == true { rows.removeLast() }
    return rows
  }

  /// The rows between the title and the status line: the first says how many rows are above when the review
  /// is scrolled, the last how many are below while some are.
  var reviewPage: Int { max(1, height - 4) }

  /// The first row shown for `scroll`, and how many rows are shown: all of them when they fit, else all but
  /// the last row of the page, which says what follows.
  func reviewWindow(rows total: Int, scroll: Int) -> (first: Int, count: Int) {
    guard total > reviewPage else { return (0, total) }
    let count = max(1, reviewPage - 1)
    return (min(max(0, scroll), total - count), count)
  }

  func renderReview(into buffer: inout ScreenBuffer, theme: Theme) {
    renderTitle(into: &buffer, theme: theme)
    guard let review else { return }
    let rows = reviewRows(review)
    let (first, count) = reviewWindow(rows: rows.count, scroll: review.scroll)
    for (offset, row) in rows[first..<(first + count)].enumerated() {
      for piece in row.pieces {
        buffer.write(
          piece.text, x: piece.x, y: 2 + offset, maxWidth: piece.columns, style: theme.style(piece.role))
      }
    }
    let noteStyle = theme.style(.status)
    if first > 0 {
      let note = " ↑ \(first) more row\(first == 1 ? "" : "s") above (↑ k PgUp) "
      buffer.write(
        note, x: max(0, width - DisplayWidth.width(of: note)), y: 1, maxWidth: width, style: noteStyle)
    }
    let below = rows.count - first - count
    if below > 0 {
      let hidden = rows[(first + count)...].reduce(0) { $0 + $1.recipients }
      let recipients = hidden == 0 ? "" : ", \(hidden) more recipient\(hidden == 1 ? "" : "s")"
      let note = " ↓ \(below) more row\(below == 1 ? "" : "s")\(recipients): ↓ j PgDn scroll, End the last "
      buffer.fill(x: 0, y: 2 + count, width: width, height: 1, style: noteStyle)
      buffer.write(note, x: 0, y: 2 + count, maxWidth: width, style: noteStyle)
    }
    let ask = review.order == nil ? "e: back to fix it" : "y: send   e: back to the message"
    let refusal = review.protectionBlock.map { StatusLine(error: "cannot send: " + $0) }
    renderBottom(into: &buffer, theme: theme, status: status ?? refusal ?? StatusLine(ask))
  }

  /// The S/MIME toggles as rows of the channel's table (issue 15).
  static func protectionRows(_ review: Review) -> [(String, String)] {
    let sign =
      if let reason = review.signUnavailable {
        "unavailable: \(reason)"
      } else if review.sign {
        "on: signed with the account's smime_cert (s turns it off)"
      } else {
        "off (s turns it on)"
      }
    let encrypt =
      review.encrypt
      ? "on: for every recipient and the sender, all or nothing (c: off)" : "off (c turns it on)"
    return [("Sign", sign), ("Encrypt", encrypt)]
  }

  /// For whom the message is encrypted: each recipient with its certificate's last day, or why it cannot be
  /// used; then the line about the Bcc copies and an empty row.
  func certificateRows(_ review: Review) -> [ReviewRow] {
    var rows = [ReviewRow(" Encrypted for", columns: width, role: .title)]
    guard let certificates = review.certificates else {
      let text = review.certificateProblem.map { "✗ \($0)" } ?? "looking up the certificates…"
      for line in Self.wrap([text], width: width - 2, indent: 2) {
        rows.append(ReviewRow(" " + line, columns: width, role: .fieldText))
      }
      return rows + [ReviewRow()]
    }
    let columns = width - Self.reviewLabelWidth - 1
    for status in certificates {
      let address = UntrustedText(status.address).escaped
      let (text, role): (String, ThemeRole) =
        switch status.certificate {
        case .success(let lastDay): ("\(address): usable, valid until \(lastDay)", .fieldText)
        case .failure(let refusal): ("\(address): ✗ \(refusal)", .fieldError)
        }
      for (index, line) in Self.wrap([text], width: columns, indent: 2).enumerated() {
        var row = ReviewRow(line, x: Self.reviewLabelWidth, columns: columns, role: role)
        if index == 0 {
          row.pieces.insert(
            ReviewRow.Piece(
              text: " " + status.role.rawValue, x: 0, columns: Self.reviewLabelWidth, role: .fieldLabel),
            at: 0)
        }
        rows.append(row)
      }
    }
    let line = "Bcc recipients each get a separately encrypted copy of their own."
    for text in Self.wrap([line], width: width - 2, indent: 2) {
      rows.append(ReviewRow(" " + text, columns: width, role: .transcriptInfo))
    }
    return rows + [ReviewRow()]
  }
}
