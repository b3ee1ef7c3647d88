#ifndef SEALPOST_CNCURSESW_SHIM_H
#define SEALPOST_CNCURSESW_SHIM_H

// The wide-character API (cchar_t, add_wch, wget_wch) needs this before <curses.h>.
#define NCURSES_WIDECHAR 1
#include <langinfo.h>
#include <locale.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <curses.h>

// Swift 6 rejects C globals as shared mutable state; these wrappers read them.
static inline WINDOW *sealpost_stdscr(void) { return stdscr; }
static inline WINDOW *sealpost_curscr(void) { return curscr; }
static inline int sealpost_lines(void) { return LINES; }
static inline int sealpost_cols(void) { return COLS; }
static inline int sealpost_colors(void) { return COLORS; }
static inline int sealpost_color_pairs(void) { return COLOR_PAIRS; }
static inline int sealpost_getmaxy(WINDOW *w) { return getmaxy(w); }
static inline int sealpost_getmaxx(WINDOW *w) { return getmaxx(w); }
static inline attr_t sealpost_a_bold(void) { return A_BOLD; }
static inline attr_t sealpost_a_reverse(void) { return A_REVERSE; }
static inline attr_t sealpost_a_underline(void) { return A_UNDERLINE; }
static inline attr_t sealpost_a_dim(void) { return A_DIM; }
static inline attr_t sealpost_a_normal(void) { return A_NORMAL; }

// setcchar with an extended colour pair (the pair number goes through `opts`, as ncurses 6.1 allows, so pairs
// beyond 32,767 work); the short pair argument stays 0.
static inline int sealpost_setcchar(cchar_t *cell, const wchar_t *text, attr_t attributes, int pair) {
  return setcchar(cell, text, attributes, 0, &pair);
}

// Whether LC_CTYPE's character set is UTF-8 (nl_langinfo takes a macro-built item).
static inline int sealpost_codeset_is_utf8(void) {
  const char *codeset = nl_langinfo(CODESET);
  return codeset != 0 && (codeset[0] == 'U' || codeset[0] == 'u') && (codeset[1] == 'T' || codeset[1] == 't') &&
         (codeset[2] == 'F' || codeset[2] == 'f') &&
         ((codeset[3] == '-' && codeset[4] == '8' && codeset[5] == 0) || (codeset[3] == '8' && codeset[4] == 0));
}

// A pseudo-terminal pair of the given size (tests and the benchmark drive curses through it); 0 or -1.
static inline int sealpost_openpty(int *controller, int *terminal, unsigned short rows, unsigned short columns) {
  struct winsize size = {rows, columns, 0, 0};
  return openpty(controller, terminal, 0, 0, &size);
}

// Sets a terminal's size (TIOCSWINSZ is a macro); 0 or -1.
static inline int sealpost_set_window_size(int fd, unsigned short rows, unsigned short columns) {
  struct winsize size = {rows, columns, 0, 0};
  return ioctl(fd, TIOCSWINSZ, &size);
}

#endif
