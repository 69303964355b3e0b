/* Postgres helpers (see pgx.h). */
#include <stdio.h>
#include <string.h>

#include "mdw/pgx.h"

/* Server notices (e.g. "relation already exists, skipping") are not ours to print. */
static void quiet(void *arg, const char *message)
{
	(void)arg, (void)message;
}

PGconn *pgx_connect(const char *dsn, const char *appname, char *err, size_t errlen)
{
	const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
	const char *vals[] = {dsn ? dsn : "", appname, "10", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (!c) {
		snprintf(err, errlen, "out of memory connecting to Postgres");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		const char *m = PQerrorMessage(c);
		size_t n = strcspn(m, "\n");
		/* libpq's message names host and port, never the password */
		snprintf(err, errlen, "%.*s", (int)n, m);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	/*
	 * Our statements are short (a chunk's rows, a phase's counts): compiling
	 * them with JIT cost more than it saved (0.2 s of a 0.47 s count over
	 * 636k cases). Best effort: a server without JIT ignores it.
	 */
	PQclear(PQexec(c, "SET jit = off"));
	return c;
}

void pgx_error(PGconn *c, const PGresult *res, char *err, size_t errlen)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (!msg) {
		msg = PQerrorMessage(c);
		if (!msg || !*msg)
			msg = "unknown error";
	}
	snprintf(err, errlen, "%s: %.*s", state ? state : "08000", (int)strcspn(msg, "\n"), msg);
}

int pgx_is_transient(PGconn *c, const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(c) != CONNECTION_OK || !s)
		return 1;
	if (strncmp(s, "08", 2) == 0 ||   /* connection exception */
	    strcmp(s, "40001") == 0 ||    /* serialization failure */
	    strcmp(s, "40P01") == 0 ||    /* deadlock detected */
	    strncmp(s, "53", 2) == 0 ||   /* insufficient resources */
	    strcmp(s, "55P03") == 0 ||    /* lock not available */
	    strcmp(s, "57014") == 0 ||    /* query canceled (statement timeout) */
	    strncmp(s, "57P", 3) == 0 ||  /* admin shutdown, crash shutdown, cannot connect now */
	    strncmp(s, "58", 2) == 0)     /* system error (I/O) */
		return 1;
	return 0;
}

PGresult *pgx_query(PGconn *c, const char *sql, int n, const char *const *params, char *err, size_t errlen,
		    int *transient)
{
	PGresult *r = n ? PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (transient)
			*transient = 0;
		return r;
	}
	pgx_error(c, r, err, errlen);
	if (transient)
		*transient = pgx_is_transient(c, r);
	PQclear(r);
	return NULL;
}

int pgx_exec(PGconn *c, const char *sql, int n, const char *const *params, char *err, size_t errlen,
	     int *transient)
{
	PGresult *r = pgx_query(c, sql, n, params, err, errlen, transient);

	if (!r)
		return -1;
	PQclear(r);
	return 0;
}
