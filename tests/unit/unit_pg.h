/*
 * For the CUnit suites that use a real Postgres: the DSN from the stack's
 * environment (the suite skipped without it), a database of the suite's own
 * created afresh and dropped at the end, and one value of a query as text.
 */
#ifndef MDW_UNIT_PG_H
#define MDW_UNIT_PG_H

#include <stdio.h>
#include <stdlib.h>

#include "cunit_main.h"
#include "mdw/pgx.h"

#define UNIT_PG_SKIP 77 /* CTest: SKIP_RETURN_CODE */

/* The DSN in the environment's VAR, or NULL after saying that test_SUITE is skipped without it. */
static inline const char *unit_pg_dsn(const char *suite, const char *var)
{
	const char *dsn = getenv(var);

	if (dsn && *dsn)
		return dsn;
	fprintf(stderr, "test_%s: %s is not set: suite skipped (hint: eval \"$(deploy/local/stack env)\")\n", suite,
		var);
	return NULL;
}

/* On the server of DSN: DROP DATABASE DB if it exists, and (if CREATE) create it again; -1 after printing why. */
static inline int unit_pg_db_reset(const char *suite, const char *dsn, const char *db, int create)
{
	char sql[256], err[512];
	PGconn *admin = pgx_connect(dsn, "mdw-unit", err, sizeof err);
	int rc = -1;

	if (!admin)
		goto out;
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	if (pgx_exec(admin, sql, 0, NULL, err, sizeof err, NULL) < 0)
		goto out;
	if (create) {
		snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
		if (pgx_exec(admin, sql, 0, NULL, err, sizeof err, NULL) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "test_%s: database %s: %s\n", suite, db, err);
	PQfinish(admin);
	return rc;
}

/*
 * A suite in a database of its own. unit_pg_main skips it (77) without the
 * environment's DSN_VAR; else it creates DB afresh, calls SETUP with a DSN
 * of DB (it connects and fills; -1 after printing why), runs the tests,
 * calls TEARDOWN (it closes its sessions: also after a failed SETUP) and
 * drops DB. It returns the suite's exit status.
 */
struct unit_pg_suite {
	const char *name; /* "ledger": the binary test_ledger */
	const char *dsn_var;
	const char *db;
	int (*setup)(const char *db_dsn);
	void (*teardown)(void);
	const struct unit_test *tests;
};

static inline int unit_pg_main(const struct unit_pg_suite *s)
{
	const char *dsn = unit_pg_dsn(s->name, s->dsn_var);
	char db_dsn[1024];
	int rc = 2;

	if (!dsn)
		return UNIT_PG_SKIP;
	if ((size_t)snprintf(db_dsn, sizeof db_dsn, "%s dbname=%s", dsn, s->db) >= sizeof db_dsn) {
		fprintf(stderr, "test_%s: %s is longer than %zu bytes\n", s->name, s->dsn_var, sizeof db_dsn - 64);
		return 2;
	}
	if (unit_pg_db_reset(s->name, dsn, s->db, 1) < 0)
		return 2;
	if (s->setup(db_dsn) == 0)
		rc = run_suite(s->name, s->tests);
	s->teardown();
	unit_pg_db_reset(s->name, dsn, s->db, 0); /* a database left behind is dropped by the next run */
	return rc;
}

/* The one value of SQL on C as text into OUT ("" for NULL, the error if it fails, "(not one row)"). */
static inline const char *pg_value(PGconn *c, const char *sql, char *out, size_t outlen)
{
	char err[512];
	PGresult *r = pgx_query(c, sql, 0, NULL, err, sizeof err, NULL);

	snprintf(out, outlen, "%s", !r ? err : PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "(not one row)");
	PQclear(r);
	return out;
}

#endif
