/* Keyset-walk chunk planner (see planner.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "mdw/pgx.h"
#include "planner.h"

int plan_walk(struct plan *p, plan_next_fn next, void *arg, long long chunk_rows, enum plan_ranges mode, char *err,
	      size_t errlen)
{
	long long after = (long long)INT_MIN - 1; /* ids are Postgres integers */

	for (;;) {
		long long lo = 0, hi = 0, count = 0;
		if (next(arg, after, chunk_rows, &lo, &hi, &count, err, errlen) < 0)
			return -1;
		if (count == 0)
			return 0;
		if (lo <= after || hi < lo) {
			snprintf(err, errlen, "the id walk went backwards after %lld (%lld..%lld)", after, lo, hi);
			return -1;
		}
		if (p->n == p->cap) {
			int cap = p->cap ? p->cap * 2 : 64;
			struct plan_chunk *c = realloc(p->chunks, (size_t)cap * sizeof *c);
			if (!c) {
				snprintf(err, errlen, "out of memory planning chunk %d", p->n);
				return -1;
			}
			p->chunks = c;
			p->cap = cap;
		}
		/* contiguous: the first chunk starts at the smallest id, the others right after the previous one */
		p->chunks[p->n].lo = mode == PLAN_CONTIGUOUS && p->n > 0 ? after + 1 : lo;
		p->chunks[p->n].hi = hi;
		p->chunks[p->n].rows = count;
		p->n++;
		p->rows += count;
		if (mode == PLAN_CONTIGUOUS && count < chunk_rows)
			return 0;
		after = hi;
	}
}

struct pg_src {
	PGconn *c;
	char sql[256];
};

static int pg_next(void *arg, long long after, long long n, long long *lo, long long *hi, long long *count, char *err,
		   size_t errlen)
{
	struct pg_src *s = arg;
	char a[24], b[24];
	const char *params[2] = {a, b};
	PGresult *r;

	snprintf(a, sizeof a, "%lld", after);
	snprintf(b, sizeof b, "%lld", n);
	r = pgx_query(s->c, s->sql, 2, params, err, errlen, NULL);
	if (!r)
		return -1;
	*count = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	*lo = *count ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	*hi = *count ? strtoll(PQgetvalue(r, 0, 1), NULL, 10) : 0;
	PQclear(r);
	return 0;
}

int plan_table(struct plan *p, PGconn *c, const char *table, long long chunk_rows, char *err, size_t errlen)
{
	struct pg_src s = {c, {0}};
	int rc;

	/* TABLE comes from the phase table, never from input */
	snprintf(s.sql, sizeof s.sql,
		 "SELECT min(id), max(id), count(*) FROM (SELECT id FROM public.%s WHERE id > $1::bigint ORDER BY id LIMIT $2::bigint) s",
		 table);
	rc = plan_walk(p, pg_next, &s, chunk_rows, PLAN_CONTIGUOUS, err, errlen);
	return rc;
}

void plan_free(struct plan *p)
{
	free(p->chunks);
	p->chunks = NULL;
	p->n = p->cap = 0;
}
