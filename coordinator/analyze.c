/* Statistics of the mdw tables that the chunks fill (see analyze.h). */
#include <stdio.h>
#include <string.h>

#include "analyze.h"
#include "mdw/pgx.h"
#include "mdw/strbuf.h"

/*
 * Tables that the chunks of every relational phase write and its validation
 * and the reports read, as a text[]. (mdw.row_hashes is read only by a later
 * catch-up: autovacuum has analyzed it by then.)
 */
#define LEDGER_TABLES "{mdw.flags,mdw.rejects,mdw.merges}"

int analyze_ledger(PGconn *t, int *n, char *err, size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	const char *p[1] = {LEDGER_TABLES};
	PGresult *r;
	int rc = -1;

	*n = 0;
	if (PQtransactionStatus(t) != PQTRANS_IDLE) { /* its own transaction below must not end the caller's */
		snprintf(err, errlen, "the session is inside a transaction");
		return -1;
	}
	/* a missing table (to_regclass NULL) is someone else's error to report */
	r = pgx_query(t,
		      "SELECT c.oid::regclass::text FROM unnest($1::text[]) AS w(name) "
		      "JOIN pg_class c ON c.oid = to_regclass(w.name) "
		      "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
		      "WHERE c.reltuples < 0 OR coalesce(s.n_mod_since_analyze, 0) > 50 + 0.1 * c.reltuples ORDER BY 1",
		      1, p, err, errlen, NULL);
	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		rc = 0;
		goto fail;
	}
	strbuf_puts(&sql, "ANALYZE ");
	for (int i = 0; i < PQntuples(r); i++)
		strbuf_printf(&sql, "%s%s", i ? ", " : "", PQgetvalue(r, i, 0)); /* regclass text: quoted as needed */
	if (sql.oom) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (pgx_exec(t, "BEGIN", 0, NULL, err, errlen, NULL) < 0)
		goto fail;
	if (pgx_exec(t, "SET LOCAL lock_timeout = '5s'", 0, NULL, err, errlen, NULL) < 0 ||
	    pgx_exec(t, sql.p, 0, NULL, err, errlen, NULL) < 0 ||
	    pgx_exec(t, "COMMIT", 0, NULL, err, errlen, NULL) < 0) {
		char ignored[64], why[512];

		snprintf(why, sizeof why, "%s", err);
		snprintf(err, errlen, "%s: %s", sql.p, why); /* the tables it was analyzing */
		if (pgx_exec(t, "ROLLBACK", 0, NULL, ignored, sizeof ignored, NULL) < 0) {
			/* the connection is gone: the caller's next query says so */
		}
		goto fail;
	}
	*n = PQntuples(r);
	rc = 0;
fail:
	PQclear(r);
	strbuf_free(&sql);
	return rc;
}
