/// The help overlay: every key of the current screen, over it.
extension ComposerModel {
  func renderHelp(into buffer: inout ScreenBuffer, theme: Theme) {
    let keys = currentKeys
    let keyColumn = min(22, (keys.map { DisplayWidth.width(of: $0.keys) }.max() ?? 0) + 2)
    let boxWidth = min(width - 4, 76)
    let lines = keys.flatMap { key in
      Self.wrap([Self.padded(key.keys, keyColumn) + key.action], width: boxWidth - 4, indent: keyColumn)
    }
    let boxHeight = min(height - 2, lines.count + 4)
    let x = (width - boxWidth) / 2
    let y = max(1, (height - boxHeight) / 2)
    let style = theme.style(.help)
    buffer.fill(x: x, y: y, width: boxWidth, height: boxHeight, style: style)
    buffer.write(" Keys: \(screenTitle) ", x: x + 1, y: y, maxWidth: boxWidth - 2, style: theme.style(.title))
    for (offset, line) in lines.prefix(boxHeight - 4).enumerated() {
      buffer.write(line, x: x + 2, y: y + 2 + offset, maxWidth: boxWidth - 4, style: style)
    }
    buffer.write(
      " F1, Esc or q closes this help", x: x + 1, y: y + boxHeight - 1, maxWidth: boxWidth - 2, style: style)
  }
}
