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

/* Give up on a connection whose peer is silent for SECONDS (both ends; default 30), for later connects. */
void pgx_set_dead_peer(int seconds);

/*
 * Connect to DSN (libpq conninfo or URI; "" = PG* variables) as APPNAME, with
 * the session settings the code relies on pinned (search_path = public,
 * DateStyle ISO, IntervalStyle postgres, TimeZone UTC, client_encoding UTF8;
 * see pgx.c) and checked. NULL + ERR on failure.
 */
PGconn *pgx_connect(const char *dsn, const char *appname, char *err, size_t errlen);

/*
 * pgx_connect for a session on the legacy (source) database, which is
 * production: also read-only (default_transaction_read_only) and with a
 * statement_timeout of TIMEOUT_MS (0 = none) of its own, pinned the same way.
 */
PGconn *pgx_connect_source(const char *dsn, const char *appname, long long timeout_ms, char *err, size_t errlen);

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

/*
 * Whether ERR (as pgx_error formats it) is about the row's data (classes 22
 * data exception, 23 integrity constraint, 54 program limit, P0 raised by a
 * trigger): one row may be at fault. Any other error (42P01 undefined table,
 * 42501 permission denied...) is the same for every row.
 */
int pgx_err_is_row_data(const char *err);

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
