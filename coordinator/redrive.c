/* Redrive runs (see redrive.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criteria.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "redrive.h"

/* Append [lo, hi] to P. */
static int add_range(struct plan *p, long long lo, long long hi)
{
	if (p->n == p->cap) {
		int cap = p->cap ? p->cap * 2 : 64;
		struct plan_chunk *n = realloc(p->chunks, sizeof *n * (size_t)cap);
		if (!n)
			return -1;
		p->chunks = n;
		p->cap = cap;
	}
	p->chunks[p->n++] = (struct plan_chunk){lo, hi, 0};
	return 0;
}

/* The ranges of P as two bigint[] literals. */
static char *ranges_literal(const struct plan *p, int his)
{
	size_t cap = (size_t)p->n * 24 + 3, o = 1;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	s[0] = '{';
	for (int i = 0; i < p->n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s%lld", i ? "," : "", his ? p->chunks[i].hi : p->chunks[i].lo);
	snprintf(s + o, cap - o, "}");
	return s;
}

/* Count the legacy rows of each range (the chunk's source count); drop the ranges without any. */
static int count_rows(struct coord *c, enum mdw_phase_id ph, struct plan *p, char *err, size_t errlen)
{
	char sql[512], *los = ranges_literal(p, 0), *his = ranges_literal(p, 1);
	const char *params[2] = {los, his};
	PGresult *r = NULL;
	int n = 0, rc = -1;

	if (!los || !his) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* the table name comes from the phase table, never from input */
	snprintf(sql, sizeof sql,
		 "SELECT g.lo, g.hi, (SELECT count(*) FROM public.%s t WHERE t.id BETWEEN g.lo AND g.hi) "
		 "FROM unnest($1::bigint[], $2::bigint[]) AS g(lo, hi) ORDER BY g.lo",
		 mdw_phases[ph].source);
	if (!(r = pgx_query(c->src, sql, 2, params, err, errlen, NULL)))
		goto out;
	p->rows = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		long long rows = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		if (rows == 0)
			continue; /* deleted in the legacy database since */
		p->chunks[n++] = (struct plan_chunk){strtoll(PQgetvalue(r, i, 0), NULL, 10),
						     strtoll(PQgetvalue(r, i, 1), NULL, 10), rows};
		p->rows += rows;
	}
	p->n = n;
	rc = 0;
out:
	PQclear(r);
	free(los);
	free(his);
	return rc;
}

int redrive_plan_ids(struct coord *c, enum mdw_phase_id ph, const long long *ids, long long n, long long gap,
		     struct plan *plan, char *err, size_t errlen)
{
	long long lo = 0, prev = 0, in_chunk = 0;

	for (long long i = 0; i < n; i++) {
		long long id = ids[i];
		if (in_chunk && (id - prev > gap || in_chunk >= c->cfg.chunk_rows)) {
			if (add_range(plan, lo, prev) < 0)
				goto oom;
			in_chunk = 0;
		}
		if (!in_chunk)
			lo = id;
		prev = id;
		in_chunk++;
	}
	if (in_chunk && add_range(plan, lo, prev) < 0)
		goto oom;
	return plan->n ? count_rows(c, ph, plan, err, errlen) : 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int redrive_plan_listed(struct coord *c, const long long *ids, long long n, struct plan *plan, char *err, size_t errlen)
{
	long long per = c->cfg.chunk_rows > 0 ? c->cfg.chunk_rows : 1;

	for (long long i = 0; i < n; i += per) {
		long long k = n - i < per ? n - i : per;
		if (add_range(plan, ids[i], ids[i + k - 1]) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		plan->chunks[plan->n - 1].rows = k;
		plan->rows += k;
	}
	return 0;
}

int redrive_walk(struct coord *c, enum mdw_phase_id ph, struct plan *plan, char *err, size_t errlen)
{
	char placed[256], sql[1024];
	const char *p[1] = {mdw_phases[ph].name};
	PGresult *r;
	long long ids, *v;
	int rc;

	criteria_placed(ph, placed, sizeof placed);
	snprintf(sql, sizeof sql,
		 "SELECT DISTINCT j.legacy_id FROM mdw.rejects j JOIN mdw.runs u ON u.id = j.run_id AND u.status = 'complete' "
		 "JOIN mdw.run_phases rp ON rp.run_id = j.run_id AND rp.phase = j.phase AND rp.status = 'complete' "
		 "WHERE j.phase = $1 AND NOT %s "
		 "AND NOT EXISTS (SELECT 1 FROM mdw.merges m WHERE m.phase = $1 AND m.legacy_id = j.legacy_id) "
		 "ORDER BY 1",
		 placed);
	if (!(r = pgx_query(c->tgt, sql, 1, p, err, errlen, NULL)))
		return -1;
	ids = PQntuples(r);
	if (!(v = malloc(sizeof *v * (size_t)(ids + 1)))) {
		PQclear(r);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (long long i = 0; i < ids; i++)
		v[i] = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
	PQclear(r);
	rc = redrive_plan_ids(c, ph, v, ids, REDRIVE_GAP, plan, err, errlen);
	free(v);
	if (rc < 0)
		return -1;
	mdw_info("run=%" PRId64 " phase=%s msg=\"redrive plan\" outstanding_rejects=%lld chunks=%d rows=%lld", c->run,
		 mdw_phases[ph].name, ids, plan->n, plan->rows);
	return 0;
}
