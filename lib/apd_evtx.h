/*
 * apd_evtx.h - the EVTX decoder: Windows XML event logs (DOMAIN.md section 8).
 *
 * The decoder reads an EVTX file front to back through an apd_stream, one
 * 64 KiB chunk slot at a time (a file of any size needs one chunk of
 * memory), and hands out one record at a time.  A record is decoded into a
 * flat list of nodes, the XML tree with every template instantiated:
 *
 *	OPEN Event           depth 0   (end = index of its CLOSE)
 *	  ATTR xmlns          depth 1, followed by its VALUE nodes
 *	  VALUE "http://..."
 *	  OPEN System         depth 1
 *	    ...
 *	CLOSE Event
 *
 * Values stay typed (a UTF-16 string, a FILETIME, a SID...) and point into
 * the chunk; apd_evtx_value_text() renders one.  Both the source parser
 * (structured fields) and `apdiag evtx dump` (XML, JSON lines) read this
 * list; apd_evtx_render_xml() writes the XML libevtx's evtxexport writes.
 *
 * What is trusted and what is not:
 *   - the file header's chunk count is ignored: every 64 KiB slot is read;
 *   - CRC32s (file header, chunk header, records) are checked and a
 *     mismatch is a warning, never a reason to drop data (flag 0x4 "no
 *     CRC32" turns the checks off);
 *   - a slot without the chunk signature, or a chunk's free space, is
 *     searched for records ("recovered"), which are kept when their id was
 *     not seen before in the file and their BinXML decodes;
 *   - every offset, size, count and nesting level is bounded by the chunk
 *     and by the caps below; a record that fails to decode is skipped with
 *     a warning naming its offset, and decoding goes on.
 *
 * Templates are compiled once per chunk into flat programs (names decoded
 * once per chunk), so a record costs one pass over its value table.
 */
#ifndef APD_EVTX_H
#define APD_EVTX_H

#include "apd.h"
#include "apd_buf.h"
#include "apd_error.h"
#include "apd_limits.h"
#include "apd_stream.h"

#include <stdbool.h>

#define APD_EVTX_FILE_HEADER  4096u
#define APD_EVTX_CHUNK        65536u
#define APD_EVTX_CHUNK_HEADER 512u

/* Caps on what one record may make the decoder do. */
#define APD_EVTX_MAX_DEPTH    64u       /* element nesting in one record */
#define APD_EVTX_MAX_NEST     8u        /* BinXML nested in substitution values */
#define APD_EVTX_MAX_NODES    (1u << 18) /* nodes of one record (arrays multiply them) */

/* Value types (DOMAIN.md 8.6); APD_EVTX_T_ARRAY is or-ed onto an item type. */
enum apd_evtx_type {
	APD_EVTX_T_NULL = 0x00, APD_EVTX_T_STRING = 0x01, APD_EVTX_T_ANSI = 0x02,
	APD_EVTX_T_INT8 = 0x03, APD_EVTX_T_UINT8 = 0x04, APD_EVTX_T_INT16 = 0x05,
	APD_EVTX_T_UINT16 = 0x06, APD_EVTX_T_INT32 = 0x07, APD_EVTX_T_UINT32 = 0x08,
	APD_EVTX_T_INT64 = 0x09, APD_EVTX_T_UINT64 = 0x0A, APD_EVTX_T_REAL32 = 0x0B,
	APD_EVTX_T_REAL64 = 0x0C, APD_EVTX_T_BOOL = 0x0D, APD_EVTX_T_BINARY = 0x0E,
	APD_EVTX_T_GUID = 0x0F, APD_EVTX_T_SIZET = 0x10, APD_EVTX_T_FILETIME = 0x11,
	APD_EVTX_T_SYSTEMTIME = 0x12, APD_EVTX_T_SID = 0x13, APD_EVTX_T_HEX32 = 0x14,
	APD_EVTX_T_HEX64 = 0x15, APD_EVTX_T_EVTHANDLE = 0x20, APD_EVTX_T_BINXML = 0x21,
	APD_EVTX_T_EVTXML = 0x23,
	APD_EVTX_T_UTF8 = 0x7F,      /* decoder-made: text already in UTF-8 */
	APD_EVTX_T_ARRAY = 0x80
};

/* Names the parser looks for, recognised once per chunk when a name is decoded. */
enum apd_evtx_known {
	APD_EVTX_K_OTHER = 0, APD_EVTX_K_EVENT, APD_EVTX_K_SYSTEM, APD_EVTX_K_PROVIDER,
	APD_EVTX_K_EVENTID, APD_EVTX_K_LEVEL, APD_EVTX_K_TIMECREATED, APD_EVTX_K_EVENTRECORDID,
	APD_EVTX_K_EXECUTION, APD_EVTX_K_CHANNEL, APD_EVTX_K_COMPUTER, APD_EVTX_K_SECURITY,
	APD_EVTX_K_EVENTDATA, APD_EVTX_K_USERDATA, APD_EVTX_K_DATA, APD_EVTX_K_NAME,
	APD_EVTX_K_SYSTEMTIME, APD_EVTX_K_PROCESSID, APD_EVTX_K_THREADID, APD_EVTX_K_USERID,
	APD_EVTX_K_RENDERINGINFO, APD_EVTX_K_MESSAGE, APD_EVTX_K_XMLNS
};

/* An element, attribute, entity or PI target name, UTF-8 and NUL-terminated. */
struct apd_evtx_name {
	const char *s;
	uint32_t n;
	uint16_t known;   /* enum apd_evtx_known */
};

enum apd_evtx_kind {
	APD_EVTX_OPEN = 1,   /* element start: name; end = index of its CLOSE */
	APD_EVTX_ATTR,       /* attribute: name; its value is the n VALUE/REF nodes after it */
	APD_EVTX_VALUE,      /* text: a typed value (type, p, n) */
	APD_EVTX_CHARREF,    /* &#N;  (n = the code point) */
	APD_EVTX_ENTREF,     /* &name; */
	APD_EVTX_CDATA,      /* <![CDATA[...]]>: UTF-8 text in p, n */
	APD_EVTX_PI,         /* <?name data?>: data as UTF-8 text in p, n */
	APD_EVTX_CLOSE       /* element end */
};

struct apd_evtx_node {
	uint8_t kind;        /* enum apd_evtx_kind */
	uint8_t type;        /* VALUE: enum apd_evtx_type */
	uint16_t depth;      /* element depth, 0 for the root element */
	uint32_t n;          /* VALUE, CDATA, PI: bytes at p; CHARREF: code point;
	                        OPEN: index of the matching CLOSE; ATTR: value nodes */
	const struct apd_evtx_name *name;
	const unsigned char *p;
};

struct apd_evtx_record {
	uint64_t id;          /* event record identifier from the record header */
	uint64_t written;     /* written time from the record header (FILETIME) */
	uint64_t offset;      /* byte offset of the record in the file */
	uint32_t chunk;       /* index of its chunk slot */
	bool recovered;       /* found outside a chunk's allocated records */
	const struct apd_evtx_node *node;
	size_t nnode;
};

/* Counts kept while decoding, for summaries. */
struct apd_evtx_stats {
	uint64_t slots;          /* 64 KiB chunk slots seen */
	uint64_t chunks;         /* slots with a chunk signature */
	uint64_t empty;          /* slots of zeros */
	uint64_t records;        /* records handed out, recovered ones included */
	uint64_t recovered;      /* of which recovered */
	uint64_t bad_records;    /* records skipped: corrupt or undecodable */
	uint64_t duplicates;     /* recovered candidates dropped: id already seen */
	uint64_t crc_errors;     /* file header, chunk header and record area CRC mismatches */
	uint64_t templates;      /* template definitions compiled */
	uint32_t header_chunks;  /* chunk count the file header claims */
	uint32_t flags;          /* file header flags (1 dirty, 2 full, 4 no CRC32) */
	uint16_t major, minor;   /* format version */
};

/*
 * Where the decoder reports damage: the file offset and a message.
 * Returning anything but APD_OK stops decoding with that code.
 */
typedef int (*apd_evtx_warn_fn)(void *ud, uint64_t offset, const char *msg);

struct apd_evtx;

/*
 * Start decoding the stream (its head not yet consumed).  path names the
 * file in messages.  recover: also search slack space and damaged slots.
 * Returns APD_OK, APD_FAILED (not an EVTX file: err says why) or APD_FATAL.
 */
int apd_evtx_open(struct apd_evtx **out, struct apd_stream *in, const char *path,
    bool recover, apd_evtx_warn_fn warn, void *warn_ud, struct apd_error *err);
/*
 * The next record: APD_OK with *rec valid until the next call, APD_EOF at
 * the end, APD_FAILED when the stream fails (err set), or the warn
 * callback's code.
 */
int apd_evtx_next(struct apd_evtx *x, const struct apd_evtx_record **rec);
const struct apd_evtx_stats *apd_evtx_stats(const struct apd_evtx *x);
/* Did decoding warn about anything (damage, CRC)? */
bool apd_evtx_warned(const struct apd_evtx *x);
void apd_evtx_free(struct apd_evtx *x);   /* NULL-safe */

/*
 * Decode one record held in memory: chunk is a whole chunk (header
 * included, at most APD_EVTX_CHUNK bytes), rec_off the record's offset in
 * it.  For tests and the fuzzer.  Returns APD_OK, APD_FAILED (err says
 * why) or APD_FATAL.
 */
int apd_evtx_decode_one(struct apd_evtx *x, const unsigned char *chunk, size_t chunk_len,
    uint32_t rec_off, const struct apd_evtx_record **rec, struct apd_error *err);
/* A decoder without a stream, for apd_evtx_decode_one(). */
int apd_evtx_new_mem(struct apd_evtx **out, struct apd_error *err);

/* How a value is escaped when it is written as text. */
enum apd_evtx_esc {
	APD_EVTX_ESC_NONE = 0,
	APD_EVTX_ESC_XML,     /* & < > as evtxexport escapes them */
	APD_EVTX_ESC_JSON     /* inside a JSON string (quotes not added) */
};

/*
 * Append the text of one value (an array's items joined by ", ") to out,
 * UTF-8, escaped as asked.  Formats: decimal integers (signed types keep
 * their sign), HexInt32/64 and SizeT as 0x plus lower-case hex, GUIDs
 * upper-case in braces, SIDs S-1-..., FILETIME as
 * YYYY-MM-DDTHH:MM:SS.fffffff00Z, SYSTEMTIME as YYYY-MM-DDTHH:MM:SS.mmmZ,
 * binary as upper-case hex, booleans true/false.  APD_OK or the apd_buf code.
 */
int apd_evtx_value_text(struct apd_buf *out, unsigned type, const unsigned char *p, size_t n,
    enum apd_evtx_esc esc);
/* The integer a value holds (integer types, or a decimal string); false if none. */
bool apd_evtx_value_int(unsigned type, const unsigned char *p, size_t n, int64_t *out);
/* A FILETIME held by a value (FILETIME, SYSTEMTIME, or an ISO-8601 string); false if none. */
bool apd_evtx_value_filetime(unsigned type, const unsigned char *p, size_t n, uint64_t *ft);

/*
 * Item i of an array value (type has APD_EVTX_T_ARRAY): *ip, *in and
 * *itype describe it.  Returns false past the last item.  pos is the
 * caller's cursor, 0 at the start.
 */
bool apd_evtx_array_next(unsigned type, const unsigned char *p, size_t n, size_t *pos,
    unsigned *itype, const unsigned char **ip, size_t *in);

/* Append the text of element i's own content (child elements left out), or of attribute i. */
int apd_evtx_element_text(const struct apd_evtx_record *r, size_t i, struct apd_buf *out,
    enum apd_evtx_esc esc);
int apd_evtx_attr_text(const struct apd_evtx_record *r, size_t i, struct apd_buf *out,
    enum apd_evtx_esc esc);

/*
 * Append the record as XML, the way evtxexport -f xml writes it (two
 * spaces of indentation per level, one element per line, an element's
 * text inline), followed by one empty line.  APD_OK or the apd_buf code.
 */
int apd_evtx_render_xml(const struct apd_evtx_record *r, struct apd_buf *out);

/* CRC32 (RFC 1952, zlib's crc32) of p[0..n), continuing from crc (0 to start). */
uint32_t apd_crc32(uint32_t crc, const void *p, size_t n);

#endif /* APD_EVTX_H */
