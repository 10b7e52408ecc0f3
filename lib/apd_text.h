/*
 * apd_text.h - text encodings and a bounded line reader.
 *
 * Windows writes logs in UTF-8 with a BOM (IME), UTF-16LE with a BOM
 * (reg.exe, AutopilotDDSZTDFile.json), or an 8-bit ANSI code page
 * (MdmDiagReport_RegistryDump.reg).  Everything leaves this module as
 * valid UTF-8: 8-bit text that is not valid UTF-8 is read as Windows-1252,
 * invalid UTF-16 becomes U+FFFD.
 */
#ifndef APD_TEXT_H
#define APD_TEXT_H

#include "apd.h"
#include "apd_buf.h"
#include "apd_stream.h"

#include <stdbool.h>

enum apd_enc {
	APD_ENC_8BIT = 0,   /* no BOM: UTF-8 if valid, else Windows-1252 */
	APD_ENC_UTF8_BOM,
	APD_ENC_UTF16LE,    /* with or without BOM */
	APD_ENC_UTF16BE
};

/* Guess the encoding from the first bytes; *bom_len gets the BOM size. */
enum apd_enc apd_enc_sniff(const unsigned char *p, size_t n, size_t *bom_len);
const char *apd_enc_name(enum apd_enc enc);

bool apd_utf8_valid(const char *p, size_t n);

/* Append p[0..n) to b as UTF-8.  Return APD_OK or the apd_buf code. */
int apd_cp1252_to_utf8(struct apd_buf *b, const char *p, size_t n);
int apd_utf16_to_utf8(struct apd_buf *b, const unsigned char *p, size_t n, bool big_endian);

/* Does the text look binary: a NUL byte, or many control characters? */
bool apd_looks_binary(const unsigned char *p, size_t n);

/*
 * The line reader.  Lines come out as UTF-8 without the end of line (LF or
 * CRLF).  A line longer than max_line is cut: the first
 * max_line bytes are returned with APD_WARN and the rest is skipped.
 */
struct apd_lines {
	struct apd_stream *in;
	enum apd_enc enc;
	size_t max_line;
	struct apd_buf raw;         /* bytes of the current line, undecoded */
	struct apd_buf out;         /* decoded line (UTF-16, Windows-1252) */
	const unsigned char *blk;   /* current block */
	size_t blk_len, blk_pos;
	uint64_t lineno;            /* 1-based number of the line last returned */
	uint64_t offset;            /* raw byte offset of the line last returned */
	uint64_t next_offset;
	size_t bom_left;            /* BOM bytes still to skip */
	bool eof;
	unsigned char u16_prev[2];  /* last two raw bytes of a UTF-16 line */
	uint64_t u16_count;         /* raw bytes of the current UTF-16 line */
	unsigned long n_cut;        /* lines cut at max_line */
	unsigned long n_transcoded; /* 8-bit lines read as Windows-1252 */
};

int apd_lines_init(struct apd_lines *lr, struct apd_stream *in, size_t max_line);
/* APD_OK (line set), APD_WARN (line cut), APD_EOF, or the stream's failure. */
int apd_lines_next(struct apd_lines *lr, struct apd_sv *line);
void apd_lines_done(struct apd_lines *lr);

#endif /* APD_TEXT_H */
