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
    for (name, value) in review.channel where row < bottom {
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
    renderBottom(into: &buffer, theme: theme, status: status ?? StatusLine(ask))
  }
}
