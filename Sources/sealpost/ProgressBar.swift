import MailSender
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The upload's progress bar on a terminal (issue 10): on stderr only, and only when stderr is a terminal; it
/// appears once an upload has taken a second (a quick send never flickers one), is redrawn in place with each
/// progress event (at most one per 1 % or 256 KiB, so the terminal is never flooded), and is erased before any
/// other line is printed — the transcript on stdout, which may be the same terminal, and the verdict — so it
/// never mixes into them.
final class ProgressBar: Sendable {
  private struct State {
    /// The session time of the upload's first progress event (0 octets), while an upload runs.
    var started: Double?
    var drawn = false
  }

  /// Whether a bar may be drawn at all: stderr is a terminal.
  let enabled: Bool
  private let state = Mutex(State())
  private let write: @Sendable (String) -> Void

  /// An upload shows its bar once it has lasted this long.
  static let delay = 1.0

  init(enabled: Bool, write: @escaping @Sendable (String) -> Void) {
    self.enabled = enabled
    self.write = write
  }

  /// Takes every event of the session before its transcript lines are printed.
  func handle(_ event: SendEvent) {
    guard enabled, case .progress(let sent, let total) = event.payload else { return }
    state.withLock { state in
      if sent == 0 || state.started == nil { state.started = event.time }
      guard let started = state.started else { return }
      if sent >= total {
        state.started = nil
        erase(&state)
        return
      }
      guard event.time - started >= Self.delay else { return }
      // Narrower than the terminal, so the line never wraps (a wrapped line cannot be redrawn in place).
      guard let line = Self.line(sent: sent, total: total, columns: Self.terminalColumns()) else { return }
      write("\r" + line + "\u{1B}[K")
      state.drawn = true
    }
  }

  /// Erases the bar if it is shown (before any other output on the terminal).
  func clear() {
    guard enabled else { return }
    state.withLock { erase(&$0) }
  }

  private func erase(_ state: inout State) {
    guard state.drawn else { return }
    write("\r\u{1B}[K")
    state.drawn = false
  }

  /// `sending [##########..........]  50%  1.5 of 3.0 MiB` — ASCII only, whatever the locale — with the bar
  /// made shorter to fit `columns` (one column to spare), then only `sending 50%`; nil when even that does not
  /// fit.
  static func line(sent: Int, total: Int, columns: Int) -> String? {
    let fraction = total > 0 ? min(1, Double(sent) / Double(total)) : 1
    let percent = Int(fraction * 100)
    let padded = String(repeating: " ", count: max(0, 3 - String(percent).count)) + "\(percent)%"
    let suffix = "] \(padded)  \(mebibytes(sent)) of \(mebibytes(total)) MiB"
    let prefix = "sending ["
    let width = min(30, columns - 1 - prefix.count - suffix.count)
    if width >= 5 {
      let filled = Int(fraction * Double(width))
      return prefix + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        + suffix
    }
    let short = "sending \(percent)%"
    return short.count < columns ? short : nil
  }

  /// The width of the terminal on stderr; 80 when it says none (a new pseudo-terminal says 0).
  static func terminalColumns() -> Int {
    var size = winsize()
    guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
    return Int(size.ws_col)
  }

  /// Octets as MiB with one decimal: 1572864 → "1.5".
  static func mebibytes(_ octets: Int) -> String {
    let tenths = (octets * 10 + (1 << 19)) >> 20
    return "\(tenths / 10).\(tenths % 10)"
  }
}
