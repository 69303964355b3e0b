/*
 * A query's rows read a part at a time through a server-side cursor, so that
 * a side of a comparison (a million rows of id and hash) never sits whole in
 * one PGresult: see row_cursor.c.
 */
#ifndef MDW_ROW_CURSOR_H
#define MDW_ROW_CURSOR_H

#include <libpq-fe.h>
#include <stddef.h>

struct row_cursor {
	PGconn *c;
	const char *name; /* the cursor's name: an identifier of our own code, never input */
	PGresult *part;   /* the rows fetched last */
	int i;            /* the current row of part */
	int own_txn;      /* the cursor's transaction was begun here (else the caller's) */
	int open;
	int pending; /* a FETCH was sent and its rows not yet taken (row_cursor_start) */
};

/*
 * Open cursor NAME over SQL (N parameters P) on C, inside C's transaction or
 * one begun here. 0, or -1 with ERR (nothing left open).
 */
__attribute__((warn_unused_result)) int row_cursor_open(struct row_cursor *k, PGconn *c, const char *name,
							const char *sql, int n, const char *const *p, char *err,
							size_t errlen);

/*
 * Send K's first FETCH without waiting for it, so that the server computes
 * the rows while the caller starts another cursor on another connection
 * (both sides of a comparison at once); nothing else may be sent on K's
 * connection before the next row_cursor_next. 0, or -1 with ERR.
 */
__attribute__((warn_unused_result)) int row_cursor_start(struct row_cursor *k, char *err, size_t errlen);

/* Move to the next row: 1 there is one (row_cursor_get), 0 the end, -1 error (ERR). */
__attribute__((warn_unused_result)) int row_cursor_next(struct row_cursor *k, char *err, size_t errlen);

/* Column COL of the current row (owned by the cursor, valid until the next call). */
const char *row_cursor_get(const struct row_cursor *k, int col);

/* Close K and end the transaction begun here (COMMIT, or ROLLBACK after an error); accepts a closed K. */
void row_cursor_close(struct row_cursor *k);

#endif
