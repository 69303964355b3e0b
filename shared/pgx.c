/* Postgres helpers (see pgx.h). */
#include <stdio.h>
#include <string.h>

#include "mdw/pgx.h"

/* Server notices (e.g. "relation already exists, skipping") are not ours to print. */
static void quiet(void *arg, const char *message)
{
	(void)arg, (void)message;
}

static int dead_peer_s = 30;

void pgx_set_dead_peer(int seconds)
{
	dead_peer_s = seconds > 1 ? seconds : 2;
}

/*
 * A peer silent for dead_peer_s is given up on both ends: keepalive probes
 * after a third of it, then 4 probes a sixth apart; tcp_user_timeout bounds
 * unacknowledged sends. On the server this ends the backend of a lost or
 * partitioned client, and with it its transaction and locks.
 */
static void set_server_keepalives(PGconn *c)
{
	static const char *const names[4] = {"tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count",
					     "tcp_user_timeout"};
	int vals[4] = {dead_peer_s / 3 > 0 ? dead_peer_s / 3 : 1, dead_peer_s / 6 > 0 ? dead_peer_s / 6 : 1, 4,
		       dead_peer_s * 1000};

	/* one by one: a server without one of them (tcp_user_timeout is Postgres 12+) keeps the others */
	for (int i = 0; i < 4; i++) {
		char sql[96];
		snprintf(sql, sizeof sql, "SET %s = %d", names[i], vals[i]);
		PQclear(PQexec(c, sql));
	}
}

PGconn *pgx_connect(const char *dsn, const char *appname, char *err, size_t errlen)
{
	char idle[16], intvl[16], user_timeout[24];
	/* the keepalive defaults come before dbname: a DSN that sets them wins */
	const char *keys[] = {"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
			      "tcp_user_timeout", "dbname", "application_name", "connect_timeout", NULL};
	const char *vals[] = {"1", idle, intvl, "4", user_timeout, dsn ? dsn : "", appname, "10", NULL};
	PGconn *c;

	snprintf(idle, sizeof idle, "%d", dead_peer_s / 3 > 0 ? dead_peer_s / 3 : 1);
	snprintf(intvl, sizeof intvl, "%d", dead_peer_s / 6 > 0 ? dead_peer_s / 6 : 1);
	snprintf(user_timeout, sizeof user_timeout, "%d", dead_peer_s * 1000);
	c = PQconnectdbParams(keys, vals, 1);

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
	set_server_keepalives(c);
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
	    strcmp(s, "25006") == 0 ||    /* read-only transaction: the target was made read-only */
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
