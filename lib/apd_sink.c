/*
 * apd_sink.c - the one sink helper that is not inline.
 */
#include "apd_sink.h"

#include <stdarg.h>
#include <stdio.h>

int
apd_emit_warn(struct apd_sink *s, uint64_t line, uint64_t offset, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (s->vt->warn == NULL)
		return APD_OK;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return s->vt->warn(s->ud, line, offset, msg);
}
