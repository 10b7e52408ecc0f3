/*
 * apd_parse_evtx.c - Windows XML event logs (.evtx).
 *
 * This build recognises EVTX files by their file header magic "ElfFile\0"
 * and records them (kind, size, SHA-256) without decoding records; the
 * native BinXML decoder is issue 3.  Only apd_parser_evtx is exported.
 */
#include "apd_parser.h"

#include <string.h>

static int
bid(const struct apd_probe *pr)
{
	if (pr->len >= 8 && memcmp(pr->head, "ElfFile\0", 8) == 0)
		return 64;
	/* a name alone never wins against content, but an empty or cut file
	   named .evtx is still an event log, not "unknown" */
	if (apd_name_iendswith(pr->name, ".evtx"))
		return 8;
	return -1;
}

const struct apd_parser apd_parser_evtx = {
	.name = "evtx",
	.kind = "evtx",
	.bid = bid,
	.run = NULL,
	.note = "EVTX records are not decoded by this build (recorded only)",
};
