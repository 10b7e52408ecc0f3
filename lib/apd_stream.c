/*
 * apd_stream.c - input streams with a bid head, hashing and a size cap.
 */
#include "apd_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Pull one block from the provider, hash it, enforce the cap. */
static int
pull(struct apd_stream *s, const void **p, size_t *n)
{
	int rc;

	if (s->state != APD_OK)
		return s->state;
	rc = s->next(s->ud, p, n, s->err);
	if (rc == APD_EOF) {
		s->state = APD_EOF;
		return rc;
	}
	if (rc != APD_OK) {
		s->state = rc;
		return rc;
	}
	if (*n > s->limit - s->pulled || s->pulled + *n > s->limit) {
		s->state = apd_set_error(s->err, APD_FAILED,
		    "%s: larger than the limit of %llu bytes (raise it with --max-file-size)",
		    s->name, (unsigned long long)s->limit);
		return s->state;
	}
	s->pulled += *n;
	apd_sha256_update(&s->sha, *p, *n);
	return APD_OK;
}

int
apd_stream_open(struct apd_stream *s, apd_block_fn next, void *ud, const char *name,
    int64_t size, uint64_t limit, struct apd_error *err)
{
	const void *p;
	size_t n, take;
	int rc;

	memset(s, 0, sizeof(*s));
	s->next = next;
	s->ud = ud;
	s->err = err;
	s->name = name ? name : "(input)";
	s->size = size;
	s->limit = limit;
	s->state = APD_OK;
	if (apd_sha256_init(&s->sha) != APD_OK)
		return apd_set_error(err, APD_FATAL, "out of memory");
	if (size >= 0 && (uint64_t)size > limit) {
		s->state = apd_set_error(err, APD_FAILED,
		    "%s: %lld bytes exceeds the limit of %llu bytes (raise it with --max-file-size)",
		    s->name, (long long)size, (unsigned long long)limit);
		return s->state;
	}
	s->head = malloc(APD_STREAM_HEAD);
	if (s->head == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	while (s->head_len < APD_STREAM_HEAD) {
		rc = pull(s, &p, &n);
		if (rc == APD_EOF)
			break;
		if (rc != APD_OK)
			return rc;
		take = APD_STREAM_HEAD - s->head_len;
		if (take > n)
			take = n;
		if (s->head_block == 0)
			s->head_block = n;
		memcpy(s->head + s->head_len, p, take);
		s->head_len += take;
		if (take < n) {
			s->cur = (const unsigned char *)p + take;
			s->cur_len = n - take;
		}
	}
	return APD_OK;
}

void
apd_stream_close(struct apd_stream *s)
{
	free(s->head);
	s->head = NULL;
	apd_sha256_done(&s->sha);
}

const unsigned char *
apd_stream_head(const struct apd_stream *s, size_t *len)
{
	*len = s->head_len;
	return s->head;
}

int
apd_stream_block(struct apd_stream *s, const void **p, size_t *n)
{
	int rc;

	if (!s->head_given) {
		if (s->head_pos < s->head_len) {
			size_t take = s->head_len - s->head_pos;
			if (s->head_block && take > s->head_block)
				take = s->head_block;
			*p = s->head + s->head_pos;
			*n = take;
			s->head_pos += take;
			s->pos += take;
			if (s->head_pos == s->head_len)
				s->head_given = true;
			return APD_OK;
		}
		s->head_given = true;
	}
	if (s->cur_len) {
		*p = s->cur;
		*n = s->cur_len;
		s->cur_len = 0;
		s->pos += *n;
		return APD_OK;
	}
	for (;;) {
		rc = pull(s, p, n);
		if (rc != APD_OK)
			return rc;
		if (*n) {
			s->pos += *n;
			return APD_OK;
		}
	}
}

ptrdiff_t
apd_stream_read(struct apd_stream *s, void *buf, size_t cap)
{
	size_t got = 0, take;
	const void *p;
	size_t n;
	int rc;

	while (got < cap) {
		if (!s->head_given && s->head_pos < s->head_len) {
			/* hand out the head piecewise */
			take = s->head_len - s->head_pos;
			if (take > cap - got)
				take = cap - got;
			memcpy((char *)buf + got, s->head + s->head_pos, take);
			got += take;
			s->head_pos += take;
			s->pos += take;
			if (s->head_pos == s->head_len)
				s->head_given = true;
			continue;
		}
		s->head_given = true;
		if (s->cur_len == 0) {
			rc = pull(s, &p, &n);
			if (rc == APD_EOF)
				break;
			if (rc != APD_OK)
				return got ? (ptrdiff_t)got : -1;
			s->cur = p;
			s->cur_len = n;
			continue;
		}
		take = s->cur_len < cap - got ? s->cur_len : cap - got;
		memcpy((char *)buf + got, s->cur, take);
		s->cur += take;
		s->cur_len -= take;
		s->pos += take;
		got += take;
	}
	return (ptrdiff_t)got;
}

int
apd_stream_drain(struct apd_stream *s)
{
	const void *p;
	size_t n;
	int rc;

	s->head_given = true;
	s->cur_len = 0;
	while ((rc = pull(s, &p, &n)) == APD_OK)
		;
	s->pos = s->pulled;
	return rc == APD_EOF ? APD_OK : rc;
}

void
apd_stream_sha256_hex(struct apd_stream *s, char out[65])
{
	apd_sha256_final_hex(&s->sha, out);
}

int
apd_mem_block(void *ud, const void **p, size_t *n, struct apd_error *err)
{
	struct apd_mem_src *m = ud;
	size_t take;

	(void)err;
	if (m->n == 0)
		return APD_EOF;
	take = m->block && m->block < m->n ? m->block : m->n;
	*p = m->p;
	*n = take;
	m->p = (const char *)m->p + take;
	m->n -= take;
	return APD_OK;
}

int
apd_fd_src_init(struct apd_fd_src *fs, int fd, const char *name)
{
	fs->fd = fd;
	fs->name = name;
	fs->buf = malloc(APD_FD_BLOCK);
	return fs->buf ? APD_OK : APD_FATAL;
}

void
apd_fd_src_done(struct apd_fd_src *fs)
{
	free(fs->buf);
	fs->buf = NULL;
}

int
apd_fd_block(void *ud, const void **p, size_t *n, struct apd_error *err)
{
	struct apd_fd_src *fs = ud;
	ssize_t r;

	do
		r = read(fs->fd, fs->buf, APD_FD_BLOCK);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return apd_set_errno(err, APD_FAILED, errno, "%s: read failed", fs->name);
	if (r == 0)
		return APD_EOF;
	*p = fs->buf;
	*n = (size_t)r;
	return APD_OK;
}
