/*
 * apd.h - public umbrella header of libapd, the apdiag core library.
 *
 * The core never prints and never exits.  Every fallible function returns
 * one of the APD_* status codes below and, where it can fail for a reason
 * worth telling, fills a caller-supplied struct apd_error (apd_error.h).
 * Front ends (analyze/, collect/) decide what to show.
 */
#ifndef APD_H
#define APD_H

#include <stddef.h>
#include <stdint.h>

#define APD_EOF      1   /* no more records / entries */
#define APD_OK       0
#define APD_WARN   (-20) /* usable but degraded: some input was malformed */
#define APD_FAILED (-25) /* this item (file, record, rule) unusable; caller may go on */
#define APD_FATAL  (-30) /* the context is unusable (out of memory, index not writable) */

#if defined(__MINGW32__)
/* the Windows build formats through mingw's C99 printf (__USE_MINGW_ANSI_STDIO) */
#define APD_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#define APD_UNUSED       __attribute__((unused))
#elif defined(__GNUC__) || defined(__clang__)
#define APD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define APD_UNUSED       __attribute__((unused))
#else
#define APD_PRINTF(f, a)
#define APD_UNUSED
#endif

/*
 * A string view: a pointer and a length, not NUL-terminated.  p == NULL
 * means "absent" (SQL NULL); p != NULL with n == 0 is the empty string.
 * Views are borrowed: valid only for the duration of the call that
 * passes them.
 */
struct apd_sv {
	const char *p;
	size_t n;
};

#define APD_SV_NULL ((struct apd_sv){ NULL, 0 })
#define APD_SV_LIT(s) ((struct apd_sv){ (s), sizeof(s) - 1 })

static inline struct apd_sv
apd_sv(const char *p, size_t n)
{
	struct apd_sv v = { p, n };
	return v;
}

struct apd_sv apd_sv_cstr(const char *s); /* NULL stays absent */

const char *apd_version(void);
const char *apd_status_name(int status);

#endif /* APD_H */
