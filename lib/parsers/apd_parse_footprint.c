/*
 * apd_parse_footprint.c - PLACEHOLDER, being written; bids -1 until then.
 */
#include "apd_parser.h"

static int
bid(const struct apd_probe *pr)
{
	(void)pr;
	return -1;
}

const struct apd_parser apd_parser_footprint = {
	.name = "footprint",
	.kind = "footprint",
	.bid = bid,
	.run = NULL,
	.note = "not written yet",
};
