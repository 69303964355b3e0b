/*
 * pgx_connect and pgx_connect_source against a real Postgres (MDW_SOURCE_DSN
 * of the stack): the pinned session settings hold whatever the DSN's own
 * options say (and those are kept), and a source session is read-only, named
 * and has its own statement_timeout. Without MDW_SOURCE_DSN the suite is
 * skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_pg.h"
#include "mdw/pgx.h"

static const char *DSN;

/* current_setting(NAME) on C, copied into OUT. */
static const char *setting(PGconn *c, const char *name, char *out, size_t outlen)
{
	const char *p[1] = {name};
	char err[256];
	PGresult *r = pgx_query(c, "SELECT current_setting($1)", 1, p, err, sizeof err, NULL);

	snprintf(out, outlen, "%s", r ? PQgetvalue(r, 0, 0) : err);
	PQclear(r);
	return out;
}

static void test_pinned_over_dsn_options(void)
{
	char dsn[1024], err[512], v[128];
	PGconn *c;

	/* the DSN asks for other settings: ours win, its others stay */
	snprintf(dsn, sizeof dsn, "%s options='-c DateStyle=SQL,DMY -c search_path=pg_catalog -c work_mem=7MB'", DSN);
	c = pgx_connect(dsn, "mdw-unit", err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(setting(c, "DateStyle", v, sizeof v), "ISO, MDY");
	CU_ASSERT_STRING_EQUAL(setting(c, "search_path", v, sizeof v), "public");
	CU_ASSERT_STRING_EQUAL(setting(c, "IntervalStyle", v, sizeof v), "postgres");
	CU_ASSERT_STRING_EQUAL(setting(c, "TimeZone", v, sizeof v), "UTC");
	CU_ASSERT_STRING_EQUAL(setting(c, "client_encoding", v, sizeof v), "UTF8");
	CU_ASSERT_STRING_EQUAL(setting(c, "work_mem", v, sizeof v), "7MB");
	CU_ASSERT_STRING_EQUAL(setting(c, "application_name", v, sizeof v), "mdw-unit");
	/* a target session writes */
	CU_ASSERT_STRING_EQUAL(setting(c, "default_transaction_read_only", v, sizeof v), "off");
	PQfinish(c);
}

static void test_source_session_guarded(void)
{
	char err[512], v[128];
	PGconn *c = pgx_connect_source(DSN, "mdw-worker/unit", 1234, err, sizeof err);
	int transient = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(setting(c, "default_transaction_read_only", v, sizeof v), "on");
	CU_ASSERT_STRING_EQUAL(setting(c, "statement_timeout", v, sizeof v), "1234ms");
	CU_ASSERT_STRING_EQUAL(setting(c, "application_name", v, sizeof v), "mdw-worker/unit");
	CU_ASSERT_STRING_EQUAL(setting(c, "search_path", v, sizeof v), "public");
	/*
	 * a write fails with 25006 (read-only transaction); that code counts as
	 * transient because a target turned read-only is waited out (see
	 * docs/operations.md, "Stalls and faults"): no program writes to the source
	 */
	CU_ASSERT_EQUAL(pgx_exec(c, "CREATE TABLE public.mdw_unit_probe (x integer)", 0, NULL, err, sizeof err,
				 &transient),
			-1);
	CU_ASSERT_EQUAL(strncmp(err, "25006", 5), 0);
	CU_ASSERT_EQUAL(transient, 1);
	CU_ASSERT_EQUAL(pgx_exec(c, "CREATE TEMP TABLE mdw_unit_probe (x integer)", 0, NULL, err, sizeof err, NULL),
			-1);
	CU_ASSERT_EQUAL(strncmp(err, "25006", 5), 0);
	/* the statement_timeout applies */
	CU_ASSERT_EQUAL(pgx_exec(c, "SELECT pg_sleep(3)", 0, NULL, err, sizeof err, NULL), -1);
	CU_ASSERT_EQUAL(strncmp(err, "57014", 5), 0);
	PQfinish(c);
	/* 0: no timeout */
	c = pgx_connect_source(DSN, "mdw-coordinator", 0, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(setting(c, "statement_timeout", v, sizeof v), "0");
	PQfinish(c);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"pinned settings win over the DSN's options, which are kept", test_pinned_over_dsn_options},
		{"a source session is read-only, named, with its statement_timeout", test_source_session_guarded},
		{NULL, NULL},
	};

	if (!(DSN = unit_pg_dsn("pgx", "MDW_SOURCE_DSN")))
		return UNIT_PG_SKIP;
	return run_suite("pgx", tests);
}
