import SMTPProtocol

/// The review before sending: the channel (transport, server and port, trust, login), the headers with the
/// envelope beside them, the warnings, and what stops the send.
extension ComposerModel {
  static let reviewLabelWidth = 11

  func renderReview(into buffer: inout ScreenBuffer, theme: Theme) {
    renderTitle(into: &buffer, theme: theme)
    guard let review else { return }
    let label = theme.style(.fieldLabel)
    let text = theme.style(.fieldText)
    let bottom = height - 2
    var row = 2
    func pair(_ name: String, _ value: String, x: Int, y: Int, columns: Int) {
      buffer.write(name, x: x, y: y, maxWidth: Self.reviewLabelWidth, style: label)
      buffer.write(
        value, x: x + Self.reviewLabelWidth, y: y, maxWidth: columns - Self.reviewLabelWidth, style: text)
    }
    for (name, value) in review.channel + Self.protectionRows(review) where row < bottom {
      pair(" " + name, value, x: 0, y: row, columns: width)
      row += 1
    }
    row += 1
    // Headers on the left, the envelope beside them.
    let half = width / 2
    if !review.headers.isEmpty || !review.envelope.isEmpty {
      buffer.write(" Headers", x: 0, y: row, style: theme.style(.title))
      buffer.write(" Envelope", x: half, y: row, style: theme.style(.title))
      row += 1
      for index in 0..<max(review.headers.count, review.envelope.count) where row < bottom {
        if index < review.headers.count {
          pair(" " + review.headers[index].0, review.headers[index].1, x: 0, y: row, columns: half - 1)
        }
        if index < review.envelope.count {
          pair(
            " " + review.envelope[index].0, review.envelope[index].1, x: half, y: row, columns: width - half)
        }
        row += 1
      }
      row += 1
    }
    if review.encrypt && review.order != nil {
      row = renderCertificates(review, into: &buffer, theme: theme, row: row, bottom: bottom)
    }
    for warning in review.warnings {
      for line in Self.wrap(["! " + warning], width: width - 1, indent: 2) where row < bottom {
        buffer.write(line, x: 1, y: row, maxWidth: width - 1, style: theme.style(.transcriptWarning))
        row += 1
      }
    }
    for warning in review.remarks.warnings {
      for line in Self.wrap(["! " + warning], width: width - 1, indent: 2) where row < bottom {
        buffer.write(line, x: 1, y: row, maxWidth: width - 1, style: theme.style(.transcriptWarning))
        row += 1
      }
    }
    for note in review.remarks.notes {
      for line in Self.wrap(["· note: " + note], width: width - 1, indent: 2) where row < bottom {
        buffer.write(line, x: 1, y: row, maxWidth: width - 1, style: theme.style(.transcriptInfo))
        row += 1
      }
    }
    for problem in review.blocking where problem != "no recipient" {
      for line in Self.wrap(["✗ cannot send: " + problem], width: width - 1, indent: 2) where row < bottom {
        buffer.write(line, x: 1, y: row, maxWidth: width - 1, style: theme.style(.fieldError))
        row += 1
      }
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
  /// used; then the line about the Bcc copies. Returns the next free row.
  func renderCertificates(
    _ review: Review, into buffer: inout ScreenBuffer, theme: Theme, row start: Int, bottom: Int
  ) -> Int {
    var row = start
    guard row < bottom else { return row }
    buffer.write(" Encrypted for", x: 0, y: row, style: theme.style(.title))
    row += 1
    guard let certificates = review.certificates else {
      let text = review.certificateProblem.map { "✗ \($0)" } ?? "looking up the certificates…"
      for line in Self.wrap([text], width: width - 2, indent: 2) where row < bottom {
        buffer.write(" " + line, x: 0, y: row, maxWidth: width, style: theme.style(.fieldText))
        row += 1
      }
      return row + 1
    }
    let columns = width - Self.reviewLabelWidth - 1
    for status in certificates {
      let address = UntrustedText(status.address).escaped
      let (text, role): (String, ThemeRole) =
        switch status.certificate {
        case .success(let lastDay): ("\(address): usable, valid until \(lastDay)", .fieldText)
        case .failure(let refusal): ("\(address): ✗ \(refusal)", .fieldError)
        }
      for (index, line) in Self.wrap([text], width: columns, indent: 2).enumerated() where row < bottom {
        if index == 0 {
          buffer.write(
            " " + status.role.rawValue, x: 0, y: row, maxWidth: Self.reviewLabelWidth,
            style: theme.style(.fieldLabel))
        }
        buffer.write(line, x: Self.reviewLabelWidth, y: row, maxWidth: columns, style: theme.style(role))
        row += 1
      }
    }
    let line = "Bcc recipients each get a separately encrypted copy of their own."
    for text in Self.wrap([line], width: width - 2, indent: 2) where row < bottom {
      buffer.write(" " + text, x: 0, y: row, maxWidth: width, style: theme.style(.transcriptInfo))
      row += 1
    }
    return row + 1
  }
}
