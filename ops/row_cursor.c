/*
 * Rows read by cursor (see row_cursor.h): DECLARE ... NO SCROLL CURSOR, then
 * FETCH FORWARD ROW_CURSOR_PART at a time. The cursor lives in the caller's
 * transaction if the connection is in one, else in one begun here and ended
 * by row_cursor_close. row_cursor_start sends the first FETCH and returns:
 * a query whose ORDER BY needs all its rows does its work then, on its
 * server, while the caller goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdw/pgx.h"
#include "row_cursor.h"

#define ROW_CURSOR_PART 20000 /* rows per FETCH: about 1 MB of ids and md5s */

int row_cursor_open(struct row_cursor *k, PGconn *c, const char *name, const char *sql, int n, const char *const *p,
		    char *err, size_t errlen)
{
	char *decl;
	size_t cap = strlen(sql) + strlen(name) + 64;
	int rc;

	*k = (struct row_cursor){.c = c, .name = name, .own_txn = PQtransactionStatus(c) == PQTRANS_IDLE};
	if (!(decl = malloc(cap))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(decl, cap, "DECLARE %s NO SCROLL CURSOR FOR %s", name, sql);
	if (k->own_txn && pgx_exec(c, "BEGIN", 0, NULL, err, errlen, NULL) < 0) {
		free(decl);
		return -1;
	}
	rc = pgx_exec(c, decl, n, p, err, errlen, NULL);
	free(decl);
	if (rc < 0) {
		if (k->own_txn)
			PQclear(PQexec(c, "ROLLBACK"));
		return -1;
	}
	k->open = 1;
	k->i = -1;
	return 0;
}

static void fetch_sql(const struct row_cursor *k, char *sql, size_t len)
{
	snprintf(sql, len, "FETCH FORWARD %d FROM %s", ROW_CURSOR_PART, k->name);
}

int row_cursor_start(struct row_cursor *k, char *err, size_t errlen)
{
	char sql[128];

	fetch_sql(k, sql, sizeof sql);
	if (!PQsendQuery(k->c, sql)) {
		pgx_error(k->c, NULL, err, errlen);
		return -1;
	}
	k->pending = 1;
	return 0;
}

/* The rows of the FETCH that row_cursor_start sent, into k->part. 0, or -1 with ERR. */
static int take_pending(struct row_cursor *k, char *err, size_t errlen)
{
	PGresult *r, *last = NULL;

	k->pending = 0;
	while ((r = PQgetResult(k->c))) {
		PQclear(last);
		last = r;
	}
	if (!last || PQresultStatus(last) != PGRES_TUPLES_OK) {
		pgx_error(k->c, last, err, errlen);
		PQclear(last);
		return -1;
	}
	k->part = last;
	return 0;
}

int row_cursor_next(struct row_cursor *k, char *err, size_t errlen)
{
	char sql[128];

	if (k->part && ++k->i < PQntuples(k->part))
		return 1;
	if (k->part && PQntuples(k->part) < ROW_CURSOR_PART)
		return 0; /* the last part was short: the end */
	PQclear(k->part);
	k->part = NULL;
	if (k->pending) {
		if (take_pending(k, err, errlen) < 0)
			return -1;
	} else {
		fetch_sql(k, sql, sizeof sql);
		if (!(k->part = pgx_query(k->c, sql, 0, NULL, err, errlen, NULL)))
			return -1;
	}
	k->i = 0;
	return PQntuples(k->part) > 0;
}

const char *row_cursor_get(const struct row_cursor *k, int col)
{
	return PQgetvalue(k->part, k->i, col);
}

void row_cursor_close(struct row_cursor *k)
{
	char sql[128];

	if (!k->open)
		return;
	if (k->pending) {
		char e[64];
		if (take_pending(k, e, sizeof e) < 0)
			k->part = NULL;
	}
	PQclear(k->part);
	k->part = NULL;
	k->open = 0;
	if (k->own_txn) {
		/* COMMIT ends an aborted transaction as ROLLBACK would: the cursor goes with it */
		PQclear(PQexec(k->c, "COMMIT"));
		return;
	}
	snprintf(sql, sizeof sql, "CLOSE %s", k->name);
	PQclear(PQexec(k->c, sql));
}
