/*
 * CUnit: rows in COPY binary format (worker/copy_binary.c), as the worker
 * stages the embeddings' vectors, loaded into a real Postgres
 * (MDW_TARGET_DSN of the stack; a temporary table, nothing else touched):
 * every value arrives exactly as the same row sent in COPY text format with
 * the worker's former "%.9g" floats, NULL text included; a vector of the
 * wrong element type is refused with the server's message. Without
 * MDW_TARGET_DSN it is skipped.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "copy_binary.h"
#include "mdw/pgx.h"
#include "unit_pg.h"

#define DIMS 1024

static PGconn *TGT;

/* Element I of the test vector: signs, zeros, the smallest and largest floats, fractions with no short decimal. */
static float element(int i)
{
	static const float edge[] = {0.0f,   -0.0f, FLT_MIN, -FLT_MAX,   FLT_MAX,
				     1e-45f, 0.1f,  -1.5f,   3.4028e38f, 1.0f / 3};

	return i < (int)(sizeof edge / sizeof edge[0]) ? edge[i] : (float)sin(i * 0.37) / (float)(1 + i % 17);
}

static void test_same_as_text(void)
{
	static float v[DIMS];
	struct rowbuf bin, txt;
	char err[512], out[512], *vec = malloc(DIMS * 16 + 4);
	size_t o = 0;
	int transient = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(vec);
	for (int i = 0; i < DIMS; i++)
		v[i] = element(i);
	vec[o++] = '{';
	for (int d = 0; d < DIMS; d++)
		o += (size_t)snprintf(vec + o, DIMS * 16 + 4 - o, "%s%.9g", d ? "," : "", (double)v[d]);
	vec[o++] = '}';
	vec[o] = 0;
	rb_init(&bin);
	rb_init(&txt);
	cb_begin(&bin);
	cb_row(&bin, 4);
	cb_text(&bin, "hash-1");
	cb_text(&bin, "amazon.titan-embed-text-v2:0");
	cb_float4_array(&bin, v, DIMS);
	cb_int4(&bin, 42);
	cb_row(&bin, 4);
	cb_text(&bin, "hash-2");
	cb_text(&bin, NULL);
	cb_float4_array(&bin, v, 3);
	cb_int4(&bin, -7);
	cb_end(&bin);
	rb_str(&txt, "hash-1");
	rb_str(&txt, "amazon.titan-embed-text-v2:0");
	rb_str(&txt, vec);
	rb_int(&txt, 42);
	rb_end(&txt);
	CU_ASSERT_FALSE(bin.oom);
	CU_ASSERT_EQUAL_FATAL(pgx_exec(TGT,
				       "CREATE TEMP TABLE cb_bin (h text, m text, e real[], k integer); "
				       "CREATE TEMP TABLE cb_txt (h text, m text, e real[], k integer)",
				       0, NULL, err, sizeof err, NULL),
			      0);
	CU_ASSERT_EQUAL(chunk_copy_in(TGT, "COPY cb_bin FROM STDIN (FORMAT binary)", &bin, err, sizeof err, &transient),
			0);
	CU_ASSERT_EQUAL(chunk_copy_in(TGT, "COPY cb_txt FROM STDIN", &txt, err, sizeof err, &transient), 0);
	CU_ASSERT_STRING_EQUAL(pg_value(TGT, "SELECT count(*) FROM cb_bin", out, sizeof out), "2");
	CU_ASSERT_STRING_EQUAL(pg_value(TGT,
					"SELECT (b.e = t.e AND b.m = t.m AND b.k = t.k AND array_length(b.e, 1) = 1024 AND "
					"array_lower(b.e, 1) = 1)::text FROM cb_bin b JOIN cb_txt t USING (h)",
					out, sizeof out),
			       "true");
	/* -0.0 stays negative zero, bit for bit (text would also keep it; equality alone would not tell) */
	CU_ASSERT_STRING_EQUAL(pg_value(TGT, "SELECT e[2]::text || ' ' || e[6]::text FROM cb_bin WHERE h = 'hash-1'",
					out, sizeof out),
			       "-0 1e-45");
	CU_ASSERT_STRING_EQUAL(pg_value(TGT,
					"SELECT (m IS NULL)::text || ' ' || k || ' ' || array_length(e, 1) || ' ' || e[3]::text "
					"FROM cb_bin WHERE h = 'hash-2'",
					out, sizeof out),
			       "true -7 3 1.1754944e-38");
	rb_free(&bin);
	rb_free(&txt);
	free(vec);
}

static void test_wrong_element_type(void)
{
	static const float v[2] = {1, 2};
	struct rowbuf bin;
	char err[512] = "";
	int transient = 0;

	rb_init(&bin);
	cb_begin(&bin);
	cb_row(&bin, 1);
	cb_float4_array(&bin, v, 2);
	cb_end(&bin);
	CU_ASSERT_EQUAL_FATAL(pgx_exec(TGT, "CREATE TEMP TABLE cb_int (e integer[])", 0, NULL, err, sizeof err, NULL),
			      0);
	CU_ASSERT_EQUAL(chunk_copy_in(TGT, "COPY cb_int FROM STDIN (FORMAT binary)", &bin, err, sizeof err, &transient),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "array element type 700 (real) instead of expected 23 (integer)"));
	CU_ASSERT_EQUAL(transient, 0);
	rb_free(&bin);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"binary rows load the same values as their text form", test_same_as_text},
		{"a real[] into an integer[] column is refused by name", test_wrong_element_type},
		{NULL, NULL},
	};
	const char *dsn = unit_pg_dsn("copy_binary", "MDW_TARGET_DSN");
	char err[512];
	int rc;

	if (!dsn)
		return UNIT_PG_SKIP;
	if (!(TGT = pgx_connect(dsn, "mdw-unit", err, sizeof err))) {
		fprintf(stderr, "test_copy_binary: %s\n", err);
		return 2;
	}
	rc = run_suite("copy_binary", tests);
	PQfinish(TGT);
	return rc;
}
