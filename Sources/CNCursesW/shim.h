#ifndef SEALPOST_CNCURSESW_SHIM_H
#define SEALPOST_CNCURSESW_SHIM_H

// The wide-character API (cchar_t, add_wch, wget_wch) needs this before <curses.h>.
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <curses.h>

// Swift 6 rejects C globals as shared mutable state; these wrappers read them.
static inline WINDOW *sealpost_stdscr(void) { return stdscr; }
static inline int sealpost_lines(void) { return LINES; }
static inline int sealpost_cols(void) { return COLS; }
static inline int sealpost_colors(void) { return COLORS; }
static inline int sealpost_getmaxy(WINDOW *w) { return getmaxy(w); }
static inline int sealpost_getmaxx(WINDOW *w) { return getmaxx(w); }
static inline attr_t sealpost_a_bold(void) { return A_BOLD; }
static inline attr_t sealpost_a_reverse(void) { return A_REVERSE; }
static inline attr_t sealpost_a_underline(void) { return A_UNDERLINE; }
static inline attr_t sealpost_a_dim(void) { return A_DIM; }

#endif
