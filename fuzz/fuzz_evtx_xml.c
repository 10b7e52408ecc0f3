/*
 * fuzz_evtx_xml.c - a libFuzzer target for the EVTX decoder and its XML
 * writer (apdiag evtx dump --xml), which the source parser target does not
 * reach.  The input is one EVTX file, read through a stream in blocks whose
 * size comes from its second byte (the first is the signature's 'E').
 */
#include "apd_evtx.h"
#include "apd_stream.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
no_warn(void *ud, uint64_t offset, const char *msg)
{
	size_t *n = ud;

	*n += offset + strlen(msg);
	return APD_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t blocks[8] = { 0, 1, 3, 64, 4096, 65536, 70000, 1 << 20 };
	const struct apd_evtx_record *r;
	struct apd_evtx *x;
	struct apd_mem_src m;
	struct apd_stream st;
	struct apd_error err;
	struct apd_buf out;
	size_t count = 0;

	m.p = data;
	m.n = size;
	m.block = size > 1 ? blocks[data[1] & 7] : 0;
	apd_buf_init(&out, 64u << 20);
	if (apd_stream_open(&st, apd_mem_block, &m, "fuzz", (int64_t)size, 1 << 26, &err) == APD_OK &&
	    apd_evtx_open(&x, &st, "fuzz", true, no_warn, &count, &err) == APD_OK) {
		while (apd_evtx_next(x, &r) == APD_OK) {
			apd_buf_reset(&out);
			(void)apd_evtx_render_xml(r, &out);
			count += out.n;
			if (out.n)
				count += (unsigned char)out.p[out.n - 1];
		}
		apd_evtx_free(x);
	}
	apd_stream_close(&st);
	apd_buf_done(&out);
	return count == (size_t)-1;
}
