/*
 * apd_win.h - the Windows build's string conversions at the API boundary.
 * Everything in apdiag is UTF-8; Windows' W functions take UTF-16.  Only
 * *_win.c files and the Windows backends include this.
 */
#ifndef APD_WIN_H
#define APD_WIN_H

#include "apd_error.h"

#include <wchar.h>

/*
 * apd_set_errno() for a Win32 error code: records os as err->os_errno but
 * adds no strerror() text (that is for errno values); the message says what
 * it needs, usually through apd_win_strerror().
 */
int apd_set_win(struct apd_error *err, int code, int os, const char *fmt, ...) APD_PRINTF(4, 5);

/* UTF-8 -> UTF-16, malloc'd; NULL on ENOMEM.  Invalid bytes become U+FFFD. */
wchar_t *apd_u2w(const char *s);
/* UTF-16 (n units, or -1 for NUL-terminated) -> UTF-8, malloc'd; NULL on ENOMEM.
   Unpaired surrogates become U+FFFD. */
char *apd_w2u(const wchar_t *w, int n);
/* A Win32 error's text (FormatMessage, English where possible), trimmed, in out. */
const char *apd_win_strerror(unsigned long code, char *out, size_t n);

#endif /* APD_WIN_H */
