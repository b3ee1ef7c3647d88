import MailSender
import SMTPProtocol
import SMTPTransport

/// The send and probe screens: the live transcript (colour per kind, TLS steps highlighted, following the end
/// unless scrolled back), the TLS pane, the progress bar, the status line with the result, and the key line.
/// The masked password field and the pin confirmation draw over them.
extension ComposerModel {
  /// The rows of the TLS pane, its rule included, on a screen `height` rows high.
  static func tlsPaneHeight(screenHeight: Int) -> Int { max(8, (screenHeight - 4) * 2 / 5) }

  func renderSession(into buffer: inout ScreenBuffer, theme: Theme) -> (x: Int, y: Int)? {
    renderTitle(into: &buffer, theme: theme)
    guard let session else {
      renderBottom(into: &buffer, theme: theme, status: status)
      return nil
    }
    let areaTop = 1
    let areaBottom = height - 3
    let tlsRows = session.showsTLSDetail ? areaBottom - areaTop : Self.tlsPaneHeight(screenHeight: height)
    let tlsTop = areaBottom - tlsRows
    if tlsTop > areaTop {
      renderTranscript(session, into: &buffer, theme: theme, top: areaTop, rows: tlsTop - areaTop)
    }
    renderRule(
      into: &buffer, theme: theme, y: tlsTop, title: session.isProbe ? "TLS and capabilities" : "TLS")
    renderTLSPane(session, into: &buffer, theme: theme, top: tlsTop + 1, rows: tlsRows - 1)
    renderProgress(session, into: &buffer, theme: theme, y: height - 3)
    if session.pin?.stage == .confirming, let offer = session.pin {
      renderPinConfirmation(offer, into: &buffer, theme: theme, top: areaTop, bottom: areaBottom)
    }
    renderKeyLine(into: &buffer, theme: theme, keys: sessionKeyHints(session))
    return renderSessionStatus(session, into: &buffer, theme: theme, y: height - 2)
  }

  /// The key line of the moment: cancel while it runs; back, save, pin when it ended.
  func sessionKeyHints(_ session: Session) -> [KeyHelp] {
    if session.secretPrompt != nil { return Self.secretKeys }
    if session.pin?.stage == .confirming { return Self.pinKeys }
    var keys: [KeyHelp] = []
    if session.isRunning {
      keys.append(KeyHelp("Esc", "cancel", main: true))
    } else {
      keys.append(KeyHelp("q", "back", main: true))
      if session.pin?.stage == .offered { keys.append(KeyHelp("p", "pin key", main: true)) }
      if session.queueable && session.queuedID == nil { keys.append(KeyHelp("o", "queue", main: true)) }
      keys.append(KeyHelp("s", "save", main: true))
    }
    keys.append(KeyHelp("↑↓", "scroll", main: true))
    keys.append(KeyHelp("t", session.showsTLSDetail ? "transcript" : "TLS", main: true))
    keys.append(KeyHelp("F1", "help", main: true))
    keys.append(KeyHelp("^Q", "quit", main: true))
    return keys
  }

  static func role(of line: TranscriptLine) -> ThemeRole {
    switch line.kind {
    case .connect, .info: .transcriptInfo
    case .send, .recv: line.insideTLS ? .transcriptTLS : .transcriptPlain
    case .data: .transcriptData
    case .tls: .transcriptTLSStep
    case .warning: .transcriptWarning
    case .error: .transcriptError
    }
  }

  func renderTranscript(
    _ session: Session, into buffer: inout ScreenBuffer, theme: Theme, top: Int, rows: Int
  ) {
    // Each line wrapped to the width, continuation rows indented under the text (after "<~  +0.000 ").
    var wrapped: [(String, ThemeRole)] = []
    for line in session.lines {
      let text = TranscriptFormat.text.render(line)
      let role = Self.role(of: line)
      for row in Self.wrap([text], width: width, indent: 11, words: false) { wrapped.append((row, role)) }
    }
    let maximumBack = max(0, wrapped.count - rows)
    let back = min(session.scrollBack, maximumBack)
    let first = max(0, wrapped.count - rows - back)
    for (offset, (text, role)) in wrapped[first..<min(wrapped.count, first + rows)].enumerated() {
      let style = theme.style(role)
      buffer.fill(x: 0, y: top + offset, width: width, height: 1, style: style)
      buffer.write(text, x: 0, y: top + offset, maxWidth: width, style: style)
    }
    if back > 0 {
      let note = " ↑ \(back) more below; End follows "
      let x = max(0, width - DisplayWidth.width(of: note))
      buffer.write(note, x: x, y: top + rows - 1, style: theme.style(.status))
    }
  }

  /// The TLS pane's lines: version, cipher and group; the verdict; the probe's capability differences; each
  /// certificate of the chain (subject, issuer, names, validity with days left; with `t` also key, SHA-256 and
  /// pin), in the core's words (`TranscriptText`).
  func tlsPaneLines(_ session: Session) -> [(String, ThemeRole)] {
    var lines: [(String, ThemeRole)] = []
    if let diff = session.capabilityDiff {
      if diff.onlyBefore.isEmpty && diff.onlyAfter.isEmpty {
        lines.append(("capabilities: the same before and inside TLS", .transcriptInfo))
      } else {
        let none = "(none)"
        let before = diff.onlyBefore.isEmpty ? none : diff.onlyBefore.joined(separator: ", ")
        let after = diff.onlyAfter.isEmpty ? none : diff.onlyAfter.joined(separator: ", ")
        lines.append(("only before TLS: \(before)", .transcriptPlain))
        lines.append(("only inside TLS: \(after)", .transcriptTLS))
      }
    }
    guard let tls = session.tls else {
      if session.plaintext {
        lines.insert(("no TLS: plaintext, as asked", .transcriptWarning), at: 0)
      } else {
        lines.insert(("no TLS session yet", .transcriptInfo), at: 0)
      }
      return lines
    }
    let group = tls.group.map { "  \($0)" } ?? ""
    var head = [("\(tls.version)  \(tls.cipher)\(group)", ThemeRole.transcriptTLS)]
    head.append(
      (
        "verdict: \(TranscriptText.verdict(tls.verdict))",
        tls.verdict.isTrusted ? .verdictOK : .verdictRefused
      ))
    lines = head + lines
    let shown = session.showsTLSDetail ? 7 : 4
    for (index, certificate) in tls.chain.enumerated() {
      for line in TranscriptText.certificateLines(certificate, index: index, now: now).prefix(shown) {
        lines.append((String(line.dropFirst("TLS ".count)), .transcriptTLSStep))
      }
    }
    if case .pinned = tls.verdict,
      let chainLine = TranscriptText.lines(for: .established(tls), now: now).last,
      chainLine.hasPrefix("TLS chain and name")
    {
      lines.append((String(chainLine.dropFirst("TLS ".count)), .transcriptInfo))
    }
    return lines
  }

  func renderTLSPane(_ session: Session, into buffer: inout ScreenBuffer, theme: Theme, top: Int, rows: Int) {
    var wrapped: [(String, ThemeRole)] = []
    for (line, role) in tlsPaneLines(session) {
      for row in Self.wrap([line], width: width, indent: 4) { wrapped.append((row, role)) }
    }
    for (offset, (text, role)) in wrapped.prefix(rows).enumerated() {
      buffer.write(text, x: 0, y: top + offset, maxWidth: width, style: theme.style(role))
    }
  }

  /// The progress bar while uploading; after the end, where the transcript was saved.
  func renderProgress(_ session: Session, into buffer: inout ScreenBuffer, theme: Theme, y: Int) {
    let style = theme.style(.status)
    buffer.fill(x: 0, y: y, width: width, height: 1, style: style)
    if let notice = session.notice {
      buffer.write(
        " " + notice.text, x: 0, y: y, maxWidth: width,
        style: notice.isError ? theme.style(.statusError) : style)
      return
    }
    if let saved = session.saved {
      switch saved {
      case .success(let paths):
        buffer.write(
          " transcript saved: " + paths.map { UntrustedText($0).escaped }.joined(separator: ", "), x: 0, y: y,
          maxWidth: width, style: style)
      case .failure(let problem):
        buffer.write(
          " transcript not saved: \(problem.message)", x: 0, y: y, maxWidth: width,
          style: theme.style(.statusError))
      }
      return
    }
    guard let progress = session.progress else { return }
    let total = max(1, progress.total)
    let sent = min(max(0, progress.sent), total)
    // In floating point: the counts come from the sender, and no count may overflow into a trap.
    let fraction = Double(sent) / Double(total)
    let percent = Int(fraction * 100)
    let label = " \(Self.grouped(sent)) of \(Self.grouped(progress.total)) bytes"
    let barWidth = max(10, width - 2 - 6 - DisplayWidth.width(of: label) - 2)
    let filled = min(barWidth, Int(Double(barWidth) * fraction))
    let bar =
      " [" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "] "
      + String(repeating: " ", count: percent < 10 ? 2 : percent < 100 ? 1 : 0) + "\(percent)%" + label
    buffer.write(bar, x: 0, y: y, maxWidth: width, style: style)
  }

  /// 1234567 → "1,234,567".
  static func grouped(_ number: Int) -> String {
    let digits = String(number.magnitude)
    var out = ""
    for (index, digit) in digits.enumerated() {
      if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
      out.append(digit)
    }
    return number < 0 ? "-" + out : out
  }

  /// The status line: the step while it runs, the masked password field, or the result in its verdict colour.
  func renderSessionStatus(_ session: Session, into buffer: inout ScreenBuffer, theme: Theme, y: Int)
    -> (x: Int, y: Int)?
  {
    if let prompt = session.secretPrompt {
      let style = theme.style(.fieldLabel)
      buffer.fill(x: 0, y: y, width: width, height: 1, style: style)
      let label = " \(prompt) "
      let used = buffer.write(label, x: 0, y: y, maxWidth: width - 2, style: style)
      // One mark a character typed, never the characters.
      let mask = String(
        repeating: "•", count: min(session.secretField.count, max(0, width - used - 1)))
      buffer.write(
        mask, x: used, y: y, maxWidth: width - used, style: theme.style(.fieldText, selected: true))
      return (min(width - 1, used + DisplayWidth.width(of: mask)), y)
    }
    let (text, role): (String, ThemeRole)
    // Copies that went before one failed: said first, so nobody sends them again by mistake.
    let partly =
      Self.deliveredText(session.delivered).map {
        "PARTLY SENT: \($0) already ha\(session.delivered.count == 1 ? "s" : "ve") it; "
      } ?? ""
    switch session.result {
    case nil:
      let step = session.stage.map { "now: \($0.label)" } ?? "starting"
      (text, role) = (session.cancelRequested ? "cancelling…" : step, .status)
    case .sent(let line): (text, role) = ("SENT — \(line)", .verdictOK)
    case .refused(let line): (text, role) = (partly + "NOT SENT — \(line)", .verdictRefused)
    case .cancelled(let line): (text, role) = (partly + "CANCELLED, NOT SENT — \(line)", .verdictCancelled)
    case .deliveryUnknown(let line):
      (text, role) = (partly + "DELIVERY UNKNOWN — \(line); not sent again by itself", .verdictUnknown)
    case .probed(let trustworthy, let line):
      (text, role) = (line, trustworthy ? .verdictOK : .verdictRefused)
    }
    let style = theme.style(role)
    buffer.fill(x: 0, y: y, width: width, height: 1, style: style)
    buffer.write(" " + text, x: 0, y: y, maxWidth: width, style: style)
    return nil
  }

  /// "Pin this key?" over the transcript: the pin, the fingerprint, what it does, and the two answers.
  func renderPinConfirmation(
    _ offer: Session.PinOffer, into buffer: inout ScreenBuffer, theme: Theme, top: Int, bottom: Int
  ) {
    let style = theme.style(.help)
    let target = Self.hostAndPort(offer.host, offer.port)
    // The fingerprint in two rows of 16 octets, as administrators read them out.
    let halves = Self.fingerprintRows(offer.fingerprint)
    let lines =
      [
        "Pin this key for \(target)?",
        "",
        "SPKI pin:  \(offer.pin)",
        "SHA-256:   \(halves.first ?? "")",
      ] + halves.dropFirst().map { "           " + $0 } + [
        "",
        "Sealpost will then trust this key, and only this key, for \(target) instead of the CA "
          + "check; the pin goes into Sealpost's pin file, and the message is sent again on a new connection.",
        "Compare the fingerprint with the one the server's administrator gives you.",
        "",
        "y: pin and send again      n or Esc: do not pin",
      ]
    let rows = Self.wrap(lines, width: width - 2)
    buffer.fill(x: 0, y: top, width: width, height: min(bottom - top, rows.count + 2), style: style)
    for (offset, row) in rows.enumerated() where top + 1 + offset < bottom {
      let rowStyle = offset == 0 ? theme.style(.verdictRefused) : style
      buffer.write(row, x: 1, y: top + 1 + offset, maxWidth: width - 2, style: rowStyle)
    }
  }

  /// "AB:CD:…" cut after every 16 octets.
  static func fingerprintRows(_ colonHex: String) -> [String] {
    let octets = colonHex.split(separator: ":")
    return stride(from: 0, to: octets.count, by: 16).map {
      octets[$0..<min(octets.count, $0 + 16)].joined(separator: ":")
    }
  }
}
