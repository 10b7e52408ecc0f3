/*
 * check_json.c - the JSON parser: Autopilot profile (both forms), MdmDiag
 * metadata, generic documents, encodings split across blocks, limits and
 * malformed input, bids, and the real profile from the corpus.
 */
#include "apd_test.h"
#include "apd_buf.h"
#include "apd_text.h"
#include "apd_time.h"

#include <json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct apd_parser apd_parser_json;

#define FIX "tests/data/json/"

/* The parser under test; fixtures read into memory keep their own names. */
static const struct apd_test_input JSON = { &apd_parser_json, NULL };

/* Assert that s starts with prefix (and show s when it does not). */
#define starts(s, prefix) ck_assert_msg(strncmp((s), (prefix), strlen(prefix)) == 0, \
	"got: %s\nwant prefix: %s", (s), (prefix))

/* Parse event data back with json-c (it must be valid JSON). */
static struct json_object *
parse_data(const char *data)
{
	struct json_object *o;

	ck_assert_ptr_nonnull(data);
	o = json_tokener_parse(data);
	ck_assert_msg(o != NULL, "event data is not JSON: %.200s", data);
	return o;
}

START_TEST(test_json_ztd_success)
{
	struct apd_test_out o;
	struct apd_error err;
	struct json_object *d, *v;
	int64_t want;

	ck_assert_int_eq(apd_test_parse_src(&JSON, FIX "AutopilotDDSZTDFile.json", &o, &err), APD_OK);
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.CloudAssignedTenantId"),
	    "5e1a7c2e-0000-4000-8000-00000000a004");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.CloudAssignedTenantDomain"),
	    "contoso-example.onmicrosoft.com");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.DeploymentProfileName"),
	    "Example User-Driven Profile");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.CloudAssignedOobeConfig"), "1310");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.CloudAssignedDomainJoinMethod"), "0");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.ZtdRegistrationId"),
	    "5e1a7c2e-0000-4000-8000-00000000a002");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.AadDeviceId"),
	    "5e1a7c2e-0000-4000-8000-00000000a003");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.CloudAssignedForcedEnrollment"), "1");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.IsExplicitProfileAssignment"), "true");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.PolicyDownloadDate"),
	    "2024-04-03T07:45:12Z");
	ck_assert_ptr_null(apd_test_fact(&o, "autopilot.ErrorCode"));
	ck_assert_uint_eq(o.nfacts, 18);
	ck_assert_uint_eq(o.nwarns, 0);

	ck_assert_uint_eq(o.nev, 1);
	ck_assert_int_eq(apd_civil_to_us(2024, 4, 3, 7, 45, 12, 0, &want), 0);
	ck_assert_int_eq(o.ev[0].ts_utc, want);
	ck_assert_int_eq(o.ev[0].tz, APD_TZ_UTC);
	ck_assert_ptr_null(o.ev[0].ts_local);
	ck_assert_int_eq(o.ev[0].level, APD_LVL_INFO);
	ck_assert_uint_eq(o.ev[0].line, 1);
	ck_assert_uint_eq(o.ev[0].offset, 0);
	/* the summary line, the decoded OOBE bits, then searchable key=value lines */
	starts(o.ev[0].message, "Autopilot profile \"Example User-Driven Profile\" for "
	    "contoso-example.onmicrosoft.com (tenant 5e1a7c2e-0000-4000-8000-00000000a004); "
	    "Entra ID join; OOBE config 1310 (skip keyboard selection, skip Windows upgrade UX, "
	    "skip EULA, skip OEM registration, skip express settings, user not local admin); "
	    "forced enrollment 1; policy download date 2024-04-03T07:45:12Z\n"
	    "AutopilotServiceCorrelationId=5e1a7c2e-0000-4000-8000-00000000a001\n");
	ck_assert_ptr_nonnull(strstr(o.ev[0].message, "\nZtdRegistrationId=5e1a7c2e-0000-4000-8000-00000000a002"));
	/* data is the whole document as compact JSON */
	d = parse_data(o.ev[0].data);
	starts(o.ev[0].data, "{\"AutopilotServiceCorrelationId\":\"5e1a7c2e-0000-4000-8000-00000000a001\","
	    "\"ZtdRegistrationId\":");
	ck_assert(json_object_object_get_ex(d, "CloudAssignedAutopilotUpdateTimeout", &v));
	ck_assert_int_eq(json_object_get_int64(v), 1800000);
	ck_assert_int_eq(json_object_object_length(d), 18);
	json_object_put(d);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_json_ztd_failure)
{
	struct apd_test_out o;
	struct apd_error err;
	int64_t want;

	ck_assert_int_eq(apd_test_parse_src(&JSON, FIX "AutopilotDDSZTDFile-failure.json", &o, &err),
	    APD_OK);
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.ErrorCode"), "908");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.ErrorReason"),
	    "HardwareMarkerMismatch, SerialNumberMismatch, ProductKeyIdMismatch, TPMEkPubHashMismatch");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.PolicyDownloadDate"),
	    "2024-04-03T07:45:12Z");
	ck_assert_uint_eq(o.nfacts, 3);
	ck_assert_uint_eq(o.nev, 1);
	ck_assert_int_eq(o.ev[0].level, APD_LVL_ERROR);
	ck_assert_int_eq(apd_civil_to_us(2024, 4, 3, 7, 45, 12, 0, &want), 0);
	ck_assert_int_eq(o.ev[0].ts_utc, want);
	starts(o.ev[0].message, "Autopilot profile download failed: ErrorCode 908 "
	    "(HardwareMarkerMismatch, SerialNumberMismatch, ProductKeyIdMismatch, "
	    "TPMEkPubHashMismatch); policy download date 2024-04-03T07:45:12Z\nErrorCode=908\n");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_json_mdmdiag_meta)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&JSON, FIX "MdmDiagLogMetadata.json", &o, &err), APD_OK);
	ck_assert_str_eq(apd_test_must_fact(&o, "os.build"), "22631");
	ck_assert_str_eq(apd_test_must_fact(&o, "os.ubr"), "3296");
	ck_assert_str_eq(apd_test_must_fact(&o, "os.edition"), "Enterprise");
	ck_assert_str_eq(apd_test_must_fact(&o, "os.product_name"), "Windows 10 Enterprise");
	ck_assert_str_eq(apd_test_must_fact(&o, "os.build_branch"), "ni_release");
	ck_assert_str_eq(apd_test_must_fact(&o, "os.build_lab"), "22621.ni_release.220506-1250");
	ck_assert_str_eq(apd_test_must_fact(&o, "os.install_date"), "1712130312");
	ck_assert_str_eq(apd_test_must_fact(&o, "mdmdiag.areas"),
	    "deviceenrollment;deviceprovisioning;autopilot;");
	ck_assert_str_eq(apd_test_must_fact(&o, "mdmdiag.version"), "1.0");
	ck_assert_ptr_null(apd_test_fact(&o, "autopilot.CurrentBuild"));
	ck_assert_uint_eq(o.nev, 1);
	ck_assert_int_eq(o.ev[0].ts_utc, APD_TS_NONE);
	ck_assert_int_eq(o.ev[0].tz, APD_TZ_NONE);
	starts(o.ev[0].message, "MdmDiagnosticsTool metadata: Windows 10 Enterprise "
	    "(Enterprise) build 22631.3296; areas deviceenrollment;deviceprovisioning;autopilot;\n"
	    "MdmDiagVersion=1.0\n");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_json_generic_flattened)
{
	struct apd_test_out o;
	struct apd_error err;
	struct json_object *d;

	ck_assert_int_eq(apd_test_parse_src(&JSON, FIX "DiagnosticsFrameworkData.json", &o, &err),
	    APD_OK);
	ck_assert_uint_eq(o.nfacts, 0);
	ck_assert_uint_eq(o.nev, 1);
	ck_assert_str_eq(o.ev[0].message,
	    "_synthetic=invented structure for tests; the real schema is not public\n"
	    "Items[0].Name=Check A\nItems[0].Result=Passed\n"
	    "Items[1].Name=Check B\nItems[1].Result=Failed\nItems[1].Detail.Code=0x80070005\n"
	    "Count=2");
	ck_assert_int_eq(o.ev[0].level, APD_LVL_NONE);
	d = parse_data(o.ev[0].data);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(d, "Items")), 2);
	json_object_put(d);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_json_unicode_escapes)
{
	struct apd_test_out o;
	struct apd_error err;
	struct json_object *d;

	ck_assert_int_eq(apd_test_parse_src(&JSON, FIX "unicode-utf16le.json", &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 1);
	/* a raw UTF-16 surrogate pair and an escaped one are the same character */
	ck_assert_ptr_nonnull(strstr(o.ev[0].message, "raw=A\xF0\x9F\x98\x80" "B\n"));
	ck_assert_ptr_nonnull(strstr(o.ev[0].message, "esc=\xF0\x9F\x98\x80\n"));
	ck_assert_ptr_nonnull(strstr(o.ev[0].message, "e_acute=caf\xC3\xA9\n"));
	/* a lone surrogate becomes U+FFFD; a NUL becomes a space in the message */
	ck_assert_ptr_nonnull(strstr(o.ev[0].message, "lone=x\xEF\xBF\xBDy\n"));
	ck_assert_ptr_nonnull(strstr(o.ev[0].message, "nul=a b\n"));
	ck_assert_ptr_nonnull(strstr(o.ev[0].message, "plain=\xC3\xA9\xE2\x82\xAC"));
	ck_assert(apd_utf8_valid(o.ev[0].data, strlen(o.ev[0].data)));
	d = parse_data(o.ev[0].data);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(d, "esc")),
	    "\xF0\x9F\x98\x80");
	json_object_put(d);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_json_cp1252)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&JSON, FIX "ansi-cp1252.json", &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 1);
	ck_assert_str_eq(o.ev[0].message,
	    "Comment_File=Profil f\xC3\xBCr Caf\xC3\xA9 \xE2\x82\xAC\nVersion=2049");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_json_utf16be_in_memory)
{
	/* {"MdmDiagVersion":"1.0","CurrentBuild":"26100"} in UTF-16BE with a BOM */
	static const char text[] = "{\"MdmDiagVersion\":\"1.0\",\"CurrentBuild\":\"26100\"}";
	unsigned char buf[2 + 2 * sizeof(text)];
	struct apd_test_out o;
	struct apd_error err;
	size_t i, n = 2;

	buf[0] = 0xFE;
	buf[1] = 0xFF;
	for (i = 0; i + 1 < sizeof(text); i++) {
		buf[n++] = 0;
		buf[n++] = (unsigned char)text[i];
	}
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_json, buf, n, "x.json", &o, &err), APD_OK);
	ck_assert_str_eq(apd_test_must_fact(&o, "os.build"), "26100");
	apd_test_out_free(&o);
}
END_TEST

/* Everything an output holds, as one comparable string. */
static char *
dump(const struct apd_test_out *o)
{
	struct apd_buf b;
	size_t i;

	apd_buf_init(&b, 64u << 20);
	for (i = 0; i < o->nfacts; i++)
		ck_assert_int_eq(apd_buf_printf(&b, "F %s=%s\n", o->facts[i].name, o->facts[i].value),
		    APD_OK);
	for (i = 0; i < o->nev; i++)
		ck_assert_int_eq(apd_buf_printf(&b, "E %lld %d %llu %llu %s\n%s\n",
		    (long long)o->ev[i].ts_utc, o->ev[i].tz, (unsigned long long)o->ev[i].offset,
		    (unsigned long long)o->ev[i].line, o->ev[i].message, o->ev[i].data), APD_OK);
	for (i = 0; i < o->nwarns; i++)
		ck_assert_int_eq(apd_buf_printf(&b, "W %s\n", o->warns[i].value), APD_OK);
	return b.p;
}

/*
 * Build a document longer than the stream head (64 KiB), so that block
 * sizes reach the parser: {"pad":"aaa...", <members of the fixture>}.
 */
static unsigned char *
padded_utf16(const char *fixture, size_t *len)
{
	char rel[256];
	unsigned char *src, *out;
	size_t n = 0, i, k = 0, pad = 70001;

	snprintf(rel, sizeof(rel), FIX "%s", fixture);
	src = apd_test_slurp_src(rel, &n);
	ck_assert(n > 4 && src[0] == 0xFF && src[1] == 0xFE && src[2] == '{' && src[3] == 0);
	out = malloc(n + 2 * pad + 64);
	ck_assert_ptr_nonnull(out);
	memcpy(out, src, 4);   /* BOM and '{' */
	k = 4;
	for (i = 0; i < 7; i++) {
		out[k++] = (unsigned char)"\"pad\":\""[i];
		out[k++] = 0;
	}
	for (i = 0; i < pad; i++) {
		out[k++] = 'a';
		out[k++] = 0;
	}
	out[k++] = '"';
	out[k++] = 0;
	out[k++] = ',';
	out[k++] = 0;
	memcpy(out + k, src + 4, n - 4);
	k += n - 4;
	free(src);
	*len = k;
	return out;
}

START_TEST(test_json_utf16_blocks_same_result)
{
	static const char *const fixtures[] = { "unicode-utf16le.json", "AutopilotDDSZTDFile.json" };
	static const size_t blocks[] = { 1, 3, 4096 };
	struct apd_test_out o;
	struct apd_error err;
	unsigned char *buf;
	char *ref, *got;
	size_t n, f, b;

	for (f = 0; f < 2; f++) {
		buf = padded_utf16(fixtures[f], &n);
		ck_assert_uint_gt(n, APD_STREAM_HEAD + 1000);
		apd_test_out_init(&o);
		ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_json, buf, n, fixtures[f], NULL, 0,
		    &o, &err), APD_OK);
		ck_assert_uint_eq(o.nev, 1);
		ck_assert_ptr_null(strstr(o.ev[0].message, "\xEF\xBF\xBD\xEF\xBF\xBD"));
		ref = dump(&o);
		apd_test_out_free(&o);
		for (b = 0; b < 3; b++) {
			apd_test_out_init(&o);
			ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_json, buf, n, fixtures[f], NULL,
			    blocks[b], &o, &err), APD_OK);
			got = dump(&o);
			ck_assert_msg(strcmp(ref, got) == 0, "%s differs with block size %zu",
			    fixtures[f], blocks[b]);
			free(got);
			apd_test_out_free(&o);
		}
		free(ref);
		free(buf);
	}
}
END_TEST

/* UTF-8 characters and a late Windows-1252 byte split across small blocks. */
START_TEST(test_json_8bit_blocks_same_result)
{
	static const size_t blocks[] = { 1, 2, 3, 4096 };
	/* k: 0 = UTF-8 (multi-byte characters after the head), 1 = Windows-1252 */
	struct apd_test_out o;
	struct apd_error err;
	struct apd_buf in;
	char *ref, *got;
	size_t i, b;
	int k;

	for (k = 0; k < 2; k++) {
		apd_buf_init(&in, 1u << 20);
		ck_assert_int_eq(apd_buf_adds(&in, "{\"pad\":\""), APD_OK);
		for (i = 0; i < 70000; i++)
			ck_assert_int_eq(apd_buf_addc(&in, 'a'), APD_OK);
		ck_assert_int_eq(apd_buf_adds(&in, k == 0 ?
		    "\",\"v\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xC3\xA9\"}" :
		    "\",\"v\":\"caf\xE9 \x80\"}"), APD_OK);
		apd_test_out_init(&o);
		ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_json, in.p, in.n, "x.json", NULL, 0,
		    &o, &err), APD_OK);
		ck_assert_uint_eq(o.nev, 1);
		ck_assert_ptr_nonnull(strstr(o.ev[0].message, k == 0 ?
		    "\nv=\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xC3\xA9" : "\nv=caf\xC3\xA9 \xE2\x82\xAC"));
		ref = dump(&o);
		apd_test_out_free(&o);
		for (b = 0; b < 4; b++) {
			apd_test_out_init(&o);
			ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_json, in.p, in.n, "x.json",
			    NULL, blocks[b], &o, &err), APD_OK);
			got = dump(&o);
			ck_assert_msg(strcmp(ref, got) == 0, "case %d differs with block size %zu", k,
			    blocks[b]);
			free(got);
			apd_test_out_free(&o);
		}
		free(ref);
		apd_buf_done(&in);
	}
}
END_TEST

START_TEST(test_json_truncated_keeps_members)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&JSON, FIX "truncated-profile.json", &o, &err), APD_WARN);
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.CloudAssignedTenantId"),
	    "5e1a7c2e-0000-4000-8000-00000000b004");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.DeploymentProfileName"),
	    "Truncated Example");
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.CloudAssignedOobeConfig"), "1310");
	ck_assert_ptr_null(apd_test_fact(&o, "autopilot.ZtdRegistrationId"));
	ck_assert_uint_eq(o.nev, 1);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert_msg(apd_test_warn_with(&o,
	    "truncated JSON) at line 5, column 36 (offset 191") != NULL, "warning: %s",
	    o.warns[0].value);
	ck_assert_uint_eq(o.warns[0].line, 5);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_json_depth_limit)
{
	struct apd_test_out o;
	struct apd_error err;
	struct apd_limits lim;
	struct json_object *d;

	apd_limits_default(&lim);
	/* 200 levels: beyond the default depth (64), the first members are kept */
	ck_assert_int_eq(apd_test_parse_src_mem(&JSON, FIX "deep-nested.json", &lim, 0, &o, &err),
	    APD_WARN);
	ck_assert_uint_eq(o.nev, 1);
	ck_assert(apd_test_warn_with(&o, "nesting too deep") != NULL);
	apd_test_out_free(&o);
	/* within a raised depth it parses whole */
	lim.max_json_depth = 512;
	ck_assert_int_eq(apd_test_parse_src_mem(&JSON, FIX "deep-nested.json", &lim, 0, &o, &err),
	    APD_OK);
	ck_assert_uint_eq(o.nev, 1);
	apd_test_out_free(&o);

	/* lowered: members before the deep one are kept */
	lim.max_json_depth = 16;
	ck_assert_int_eq(apd_test_parse_src_mem(&JSON, FIX "deep-nested.json", &lim, 0, &o, &err),
	    APD_WARN);
	ck_assert_uint_eq(o.nev, 1);
	d = parse_data(o.ev[0].data);
	ck_assert_int_eq(json_object_object_length(d), 2);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(d, "before")), "kept");
	json_object_put(d);
	ck_assert(apd_test_warn_with(&o, "nesting too deep at line 1, column 46 (offset 45") != NULL);
	apd_test_out_free(&o);

	/* nothing complete before the limit: unusable */
	ck_assert_int_eq(apd_test_parse_src_mem(&JSON, FIX "deep-only.json", &lim, 0, &o, &err),
	    APD_FAILED);
	ck_assert_uint_eq(o.nev, 0);
	ck_assert_msg(strstr(err.msg, "deep-only.json: not usable JSON: nesting too deep at line 1, "
	    "column 17 (offset 16") != NULL, "%s", err.msg);
	apd_test_out_free(&o);
}
END_TEST

/* A document of `members` numeric members: {"m0":0,"m1":1,...}. */
static char *
many_members(size_t members, size_t *len)
{
	struct apd_buf b;
	size_t i;

	apd_buf_init(&b, 64u << 20);
	ck_assert_int_eq(apd_buf_addc(&b, '{'), APD_OK);
	for (i = 0; i < members; i++)
		ck_assert_int_eq(apd_buf_printf(&b, "%s\"m%zu\":%zu", i ? "," : "", i, i), APD_OK);
	ck_assert_int_eq(apd_buf_addc(&b, '}'), APD_OK);
	*len = b.n;
	return b.p;
}

START_TEST(test_json_byte_limit)
{
	struct apd_test_out o;
	struct apd_error err;
	struct apd_limits lim;
	struct json_object *d;
	char *doc, *two;
	size_t n, i;

	apd_limits_default(&lim);
	lim.max_json_bytes = 1000;
	doc = many_members(500, &n);
	ck_assert_uint_gt(n, 5000);

	/* cut inside the document: the members before the cut are kept */
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_json, doc, n, "big.json", &lim, 0, &o,
	    &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 1);
	ck_assert(apd_test_warn_with(&o,
	    "input longer than the limit of 1000 bytes (max_json_bytes)") != NULL);
	d = parse_data(o.ev[0].data);
	ck_assert_int_gt(json_object_object_length(d), 50);
	ck_assert_int_lt(json_object_object_length(d), 500);
	json_object_put(d);
	apd_test_out_free(&o);

	/* the same with a limit at exactly the size: whole */
	lim.max_json_bytes = n;
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_json, doc, n, "big.json", &lim, 7, &o,
	    &err), APD_OK);
	d = parse_data(o.ev[0].data);
	ck_assert_int_eq(json_object_object_length(d), 500);
	json_object_put(d);
	apd_test_out_free(&o);

	/* one long string: nothing complete before the cut */
	for (i = 1; i + 2 < n; i++)
		doc[i] = 'x';
	doc[0] = '[';
	doc[1] = '"';
	doc[n - 2] = '"';
	doc[n - 1] = ']';
	lim.max_json_bytes = 1000;
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_json, doc, n, "big.json", &lim, 0, &o,
	    &err), APD_FAILED);
	ck_assert_msg(strstr(err.msg, "big.json: not usable JSON: input longer than the limit of "
	    "1000 bytes (max_json_bytes)") != NULL, "%s", err.msg);
	apd_test_out_free(&o);

	/* the cut falls between two documents: the first is whole */
	two = malloc(2000);
	ck_assert_ptr_nonnull(two);
	memset(two, ' ', 2000);
	memcpy(two, "{\"first\":1}", 11);
	memcpy(two + 1500, "{\"second\":2}", 12);
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_json, two, 2000, "two.json", &lim, 0, &o,
	    &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 1);
	ck_assert_str_eq(o.ev[0].message, "first=1");
	ck_assert(apd_test_warn_with(&o, "the rest is skipped") != NULL);
	apd_test_out_free(&o);
	free(two);
	free(doc);
}
END_TEST

START_TEST(test_json_large_data_truncated)
{
	struct apd_test_out o;
	struct apd_error err;
	struct json_object *d;
	char *doc;
	size_t n;

	doc = many_members(120000, &n);
	ck_assert_uint_gt(n, 1024 * 1024 + 100);
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_json, doc, n, "big.json", &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 1);
	/* data stays valid JSON: the size and a prefix */
	d = parse_data(o.ev[0].data);
	ck_assert(json_object_get_boolean(json_object_object_get(d, "truncated")));
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(d, "size")), (int64_t)n);
	ck_assert_uint_eq(strlen(json_object_get_string(json_object_object_get(d, "prefix"))),
	    64 * 1024);
	json_object_put(d);
	ck_assert(apd_test_warn_with(&o, "event.data keeps the first 65536 bytes") != NULL);
	ck_assert(apd_test_warn_with(&o, "message text cut at") != NULL);
	ck_assert_uint_le(strlen(o.ev[0].message), 1024 * 1024);
	ck_assert_ptr_nonnull(strstr(o.ev[0].message, "\nm1000=1000\n"));
	apd_test_out_free(&o);
	free(doc);
}
END_TEST

START_TEST(test_json_multi_doc_trailing_garbage)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&JSON, FIX "multi-doc-trailing-garbage.json", &o, &err),
	    APD_WARN);
	ck_assert_uint_eq(o.nev, 2);
	ck_assert_str_eq(o.ev[0].message, "a=1");
	ck_assert_str_eq(o.ev[1].message, "b[0]=true\nb[1]=null");
	ck_assert_uint_eq(o.ev[1].line, 2);
	ck_assert_uint_eq(o.ev[1].offset, 8);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert_uint_eq(o.warns[0].line, 3);
	ck_assert_msg(apd_test_warn_with(&o, "unexpected character at line 3") != NULL, "%s",
	    o.warns[0].value);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_json_not_json_fails)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&JSON, FIX "not-json.json", &o, &err), APD_FAILED);
	ck_assert_uint_eq(o.nev, 0);
	/* json-c reads "This" as a misspelt "true": the fault is at the second byte */
	ck_assert_msg(strstr(err.msg, "tests/data/json/not-json.json: not usable JSON: ") != NULL &&
	    strstr(err.msg, "at line 1, column 2 (offset 1 of the UTF-8 text)") != NULL, "%s", err.msg);
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_json, " \r\n ", 4, "empty.json", &o, &err),
	    APD_FAILED);
	ck_assert_str_eq(err.msg, "empty.json: no JSON document (empty input)");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_json_top_level_scalar)
{
	struct apd_test_out o;
	struct apd_error err;

	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_json, "  42", 4, "n.json", &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 1);
	ck_assert_str_eq(o.ev[0].message, "42");
	ck_assert_str_eq(o.ev[0].data, "42");
	ck_assert_uint_eq(o.ev[0].offset, 2);
	apd_test_out_free(&o);

	/* json-c returns a "null" document as a NULL object */
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_json, "null [null]null", 15, "n.json", &o,
	    &err), APD_OK);
	ck_assert_uint_eq(o.nev, 3);
	ck_assert_str_eq(o.ev[0].message, "null");
	ck_assert_str_eq(o.ev[0].data, "null");
	ck_assert_str_eq(o.ev[1].message, "[0]=null");
	ck_assert_str_eq(o.ev[2].data, "null");
	apd_test_out_free(&o);
}
END_TEST

/* The Autopilot profile's time may carry an offset, or none (device-local). */
START_TEST(test_json_profile_times)
{
	static const char with_offset[] =
	    "{\"ErrorCode\":807,\"PolicyDownloadDate\":\"2024-04-03T09:45:12.5+02:00\"}";
	static const char no_zone[] =
	    "{\"ErrorCode\":807,\"PolicyDownloadDate\":\"2024-04-03T07:45:12.250\"}";
	static const char garbage[] =
	    "{\"ErrorCode\":807,\"PolicyDownloadDate\":\"yesterday\"}";
	struct apd_test_out o;
	struct apd_error err;
	int64_t want;

	ck_assert_int_eq(apd_civil_to_us(2024, 4, 3, 7, 45, 12, 500000, &want), 0);
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_json, with_offset, sizeof(with_offset) - 1,
	    "p.json", &o, &err), APD_OK);
	ck_assert_int_eq(o.ev[0].ts_utc, want);
	ck_assert_int_eq(o.ev[0].tz, APD_TZ_UTC);
	apd_test_out_free(&o);

	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_json, no_zone, sizeof(no_zone) - 1,
	    "p.json", &o, &err), APD_OK);
	ck_assert_int_eq(o.ev[0].ts_utc, APD_TS_NONE);
	ck_assert_int_eq(o.ev[0].tz, APD_TZ_LOCAL);
	ck_assert_str_eq(o.ev[0].ts_local, "2024-04-03 07:45:12.250");
	apd_test_out_free(&o);

	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_json, garbage, sizeof(garbage) - 1,
	    "p.json", &o, &err), APD_OK);
	ck_assert_int_eq(o.ev[0].ts_utc, APD_TS_NONE);
	ck_assert_int_eq(o.ev[0].tz, APD_TZ_NONE);
	ck_assert_str_eq(apd_test_must_fact(&o, "autopilot.ErrorCode"), "807");
	apd_test_out_free(&o);
}
END_TEST

/* A sink that stops the parser: its code comes back unchanged. */
START_TEST(test_json_sink_stop)
{
	struct apd_test_out o;
	struct apd_error err;

	apd_test_out_init(&o);
	o.stop_after_events = 1;
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_json, "{\"a\":1}{\"b\":2}", 14, "s.json", &o,
	    &err), APD_FATAL);
	ck_assert_uint_eq(o.nev, 1);
	apd_test_out_free(&o);
}
END_TEST

static int
bid_of(const char *rel)
{
	unsigned char *buf;
	size_t n = 0;
	struct apd_probe pr;
	int b;
	const char *slash = strrchr(rel, '/');

	buf = apd_test_slurp_src(rel, &n);
	pr.head = buf;
	pr.len = n < APD_STREAM_HEAD ? n : APD_STREAM_HEAD;
	pr.name = slash ? slash + 1 : rel;
	pr.path = rel;
	pr.size = (int64_t)n;
	b = apd_parser_json.bid(&pr);
	free(buf);
	return b;
}

START_TEST(test_json_bids)
{
	static const struct {
		const char *file, *winner;
		int json_bid;
	} cases[] = {
		{ "tests/data/json/AutopilotDDSZTDFile.json", "json", 56 },
		{ "tests/data/json/AutopilotDDSZTDFile-failure.json", "json", 56 },
		{ "tests/data/json/MdmDiagLogMetadata.json", "json", 56 },
		{ "tests/data/json/DiagnosticsFrameworkData.json", "json", 32 },
		{ "tests/data/json/unicode-utf16le.json", "json", 32 },
		{ "tests/data/json/ansi-cp1252.json", "json", 32 },
		{ "tests/data/json/deep-nested.json", "json", 32 },
		{ "tests/data/json/deep-only.json", "json", 32 },
		{ "tests/data/json/truncated-profile.json", "json", 56 },
		{ "tests/data/json/multi-doc-trailing-garbage.json", "json", 32 },
		{ "tests/data/json/not-json.json", "text", -1 },
		/* not JSON: a Panther log, binary garbage */
		{ "tests/data/text/setupact.log", "text", -1 },
		{ "tests/data/text/binary-garbage.log", "text", -1 },
		{ "tests/data/text/w32tm-utf16le.txt", "text", -1 },
	};
	size_t i;
	int b;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(bid_of(cases[i].file) == cases[i].json_bid, "%s: json bid %d, want %d",
		    cases[i].file, bid_of(cases[i].file), cases[i].json_bid);
		ck_assert_msg(strcmp(apd_test_bid_file(apd_test_src(cases[i].file), &b),
		    cases[i].winner) == 0, "%s: winner %s, want %s", cases[i].file,
		    apd_test_bid_file(apd_test_src(cases[i].file), &b), cases[i].winner);
	}
}
END_TEST

START_TEST(test_json_bid_edges)
{
	struct apd_probe pr = { NULL, 0, "x.json", "x.json", 0 };
	static const unsigned char u16key[] = { 0xFF, 0xFE, '{', 0, '"', 0, 'Z', 0, 't', 0, 'd', 0,
		'R', 0, 'e', 0, 'g', 0, 'i', 0, 's', 0, 't', 0, 'r', 0, 'a', 0, 't', 0, 'i', 0,
		'o', 0, 'n', 0, 'I', 0, 'd', 0, '"', 0, ':', 0 };
	static const unsigned char nul[] = { '{', '"', 'a', '"', ':', 0, '}' };

	/* a registry export section is not a JSON array */
	pr.head = (const unsigned char *)"[HKEY_LOCAL_MACHINE\\SOFTWARE]\r\n";
	pr.len = strlen((const char *)pr.head);
	ck_assert_int_eq(apd_parser_json.bid(&pr), -1);
	pr.head = (const unsigned char *)"[Windows]\nkey=value\n";
	pr.len = strlen((const char *)pr.head);
	ck_assert_int_eq(apd_parser_json.bid(&pr), -1);
	pr.head = (const unsigned char *)" \r\n [ 1, 2 ]";
	pr.len = strlen((const char *)pr.head);
	ck_assert_int_eq(apd_parser_json.bid(&pr), 32);
	/* keys in UTF-16 are two bytes per character */
	pr.head = u16key;
	pr.len = sizeof(u16key);
	pr.name = "";
	ck_assert_int_eq(apd_parser_json.bid(&pr), 48);
	/* binary data never */
	pr.head = nul;
	pr.len = sizeof(nul);
	pr.name = "x.json";
	ck_assert_int_eq(apd_parser_json.bid(&pr), -1);
	/* a known name with text that is not JSON: a small name-only bid */
	pr.head = (const unsigned char *)"Error: access denied";
	pr.len = strlen((const char *)pr.head);
	pr.name = "AutopilotDDSZTDFile.json";
	ck_assert_int_eq(apd_parser_json.bid(&pr), 8);
	pr.len = 0;
	ck_assert_int_eq(apd_parser_json.bid(&pr), -1);
}
END_TEST

/* The real profile: every top-level member is a fact with the file's value. */
START_TEST(test_json_corpus_profile)
{
	const char *path = apd_test_corpus("autopilot/AutopilotDDSZTDFile-success.json");
	struct apd_test_out o;
	struct apd_error err;
	struct apd_buf u8;
	struct json_object *doc, *v;
	struct json_object_iterator it, end;
	unsigned char *raw;
	size_t n = 0, members = 0;
	char name[128];
	const char *want;

	if (path == NULL) {
		fprintf(stderr, "check_json: corpus profile not found; test skipped\n");
		return;
	}
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_file(&apd_parser_json, path, &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 1);
	ck_assert_uint_eq(o.nwarns, 0);

	/* the expected values, read independently from the file */
	raw = apd_test_slurp(path, &n);
	ck_assert_ptr_nonnull(raw);
	ck_assert(n > 2 && raw[0] == 0xFF && raw[1] == 0xFE);
	apd_buf_init(&u8, 1u << 20);
	ck_assert_int_eq(apd_utf16_to_utf8(&u8, raw + 2, n - 2, false), APD_OK);
	doc = json_tokener_parse(u8.p);
	ck_assert_ptr_nonnull(doc);
	it = json_object_iter_begin(doc);
	end = json_object_iter_end(doc);
	while (!json_object_iter_equal(&it, &end)) {
		v = json_object_iter_peek_value(&it);
		snprintf(name, sizeof(name), "autopilot.%s", json_object_iter_peek_name(&it));
		want = json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
		    json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		ck_assert_msg(apd_test_fact(&o, name) != NULL, "fact %s missing", name);
		ck_assert_msg(strcmp(apd_test_fact(&o, name), want) == 0, "fact %s differs", name);
		members++;
		json_object_iter_next(&it);
	}
	ck_assert_uint_ge(members, 10);
	ck_assert_uint_eq(o.nfacts, members);
	ck_assert_ptr_nonnull(apd_test_fact(&o, "autopilot.CloudAssignedTenantId"));
	ck_assert_ptr_nonnull(apd_test_fact(&o, "autopilot.DeploymentProfileName"));
	/* the event is anchored at the download time, in UTC */
	v = json_object_object_get(doc, "PolicyDownloadDate");
	ck_assert_ptr_nonnull(v);
	{
		char utc[32];

		ck_assert_int_eq(o.ev[0].tz, APD_TZ_UTC);
		apd_format_utc(utc, o.ev[0].ts_utc);
		ck_assert_msg(strncmp(utc, json_object_get_string(v), 19) == 0, "ts %s", utc);
	}
	json_object_put(doc);
	apd_buf_done(&u8);
	free(raw);
	apd_test_out_free(&o);
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("Core");
	TCase *tl = tcase_create("Limits");
	TCase *te = tcase_create("Errors");

	tcase_add_test(tc, test_json_ztd_success);
	tcase_add_test(tc, test_json_ztd_failure);
	tcase_add_test(tc, test_json_mdmdiag_meta);
	tcase_add_test(tc, test_json_generic_flattened);
	tcase_add_test(tc, test_json_unicode_escapes);
	tcase_add_test(tc, test_json_cp1252);
	tcase_add_test(tc, test_json_utf16be_in_memory);
	tcase_add_test(tc, test_json_utf16_blocks_same_result);
	tcase_add_test(tc, test_json_8bit_blocks_same_result);
	tcase_add_test(tc, test_json_top_level_scalar);
	tcase_add_test(tc, test_json_profile_times);
	tcase_add_test(tc, test_json_bids);
	tcase_add_test(tc, test_json_bid_edges);
	tcase_add_test(tc, test_json_corpus_profile);
	tcase_add_test(tl, test_json_depth_limit);
	tcase_add_test(tl, test_json_byte_limit);
	tcase_add_test(tl, test_json_large_data_truncated);
	tcase_add_test(te, test_json_truncated_keeps_members);
	tcase_add_test(te, test_json_multi_doc_trailing_garbage);
	tcase_add_test(te, test_json_not_json_fails);
	tcase_add_test(te, test_json_sink_stop);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tl);
	suite_add_tcase(s, te);
	return s;
}

int
main(void)
{
	return apd_test_run(json_suite());
}
