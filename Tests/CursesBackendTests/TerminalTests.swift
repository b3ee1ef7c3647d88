import CNCursesW
import ComposerCore
import Testing

@testable import CursesBackend

#if canImport(Glibc)
  import Glibc
#endif

/// Real ncurses on a pseudo-terminal (`newterm("xterm-256color", …)`, never `initscr()`): keys typed into the
/// controller side come out as events, and what `present` draws is read back there. curses state is
/// process-wide, so every test that touches it is in this one serialized suite.
@Suite(.serialized) struct TerminalTests {
  let pty: PseudoTerminal
  let terminal: Terminal

  init() throws {
    pty = try PseudoTerminal(width: 80, height: 24)
    terminal = try Terminal(
      terminalType: "xterm-256color", input: pty.terminal, output: pty.terminal, catchSignals: false)
    _ = pty.readOutput()
  }

  /// Events until `count` of them arrived or two seconds passed.
  func events(_ count: Int) -> [InputEvent] {
    var out: [InputEvent] = []
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(2)
    while out.count < count, clock.now < deadline {
      if case .events(let list) = terminal.nextInput(timeout: .milliseconds(200)) { out += list }
    }
    return out
  }

  @Test func typedBytesBecomeEvents() {
    // xterm's keys in keypad-transmit mode (ESC OA, ESC OP), and the normal-mode ESC[B some terminals send.
    pty.type("漢\u{1B}b\u{1B}OA\u{1B}[B\u{1B}OP\u{1B}[Z\u{7F}\u{11}")
    #expect(
      events(8) == [
        .key(.character("漢")), .key(.alt("b")), .key(.up), .key(.down), .key(.function(1)), .key(.shiftTab),
        .key(.backspace), .key(.ctrl("q")),
      ])
    pty.type("\u{1B}")
    #expect(events(1) == [.key(.escape)])
  }

  /// Review: Esc, then `q` a human moment later (the escape delay is 25 ms), was Alt-q whenever both bytes
  /// waited to be read together (the UI thread busy drawing). The time between them is now seen as they
  /// arrive: two keys, however late they are read; Alt+key, one write of the terminal, stays Alt.
  @Test func anEscAndAKeyAMomentLaterAreTwoKeysEvenWhenReadTogether() {
    pty.type("\u{1B}")
    usleep(250_000)
    pty.type("q")
    // Nothing read the terminal meanwhile: both wait to be read at once.
    usleep(150_000)
    #expect(events(2) == [.key(.escape), .key(.character("q"))])
    pty.type("\u{1B}q")
    #expect(events(1) == [.key(.alt("q"))])
    pty.type("\u{1B}")
    usleep(250_000)
    pty.type("\u{1B}[A")
    usleep(150_000)
    #expect(events(2) == [.key(.escape), .key(.up)], "an arrow after an Esc is still an arrow")
    // A paste holding an ESC with a pause after it keeps the ESC as text.
    pty.type("\u{1B}[200~a\u{1B}")
    usleep(250_000)
    pty.type("b\u{1B}[201~")
    #expect(events(1) == [.paste("a\u{1B}b")])
  }

  /// The pump stops reading while the terminal is lent out: what is typed then is the borrower's.
  @Test func whileSuspendedTheTerminalsInputIsLeftToTheBorrower() {
    let borrowed: [UInt8] = terminal.suspend {
      pty.type("for the editor\n")
      usleep(100_000)
      var buffer = [UInt8](repeating: 0, count: 64)
      var fds = [pollfd(fd: pty.terminal, events: Int16(POLLIN), revents: 0)]
      guard poll(&fds, 1, 1_000) > 0 else { return [] }
      let count = read(pty.terminal, &buffer, buffer.count)
      return count > 0 ? Array(buffer[..<count]) : []
    }
    #expect(String(decoding: borrowed, as: UTF8.self) == "for the editor\n")
    pty.type("x")
    #expect(events(1) == [.key(.character("x"))], "and the keys come back to the composer after")
  }

  /// Pasted control bytes (Ctrl-Q, Ctrl-X, an arrow's ESC sequence) and newlines are text of one event, never
  /// commands.
  @Test func aBracketedPasteIsOneEvent() {
    pty.type("a\u{1B}[200~Ctrl-Q \u{11}\u{18} next\nline 2\n\u{1B}[A\u{1B}[201~b")
    #expect(
      events(3) == [
        .key(.character("a")), .paste("Ctrl-Q \u{11}\u{18} next\nline 2\n\u{1B}[A"), .key(.character("b")),
      ])
  }

  /// A paste stays open across short waits of the caller and is given up only after a second of silence.
  @Test func aPasteIsGivenUpOnlyAfterASecondOfSilence() {
    pty.type("\u{1B}[200~one")
    #expect(terminal.nextInput(timeout: .milliseconds(300)) == .timeout)
    pty.type(" two\u{1B}[201~")
    #expect(events(1) == [.paste("one two")])
    pty.type("\u{1B}[200~half")
    let clock = ContinuousClock()
    var pasted: [InputEvent] = []
    let elapsed = clock.measure { pasted = events(1) }
    #expect(pasted == [.paste("half")])
    #expect(elapsed >= .milliseconds(900))
    pty.type("\u{11}")
    #expect(events(1) == [.key(.ctrl("q"))], "keys are keys again")
  }

  @Test func aHangUpEndsTheInputWithoutSpinning() {
    pty.hangUp()
    let clock = ContinuousClock()
    var input = Terminal.Input.timeout
    let elapsed = clock.measure { input = terminal.nextInput(timeout: .seconds(2)) }
    #expect(input == .endOfInput)
    #expect(elapsed < .seconds(1))
  }

  @Test func extraDescriptorsAreWatchedWithTheKeys() throws {
    var ends: [Int32] = [-1, -1]
    try #require(pipe(&ends) == 0)
    defer {
      close(ends[0])
      close(ends[1])
    }
    #expect(terminal.nextInput(timeout: .milliseconds(30), watching: [ends[0]]) == .timeout)
    var byte: UInt8 = 1
    #expect(write(ends[1], &byte, 1) == 1)
    #expect(terminal.nextInput(timeout: .seconds(2), watching: [ends[0]]) == .ready([ends[0]]))
  }

  @Test func aSignalIsReportedAndTheHandlerGoesAway() throws {
    let pty = try PseudoTerminal(width: 80, height: 24)
    terminal.end()
    let catching = try Terminal(terminalType: "xterm-256color", input: pty.terminal, output: pty.terminal)
    kill(getpid(), SIGHUP)
    #expect(catching.nextInput(timeout: .seconds(2)) == .signal(SIGHUP))
    catching.end()
    // The test process's own disposition is back (the default would have ended it: check, then restore).
    let previous = signal(SIGHUP, SIG_IGN)
    signal(SIGHUP, previous)
    #expect(unsafeBitCast(previous, to: Int.self) == 0, "SIG_DFL")
  }

  static func contains(_ output: [UInt8], _ text: String) -> Bool {
    let needle = Array(text.utf8)
    guard needle.count <= output.count else { return false }
    return (0...(output.count - needle.count)).contains { Array(output[$0..<($0 + needle.count)]) == needle }
  }

  @Test func presentWritesOnlyWhatChanged() {
    var buffer = ScreenBuffer(width: 80, height: 24)
    buffer.write(
      "Subject: 漢字 and 👍 and e\u{301}", x: 2, y: 1, style: Style(foreground: .index(1), bold: true))
    buffer.write("body", x: 0, y: 5, style: .plain)
    terminal.present(buffer, cursor: (x: 4, y: 5))
    let first = pty.readOutput()
    #expect(Self.contains(first, "漢字"))
    #expect(Self.contains(first, "👍"))
    #expect(Self.contains(first, "e\u{301}"))
    #expect(Self.contains(first, "\u{1B}[31m"), "red through a colour pair")

    terminal.present(buffer, cursor: (x: 4, y: 5))
    #expect(pty.readOutput().count <= 4, "an unchanged frame writes (almost) nothing")

    buffer.write("X", x: 10, y: 5, style: .plain)
    terminal.present(buffer, cursor: (x: 4, y: 5))
    let one = pty.readOutput()
    #expect(Self.contains(one, "X"))
    #expect(one.count < 24, "one changed cell: \(one.count) bytes")
  }

  /// The colours of the cell at (x, y) of curses' window, through its pair.
  static func colors(at x: Int, _ y: Int) -> (foreground: Int32, background: Int32)? {
    guard let window = sealpost_stdscr() else { return nil }
    var cell = cchar_t()
    guard mvwin_wch(window, Int32(y), Int32(x), &cell) == OK else { return nil }
    var text = [wchar_t](repeating: 0, count: 8)
    var attributes: attr_t = 0
    var shortPair: Int16 = 0
    var pair: Int32 = 0
    guard getcchar(&cell, &text, &attributes, &shortPair, &pair) == OK else { return nil }
    var foreground: Int32 = 0
    var background: Int32 = 0
    guard extended_pair_content(pair, &foreground, &background) == OK else { return nil }
    return (foreground, background)
  }

  /// xterm has 64 pairs. A first frame takes 40; a second keeps 10 of them and needs 41 others: the table is
  /// full, starts again, and the whole screen is redrawn with the new numbers, so the 10 kept cells still show
  /// their own colours (drawing only the changes would leave them naming redefined pairs). A frame that alone
  /// needs more than 63 pairs is drawn whole.
  @Test func aFullPairTableStartsAgainAndRedraws() throws {
    terminal.end()
    let pty = try PseudoTerminal(width: 80, height: 24)
    let terminal = try Terminal(
      terminalType: "xterm", input: pty.terminal, output: pty.terminal, catchSignals: false)
    defer { terminal.end() }
    let colors: [TerminalColor] = [.default] + (0..<8).map { .index(UInt8($0)) }
    // Default on default is pair 0 and needs no number: left out.
    let combinations = colors.flatMap { foreground in colors.map { (foreground, $0) } }.dropFirst()
    func number(_ color: TerminalColor) -> Int32 {
      if case .index(let index) = color { return Int32(index) }
      return -1
    }
    var buffer = ScreenBuffer(width: 80, height: 24)
    for (offset, (foreground, background)) in combinations.prefix(40).enumerated() {
      buffer.write("a", x: offset, y: 0, style: Style(foreground: foreground, background: background))
    }
    terminal.present(buffer, cursor: nil)
    buffer.fill(x: 10, y: 0, width: 70, height: 1, style: .plain)
    for (offset, (foreground, background)) in combinations.dropFirst(40).enumerated() {
      buffer.write("b", x: offset, y: 1, style: Style(foreground: foreground, background: background))
    }
    terminal.present(buffer, cursor: nil)
    for (offset, (foreground, background)) in combinations.prefix(10).enumerated() {
      let shown = Self.colors(at: offset, 0)
      #expect(
        shown?.foreground == number(foreground) && shown?.background == number(background), "row 0, \(offset)"
      )
    }
    for (offset, (foreground, background)) in combinations.dropFirst(40).enumerated() {
      let shown = Self.colors(at: offset, 1)
      #expect(
        shown?.foreground == number(foreground) && shown?.background == number(background), "row 1, \(offset)"
      )
    }
    // One frame with all 80: every cell is written, the last ones in the terminal's own colours at worst.
    var all = ScreenBuffer(width: 80, height: 24)
    for (offset, (foreground, background)) in combinations.enumerated() {
      all.write(
        "c", x: offset % 80, y: 2 + offset / 80, style: Style(foreground: foreground, background: background))
    }
    terminal.present(all, cursor: nil)
    let window = try #require(sealpost_stdscr())
    for offset in 0..<combinations.count {
      var cell = cchar_t()
      #expect(mvwin_wch(window, Int32(2 + offset / 80), Int32(offset % 80), &cell) == OK)
      var text = [wchar_t](repeating: 0, count: 8)
      var attributes: attr_t = 0
      var pair: Int16 = 0
      #expect(getcchar(&cell, &text, &attributes, &pair, nil) == OK)
      #expect(text[0] == wchar_t(UInt8(ascii: "c")), "cell \(offset)")
    }
  }

  /// After a wide glyph each later cell is placed at its own column: curses' window holds them where the
  /// buffer has them.
  @Test func cellsLandInTheirColumns() {
    var buffer = ScreenBuffer(width: 80, height: 24)
    buffer.write("漢a👍b", x: 0, y: 0, style: .plain)
    terminal.present(buffer, cursor: nil)
    guard let window = sealpost_stdscr() else {
      Issue.record("no window")
      return
    }
    for (x, expected) in [(0, 0x6F22), (2, 0x61), (3, 0x1F44D), (5, 0x62)] {
      var cell = cchar_t()
      #expect(mvwin_wch(window, 0, Int32(x), &cell) == OK)
      var text = [wchar_t](repeating: 0, count: 8)
      var attributes: attr_t = 0
      var pair: Int16 = 0
      #expect(getcchar(&cell, &text, &attributes, &pair, nil) == OK)
      #expect(text[0] == wchar_t(expected), "column \(x)")
    }
  }

  /// A resize arrives as an event with the new size, and the next frame is drawn whole.
  @Test func aResizeIsAnEventAndRedrawsEverything() throws {
    let pty = try PseudoTerminal(width: 80, height: 24)
    terminal.end()
    let terminal = try Terminal(terminalType: "xterm-256color", input: pty.terminal, output: pty.terminal)
    defer { terminal.end() }
    var buffer = ScreenBuffer(width: 80, height: 24)
    buffer.write("before", x: 0, y: 0, style: .plain)
    terminal.present(buffer, cursor: nil)
    _ = pty.readOutput()
    pty.resize(width: 100, height: 30)
    // The kernel signals the terminal's foreground process group, which this test is not: send it here.
    kill(getpid(), SIGWINCH)
    #expect(terminal.nextInput(timeout: .seconds(2)) == .events([.resize(width: 100, height: 30)]))
    #expect(terminal.size == (100, 30))
    buffer = ScreenBuffer(width: 100, height: 30)
    buffer.write("before", x: 0, y: 0, style: .plain)
    buffer.write("after", x: 90, y: 29, style: .plain)
    terminal.present(buffer, cursor: nil)
    let output = pty.readOutput()
    #expect(Self.contains(output, "before"), "the unchanged text is drawn again")
    #expect(Self.contains(output, "after"))
  }

  /// The colours themes are resolved for come from the terminal's `COLORS`, and `NO_COLOR` drops them (the
  /// base terminfo here has no 16-colour entry: `colorCapabilityFromCOLORS` below covers that count).
  @Test func colorCapabilityFromTheTerminal() throws {
    terminal.end()
    for (type, noColor, expected) in [
      ("xterm-256color", false, ColorCapability.twoHundredFiftySix), ("xterm-256color", true, .none),
      ("xterm", false, .eight), ("vt100", false, .none),
    ] {
      let pty = try PseudoTerminal(width: 80, height: 24)
      let other = try Terminal(
        terminalType: type, input: pty.terminal, output: pty.terminal, noColor: noColor, catchSignals: false)
      #expect(other.colorCapability == expected, "\(type), NO_COLOR \(noColor)")
      other.end()
    }
  }

  @Test func aMissingTerminalIsAClearError() throws {
    terminal.end()
    let pty = try PseudoTerminal(width: 80, height: 24)
    #expect(throws: Terminal.StartFailure(description: "unknown terminal type \"no-such-term\"")) {
      _ = try Terminal(
        terminalType: "no-such-term", input: pty.terminal, output: pty.terminal, catchSignals: false)
    }
    var ends: [Int32] = [-1, -1]
    try #require(pipe(&ends) == 0)
    defer {
      close(ends[0])
      close(ends[1])
    }
    #expect(throws: Terminal.StartFailure(description: "the input is not a terminal")) {
      _ = try Terminal(terminalType: "xterm", input: ends[0], output: pty.terminal, catchSignals: false)
    }
    #expect(throws: Terminal.StartFailure(description: "the output is not a terminal")) {
      _ = try Terminal(terminalType: "xterm", input: pty.terminal, output: ends[1], catchSignals: false)
    }
  }

  @Test func endRestoresTheTerminalOnEveryPath() {
    struct Boom: Error {}
    #expect(throws: Boom.self) {
      try terminal.run { _ throws(Boom) in throw Boom() }
    }
    #expect(terminal.hasEnded)
    let output = pty.readOutput()
    #expect(Self.contains(output, "\u{1B}[?2004l"), "bracketed paste off")
    #expect(Self.contains(output, "\u{1B}[?1049l"), "the alternate screen left")
  }

  @Test func suspendReleasesAndRedrawsEverything() {
    var buffer = ScreenBuffer(width: 80, height: 24)
    buffer.write("kept across the editor", x: 0, y: 3, style: .plain)
    terminal.present(buffer, cursor: nil)
    _ = pty.readOutput()
    var ran = false
    terminal.suspend { ran = true }
    #expect(ran)
    let output = pty.readOutput()
    #expect(Self.contains(output, "\u{1B}[?2004l"))
    #expect(Self.contains(output, "\u{1B}[?2004h"))
    #expect(Self.contains(output, "kept across the editor"), "a full redraw after resuming")
  }

  /// The shim's wide-character API on a terminal with no I/O at all.
  @Test func wideCharactersLandInTheCellsTheyNeed() throws {
    terminal.end()
    let output = try #require(fopen("/dev/null", "w"))
    let input = try #require(fopen("/dev/null", "r"))
    defer {
      fclose(output)
      fclose(input)
    }
    let screen = try #require(newterm("xterm-256color", output, input))
    defer {
      endwin()
      delscreen(screen)
    }
    let window = try #require(sealpost_stdscr())
    #expect(sealpost_getmaxx(window) == 80)
    #expect(sealpost_getmaxy(window) == 24)
    var cell = cchar_t()
    var wide: [wchar_t] = [0x65E5, 0]
    #expect(sealpost_setcchar(&cell, &wide, sealpost_a_bold(), 0) == OK)
    #expect(wmove(window, 0, 0) == OK)
    #expect(wadd_wch(window, &cell) == OK)
    #expect(getcurx(window) == 2)
  }
}

@Suite struct ColorPairsTests {
  @Test func colorCapabilityFromCOLORS() {
    for (colors, expected) in [
      (0, ColorCapability.none), (-1, .none), (8, .eight), (15, .eight), (16, .sixteen), (88, .sixteen),
      (256, .twoHundredFiftySix), (16_777_216, .twoHundredFiftySix),
    ] {
      #expect(ColorCapability(colors: colors) == expected, "\(colors)")
    }
  }

  @Test func pairsAreReusedAndTheTableStartsAgainWhenFull() {
    var pairs = ColorPairs(capacity: 3)
    let red = ColorPairs.Colors(foreground: 1, background: -1)
    let blue = ColorPairs.Colors(foreground: 4, background: -1)
    #expect(pairs.pair(for: .init(foreground: -1, background: -1)) == .existing(0))
    #expect(pairs.pair(for: red) == .new(1))
    #expect(pairs.pair(for: red) == .existing(1))
    #expect(pairs.pair(for: blue) == .new(2))
    #expect(pairs.pair(for: .init(foreground: 2, background: 0)) == .full)
    pairs.reset()
    #expect(pairs.pair(for: blue) == .new(1))
  }
}
