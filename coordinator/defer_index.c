/* Secondary indexes built after the load into an empty target table (see defer_index.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defer_index.h"
#include "mdw/log.h"
#include "mdw/pgx.h"

#define CREATE_PREFIX "CREATE INDEX "

int defer_indexes(PGconn *t, int64_t run, enum mdw_phase_id ph, int *n, char *err, size_t errlen)
{
	char sql[256], runs[24], table[128];
	const char *p[3] = {runs, mdw_phases[ph].name, table};
	PGresult *r;
	int empty, missing;

	*n = 0;
	snprintf(runs, sizeof runs, "%" PRId64, run);
	snprintf(table, sizeof table, "public.%s", mdw_phases[ph].target);
	/* a table that is missing is the chunks' error to report (dead, naming it), not the plan's */
	if (!(r = pgx_query(t, "SELECT to_regclass($1) IS NULL", 1, p + 2, err, errlen, NULL)))
		return -1;
	missing = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (missing)
		return 0;
	/* the target table is one of the phase table's constants, never input */
	snprintf(sql, sizeof sql, "SELECT NOT EXISTS (SELECT 1 FROM %s)", table);
	if (!(r = pgx_query(t, sql, 0, NULL, err, errlen, NULL)))
		return -1;
	empty = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!empty)
		return 0;
	r = pgx_query(t,
		      "INSERT INTO mdw.deferred_indexes (name, run_id, phase, definition) "
		      "SELECT format('%I.%I', n.nspname, c.relname), $1, $2, pg_get_indexdef(i.indexrelid) "
		      "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
		      "WHERE i.indrelid = $3::regclass AND NOT i.indisunique AND NOT i.indisprimary "
		      "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
		      "ORDER BY 1 ON CONFLICT (name) DO NOTHING RETURNING name",
		      3, p, err, errlen, NULL);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		snprintf(sql, sizeof sql, "DROP INDEX %s", PQgetvalue(r, i, 0));
		if (pgx_exec(t, sql, 0, NULL, err, errlen, NULL) < 0) {
			PQclear(r);
			return -1;
		}
	}
	*n = PQntuples(r);
	PQclear(r);
	return 0;
}

/* Run DEF (a pg_get_indexdef of a non-unique index) as CREATE INDEX IF NOT EXISTS. */
static int build_one(PGconn *t, const char *name, const char *def, char *err, size_t errlen)
{
	size_t plen = strlen(CREATE_PREFIX);
	char *sql;
	int rc;

	if (strncmp(def, CREATE_PREFIX, plen) != 0) {
		snprintf(err, errlen, "deferred index %s: definition does not start with \"" CREATE_PREFIX "\"", name);
		return -1;
	}
	if (!(sql = malloc(strlen(def) + 32))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sprintf(sql, CREATE_PREFIX "IF NOT EXISTS %s", def + plen);
	rc = pgx_exec(t, sql, 0, NULL, err, errlen, NULL);
	free(sql);
	return rc;
}

int build_deferred_indexes(PGconn *t, int64_t run, int ph, char *err, size_t errlen)
{
	char runs[24];
	const char *p[2] = {runs, ph >= 0 ? mdw_phases[ph].name : ""};
	PGresult *r = NULL;
	int n, from = 0;

	snprintf(runs, sizeof runs, "%" PRId64, run);
	if (pgx_exec(t, "BEGIN", 0, NULL, err, errlen, NULL) < 0)
		return -1;
	r = pgx_query(t,
		      ph >= 0 ? "WITH d AS (DELETE FROM mdw.deferred_indexes WHERE run_id = $1 AND phase = $2 "
				"RETURNING run_id, phase, name, definition) SELECT * FROM d ORDER BY 1, 2, 3"
			      : "WITH d AS (DELETE FROM mdw.deferred_indexes WHERE run_id <> $1 AND $2 = '' "
				"RETURNING run_id, phase, name, definition) SELECT * FROM d ORDER BY 1, 2, 3",
		      2, p, err, errlen, NULL);
	if (!r)
		goto fail;
	n = PQntuples(r);
	for (int i = 0; i < n; i++)
		if (build_one(t, PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), err, errlen) < 0)
			goto fail;
	if (pgx_exec(t, "COMMIT", 0, NULL, err, errlen, NULL) < 0)
		goto fail;
	/* one line per deferring run and phase */
	for (int i = 1; i <= n; i++) {
		if (i < n && !strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, from, 0)) &&
		    !strcmp(PQgetvalue(r, i, 1), PQgetvalue(r, from, 1)))
			continue;
		mdw_info("run=%" PRId64 " phase=%s msg=\"secondary indexes built\" indexes=%d deferred_by_run=%s", run,
			 PQgetvalue(r, from, 1), i - from, PQgetvalue(r, from, 0));
		from = i;
	}
	PQclear(r);
	return 0;
fail:
	PQclear(r);
	PQclear(PQexec(t, "ROLLBACK"));
	return -1;
}
