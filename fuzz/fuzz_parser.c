/*
 * fuzz_parser.c - a libFuzzer target for one source parser, chosen at
 * build time with -DAPD_FUZZ_PARSER="name".  The input is fed in blocks
 * whose size comes from the first byte, so block boundaries get fuzzed
 * too.  Limits are small so that a hostile input hits them quickly.
 */
#include "apd_limits.h"
#include "apd_parser.h"
#include "apd_stream.h"

#include <stdlib.h>
#include <string.h>

#ifndef APD_FUZZ_PARSER
#error APD_FUZZ_PARSER must name the parser
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
n_event(void *ud, const struct apd_event *ev)
{
	size_t *n = ud;

	/* touch every byte the parser hands out, so ASan sees bad views */
	*n += ev->message.n + ev->data.n + ev->ts_local.n + ev->component.n + ev->thread.n;
	if (ev->message.n)
		*n += (unsigned char)ev->message.p[ev->message.n - 1];
	if (ev->data.n)
		*n += (unsigned char)ev->data.p[ev->data.n - 1];
	return APD_OK;
}

static int
n_regval(void *ud, const struct apd_regval *rv)
{
	size_t *n = ud;

	*n += rv->key.n + rv->name.n + rv->text.n + rv->blob_len;
	if (rv->key.n)
		*n += (unsigned char)rv->key.p[rv->key.n - 1];
	if (rv->kind == APD_RV_BLOB && rv->blob_len)
		*n += ((const unsigned char *)rv->blob)[rv->blob_len - 1];
	return APD_OK;
}

static int
n_fact(void *ud, struct apd_sv name, struct apd_sv value)
{
	size_t *n = ud;

	*n += name.n + value.n;
	return APD_OK;
}

static int
n_gap(void *ud, struct apd_sv item, int64_t hresult, struct apd_sv reason)
{
	size_t *n = ud;

	(void)hresult;
	*n += item.n + reason.n;
	return APD_OK;
}

static int
n_warn(void *ud, uint64_t line, uint64_t offset, const char *msg)
{
	size_t *n = ud;

	(void)line;
	(void)offset;
	*n += strlen(msg);
	return APD_OK;
}

static const struct apd_sink_vtable count_vt = {
	.event = n_event, .regval = n_regval, .fact = n_fact, .gap = n_gap, .warn = n_warn,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t blocks[8] = { 0, 1, 2, 3, 7, 64, 4096, 65536 };
	const struct apd_parser *p = apd_parser_find(APD_FUZZ_PARSER);
	struct apd_mem_src m;
	struct apd_stream st;
	struct apd_limits lim;
	struct apd_error err;
	struct apd_sink sink;
	struct apd_parse ps;
	struct apd_probe pr;
	size_t count = 0;

	if (p == NULL || p->run == NULL)
		return 0;
	apd_limits_default(&lim);
	lim.max_line = 4096;
	lim.max_record = 16384;
	lim.max_xml_bytes = 1 << 20;
	lim.max_xml_depth = 64;
	lim.max_json_bytes = 1 << 20;
	lim.max_json_depth = 32;
	m.p = data;
	m.n = size;
	m.block = size ? blocks[data[0] & 7] : 0;
	if (apd_stream_open(&st, apd_mem_block, &m, "fuzz", (int64_t)size, 1 << 24, &err) == APD_OK) {
		pr.head = apd_stream_head(&st, &pr.len);
		pr.name = "fuzz.input";
		pr.path = "fuzz.input";
		pr.size = (int64_t)size;
		(void)p->bid(&pr);
		sink.vt = &count_vt;
		sink.ud = &count;
		ps.in = &st;
		ps.sink = &sink;
		ps.lim = &lim;
		ps.path = "fuzz.input";
		ps.name = "fuzz.input";
		ps.err = &err;
		(void)p->run(&ps);
	}
	apd_stream_close(&st);
	return count == (size_t)-1;   /* keep count alive */
}
