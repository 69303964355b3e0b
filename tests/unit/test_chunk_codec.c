/* CUnit: the chunk body codec: round trip, and refusal of every malformed body. */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "mdw/chunk_codec.h"

static void test_round_trip(void)
{
	struct mdw_chunk in = {42, MDW_PH_PATIENTS, 12, -2147483648LL, 2147483647LL, MDW_PART_NONE}, out;
	char buf[256], err[256], desc[128];
	int n = mdw_chunk_encode(&in, buf, sizeof buf);
	CU_ASSERT_TRUE_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(mdw_chunk_decode(buf, (size_t)n, &out, err, sizeof err), 0);
	CU_ASSERT_EQUAL(out.run, 42);
	CU_ASSERT_EQUAL(out.phase, MDW_PH_PATIENTS);
	CU_ASSERT_EQUAL(out.chunk_no, 12);
	CU_ASSERT_EQUAL(out.lo, -2147483648LL);
	CU_ASSERT_EQUAL(out.hi, 2147483647LL);
	mdw_chunk_describe(&in, desc, sizeof desc);
	CU_ASSERT_STRING_EQUAL(desc, "patients #12 ids -2147483648..2147483647");
	CU_ASSERT_EQUAL(mdw_chunk_encode(&in, buf, 5), -1);
}

/* Bounds are bigints end to end: target ids of an embeddings chunk pass int32. */
static void test_bigint_bounds(void)
{
	struct mdw_chunk in = {7, MDW_PH_EMBEDDINGS, 3, 3000000000LL, INT64_MAX, MDW_PART_PATIENT}, out;
	char buf[256], err[256], desc[128];
	int n = mdw_chunk_encode(&in, buf, sizeof buf);
	CU_ASSERT_TRUE_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(mdw_chunk_decode(buf, (size_t)n, &out, err, sizeof err), 0);
	CU_ASSERT_EQUAL(out.lo, 3000000000LL);
	CU_ASSERT_EQUAL(out.hi, INT64_MAX);
	in.lo = INT64_MIN;
	in.hi = -3000000000LL;
	n = mdw_chunk_encode(&in, buf, sizeof buf);
	CU_ASSERT_EQUAL_FATAL(mdw_chunk_decode(buf, (size_t)n, &out, err, sizeof err), 0);
	CU_ASSERT_EQUAL(out.lo, INT64_MIN);
	CU_ASSERT_EQUAL(out.hi, -3000000000LL);
	in.lo = 3000000000LL;
	in.hi = 3000000099LL;
	mdw_chunk_describe(&in, desc, sizeof desc);
	CU_ASSERT_STRING_EQUAL(desc, "embeddings #3 patient ids 3000000000..3000000099");
}

/* Pack a map from alternating key/value specs: "i:N" int, "u:N" unsigned, "s:TEXT" string, "n" nil. */
static size_t pack(char *out, const char *const *kv, int pairs)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, (size_t)pairs);
	for (int i = 0; i < pairs * 2; i++) {
		const char *v = kv[i];
		if (i % 2 == 0) {
			msgpack_pack_str(&pk, strlen(v));
			msgpack_pack_str_body(&pk, v, strlen(v));
		} else if (v[0] == 'i') {
			msgpack_pack_int64(&pk, strtoll(v + 2, NULL, 10));
		} else if (v[0] == 'u') {
			msgpack_pack_uint64(&pk, strtoull(v + 2, NULL, 10));
		} else if (v[0] == 's') {
			msgpack_pack_str(&pk, strlen(v + 2));
			msgpack_pack_str_body(&pk, v + 2, strlen(v + 2));
		} else {
			msgpack_pack_nil(&pk);
		}
	}
	memcpy(out, sb.data, sb.size);
	n = sb.size;
	msgpack_sbuffer_destroy(&sb);
	return n;
}

static void expect_refused(const char *const *kv, int pairs, const char *want)
{
	char buf[1024], err[256];
	struct mdw_chunk c;
	size_t n = pack(buf, kv, pairs);
	CU_ASSERT_EQUAL(mdw_chunk_decode(buf, n, &c, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
}

static void test_malformed(void)
{
	char buf[256], err[256];
	struct mdw_chunk in = {1, MDW_PH_CASES, 0, 1, 10, MDW_PART_NONE}, c;
	int n = mdw_chunk_encode(&in, buf, sizeof buf);

	/* truncated at every length */
	for (int len = 1; len < n; len++)
		CU_ASSERT_EQUAL(mdw_chunk_decode(buf, (size_t)len, &c, err, sizeof err), -1);
	CU_ASSERT_EQUAL(mdw_chunk_decode(buf, 0, &c, err, sizeof err), -1);
	CU_ASSERT_EQUAL(mdw_chunk_decode("hello world", 11, &c, err, sizeof err), -1);
	CU_ASSERT_EQUAL(mdw_chunk_decode("\xc1", 1, &c, err, sizeof err), -1);
	/* trailing garbage */
	buf[n] = 0;
	CU_ASSERT_EQUAL(mdw_chunk_decode(buf, (size_t)n + 1, &c, err, sizeof err), -1);
	/* not a map: an array, and a huge array header */
	CU_ASSERT_EQUAL(mdw_chunk_decode("\x93\x01\x02\x03", 4, &c, err, sizeof err), -1);
	CU_ASSERT_EQUAL(mdw_chunk_decode("\xdd\xff\xff\xff\xff", 5, &c, err, sizeof err), -1);
	CU_ASSERT_EQUAL(mdw_chunk_decode("\xdf\xff\xff\xff\xff", 5, &c, err, sizeof err), -1);
	{
		static char big[MDW_CHUNK_MAX_BODY + 1];
		CU_ASSERT_EQUAL(mdw_chunk_decode(big, sizeof big, &c, err, sizeof err), -1);
	}
	{
		const char *kv[] = {"v",     "i:2", "run", "i:1", "phase", "s:cases",
				    "chunk", "i:0", "lo",  "i:1", "hi",    "i:2"};
		expect_refused(kv, 6, "version 2");
	}
	{
		const char *kv[] = {"run", "i:1", "phase", "s:cases", "chunk", "i:0", "lo", "i:1", "hi", "i:2"};
		expect_refused(kv, 5, "no version");
	}
	{
		const char *kv[] = {"v",     "i:1", "run", "i:1", "phase", "s:nope",
				    "chunk", "i:0", "lo",  "i:1", "hi",    "i:2"};
		expect_refused(kv, 6, "no known phase");
	}
	{
		const char *kv[] = {"v",     "i:1", "run", "s:1", "phase", "s:cases",
				    "chunk", "i:0", "lo",  "i:1", "hi",    "i:2"};
		expect_refused(kv, 6, "run is not an integer");
	}
	{
		const char *kv[] = {"v",     "i:1", "run", "i:1", "phase", "s:cases",
				    "chunk", "i:0", "lo",  "i:5", "hi",    "i:2"};
		expect_refused(kv, 6, "lo 5 > hi 2");
	}
	{
		const char *kv[] = {"v",     "i:1", "run", "i:1", "phase", "s:cases",
				    "chunk", "i:0", "lo",  "i:1", "hi",    "u:18446744073709551615"};
		expect_refused(kv, 6, "hi 18446744073709551615 is out of the bigint range");
	}
	{
		const char *kv[] = {"v",     "i:1", "run", "i:0", "phase", "s:cases",
				    "chunk", "i:0", "lo",  "i:1", "hi",    "i:2"};
		expect_refused(kv, 6, "run 0 is out of range");
	}
	{
		const char *kv[] = {"v",     "i:1",  "run", "i:1", "phase", "s:cases",
				    "chunk", "i:-1", "lo",  "i:1", "hi",    "i:2"};
		expect_refused(kv, 6, "chunk -1");
	}
	{
		const char *kv[] = {"v", "i:1", "run", "i:1", "phase", "s:cases", "chunk", "i:0", "lo", "i:1"};
		expect_refused(kv, 5, "lacks field hi");
	}
	{
		const char *kv[] = {"v",       "i:1",   "v",   "i:1", "run", "i:1", "phase",
				    "s:cases", "chunk", "i:0", "lo",  "i:1", "hi",  "i:2"};
		expect_refused(kv, 7, "appears twice");
	}
	{
		const char *kv[] = {"v",     "i:1", "run", "n",   "phase", "s:cases",
				    "chunk", "i:0", "lo",  "i:1", "hi",    "i:2"};
		expect_refused(kv, 6, "run is not an integer");
	}
}

static void test_unknown_key_ignored(void)
{
	char buf[1024], err[256];
	struct mdw_chunk c;
	const char *kv[] = {"v",   "i:1", "run", "i:3", "phase", "s:cases", "chunk",
			    "i:0", "lo",  "i:1", "hi",  "i:2",   "note",    "s:later versions may add keys"};
	size_t n = pack(buf, kv, 7);
	CU_ASSERT_EQUAL(mdw_chunk_decode(buf, n, &c, err, sizeof err), 0);
	CU_ASSERT_EQUAL(c.run, 3);
}

/*
 * The framing walk knows the size of every msgpack type: a body whose
 * unknown key holds one value of each type decodes; one byte less is
 * truncated, one byte more is a trailing byte.
 */
static void test_framing_every_type(void)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t len;
	} values[] = {
#define V(name, lit) {name, lit, sizeof lit - 1}
		V("positive fixint", "\x05"),
		V("negative fixint", "\xe0"),
		V("nil", "\xc0"),
		V("true", "\xc3"),
		V("fixstr", "\xa3"
			    "abc"),
		V("uint8", "\xcc\x01"),
		V("uint16", "\xcd\x00\x01"),
		V("uint32", "\xce\x00\x00\x00\x01"),
		V("uint64", "\xcf\x00\x00\x00\x00\x00\x00\x00\x01"),
		V("int8", "\xd0\xff"),
		V("int16", "\xd1\xff\xff"),
		V("int32", "\xd2\xff\xff\xff\xff"),
		V("int64", "\xd3\xff\xff\xff\xff\xff\xff\xff\xff"),
		V("float32", "\xca\x3f\x80\x00\x00"),
		V("float64", "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"),
		V("fixext1", "\xd4\x01\x02"),
		V("fixext2", "\xd5\x01\x02\x03"),
		V("fixext4", "\xd6\x01\x02\x03\x04\x05"),
		V("fixext8", "\xd7\x01"
			     "12345678"),
		V("fixext16", "\xd8\x01"
			      "1234567812345678"),
		V("str8", "\xd9\x03"
			  "abc"),
		V("str16", "\xda\x00\x03"
			   "abc"),
		V("str32", "\xdb\x00\x00\x00\x03"
			   "abc"),
		V("bin8", "\xc4\x02"
			  "ab"),
		V("bin16", "\xc5\x00\x02"
			   "ab"),
		V("bin32", "\xc6\x00\x00\x00\x02"
			   "ab"),
		V("ext8", "\xc7\x02\x01"
			  "ab"),
		V("ext16", "\xc8\x00\x02\x01"
			   "ab"),
		V("ext32", "\xc9\x00\x00\x00\x02\x01"
			   "ab"),
		V("fixarray", "\x92\x01\x02"),
		V("array16", "\xdc\x00\x02\x01\x02"),
		V("array32", "\xdd\x00\x00\x00\x02\x01\x02"),
		V("fixmap", "\x81\x01\x02"),
		V("map16", "\xde\x00\x01\x01\x02"),
		V("map32", "\xdf\x00\x00\x00\x01\x01\x02"),
		V("nested", "\x91\x91\x81\xa1"
			    "k"
			    "\x92\xc0\xcd\x01\x00"),
#undef V
	};
	const char *kv[] = {"v", "i:1", "run", "i:3", "phase", "s:cases", "chunk", "i:0", "lo", "i:1", "hi", "i:2"};
	char buf[1024], err[256];
	size_t head;
	struct mdw_chunk c;

	/* a map of seven pairs whose last key is "note" */
	head = pack(buf, kv, 6);
	CU_ASSERT_EQUAL_FATAL((unsigned char)buf[0], 0x86);
	buf[0] = (char)0x87;
	memcpy(buf + head, "\xa4note", 5);
	head += 5;
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		size_t n = head + values[i].len;
		memcpy(buf + head, values[i].bytes, values[i].len);
		buf[n] = 0x01;
		err[0] = 0;
		if (mdw_chunk_decode(buf, n, &c, err, sizeof err) != 0)
			fprintf(stderr, "framing: %s: %s\n", values[i].name, err);
		CU_ASSERT_EQUAL(mdw_chunk_decode(buf, n, &c, err, sizeof err), 0);
		CU_ASSERT_EQUAL(mdw_chunk_decode(buf, n - 1, &c, err, sizeof err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "truncated"));
		CU_ASSERT_EQUAL(mdw_chunk_decode(buf, n + 1, &c, err, sizeof err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "1 trailing bytes"));
	}
}

static void test_part(void)
{
	struct mdw_chunk in = {7, MDW_PH_EMBEDDINGS, 3, 1, 100, MDW_PART_CASE}, out;
	char buf[256], err[256], desc[128];
	int n = mdw_chunk_encode(&in, buf, sizeof buf);
	CU_ASSERT_EQUAL_FATAL(mdw_chunk_decode(buf, (size_t)n, &out, err, sizeof err), 0);
	CU_ASSERT_EQUAL(out.part, MDW_PART_CASE);
	mdw_chunk_describe(&in, desc, sizeof desc);
	CU_ASSERT_STRING_EQUAL(desc, "embeddings #3 case ids 1..100");
	{
		const char *kv[] = {"v",     "i:1", "run", "i:1", "phase", "s:embeddings",
				    "chunk", "i:0", "lo",  "i:1", "hi",    "i:2"};
		expect_refused(kv, 6, "lacks field part");
	}
	{
		const char *kv[] = {"v",   "i:1", "run", "i:1", "phase", "s:cases", "chunk",
				    "i:0", "lo",  "i:1", "hi",  "i:2",   "part",    "s:case"};
		expect_refused(kv, 7, "field part on a chunk of phase cases");
	}
	{
		const char *kv[] = {"v",   "i:1", "run", "i:1", "phase", "s:embeddings", "chunk",
				    "i:0", "lo",  "i:1", "hi",  "i:2",   "part",         "s:doctor"};
		expect_refused(kv, 7, "field part is not");
	}
}

static const struct unit_test tests[] = {
	{"embedding parts", test_part},
	{"round trip", test_round_trip},
	{"bigint bounds", test_bigint_bounds},
	{"malformed bodies refused", test_malformed},
	{"unknown keys ignored", test_unknown_key_ignored},
	{"framing of every msgpack type", test_framing_every_type},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("chunk_codec", tests);
}
