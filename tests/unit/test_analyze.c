/*
 * CUnit: the coordinator's ANALYZE of the ledger tables (coordinator/analyze.c)
 * on a real Postgres: which tables it analyzes, that a second call finds
 * nothing to do, and that a failure names the tables it was analyzing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "mdw/pgx.h"
#include "unit_pg.h"

#define DB "mdw_unit_analyze"

static char DB_DSN[1024];
static PGconn *TGT;

static PGconn *connect_db(void)
{
	char err[512];
	PGconn *c;

	if (!(c = pgx_connect(DB_DSN, "mdw-unit", err, sizeof err)))
		fprintf(stderr, "test_analyze: %s\n", err);
	return c;
}

/* A lock that ANALYZE waits for: its error (lock_timeout) names the tables it was analyzing. */
static void test_error_names_tables(void)
{
	PGconn *other = connect_db();
	char err[512], v[64];
	int n = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	CU_ASSERT_EQUAL_FATAL(pgx_exec(other, "BEGIN", 0, NULL, err, sizeof err, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pgx_exec(other, "LOCK TABLE mdw.rejects IN SHARE UPDATE EXCLUSIVE MODE", 0, NULL, err,
				       sizeof err, NULL),
			      0);
	CU_ASSERT_EQUAL(analyze_ledger(TGT, &n, err, sizeof err), -1);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "ANALYZE mdw.flags, mdw.merges, mdw.rejects"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "lock timeout"));
	/* rolled back: the session is idle again, the locked table not analyzed */
	CU_ASSERT_EQUAL(PQtransactionStatus(TGT), PQTRANS_IDLE);
	CU_ASSERT_STRING_EQUAL(pg_value(TGT, "SELECT reltuples < 0 FROM pg_class WHERE oid = 'mdw.rejects'::regclass",
					v, sizeof v),
			       "t");
	PQfinish(other);
}

/*
 * The tables never analyzed (mdw.rejects at least: the one the test before
 * locked; ANALYZE sets reltuples even in a transaction rolled back), then
 * nothing until one has changed by more than 50 + 10% of its rows.
 */
static void test_what_is_analyzed(void)
{
	char err[512], v[64];
	int n = -1;

	CU_ASSERT_EQUAL_FATAL(analyze_ledger(TGT, &n, err, sizeof err), 0);
	CU_ASSERT(n >= 1 && n <= 3);
	CU_ASSERT_STRING_EQUAL(pg_value(TGT,
					"SELECT count(*) FROM pg_class WHERE reltuples >= 0 AND oid IN "
					"('mdw.flags'::regclass, 'mdw.rejects'::regclass, 'mdw.merges'::regclass)",
					v, sizeof v),
			       "3");
	CU_ASSERT_EQUAL_FATAL(analyze_ledger(TGT, &n, err, sizeof err), 0);
	CU_ASSERT_EQUAL(n, 0);
	/* inside the caller's transaction it refuses, and leaves the transaction open */
	CU_ASSERT_EQUAL_FATAL(pgx_exec(TGT, "BEGIN", 0, NULL, err, sizeof err, NULL), 0);
	CU_ASSERT_EQUAL(analyze_ledger(TGT, &n, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "inside a transaction"));
	CU_ASSERT_EQUAL(PQtransactionStatus(TGT), PQTRANS_INTRANS);
	CU_ASSERT_EQUAL(pgx_exec(TGT, "ROLLBACK", 0, NULL, err, sizeof err, NULL), 0);
}

static int setup(const char *db_dsn)
{
	char err[512];

	snprintf(DB_DSN, sizeof DB_DSN, "%s", db_dsn);
	if (!(TGT = connect_db()))
		return -1;
	if (mdw_schema_apply(TGT, err, sizeof err) < 0) {
		fprintf(stderr, "test_analyze: %s\n", err);
		return -1;
	}
	return 0;
}

static void teardown(void)
{
	PQfinish(TGT);
}

int main(void)
{
	/* in order: the error first, while no table has statistics */
	static const struct unit_test tests[] = {
		{"a failed ANALYZE names its tables", test_error_names_tables},
		{"what is analyzed, and when", test_what_is_analyzed},
		{NULL, NULL},
	};
	static const struct unit_pg_suite suite = {"analyze", "MDW_TARGET_DSN", DB, setup, teardown, tests};

	return unit_pg_main(&suite);
}
