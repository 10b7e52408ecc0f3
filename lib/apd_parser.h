/*
 * apd_parser.h - the registry of source parsers and how they bid.
 *
 * Every source format is one file, lib/parsers/apd_parse_<name>.c, that
 * exports exactly one `const struct apd_parser apd_parser_<name>` and
 * nothing else.  apd_parser.c lists them; adding a format is one new file
 * plus one line in that list.
 *
 * How bidding works (after libarchive's format bidders):
 *   - bid() looks at a probe (the first bytes, the entry's name, its size)
 *     and returns how many bits of evidence it checked, or -1 for "not
 *     mine".  A magic of 8 bytes verified is 64; a file-name hint alone is
 *     worth a small fixed number (8-16) and never beats real content.
 *   - The highest bid wins; ties go to the parser listed first.  A best bid
 *     below 1 means "unknown": the file is still recorded, with its size
 *     and SHA-256, as kind "unknown".
 *   - Bids must be cheap: they see at most APD_STREAM_HEAD bytes.
 *   - tests/check_parser_bid.c pins the winner for every file in samples/.
 *
 * run() parses the whole stream into the sink.  It returns
 *   APD_OK      everything parsed;
 *   APD_WARN    parsed, but something was malformed (warnings were emitted;
 *               the source is recorded as "partial");
 *   APD_FAILED  the input is not usable (ps->err says why, naming the file
 *               and the line or offset); records emitted so far are kept;
 *   or any code a sink callback returned (stop and pass it up).
 * A parser with run == NULL only records the file (its decoder is not in
 * this build); the source gets status "skipped" with the reason in note.
 */
#ifndef APD_PARSER_H
#define APD_PARSER_H

#include "apd.h"
#include "apd_error.h"
#include "apd_limits.h"
#include "apd_sink.h"
#include "apd_stream.h"

struct apd_probe {
	const unsigned char *head;  /* first bytes of the stream */
	size_t len;                 /* at most APD_STREAM_HEAD */
	const char *name;           /* base name of the file or entry ("" if none) */
	const char *path;           /* full display path inside the input */
	int64_t size;               /* declared size, -1 if unknown */
};

struct apd_parse {
	struct apd_stream *in;          /* the bytes; head not yet consumed */
	struct apd_sink *sink;          /* where records go */
	const struct apd_limits *lim;
	const char *path;               /* display path, for messages */
	const char *name;               /* base name */
	struct apd_error *err;          /* set on APD_FAILED */
};

struct apd_parser {
	const char *name;   /* parser name, stored in source.parser */
	const char *kind;   /* source.kind: what the file is ("cmtrace", "reg-export", ...) */
	int (*bid)(const struct apd_probe *pr);
	int (*run)(struct apd_parse *ps);
	const char *note;   /* for run == NULL: why the file is only recorded */
};

/* NULL-terminated list, cheap bidders first. */
const struct apd_parser *const *apd_parsers_all(void);
const struct apd_parser *apd_parser_find(const char *name);
/* The winner for a probe, or NULL if no bid reached 1; *bid gets its bid. */
const struct apd_parser *apd_parser_choose(const struct apd_probe *pr, int *bid);

/* Helpers for bidders. */
int apd_name_ieq(const char *name, const char *want);           /* case-insensitive equality */
int apd_name_iendswith(const char *name, const char *suffix);
int apd_name_istarts(const char *name, const char *prefix);
/* Does the head, after an optional BOM, start with this ASCII text (any of UTF-8/UTF-16LE)? */
int apd_head_starts_text(const struct apd_probe *pr, const char *ascii);
/* Is this ASCII text somewhere in the first `within` bytes of the head (8-bit text only)? */
int apd_head_contains(const struct apd_probe *pr, const char *ascii, size_t within);
/*
 * For parsers of small JSON documents (the collector's manifest and network
 * check): read the rest of the stream, at most lim->max_json_bytes, and parse
 * it with json-c, at most lim->max_json_depth deep.  APD_OK with *doc, which
 * the caller puts; *doc is NULL when the text is not valid JSON, and then
 * *end is the byte and *why the reason.  APD_FAILED or APD_FATAL with ps->err
 * set when the stream cannot be read, is too large, or memory runs out.
 */
struct json_object;
int apd_parse_read_json(struct apd_parse *ps, struct json_object **doc, size_t *end,
    const char **why);

/* memmem(3), which C11 lacks. */
const void *apd_memmem(const void *hay, size_t n, const void *needle, size_t m);

#endif /* APD_PARSER_H */
