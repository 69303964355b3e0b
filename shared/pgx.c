/* Postgres helpers (see pgx.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/*
 * The session settings the code relies on, whoever connects and whatever the
 * server, database or role defaults say: unqualified names resolve in public
 * (the statements name their schema too), dates and intervals are compared
 * and parsed as ISO text, times are UTC, text is UTF-8 (COPY from a LATIN1
 * legacy database is converted by the server). They travel in the startup
 * packet (libpq "options", -c name=value), which outranks ALTER DATABASE/ROLE
 * SET and needs no statement after connect; client_encoding goes as its own
 * startup parameter, as poolers expect. SHOWN is the value as pg_settings
 * reports it: pgx_connect checks each, so that a pooler that dropped the
 * options refuses to run rather than run with other settings
 * (docs/operations.md, "Session settings").
 */
struct pgx_setting {
	const char *name, *value, *shown;
};

static const struct pgx_setting pinned[] = {
	{"search_path", "public", "public"},       {"DateStyle", "ISO,MDY", "ISO, MDY"},
	{"IntervalStyle", "postgres", "postgres"}, {"TimeZone", "UTC", "UTC"},
	{"client_encoding", "UTF8", "UTF8"},       {NULL, NULL, NULL},
};

/* Append " -c NAME=VALUE" to OUT, escaping what libpq's options parser splits on. */
static int add_option(char *out, size_t outlen, const char *name, const char *value)
{
	size_t o = strlen(out);

	o += snprintf(out + o, outlen > o ? outlen - o : 0, "%s-c %s=", o ? " " : "", name);
	for (const char *v = value; *v && o + 2 < outlen; v++) {
		if (*v == ' ' || *v == '\\')
			out[o++] = '\\';
		out[o++] = *v;
	}
	if (o + 1 >= outlen)
		return -1;
	out[o] = 0;
	return 0;
}

/* The options the caller's DSN (or PGOPTIONS) already has, kept ahead of ours. */
static int user_options(const char *dsn, char *out, size_t outlen)
{
	PQconninfoOption *opts = PQconninfoParse(dsn ? dsn : "", NULL);
	const char *v = NULL;
	int rc = 0;

	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, "options") == 0 && o->val && *o->val)
			v = o->val;
	if (!v)
		v = getenv("PGOPTIONS");
	if (v && snprintf(out, outlen, "%s", v) >= (int)outlen)
		rc = -1;
	PQconninfoFree(opts);
	return rc;
}

/* Whether every setting of PINNED and EXTRA holds on C (one scan of pg_settings); ERR names the first that does not. */
static int check_settings(PGconn *c, const struct pgx_setting *extra, char *err, size_t errlen)
{
	const struct pgx_setting *lists[2] = {pinned, extra};
	char names[512] = "{";
	const char *p[1] = {names};
	PGresult *r;
	int rc = 0;

	/* our own constant names: nothing to quote */
	for (int l = 0; l < 2; l++)
		for (const struct pgx_setting *s = lists[l]; s && s->name; s++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[1] ? "," : "",
				 s->name);
	snprintf(names + strlen(names), sizeof names - strlen(names), "}");
	r = pgx_query(c, "SELECT name, setting FROM pg_settings WHERE lower(name) = ANY (lower($1)::text[])", 1, p, err,
		      errlen, NULL);
	if (!r)
		return -1;
	for (int l = 0; l < 2 && rc == 0; l++)
		for (const struct pgx_setting *s = lists[l]; s && s->name && rc == 0; s++) {
			const char *got = NULL;
			for (int i = 0; i < PQntuples(r) && !got; i++)
				if (strcasecmp(PQgetvalue(r, i, 0), s->name) == 0)
					got = PQgetvalue(r, i, 1);
			if (!got || strcmp(got, s->shown) != 0) {
				snprintf(err, errlen,
					 "session setting %s is \"%s\", not \"%s\" as requested at connect (hint: a connection "
					 "pooler dropped the startup options; see docs/operations.md, \"Session settings\")",
					 s->name, got ? got : "unknown", s->shown);
				rc = -1;
			}
		}
	PQclear(r);
	return rc;
}

/* pgx_connect, also pinning EXTRA (NULL-name-terminated; may be NULL) the same way. */
static PGconn *pgx_connect_with(const char *dsn, const char *appname, const struct pgx_setting *extra, char *err,
				size_t errlen)
{
	char options[1024] = "", idle[16], intvl[16], user_timeout[24];
	/* the keepalive defaults come before dbname: a DSN that sets them wins */
	const char *keys[] =
		{"keepalives", "keepalives_idle",  "keepalives_interval", "keepalives_count", "tcp_user_timeout",
		 "dbname",     "application_name", "connect_timeout",     "client_encoding",  "options",
		 NULL};
	const char *vals[] = {"1",     idle, intvl,  "4",     user_timeout, dsn ? dsn : "",
			      appname, "10", "UTF8", options, NULL};
	PGconn *c;
	int bad = user_options(dsn, options, sizeof options) < 0;

	snprintf(idle, sizeof idle, "%d", dead_peer_s / 3 > 0 ? dead_peer_s / 3 : 1);
	snprintf(intvl, sizeof intvl, "%d", dead_peer_s / 6 > 0 ? dead_peer_s / 6 : 1);
	snprintf(user_timeout, sizeof user_timeout, "%d", dead_peer_s * 1000);

	for (const struct pgx_setting *s = pinned; !bad && s->name; s++)
		if (strcmp(s->name, "client_encoding") != 0)
			bad = add_option(options, sizeof options, s->name, s->value) < 0;
	for (const struct pgx_setting *s = extra; !bad && s && s->name; s++)
		bad = add_option(options, sizeof options, s->name, s->value) < 0;
	if (bad) {
		snprintf(err, errlen, "the connection's options are too long (over %zu bytes)", sizeof options - 1);
		return NULL;
	}
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
	if (check_settings(c, extra, err, errlen) < 0) {
		PQfinish(c);
		return NULL;
	}
	/*
	 * Our statements are short (a chunk's rows, a phase's counts): compiling
	 * them with JIT cost more than it saved (0.2 s of a 0.47 s count over
	 * 636k cases). Best effort: a server without JIT ignores it.
	 */
	PQclear(PQexec(c, "SET jit = off"));
	set_server_keepalives(c);
	return c;
}

PGconn *pgx_connect(const char *dsn, const char *appname, char *err, size_t errlen)
{
	return pgx_connect_with(dsn, appname, NULL, err, errlen);
}

PGconn *pgx_connect_source(const char *dsn, const char *appname, long long timeout_ms, char *err, size_t errlen)
{
	char ms[24];
	const struct pgx_setting guard[] = {
		{"default_transaction_read_only", "on", "on"},
		{"statement_timeout", ms, ms},
		{NULL, NULL, NULL},
	};

	PGconn *c;
	const char *enc;

	snprintf(ms, sizeof ms, "%lld", timeout_ms);
	if (!(c = pgx_connect_with(dsn, appname, guard, err, errlen)))
		return NULL;
	/*
	 * A SQL_ASCII legacy database holds bytes in no declared encoding: the
	 * server cannot convert them and refuses a whole read that holds one
	 * that is not UTF-8. Read its bytes as they are; the target's staging
	 * COPY then refuses exactly the rows that are not UTF-8 (db_error
	 * rejects, chunk.c), and every other row arrives.
	 */
	enc = PQparameterStatus(c, "server_encoding");
	if (enc && strcmp(enc, "SQL_ASCII") == 0 && PQsetClientEncoding(c, "SQL_ASCII") != 0) {
		snprintf(err, errlen, "cannot read the SQL_ASCII legacy database's bytes as they are: %.*s",
			 (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
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

int pgx_err_is_row_data(const char *err)
{
	static const char *const classes[] = {"22", "23", "54", "P0"};

	for (size_t i = 0; err && i < sizeof classes / sizeof classes[0]; i++)
		if (strncmp(err, classes[i], 2) == 0)
			return 1;
	return 0;
}

int pgx_is_transient(PGconn *c, const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(c) != CONNECTION_OK || !s)
		return 1;
	if (strncmp(s, "08", 2) == 0 ||  /* connection exception */
	    strcmp(s, "40001") == 0 ||   /* serialization failure */
	    strcmp(s, "40P01") == 0 ||   /* deadlock detected */
	    strcmp(s, "25006") == 0 ||   /* read-only transaction: the target was made read-only */
	    strncmp(s, "53", 2) == 0 ||  /* insufficient resources */
	    strcmp(s, "55P03") == 0 ||   /* lock not available */
	    strcmp(s, "57014") == 0 ||   /* query canceled (statement timeout) */
	    strncmp(s, "57P", 3) == 0 || /* admin shutdown, crash shutdown, cannot connect now */
	    strncmp(s, "58", 2) == 0)    /* system error (I/O) */
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

int pgx_exec(PGconn *c, const char *sql, int n, const char *const *params, char *err, size_t errlen, int *transient)
{
	PGresult *r = pgx_query(c, sql, n, params, err, errlen, transient);

	if (!r)
		return -1;
	PQclear(r);
	return 0;
}
