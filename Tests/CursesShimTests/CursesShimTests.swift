import CNCursesW
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The ncursesw shim links and its wide-character API works, on a terminal made with `newterm` and an explicit
/// type (never `initscr()` inside `swift test`: with no TERM it exits the process). curses state is
/// process-wide, so this suite runs alone.
@Suite(.serialized) struct CursesShimTests {
  @Test func wideCharactersLandInTheCellsTheyNeed() throws {
    let previousLocale = setlocale(LC_ALL, nil).map { String(cString: $0) } ?? "C"
    setlocale(LC_ALL, "C.UTF-8")
    defer { setlocale(LC_ALL, previousLocale) }
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

    // "日" is two columns wide: after it the cursor is at column 2.
    var cell = cchar_t()
    var wide: [wchar_t] = [0x65E5, 0]
    #expect(setcchar(&cell, &wide, sealpost_a_bold(), 0, nil) == OK)
    #expect(wmove(window, 0, 0) == OK)
    #expect(wadd_wch(window, &cell) == OK)
    #expect(getcurx(window) == 2)

    var read = cchar_t()
    #expect(mvwin_wch(window, 0, 0, &read) == OK)
    var text = [wchar_t](repeating: 0, count: 8)
    var attributes: attr_t = 0
    var pair: Int16 = 0
    #expect(getcchar(&read, &text, &attributes, &pair, nil) == OK)
    #expect(text[0] == 0x65E5)
    #expect(attributes & sealpost_a_bold() != 0)
  }
}
