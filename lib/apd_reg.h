/*
 * apd_reg.h - registry values in text form, shared by every registry text
 * format: reg.exe / regedit exports (apd_parse_regexport.c), the
 * MdmDiagnosticsTool dump (apd_parse_mdmregdump.c), and the .reg files the
 * collector will write.
 *
 * Two layers:
 *
 *   Value decoding: pure functions on bytes and text, no parser state.
 *   Root key names (apd_reg_hive_normalise), hex numbers ("dword:0000001e"),
 *   the "hex:" / "hex(n):" type prefix, hex byte lists with ",\" line
 *   continuation (apd_reg_hex_decode), and raw value data to the typed form
 *   of struct apd_regval (apd_reg_value_from_bytes: DWORD/QWORD numbers,
 *   UTF-16LE or 8-bit strings, REG_MULTI_SZ as a JSON array, blobs).
 *
 *   struct apd_reg_reader: the line skeleton every ".reg-like" text shares.
 *   It reads the lines, switches keys on "[HIVE\path]" lines, collects hex
 *   values over their continuation lines and emits them, skips cut and
 *   orphaned lines, counts warnings, and fails a file that shows no key in
 *   its first lines.  A parser adds only its own grammar: the callback given
 *   to apd_reg_reader_run() sees every other non-blank line.
 *
 * Ownership: buffers in the reader belong to it (apd_reg_reader_done frees
 * them); a struct apd_regval filled here borrows from the reader or from the
 * caller's data and is valid until the next call on the same reader.
 */
#ifndef APD_REG_H
#define APD_REG_H

#include "apd.h"
#include "apd_buf.h"
#include "apd_parser.h"
#include "apd_sink.h"
#include "apd_text.h"

#include <stdbool.h>
#include <string.h>

#define APD_REG_SNIP       48   /* at most this many bytes of input are quoted in a warning */
#define APD_REG_START_MAX  16   /* non-blank lines allowed before the first key (or header) */

/* ---- lexical helpers of registry text ---- */

/* Blanks: spaces, tabs, and the CR of a CR CR LF line end. */
static inline bool
apd_reg_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Index of the first non-blank byte of p[0..n) at or after i (n if none). */
static inline size_t
apd_reg_skip_blanks(const char *p, size_t n, size_t i)
{
	while (i < n && apd_reg_is_blank(p[i]))
		i++;
	return i;
}

/* ASCII lower case; other bytes unchanged. */
static inline char
apd_reg_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Does p[0..n) start with the ASCII text lit, ignoring ASCII case? */
static inline bool
apd_reg_istarts(const char *p, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; lit[i]; i++)
		if (i >= n || apd_reg_lower(p[i]) != apd_reg_lower(lit[i]))
			return false;
	return true;
}

/*
 * How many bytes of p[0..n) to quote in a warning: at most APD_REG_SNIP,
 * never splitting a UTF-8 character.  APD_REG_SNIP_SV(sv) gives both "%.*s"
 * arguments for a string view.
 */
int apd_reg_snip(const char *p, size_t n);
#define APD_REG_SNIP_SV(sv) apd_reg_snip((sv).p, (sv).n), (sv).p

/*
 * The cap of a buffer that holds n input bytes grown up to k times (k > 0):
 * n * k plus 64 for brackets, saturated so that it never overflows.
 */
size_t apd_reg_cap(size_t n, size_t k);

/* ---- value decoding ---- */

/*
 * The short name of a root key written as p[0..n): "HKEY_LOCAL_MACHINE" or
 * "HKLM" -> "HKLM", likewise HKCU, HKU (HKEY_USERS), HKCR and HKCC; ASCII
 * case is ignored.  Returns a static string, or NULL when the root is not
 * one of these.
 */
const char *apd_reg_hive_normalise(const char *p, size_t n);

/*
 * p[0..n) is all of a hex number of 1 to max_digits digits (no prefix, no
 * blanks): stores it in *out and returns true; returns false (and leaves
 * *out alone) otherwise.  max_digits is 8 for a DWORD, 16 for a QWORD.
 */
bool apd_reg_hex_number(const char *p, size_t n, size_t max_digits, uint64_t *out);

/*
 * The type prefix of hex data: "hex:" (REG_BINARY) or "hex(n):" with n in
 * hex, up to 8 digits and at most 0x7fffffff (ASCII case ignored).
 * Returns 1 and sets *type and *len (bytes of the prefix) when p starts
 * with one of them; 0 when p starts with neither "hex:" nor "hex(";
 * -1 when "hex(" is not followed by a well-formed "n):".
 */
int apd_reg_hex_prefix(const char *p, size_t n, int *type, size_t *len);

/*
 * Decode one line of a hex byte list ("aa,bb,...", optionally ending in
 * "\") and append the bytes to b while *full is false.  Sets *more when the
 * list goes on on the next line, *why to a description of the first syntax
 * error (NULL if none; bytes before the error have been appended), and
 * *full when b reached its cap (the rest is checked but not stored).
 * Returns APD_OK, or APD_FATAL when out of memory.
 */
int apd_reg_hex_decode(const char *p, size_t n, struct apd_buf *b, bool *full, bool *more,
    const char **why);

/*
 * Fill rv->type, rv->kind and the value (num, text or blob) from the raw
 * data of a value of the given REG_* type, as stored in the registry:
 *   SZ, EXPAND_SZ, LINK  text: trailing NULs dropped, converted to UTF-8
 *                        from UTF-16LE, or from 8-bit text when ansi
 *                        (UTF-8 if valid, else Windows-1252);
 *   MULTI_SZ             text: a JSON array of the strings (the final NULs
 *                        dropped, empty strings inside kept);
 *   DWORD, DWORD_BIG_ENDIAN of 4 bytes, QWORD of 8 bytes   num (a QWORD
 *                        keeps its bit pattern, see apd_sink.h);
 *   anything else, and a number of the wrong size   blob = data, unchanged.
 * Text goes into text (reset first); tmp is scratch.  rv->blob may point
 * into data.  Returns APD_OK, APD_FAILED when the decoded text would pass
 * the cap of text or tmp (rv is then not usable), or APD_FATAL.
 */
int apd_reg_value_from_bytes(struct apd_regval *rv, int type, const void *data, size_t n,
    bool ansi, struct apd_buf *text, struct apd_buf *tmp);

/* ---- the line reader of registry text files ---- */

struct apd_reg_reader {
	struct apd_parse *ps;
	struct apd_lines lr;
	/* the format's rules: set by the parser between init and run */
	bool comments;            /* ';' starts a comment line */
	bool key_deletions;       /* "[-KEY]" deletes a key: skipped with a warning */
	bool ends_every_line;     /* the writer ends every line: a last line without
	                             a line end was cut */
	bool ansi;                /* string data in hex(n) values is 8-bit, not UTF-16LE */
	/* state, readable by the parser's callback */
	bool started;             /* a key line (or a header the parser accepted) was seen;
	                             the callback sets it for a header */
	bool have_key;            /* hive/key name the current key */
	bool quiet_skip;          /* values of an unusable key are dropped without a warning */
	unsigned pre_lines;       /* non-blank lines before the start */
	const char *hive;         /* short root name of the current key */
	struct apd_buf key;       /* path of the current key below the hive */
	struct apd_buf name;      /* value name of the current value, filled by the parser */
	struct apd_buf bytes;     /* data of the hex value being read */
	struct apd_buf text;      /* decoded text or JSON of a value */
	struct apd_buf tmp;       /* scratch: one MULTI_SZ string */
	bool open_end;            /* the current line is the last and has no line end */
	bool cont;                /* the next line continues the hex value */
	bool orphan;              /* drop continuation lines of a skipped value quietly */
	bool full;                /* the hex value passed max_record */
	int type;                 /* REG_* type of the hex value */
	uint64_t v_line, v_off;   /* where the hex value started */
	unsigned long nwarn;      /* warnings emitted */
	bool sink_stop;           /* a sink callback returned a code: pass it up as it is */
};

/*
 * Set up r for the parse ps: the line reader on ps->in, empty buffers
 * capped from ps->lim (text_cap for r->text, which must hold the JSON of
 * the largest MULTI_SZ the format can write), all rules off.  Cannot fail:
 * buffers allocate on first use.
 */
void apd_reg_reader_init(struct apd_reg_reader *r, struct apd_parse *ps, size_t text_cap);

/*
 * Read every line, calling line(ud, p, n, lno, off) for the lines of the
 * format's own grammar: p[0..n) is non-blank, trimmed, and not a key line,
 * a comment, or part of a hex value; lno and off are its 1-based line
 * number and byte offset.  line returns APD_OK to go on, or a code that
 * stops the reader (a sink's code, APD_FATAL), which run returns.
 * not_mine ends the message of the APD_FAILED given when no key (nor
 * header) shows up in the first APD_REG_START_MAX non-blank lines or the
 * first APD_STREAM_HEAD bytes: "<path>:<line>: <not_mine>".
 * Returns APD_OK, APD_WARN (warnings were emitted), APD_FAILED (not this
 * format, or the stream failed; ps->err says why), APD_FATAL (out of
 * memory; ps->err says so unless a sink returned it) or a sink's code.
 */
int apd_reg_reader_run(struct apd_reg_reader *r,
    int (*line)(void *ud, const char *p, size_t n, uint64_t lno, uint64_t off), void *ud,
    const char *not_mine);

/* Free what r holds; r may then be initialised again. */
void apd_reg_reader_done(struct apd_reg_reader *r);

/* Emit the warning "line <line>: <fmt...>" and count it.  Returns the sink's code. */
int apd_reg_warn(struct apd_reg_reader *r, uint64_t line, uint64_t off, const char *fmt, ...)
	APD_PRINTF(4, 5);

/* Start rv as a value of the current key at line lno: name absent, an empty blob. */
static inline void
apd_reg_rv(const struct apd_reg_reader *r, struct apd_regval *rv, uint64_t lno)
{
	memset(rv, 0, sizeof(*rv));
	rv->hive = apd_sv_cstr(r->hive);
	rv->key = apd_buf_sv(&r->key);
	rv->name = APD_SV_NULL;
	rv->type = APD_REG_NONE;
	rv->kind = APD_RV_BLOB;
	rv->blob = "";
	rv->line = lno;
}

/*
 * Hand rv to the sink if it belongs to a usable key; a value outside any
 * key is a warning (or dropped quietly after a key that was skipped).
 * Returns the sink's code.
 */
int apd_reg_emit(struct apd_reg_reader *r, struct apd_regval *rv, uint64_t off);

/*
 * Start a hex value of the given type named r->name at line lno, whose
 * byte list begins with p[0..n) (the text after "hex(n):").  The reader
 * takes the continuation lines and emits the value when it is complete.
 * Returns APD_OK or a sink's / fatal code.
 */
int apd_reg_hex_begin(struct apd_reg_reader *r, int type, const char *p, size_t n, uint64_t lno,
    uint64_t off);

#endif /* APD_REG_H */
