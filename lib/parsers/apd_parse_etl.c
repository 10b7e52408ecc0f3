/*
 * apd_parse_etl.c - ETW trace logs (.etl).
 *
 * Recognised by a plausible WMI_BUFFER_HEADER at offset 0 (DOMAIN.md §9.1)
 * or by name, and recorded without decoding events.  Only apd_parser_etl
 * is exported.
 */
#include "apd_parser.h"

#include <string.h>

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int
bid(const struct apd_probe *pr)
{
	int b = -1;
	uint32_t bufsize, saved;

	if (apd_name_iendswith(pr->name, ".etl") || apd_name_iendswith(pr->name, ".etl.merged") ||
	    apd_memmem(pr->name, strlen(pr->name), ".etl.", 5) != NULL)
		b = 16;
	/* WMI_BUFFER_HEADER: BufferSize at 0, SavedOffset at 4, the first buffer of
	   a file is a power of two between 4 KiB and 16 MiB, SavedOffset <= BufferSize */
	if (pr->len >= 72) {
		bufsize = le32(pr->head);
		saved = le32(pr->head + 4);
		if (bufsize >= 4096 && bufsize <= 16u << 20 && (bufsize & (bufsize - 1)) == 0 &&
		    saved >= 72 && saved <= bufsize)
			b = b > 0 ? 48 : 32;
	}
	return b;
}

const struct apd_parser apd_parser_etl = {
	.name = "etl",
	.kind = "etl",
	.bid = bid,
	.run = NULL,
	.note = "ETL events are not decoded by this build (recorded only)",
};
