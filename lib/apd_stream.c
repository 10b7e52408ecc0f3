/*
 * apd_stream.c - input streams with a bid head, hashing and a size cap.
 */
#include "apd_stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PF_SLOTS 4u                 /* blocks read ahead */
#define PF_SLOT (1024u * 1024)      /* bytes a slot holds; bigger blocks are split */

/*
 * The read-ahead ring.  The reader thread owns the provider, s->sha and
 * `pulled`; the caller owns everything else in the stream.  Slots from
 * `head` on are full; the caller holds slot `head` between two pulls.
 */
struct apd_prefetch {
	struct apd_stream *s;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv_data, cv_room;
	struct { unsigned char *p; size_t n; } slot[PF_SLOTS];
	unsigned head, count;
	bool held;               /* the caller holds slot[head] */
	bool done;               /* the thread has ended; `end` says how */
	bool drain;              /* the caller wants no more data: hash only */
	bool cancel;             /* the caller is closing: stop */
	int end;                 /* APD_EOF or the failure code */
	uint64_t pulled;
	unsigned char *rest;     /* the head's last block past the head, not yet hashed */
	size_t rest_len;
	struct apd_error err;    /* the thread's failure */
};

/* APD_OK if n more bytes after `pulled` stay within the stream's cap. */
static int
check_cap(const struct apd_stream *s, uint64_t pulled, size_t n, struct apd_error *err)
{
	if (n > s->limit - pulled || pulled + n > s->limit)
		return apd_set_error(err, APD_FAILED,
		    "%s: larger than the limit of %llu bytes (raise it with --max-file-size)",
		    s->name, (unsigned long long)s->limit);
	return APD_OK;
}

static void *
pf_main(void *arg)
{
	struct apd_prefetch *pf = arg;
	struct apd_stream *s = pf->s;
	const void *p;
	size_t n, take, at;
	int rc;

	/* the rest of the head's last block, copied by apd_stream_prefetch */
	if (pf->rest_len)
		apd_sha256_update(&s->sha, pf->rest, pf->rest_len);
	for (;;) {
		rc = s->next(s->ud, &p, &n, &pf->err);
		if (rc == APD_OK)
			rc = check_cap(s, pf->pulled, n, &pf->err);
		if (rc != APD_OK)
			break;
		pf->pulled += n;
		apd_sha256_update(&s->sha, p, n);
		for (at = 0; at < n; at += take) {
			unsigned k;

			pthread_mutex_lock(&pf->mu);
			while (pf->count == PF_SLOTS && !pf->drain && !pf->cancel)
				pthread_cond_wait(&pf->cv_room, &pf->mu);
			if (pf->cancel) {
				pthread_mutex_unlock(&pf->mu);
				rc = APD_FAILED;
				goto out;
			}
			if (pf->drain) {
				pthread_mutex_unlock(&pf->mu);
				break;
			}
			k = (pf->head + pf->count) % PF_SLOTS;
			pthread_mutex_unlock(&pf->mu);
			/* slot k is the thread's until count covers it */
			take = n - at < PF_SLOT ? n - at : PF_SLOT;
			memcpy(pf->slot[k].p, (const unsigned char *)p + at, take);
			pf->slot[k].n = take;
			pthread_mutex_lock(&pf->mu);
			pf->count++;
			pthread_cond_signal(&pf->cv_data);
			pthread_mutex_unlock(&pf->mu);
		}
	}
out:
	pthread_mutex_lock(&pf->mu);
	pf->end = rc;
	pf->done = true;
	pthread_cond_signal(&pf->cv_data);
	pthread_mutex_unlock(&pf->mu);
	return NULL;
}

static void
pf_free(struct apd_prefetch *pf)
{
	unsigned i;

	pthread_cond_destroy(&pf->cv_data);
	pthread_cond_destroy(&pf->cv_room);
	pthread_mutex_destroy(&pf->mu);
	for (i = 0; i < PF_SLOTS; i++)
		free(pf->slot[i].p);
	free(pf->rest);
	free(pf);
}

/* Wait for the thread, take over its results, and go back to direct reads. */
static int
pf_end(struct apd_stream *s)
{
	struct apd_prefetch *pf = s->pf;
	int rc;

	pthread_join(pf->th, NULL);
	s->pulled = pf->pulled;
	rc = pf->end;
	if (rc != APD_EOF && !pf->cancel)
		*s->err = pf->err;
	s->state = pf->cancel ? APD_FAILED : rc;
	s->cur = NULL;
	s->cur_len = 0;
	s->pf = NULL;
	pf_free(pf);
	return rc;
}

/* The next block from the ring, releasing the one handed out before. */
static int
pf_take(struct apd_stream *s, const void **p, size_t *n)
{
	struct apd_prefetch *pf = s->pf;

	pthread_mutex_lock(&pf->mu);
	if (pf->held) {
		pf->held = false;
		pf->head = (pf->head + 1) % PF_SLOTS;
		pf->count--;
		pthread_cond_signal(&pf->cv_room);
	}
	while (pf->count == 0 && !pf->done)
		pthread_cond_wait(&pf->cv_data, &pf->mu);
	if (pf->count > 0) {
		*p = pf->slot[pf->head].p;
		*n = pf->slot[pf->head].n;
		pf->held = true;
		pthread_mutex_unlock(&pf->mu);
		return APD_OK;
	}
	pthread_mutex_unlock(&pf->mu);
	return pf_end(s);
}

/* Tell the thread to stop copying (drain) or to stop altogether (cancel). */
static void
pf_stop(struct apd_stream *s, bool cancel)
{
	struct apd_prefetch *pf = s->pf;

	pthread_mutex_lock(&pf->mu);
	if (cancel)
		pf->cancel = true;
	else
		pf->drain = true;
	if (pf->held) {
		pf->held = false;
		pf->head = (pf->head + 1) % PF_SLOTS;
		pf->count--;
	}
	pthread_cond_signal(&pf->cv_room);
	pthread_mutex_unlock(&pf->mu);
}

int
apd_stream_prefetch(struct apd_stream *s)
{
	struct apd_prefetch *pf;
	const unsigned char *orig = s->cur;
	unsigned i, nslot = 0;
	int sync = 0;

	if (s->pf || s->state != APD_OK)
		return APD_OK;   /* already on, or nothing left to read */
	pf = calloc(1, sizeof(*pf));
	if (pf == NULL)
		return APD_FATAL;
	pf->s = s;
	pf->pulled = s->pulled;
	for (; nslot < PF_SLOTS; nslot++)
		if ((pf->slot[nslot].p = malloc(PF_SLOT)) == NULL)
			goto fail;
	/* the provider's current block dies with its next call: keep what is
	   left of it (the thread hashes it, the caller may still read it) */
	if (s->unhashed_len && (pf->rest = malloc(s->unhashed_len)) == NULL)
		goto fail;
	if (pthread_mutex_init(&pf->mu, NULL) != 0)
		goto fail;
	sync++;
	if (pthread_cond_init(&pf->cv_data, NULL) != 0)
		goto fail;
	sync++;
	if (pthread_cond_init(&pf->cv_room, NULL) != 0)
		goto fail;
	sync++;
	if (s->unhashed_len) {
		/* s->cur is a suffix of the unhashed bytes */
		memcpy(pf->rest, s->unhashed, s->unhashed_len);
		pf->rest_len = s->unhashed_len;
		s->cur = pf->rest + (s->unhashed_len - s->cur_len);
		s->unhashed_len = 0;
	}
	apd_error_clear(&pf->err);
	s->pf = pf;
	if (pthread_create(&pf->th, NULL, pf_main, pf) == 0)
		return APD_OK;
	/* the provider was not called since: its block is still good */
	s->pf = NULL;
	s->cur = orig;
	s->unhashed_len = pf->rest_len;
fail:
	if (sync > 2)
		pthread_cond_destroy(&pf->cv_room);
	if (sync > 1)
		pthread_cond_destroy(&pf->cv_data);
	if (sync > 0)
		pthread_mutex_destroy(&pf->mu);
	for (i = 0; i < nslot; i++)
		free(pf->slot[i].p);
	free(pf->rest);
	free(pf);
	return APD_FATAL;
}

/* Hash what is left of the head's last block before the provider reuses it. */
static void
hash_rest(struct apd_stream *s)
{
	if (s->unhashed_len) {
		apd_sha256_update(&s->sha, s->unhashed, s->unhashed_len);
		s->unhashed_len = 0;
	}
}

/* Pull one block from the provider, enforce the cap, and hash it unless
   the caller hashes it later (the head). */
static int
pull_direct(struct apd_stream *s, const void **p, size_t *n, bool hash)
{
	int rc;

	if (s->state != APD_OK)
		return s->state;
	hash_rest(s);
	rc = s->next(s->ud, p, n, s->err);
	if (rc == APD_EOF) {
		s->state = APD_EOF;
		return rc;
	}
	if (rc != APD_OK) {
		s->state = rc;
		return rc;
	}
	if ((rc = check_cap(s, s->pulled, *n, s->err)) != APD_OK) {
		s->state = rc;
		return rc;
	}
	s->pulled += *n;
	if (hash)
		apd_sha256_update(&s->sha, *p, *n);
	return APD_OK;
}

static int
pull(struct apd_stream *s, const void **p, size_t *n)
{
	return s->pf ? pf_take(s, p, n) : pull_direct(s, p, n, true);
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
	/* the head is hashed once it is complete, and the rest of its last
	   block only when it is next needed, possibly by the reader thread */
	while (s->head_len < APD_STREAM_HEAD) {
		rc = pull_direct(s, &p, &n, false);
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
			s->unhashed = s->cur;
			s->unhashed_len = s->cur_len;
		}
	}
	apd_sha256_update(&s->sha, s->head, s->head_len);
	return APD_OK;
}

void
apd_stream_close(struct apd_stream *s)
{
	if (s->pf) {
		pf_stop(s, true);
		pf_end(s);
	}
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
	if (s->pf)
		pf_stop(s, false);   /* the reader thread goes on hashing, copying nothing */
	while ((rc = pull(s, &p, &n)) == APD_OK)
		;
	s->pos = s->pulled;
	return rc == APD_EOF ? APD_OK : rc;
}

void
apd_stream_sha256_hex(struct apd_stream *s, char out[65])
{
	if (s->pf)
		(void)apd_stream_drain(s);   /* the hash is the reader thread's until it ends */
	hash_rest(s);
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
