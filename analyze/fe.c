/*
 * fe.c - printing and option-parsing helpers of the front ends.
 */
#include "fe.h"
#include "apd_text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
fe_safe_n(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;

	if (s == NULL)
		return;
	while (i < n) {
		/* longest run of printable ASCII or valid multi-byte UTF-8 */
		run = i;
		while (run < n) {
			unsigned char c = p[run];
			size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
			if (c < 0x20 || c == 0x7F || len == 0 || run + len > n ||
			    (len > 1 && !apd_utf8_valid(s + run, len)))
				break;
			/* C1 controls (U+0080..U+009F) can drive terminals too */
			if (len == 2 && c == 0xC2 && p[run + 1] < 0xA0)
				break;
			run += len;
		}
		fwrite(p + i, 1, run - i, f);
		if (run < n) {
			unsigned char c = p[run];
			if (c == '\t')
				fputs("\\t", f);
			else if (c == '\n')
				fputs("\\n", f);
			else if (c == '\r')
				fputs("\\r", f);
			else
				fprintf(f, "\\x%02x", c);
			run++;
		}
		i = run;
	}
}

void
fe_safe(FILE *f, const char *s)
{
	if (s)
		fe_safe_n(f, s, strlen(s));
}

void
fe_err(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("apdiag: ", stderr);
	fe_safe(stderr, msg);
	fputc('\n', stderr);
}

bool
fe_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return false;
	}
	if (*end == 'i' || *end == 'B' || *end == 'b')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end != '\0' || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

bool
fe_parse_uint(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xFFFFFFFFul)
		return false;
	*out = (unsigned)v;
	return true;
}

const struct fe_opt *
fe_opt_next(const struct fe_opt *opts, size_t n, const char *verb, int argc, char **argv,
    int *i, const char **val)
{
	const char *a = argv[*i], *eq = strchr(a, '=');
	size_t nlen = eq ? (size_t)(eq - a) : strlen(a), k;

	*val = NULL;
	for (k = 0; k < n; k++)
		if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, a, nlen) == 0)
			break;
	if (k == n) {
		/* the name only: what follows '=' may be a secret */
		fe_err("%s: unknown option '%.*s' (try: apdiag %s --help)", verb, (int)nlen, a, verb);
		return NULL;
	}
	if (opts[k].type == FE_OPT_FLAG) {
		if (eq) {
			fe_err("%s: %s takes no value", verb, opts[k].name);
			return NULL;
		}
		return &opts[k];
	}
	*val = eq ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
	if (*val == NULL) {
		fe_err("%s: %s needs a value", verb, opts[k].name);
		return NULL;
	}
	return &opts[k];
}

void
fe_opt_help(FILE *f, const struct fe_opt *opts, size_t n, int width)
{
	char left[64];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(left, sizeof(left), "%s%s%s", opts[i].name, opts[i].arg ? " " : "",
		    opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-*s %s\n", width, left, opts[i].help);
	}
}
