import CNCursesW
import ComposerCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The terminal, owned: curses started on it in the composer's modes, keys decoded into ``InputEvent``s, and
/// screen buffers blitted by their differences.
///
/// **One owner.** curses is process-global and not thread-safe: exactly one `Terminal` exists at a time, and
/// only the UI thread — the one that created it — calls it. Other threads (a send in flight) reach the UI
/// through a descriptor the UI thread polls (``nextInput(timeout:watching:)``), never by calling this.
///
/// **Restored on every exit path.** ``end()`` (idempotent; also run by ``run(_:)`` and by `deinit`) leaves
/// curses, turns bracketed paste off and puts the signal handlers back. SIGTERM, SIGHUP and SIGINT only write
/// a byte to a self-pipe; ``nextInput(timeout:watching:)`` reports them as ``Input/signal(_:)`` and the
/// caller ends the terminal and exits.
public final class Terminal {
  /// Why the terminal could not be started.
  public struct StartFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
  }

  /// What ``nextInput(timeout:watching:)`` saw.
  public enum Input: Sendable, Equatable {
    /// Keys, a paste, a resize, in order.
    case events([InputEvent])
    /// Some of the extra descriptors are readable.
    case ready([Int32])
    /// SIGTERM, SIGHUP or SIGINT arrived: end the terminal and leave (exit 128 + the signal).
    case signal(Int32)
    case timeout
    /// The input is closed (EOF or hang-up): leave, reading again would only spin.
    case endOfInput
  }

  static let pasteSilence = Duration.seconds(1)
  static let pasteOn = Array("\u{1B}[?2004h".utf8)
  static let pasteOff = Array("\u{1B}[?2004l".utf8)

  private let screen: OpaquePointer
  private let window: UnsafeMutablePointer<WINDOW>
  private let inputFile: UnsafeMutablePointer<FILE>
  private let outputFile: UnsafeMutablePointer<FILE>
  /// The read end of the pipe curses reads its input from (the ``InputPump`` fills it from the terminal).
  private let inputDescriptor: Int32
  /// The terminal's input itself (a duplicate), read by the pump only.
  private let terminalInput: Int32
  private let pump: InputPump
  private let outputDescriptor: Int32
  private let signals: SignalPipe?
  private var decoder: KeyDecoder
  /// When curses last gave a character: a paste is given up after ``pasteSilence`` without one.
  private var lastInput = ContinuousClock.now
  private var pairs: ColorPairs
  private let defaultColorsWork: Bool
  private let colorCount: Int
  /// What the terminal shows, as far as curses was told; nil: draw everything next time.
  private var shown: ScreenBuffer?
  private var cursorVisibility: Int32 = -1
  private var emptyReads = 0
  public private(set) var hasEnded = false

  /// The colours the terminal has, for resolving a ``Theme`` (`COLORS`: 8, 16, 256; none without colour
  /// support or when `NO_COLOR` asks for none).
  public let colorCapability: ColorCapability

  /// Starts curses on the terminal at `input` and `output` (the descriptors are duplicated; the caller keeps
  /// its own): the locale from the environment with a UTF-8 `LC_CTYPE` (`C.UTF-8` when the environment's is
  /// not UTF-8), `raw`, `noecho`, `keypad`, a 25 ms escape delay, the terminal's default colours, bracketed
  /// paste on, and, with `catchSignals`, the self-pipe for SIGTERM, SIGHUP and SIGINT.
  ///
  /// - Parameters:
  ///   - terminalType: a terminfo name such as `xterm-256color`; nil reads `TERM`.
  ///   - noColor: the `NO_COLOR` convention (see ``Theme/noColorRequested(_:)``).
  ///   - catchSignals: SIGTERM, SIGHUP and SIGINT become ``Input/signal(_:)``, and a resize wakes
  ///     ``nextInput(timeout:watching:)`` whichever thread SIGWINCH hits; without it a resize is noticed
  ///     when the UI thread is interrupted or at the next key.
  public init(
    terminalType: String? = nil, input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO,
    noColor: Bool = false, catchSignals: Bool = true
  ) throws(StartFailure) {
    setlocale(LC_ALL, "")
    if sealpost_codeset_is_utf8() == 0 {
      guard setlocale(LC_CTYPE, "C.UTF-8") != nil, sealpost_codeset_is_utf8() != 0 else {
        throw StartFailure(description: "no UTF-8 locale (C.UTF-8 is missing): the screen would be garbage")
      }
    }
    let inputCopy = dup(input)
    let outputCopy = dup(output)
    // curses reads its input from a pipe that the pump fills from the terminal as bytes arrive (see
    // ``InputPump``); termios modes go through the output descriptor, the same terminal.
    var pipeEnds: [Int32] = [-1, -1]
    let piped = pipe(&pipeEnds) == 0
    func closeAll() {
      for descriptor in [inputCopy, outputCopy] + pipeEnds where descriptor >= 0 { close(descriptor) }
    }
    guard inputCopy >= 0, outputCopy >= 0, piped else {
      closeAll()
      throw StartFailure(
        description: "cannot use the terminal's descriptors: \(String(cString: strerror(errno)))")
    }
    guard isatty(inputCopy) == 1, isatty(outputCopy) == 1 else {
      let which = isatty(inputCopy) == 1 ? "output" : "input"
      closeAll()
      throw StartFailure(description: "the \(which) is not a terminal")
    }
    _ = fcntl(pipeEnds[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(inputCopy, F_SETFD, FD_CLOEXEC)
    guard let inputFile = fdopen(pipeEnds[0], "r"), let outputFile = fdopen(outputCopy, "w"),
      let pump = InputPump(source: inputCopy, sink: pipeEnds[1])
    else {
      closeAll()
      throw StartFailure(
        description: "cannot use the terminal's descriptors: \(String(cString: strerror(errno)))")
    }
    let type = terminalType ?? getenv("TERM").map { String(cString: $0) } ?? ""
    guard !type.isEmpty, let screen = newterm(type, outputFile, inputFile) else {
      fclose(inputFile)
      fclose(outputFile)
      close(inputCopy)
      close(pipeEnds[1])
      throw StartFailure(
        description: type.isEmpty
          ? "TERM is not set: cannot draw the screen" : "unknown terminal type \"\(UntrustedName(type))\"")
    }
    guard let window = sealpost_stdscr() else {
      endwin()
      delscreen(screen)
      fclose(inputFile)
      fclose(outputFile)
      close(inputCopy)
      close(pipeEnds[1])
      throw StartFailure(description: "curses gave no screen")
    }
    self.screen = screen
    self.window = window
    self.inputFile = inputFile
    self.outputFile = outputFile
    inputDescriptor = pipeEnds[0]
    terminalInput = inputCopy
    self.pump = pump
    outputDescriptor = outputCopy
    raw()
    noecho()
    keypad(window, true)
    nodelay(window, true)
    set_escdelay(25)
    var colors = 0
    var defaultColorsWork = false
    if has_colors() {
      start_color()
      defaultColorsWork = use_default_colors() == OK
      colors = Int(sealpost_colors())
    }
    self.defaultColorsWork = defaultColorsWork
    colorCount = colors
    colorCapability = noColor ? .none : ColorCapability(colors: colors)
    pairs = ColorPairs(capacity: Int(sealpost_color_pairs()))
    // The paste markers as keys of their own, so they arrive whole whatever the timing (the decoder also
    // reads them as raw characters).
    define_key("\u{1B}[200~", Int32(KeyDecoder.KeyCode.pasteStart))
    define_key("\u{1B}[201~", Int32(KeyDecoder.KeyCode.pasteEnd))
    define_key(String(decoding: InputPump.loneEscape, as: UTF8.self), Int32(KeyDecoder.KeyCode.loneEscape))
    decoder = KeyDecoder(extendedNames: Self.extendedKeyNames())
    signals = catchSignals ? SignalPipe() : nil
    writeRaw(Self.pasteOn)
    pump.start()
  }

  deinit { end() }

  /// `file` resolved for this terminal's colours (``colorCapability``, `NO_COLOR` included).
  public func theme(_ file: ThemeFile) -> Theme {
    Theme(file, colors: colorCapability)
  }

  /// Leaves curses and puts the terminal back as it was (idempotent).
  public func end() {
    guard !hasEnded else { return }
    hasEnded = true
    // The pump stops reading the terminal before it is handed back.
    pump.stop()
    if cursorVisibility == 0 { curs_set(1) }
    endwin()
    writeRaw(Self.pasteOff)
    delscreen(screen)
    fclose(inputFile)
    fclose(outputFile)
    close(terminalInput)
    signals?.restore()
  }

  /// Runs `body` with this terminal and ends it however `body` leaves (a value, a thrown error).
  public func run<T, E: Error>(_ body: (Terminal) throws(E) -> T) throws(E) -> T {
    defer { end() }
    return try body(self)
  }

  /// The terminal's size in columns and rows.
  public var size: (width: Int, height: Int) {
    (Int(sealpost_getmaxx(window)), Int(sealpost_getmaxy(window)))
  }

  // MARK: - Input

  /// Waits up to `timeout` (nil: without limit) for keys, a signal or one of `descriptors` (a send handle's
  /// `eventDescriptor`) to become readable: poll(2) on all of them, then `wget_wch` in no-delay mode until
  /// curses has nothing more. Input comes before descriptors; a level-triggered descriptor is reported again
  /// on the next call.
  public func nextInput(timeout: Duration?, watching descriptors: [Int32] = []) -> Input {
    guard !hasEnded else { return .endOfInput }
    let clock = ContinuousClock()
    let deadline = timeout.map { clock.now + $0 }
    while true {
      var fds = [pollfd(fd: inputDescriptor, events: Int16(POLLIN), revents: 0)]
      if let signals { fds.append(pollfd(fd: signals.readEnd, events: Int16(POLLIN), revents: 0)) }
      let extraStart = fds.count
      for descriptor in descriptors { fds.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)) }
      var wait = deadline.map { Self.milliseconds(clock.now.duration(to: $0)) } ?? -1
      // A paste whose end marker never comes is given up after a second of silence.
      let pasteEnd = lastInput + Self.pasteSilence
      if decoder.isInPaste {
        let untilPasteEnd = Self.milliseconds(clock.now.duration(to: pasteEnd))
        if wait < 0 || wait > untilPasteEnd { wait = untilPasteEnd }
      }
      let result = poll(&fds, nfds_t(fds.count), wait)
      if result < 0 {
        guard errno == EINTR else { return .endOfInput }
        // SIGWINCH: curses has queued a resize.
        let events = readKeys(hangUp: false, counting: false)
        if case .events(let list) = events, !list.isEmpty { return events }
        continue
      }
      if signals != nil, fds[1].revents != 0, let signals {
        let received = signals.drain()
        if let number = received.first(where: { $0 != SIGWINCH }) { return .signal(number) }
        if !received.isEmpty {
          // A resize: curses reports it from wget_wch.
          let events = readKeys(hangUp: false, counting: false)
          if case .events(let list) = events, !list.isEmpty { return events }
        }
      }
      if fds[0].revents != 0 {
        let hangUp = fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
        let input = readKeys(hangUp: hangUp)
        if case .events(let list) = input, list.isEmpty {
          // Nothing complete yet (a UTF-8 sequence in pieces, a paste in progress): wait on.
        } else {
          return input
        }
      } else if decoder.isInPaste, clock.now >= pasteEnd {
        let events = decoder.abandonPaste()
        if !events.isEmpty { return .events(events) }
      }
      let ready = fds[extraStart...].filter { $0.revents != 0 }.map(\.fd)
      if !ready.isEmpty { return .ready(ready) }
      if let deadline, clock.now >= deadline { return .timeout }
    }
  }

  /// A poll(2) timeout: whole milliseconds, rounded up, 0 for the past.
  static func milliseconds(_ duration: Duration) -> Int32 {
    guard duration > .zero else { return 0 }
    return Int32(clamping: Int64((duration / .milliseconds(1)).rounded(.up)))
  }

  /// Reads what curses has, without waiting; `.endOfInput` when the input is closed (`counting`: the input
  /// was reported readable, so reading nothing counts towards EOF).
  private func readKeys(hangUp: Bool, counting: Bool = true) -> Input {
    var events: [InputEvent] = []
    var codes = 0
    while true {
      var character: wint_t = 0
      let status = wget_wch(window, &character)
      if status == ERR { break }
      codes += 1
      lastInput = .now
      let isKeyCode = status == KEY_CODE_YES
      if isKeyCode, UInt32(character) == KeyDecoder.KeyCode.resize {
        decoder.terminalSize = size
        // The screen was reallocated: draw everything again.
        shown = nil
      }
      events += decoder.feed(UInt32(character), isKeyCode: isKeyCode)
    }
    events += decoder.endOfBurst()
    if codes == 0, counting {
      // Readable with nothing to read, three times running, is EOF (a file or pipe); a hang-up is at once.
      emptyReads += 1
      if hangUp || emptyReads >= 3 { return .endOfInput }
    } else {
      emptyReads = 0
    }
    return .events(events)
  }

  /// The names of the key codes curses made from the terminal's extended capabilities (Ctrl-Left…).
  private static func extendedKeyNames() -> [UInt32: String] {
    var names: [UInt32: String] = [:]
    for code in (KEY_MAX + 1)..<(KEY_MAX + 512) {
      guard let name = keyname(code) else { continue }
      let text = String(cString: name)
      if text.hasPrefix("k") { names[UInt32(code)] = text }
    }
    return names
  }

  // MARK: - Output

  /// Draws `buffer`: only the runs that differ from what the terminal shows (everything after a resize, a
  /// suspension or a full colour-pair table), each cell placed at its own column, so a glyph that curses
  /// counted differently cannot shift the rest of its row. Colours go through pairs allocated on first use.
  /// The cursor is shown at `cursor` (screen coordinates) or hidden with nil. One `doupdate` per call.
  public func present(_ buffer: ScreenBuffer, cursor: (x: Int, y: Int)?) {
    guard !hasEnded else { return }
    if !draw(buffer, fallBack: false) {
      // The pair table was full: start it again and redraw everything with the new numbers (cells already on
      // screen name pairs that are being redefined). A frame that alone needs more pairs than the terminal
      // has draws the rest in the terminal's own colours.
      pairs.reset()
      shown = nil
      _ = draw(buffer, fallBack: true)
    }
    let (width, height) = size
    if let cursor, cursor.x >= 0, cursor.y >= 0, cursor.x < width, cursor.y < height {
      wmove(window, Int32(cursor.y), Int32(cursor.x))
      setCursorVisibility(1)
    } else {
      setCursorVisibility(0)
    }
    wnoutrefresh(window)
    doupdate()
    shown = buffer
  }

  /// Writes the changed cells into curses' window; false if a colour pair could not be had (with `fallBack`,
  /// such a cell takes pair 0 instead and the whole frame is written).
  private func draw(_ buffer: ScreenBuffer, fallBack: Bool) -> Bool {
    let runs: [ScreenBuffer.Run]
    if let shown, shown.width == buffer.width, shown.height == buffer.height {
      runs = buffer.changes(since: shown)
    } else {
      // Everything, on a cleared screen.
      werase(window)
      clearok(window, true)
      runs = buffer.changes(since: ScreenBuffer(width: 0, height: 0))
    }
    let (width, height) = size
    var cell = cchar_t()
    var text = [wchar_t](repeating: 0, count: 8)
    for run in runs where run.y < height {
      for (offset, glyph) in run.cells.enumerated() where !glyph.isContinuation {
        let x = run.x + offset
        guard x < width else { break }
        guard let pair = pairNumber(for: glyph.style) ?? (fallBack ? 0 : nil) else { return false }
        var count = 0
        for scalar in glyph.text.unicodeScalars where count < 5 {
          text[count] = wchar_t(bitPattern: scalar.value)
          count += 1
        }
        text[count] = 0
        _ = sealpost_setcchar(&cell, text, attributes(of: glyph.style), pair)
        _ = mvwadd_wch(window, Int32(run.y), Int32(x), &cell)
      }
    }
    return true
  }

  private func attributes(of style: Style) -> attr_t {
    var attributes = sealpost_a_normal()
    if style.bold { attributes |= sealpost_a_bold() }
    if style.underline { attributes |= sealpost_a_underline() }
    if style.reverse { attributes |= sealpost_a_reverse() }
    if style.dim { attributes |= sealpost_a_dim() }
    return attributes
  }

  /// The pair for a style's colours, defined on first use; nil when the table is full.
  private func pairNumber(for style: Style) -> Int32? {
    guard colorCapability != .none else { return 0 }
    let colors = ColorPairs.Colors(
      foreground: colorNumber(style.foreground, isForeground: true),
      background: colorNumber(style.background, isForeground: false))
    switch pairs.pair(for: colors) {
    case .existing(let number): return number
    case .new(let number):
      init_extended_pair(number, colors.foreground, colors.background)
      return number
    case .full: return nil
    }
  }

  /// -1 is the terminal's own colour where `use_default_colors` worked; otherwise white on black stands in.
  /// An index the terminal lacks (the theme maps colours down, so only by mistake) is the default.
  private func colorNumber(_ color: TerminalColor, isForeground: Bool) -> Int32 {
    switch color {
    case .index(let index) where Int(index) < colorCount: return Int32(index)
    default:
      if defaultColorsWork { return -1 }
      return isForeground ? 7 : 0
    }
  }

  private func setCursorVisibility(_ visibility: Int32) {
    guard cursorVisibility != visibility else { return }
    curs_set(visibility)
    cursorVisibility = visibility
  }

  /// Releases the terminal while `body` runs (`$EDITOR`, a pinentry, a password command), then takes it back
  /// and redraws the whole screen: `def_prog_mode`, `endwin`, bracketed paste off; afterwards paste on,
  /// `reset_prog_mode` and a full refresh.
  public func suspend<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    // Whoever gets the terminal reads its input: the pump stops reading until it is back.
    pump.pause()
    def_prog_mode()
    endwin()
    writeRaw(Self.pasteOff)
    defer {
      writeRaw(Self.pasteOn)
      reset_prog_mode()
      clearok(sealpost_curscr(), true)
      wrefresh(window)
      pump.resume()
    }
    return try body()
  }

  /// Bytes straight to the terminal, after what curses has buffered.
  private func writeRaw(_ bytes: [UInt8]) {
    fflush(outputFile)
    var offset = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes { write(outputDescriptor, $0.baseAddress, $0.count) }
      if written < 0, errno == EINTR { continue }
      guard written > 0 else { return }
      offset += written
    }
  }
}

/// A terminal type named in an error: printable ASCII only (it comes from the environment).
struct UntrustedName: CustomStringConvertible {
  let text: String
  init(_ text: String) { self.text = text }
  var description: String {
    String(
      text.unicodeScalars.prefix(64).map {
        $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?"
      })
  }
}
