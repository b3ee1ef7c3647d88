#ifndef SEALPOST_CWCWIDTH_SHIM_H
#define SEALPOST_CWCWIDTH_SHIM_H

// wcwidth(3) is POSIX (XSI): glibc declares it only under _XOPEN_SOURCE, which Swift's Glibc module is not
// built with. The declaration is glibc's own, so it agrees with <wchar.h> wherever that is also seen.
#include <stddef.h>

int wcwidth(wchar_t c);

/// The columns a scalar takes in the calling thread's locale, as ncurses counts: -1 for non-printable.
static inline int sealpost_wcwidth(unsigned int scalar) { return wcwidth((wchar_t)scalar); }

#endif
