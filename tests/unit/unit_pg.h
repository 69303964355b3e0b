/* For the CUnit suites that use a real Postgres: one value of a query, as text. */
#ifndef MDW_UNIT_PG_H
#define MDW_UNIT_PG_H

#include <stdio.h>

#include "mdw/pgx.h"

/* The one value of SQL on C as text into OUT ("" for NULL, the error if it fails, "(not one row)"). */
static inline const char *pg_value(PGconn *c, const char *sql, char *out, size_t outlen)
{
	char err[512];
	PGresult *r = pgx_query(c, sql, 0, NULL, err, sizeof err, NULL);

	snprintf(out, outlen, "%s", !r ? err : PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "(not one row)");
	PQclear(r);
	return out;
}

#endif
