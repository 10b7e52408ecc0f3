/*
 * apd_limits.h - every cap on a resource that input controls, in one place.
 *
 * struct apd_limits travels with every parse and every container walk.
 * apd_limits_default() gives the values below; the front end may override
 * some of them from the command line (apdiag analyze --max-*).  Each limit
 * is tested at its edge in tests/check_limits.c and the parser suites.
 */
#ifndef APD_LIMITS_H
#define APD_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#define APD_DEF_MAX_DEPTH        4u                        /* zip > cab > cab > cab */
#define APD_DEF_MAX_FILE_BYTES   (1024ull * 1024 * 1024)    /* 1 GiB per file or entry */
#define APD_DEF_MAX_TOTAL_BYTES  (16ull * 1024 * 1024 * 1024) /* 16 GiB read per analysis */
#define APD_DEF_MAX_ENTRIES      100000u                   /* entries in one container */
#define APD_DEF_MAX_RATIO        200u                      /* uncompressed : compressed */
#define APD_DEF_RATIO_FLOOR      (64ull * 1024 * 1024)     /* ratio checked past this many bytes */
#define APD_DEF_MAX_LINE         (1024u * 1024)            /* one text line */
#define APD_DEF_MAX_RECORD       (8u * 1024 * 1024)        /* one multi-line CMTrace entry */
#define APD_DEF_MAX_XML_BYTES    (256u * 1024 * 1024)      /* one XML document */
#define APD_DEF_MAX_XML_DEPTH    256u
#define APD_DEF_MAX_JSON_BYTES   (64u * 1024 * 1024)
#define APD_DEF_MAX_JSON_DEPTH   64u
#define APD_DEF_MAX_WARNINGS     100u                      /* warnings stored per source */
#define APD_DEF_MAX_PATH         4096u                     /* a path inside a bundle */

struct apd_limits {
	unsigned max_depth;         /* nested containers below the input */
	uint64_t max_file_bytes;    /* one file or archive entry, uncompressed */
	uint64_t max_total_bytes;   /* everything read in one analysis, uncompressed */
	unsigned max_entries;       /* entries in one container */
	unsigned max_ratio;         /* uncompressed/compressed bytes of one container */
	uint64_t ratio_floor;       /* the ratio is enforced only past this many bytes */
	size_t max_line;            /* a line of a text source */
	size_t max_record;          /* a multi-line record */
	size_t max_xml_bytes;
	unsigned max_xml_depth;
	size_t max_json_bytes;
	unsigned max_json_depth;
	unsigned max_warnings;      /* per source; the rest are counted, not stored */
};

void apd_limits_default(struct apd_limits *lim);

#endif /* APD_LIMITS_H */
