/*
 * apd_stream.h - one input byte stream, read once, front to back.
 *
 * A stream wraps a block provider: a regular file, an archive entry
 * (libarchive hands out blocks without copying), or memory.  On top it
 * gives:
 *   - a head of up to APD_STREAM_HEAD bytes that parsers bid on without
 *     consuming it (apd_stream_head);
 *   - zero-copy block reads (apd_stream_block) and copying reads
 *     (apd_stream_read), which replay the head first;
 *   - a SHA-256 of every byte that passed, and a byte count;
 *   - a hard cap: a stream longer than `limit` bytes fails with APD_FAILED
 *     and a message naming the limit.
 *
 * The stream does not own the provider; the provider's user data must
 * outlive the stream.  struct apd_stream is public so it can live on the
 * stack; treat its fields as private.
 */
#ifndef APD_STREAM_H
#define APD_STREAM_H

#include "apd.h"
#include "apd_error.h"
#include "apd_sha256.h"

#include <stdbool.h>

#define APD_STREAM_HEAD (64u * 1024)

/*
 * A block provider: sets *p and *n to the next block and returns APD_OK,
 * or returns APD_EOF at the end, or APD_FAILED with err set.  The block
 * stays valid until the next call.
 */
typedef int (*apd_block_fn)(void *ud, const void **p, size_t *n, struct apd_error *err);

struct apd_stream {
	apd_block_fn next;          /* provider */
	void *ud;
	struct apd_error *err;      /* where failures are described */
	const char *name;           /* display path, for messages */
	int64_t size;               /* declared size, -1 if unknown */
	uint64_t limit;             /* most bytes allowed */
	uint64_t pos;               /* bytes handed to the reader so far */
	uint64_t pulled;            /* bytes taken from the provider so far */
	unsigned char *head;        /* first bytes, for bids (owned) */
	size_t head_len;
	bool head_given;            /* head already handed out by block/read */
	size_t head_pos;            /* how much of the head block() has handed out */
	size_t head_block;          /* the provider's first block size: the head is handed
	                               out in pieces this large, so block boundaries in
	                               small inputs are the provider's, as in a real read */
	const unsigned char *cur;   /* rest of the current provider block */
	size_t cur_len;
	const unsigned char *unhashed;  /* bytes of the head's last block not yet hashed */
	size_t unhashed_len;
	int state;                  /* APD_OK, APD_EOF or the failure code */
	struct apd_sha256 sha;
	struct apd_prefetch *pf;    /* reader thread, while prefetching (owned) */
};

/* Set up a stream and read its head.  Returns APD_OK or APD_FAILED/FATAL. */
int apd_stream_open(struct apd_stream *s, apd_block_fn next, void *ud, const char *name,
    int64_t size, uint64_t limit, struct apd_error *err);
void apd_stream_close(struct apd_stream *s);

/* The first bytes (at most APD_STREAM_HEAD); does not consume them. */
const unsigned char *apd_stream_head(const struct apd_stream *s, size_t *len);

/*
 * Read ahead on a second thread: from now on a reader thread pulls the
 * provider's blocks, hashes them and copies them into a small ring, while
 * the caller parses what came before.  Worth it for large inputs only;
 * the walker calls it before handing a big stream to a parser.
 *
 * Until apd_stream_close() (or the end of the stream) the provider is
 * called from the reader thread, so the caller must not touch whatever
 * the provider uses (the archive handle, the walker's counters).  Returns
 * APD_OK, or APD_FATAL (out of memory, no thread) with the stream still
 * usable without prefetching.
 */
int apd_stream_prefetch(struct apd_stream *s);

/* Next block of data: APD_OK with *n > 0, APD_EOF, or a failure code. */
int apd_stream_block(struct apd_stream *s, const void **p, size_t *n);

/* Copy up to cap bytes; returns bytes copied (0 at EOF) or -1 on failure. */
ptrdiff_t apd_stream_read(struct apd_stream *s, void *buf, size_t cap);

/* Consume the rest, so that the hash and the byte count cover everything. */
int apd_stream_drain(struct apd_stream *s);

/* Hex SHA-256 of all bytes consumed so far; out must hold 65 bytes. */
void apd_stream_sha256_hex(struct apd_stream *s, char out[65]);

/* Ready-made providers. */
struct apd_mem_src {
	const void *p;
	size_t n;
	size_t block;   /* hand out blocks of at most this size (0 = all at once) */
};
int apd_mem_block(void *ud, const void **p, size_t *n, struct apd_error *err);

struct apd_fd_src {
	int fd;
	const char *name;
	unsigned char *buf;   /* owned, APD_FD_BLOCK bytes */
};
#define APD_FD_BLOCK (1024u * 1024)
int apd_fd_src_init(struct apd_fd_src *fs, int fd, const char *name);
void apd_fd_src_done(struct apd_fd_src *fs);
int apd_fd_block(void *ud, const void **p, size_t *n, struct apd_error *err);

#endif /* APD_STREAM_H */
