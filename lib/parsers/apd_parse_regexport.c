/*
 * apd_parse_regexport.c - PLACEHOLDER, being written; bids -1 until then.
 */
#include "apd_parser.h"

static int
bid(const struct apd_probe *pr)
{
	(void)pr;
	return -1;
}

const struct apd_parser apd_parser_regexport = {
	.name = "regexport",
	.kind = "regexport",
	.bid = bid,
	.run = NULL,
	.note = "not written yet",
};
