/*
 * Postgres helpers over libpq: connect with our defaults, run statements
 * with parameters (values never spliced into SQL text), tell transient
 * errors (connection lost, deadlock, serialization, shutdown, timeout) from
 * data errors, and apply the target schema.
 */
#ifndef MDW_PGX_H
#define MDW_PGX_H

#include <libpq-fe.h>
#include <stddef.h>

#define PGX_MUST __attribute__((warn_unused_result))

/* A session setting: its name, the value sent at connect, and the value as the server shows it. */
struct pgx_setting {
	const char *name, *value, *shown;
};

/*
 * Connect to DSN (libpq conninfo or URI; "" = PG* variables) as APPNAME, with
 * the session settings the code relies on pinned (search_path = public,
 * DateStyle ISO, IntervalStyle postgres, TimeZone UTC, client_encoding UTF8;
 * see pgx.c) and checked. NULL + ERR on failure.
 */
PGconn *pgx_connect(const char *dsn, const char *appname, char *err, size_t errlen);

/* pgx_connect, also pinning EXTRA (NULL-name-terminated; may be NULL) the same way. */
PGconn *pgx_connect_with(const char *dsn, const char *appname, const struct pgx_setting *extra, char *err,
			 size_t errlen);

/*
 * Run SQL with text parameters (NULL entries are SQL NULL). Returns the result
 * when it is COMMAND_OK or TUPLES_OK, else NULL with ERR set ("SQLSTATE: message")
 * and *TRANSIENT (if not NULL) telling whether a retry may succeed. Caller PQclears.
 */
PGresult *pgx_query(PGconn *c, const char *sql, int n, const char *const *params, char *err, size_t errlen,
		    int *transient);

/* pgx_query for statements whose result is not needed. 0 or -1. */
PGX_MUST int pgx_exec(PGconn *c, const char *sql, int n, const char *const *params, char *err, size_t errlen,
		      int *transient);

/* Whether RES (may be NULL) on C failed in a way that a retry may cure. */
int pgx_is_transient(PGconn *c, const PGresult *res);

/* Format ERR from RES/C: "SQLSTATE: primary message". */
void pgx_error(PGconn *c, const PGresult *res, char *err, size_t errlen);

/*
 * Apply the embedded target migrations (sql/target/NNN_*.sql) that are not
 * yet recorded in mdw.schema_migrations, each in its own transaction, under
 * an advisory lock so that concurrent callers apply each once.
 */
PGX_MUST int mdw_schema_apply(PGconn *c, char *err, size_t errlen);

/* Whether ai_embeddings.embedding is a pgvector column (1) or real[] (0); -1 on error. */
int mdw_schema_has_vector(PGconn *c, char *err, size_t errlen);

#endif
