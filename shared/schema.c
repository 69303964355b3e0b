/*
 * Applies the target schema: the embedded sql/target/NNN_*.sql migrations in
 * name order, each once, recorded in mdw.schema_migrations.
 */
#include <stdio.h>
#include <string.h>

#include "mdw/pgx.h"
#include "mdw/sqlfiles.h"

/* An arbitrary constant: the advisory lock that serializes schema changes. */
#define SCHEMA_LOCK "7245130301"

int mdw_schema_apply(PGconn *c, char *err, size_t errlen)
{
	char e[512];

	if (pgx_exec(c, "SET client_min_messages = warning", 0, NULL, e, sizeof e, NULL) < 0 ||
	    pgx_exec(c, "SELECT pg_advisory_lock(" SCHEMA_LOCK ")", 0, NULL, e, sizeof e, NULL) < 0 ||
	    pgx_exec(c,
		     "CREATE SCHEMA IF NOT EXISTS mdw;"
		     "CREATE TABLE IF NOT EXISTS mdw.schema_migrations ("
		     " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
		     0, NULL, e, sizeof e, NULL) < 0) {
		snprintf(err, errlen, "cannot prepare the schema: %s", e);
		goto fail;
	}
	for (const struct mdw_sql_file *f = mdw_sql_files; f->path; f++) {
		const char *p[1] = {f->path};
		PGresult *r;
		int done;

		if (strncmp(f->path, "target/", 7) != 0)
			continue;
		r = pgx_query(c, "SELECT 1 FROM mdw.schema_migrations WHERE name = $1", 1, p, e, sizeof e, NULL);
		if (!r) {
			snprintf(err, errlen, "cannot read mdw.schema_migrations: %s", e);
			goto fail;
		}
		done = PQntuples(r) > 0;
		PQclear(r);
		if (done)
			continue;
		if (pgx_exec(c, "BEGIN", 0, NULL, e, sizeof e, NULL) < 0 ||
		    pgx_exec(c, f->text, 0, NULL, e, sizeof e, NULL) < 0 ||
		    pgx_exec(c, "INSERT INTO mdw.schema_migrations (name) VALUES ($1)", 1, p, e, sizeof e, NULL) < 0 ||
		    pgx_exec(c, "COMMIT", 0, NULL, e, sizeof e, NULL) < 0) {
			snprintf(err, errlen, "migration %s failed: %s", f->path, e);
			PQclear(PQexec(c, "ROLLBACK"));
			goto fail;
		}
	}
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" SCHEMA_LOCK ")"));
	return 0;
fail:
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" SCHEMA_LOCK ")"));
	return -1;
}

int mdw_schema_has_vector(PGconn *c, char *err, size_t errlen)
{
	PGresult *r = pgx_query(c,
				"SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
				"WHERE attrelid = 'public.ai_embeddings'::regclass AND attname = 'embedding'",
				0, NULL, err, errlen, NULL);
	int v;

	if (!r)
		return -1;
	v = PQntuples(r) == 1 && strncmp(PQgetvalue(r, 0, 0), "vector", 6) == 0;
	PQclear(r);
	return v;
}
