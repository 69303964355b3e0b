/* Incremental runs (see incremental.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incremental.h"
#include "mdw/log.h"
#include "mdw/pgx.h"

int incr_open(struct coord *c, char *err, size_t errlen)
{
	char run[24];
	const char *p[2] = {run, c->cfg.incremental ? "true" : "false"};
	PGresult *r;
	int was;

	snprintf(run, sizeof run, "%" PRId64, c->run);
	r = pgx_query(c->tgt,
		      "WITH u AS (UPDATE mdw.runs SET settings = settings || jsonb_build_object('incremental', $2::boolean) "
		      " WHERE id = $1 AND NOT settings ? 'incremental' RETURNING settings) "
		      "SELECT coalesce((SELECT settings FROM u), (SELECT settings FROM mdw.runs WHERE id = $1)) "
		      "->> 'incremental'",
		      2, p, err, errlen, NULL);
	if (!r)
		return -1;
	was = !strcmp(PQgetvalue(r, 0, 0), "true");
	PQclear(r);
	if (was != c->cfg.incremental)
		mdw_warn("run=%" PRId64 " msg=\"the resumed run keeps its mode\" incremental=%s", c->run,
			 was ? "true" : "false");
	c->cfg.incremental = was;
	return 0;
}

/* A walk over TABLE's ids in database C, due when FILTER (an expression over alias t) holds. */
struct due_src {
	PGconn *c;
	char sql[2048];
	const char *extra[3]; /* $3.. */
	int nextra;
};

static int due_next(void *arg, long long after, long long n, long long *lo, long long *hi, long long *count, char *err,
		    size_t errlen)
{
	struct due_src *s = arg;
	char a[24], b[24];
	const char *params[5] = {a, b, s->extra[0], s->extra[1], s->extra[2]};
	PGresult *r;

	snprintf(a, sizeof a, "%lld", after);
	snprintf(b, sizeof b, "%lld", n);
	if (!(r = pgx_query(s->c, s->sql, 2 + s->nextra, params, err, errlen, NULL)))
		return -1;
	*count = PQgetisnull(r, 0, 1) ? 0 : strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	*lo = *count ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	*hi = *count ? strtoll(PQgetvalue(r, 0, 1), NULL, 10) : 0;
	PQclear(r);
	return 0;
}

/* Build S's statement: the first due id, the window of N ids from it, its last due id, the ids up to it. */
static void due_sql(struct due_src *s, const char *with, const char *table, const char *filter)
{
	/* table names and filters come from this file, never from input */
	snprintf(s->sql, sizeof s->sql,
		 "WITH %s%sf AS (SELECT min(t.id) AS lo FROM public.%s t WHERE t.id > $1::bigint AND (%s)), "
		 "w AS (SELECT t.id, (%s) AS due FROM public.%s t, f WHERE t.id >= f.lo ORDER BY t.id LIMIT $2::bigint), "
		 "h AS (SELECT max(id) AS hi FROM w WHERE due) "
		 "SELECT (SELECT lo FROM f), (SELECT hi FROM h), (SELECT count(*) FROM w, h WHERE w.id <= h.hi)",
		 with, with[0] ? ", " : "", table, filter, filter, table);
}

/* Whether the legacy TABLE has an updated_at column. 1, 0, -1. */
static int has_updated_at(PGconn *src, const char *table, char *err, size_t errlen)
{
	const char *p[1] = {table};
	PGresult *r = pgx_query(src,
				"SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('public.' || $1) AND attname = 'updated_at' "
				"AND NOT attisdropped",
				1, p, err, errlen, NULL);
	int yes;

	if (!r)
		return -1;
	yes = PQntuples(r) > 0;
	PQclear(r);
	return yes;
}

/* The ranges that PHASE's complete runs covered, merged per run: three array literals lo, hi, epoch planned. */
static int coverage(struct coord *c, enum mdw_phase_id ph, char **los, char **his, char **ats, long long *nranges,
		    char *err, size_t errlen)
{
	const char *p[1] = {mdw_phases[ph].name};
	PGresult *r = pgx_query(
		c->tgt,
		"WITH c AS (SELECT ch.run_id, ch.lo, ch.hi, extract(epoch FROM coalesce(rp.planned_at, rp.started_at)) AS at "
		" FROM mdw.chunks ch JOIN mdw.run_phases rp ON rp.run_id = ch.run_id AND rp.phase = ch.phase "
		" WHERE ch.phase = $1 AND rp.status = 'complete' AND ch.status = 'done'), "
		"g AS (SELECT c.*, CASE WHEN lo = lag(hi) OVER (PARTITION BY run_id ORDER BY lo) + 1 THEN 0 ELSE 1 END AS brk "
		" FROM c), "
		"k AS (SELECT g.*, sum(brk) OVER (PARTITION BY run_id ORDER BY lo) AS grp FROM g), "
		"i AS (SELECT min(lo) AS lo, max(hi) AS hi, max(at) AS at FROM k GROUP BY run_id, grp) "
		"SELECT coalesce(array_agg(lo ORDER BY lo, hi)::text, '{}'), coalesce(array_agg(hi ORDER BY lo, hi)::text, "
		"'{}'), coalesce(array_agg(at ORDER BY lo, hi)::text, '{}'), count(*) FROM i",
		1, p, err, errlen, NULL);

	if (!r)
		return -1;
	*los = strdup(PQgetvalue(r, 0, 0));
	*his = strdup(PQgetvalue(r, 0, 1));
	*ats = strdup(PQgetvalue(r, 0, 2));
	*nranges = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	PQclear(r);
	if (!*los || !*his || !*ats) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* A relational phase: its legacy table's due rows. */
static int walk_relational(struct coord *c, enum mdw_phase_id ph, struct plan *plan, char *err, size_t errlen)
{
	const char *table = mdw_phases[ph].source;
	struct due_src s = {c->src, "", {NULL}, 3};
	char *los = NULL, *his = NULL, *ats = NULL;
	long long nranges = 0;
	int upd, rc = -1;

	if (coverage(c, ph, &los, &his, &ats, &nranges, err, errlen) < 0)
		goto out;
	if ((upd = has_updated_at(c->src, table, err, errlen)) < 0)
		goto out;
	s.extra[0] = los;
	s.extra[1] = his;
	s.extra[2] = ats;
	due_sql(&s, "cv AS (SELECT * FROM unnest($3::bigint[], $4::bigint[], $5::float8[]) AS cv(lo, hi, at))", table,
		upd ? "SELECT CASE WHEN count(*) = 0 THEN true ELSE coalesce(t.updated_at > to_timestamp(max(cv.at)), false) "
		      "END FROM cv WHERE t.id BETWEEN cv.lo AND cv.hi"
		    : "NOT EXISTS (SELECT 1 FROM cv WHERE t.id BETWEEN cv.lo AND cv.hi)");
	if (plan_walk(plan, due_next, &s, c->cfg.chunk_rows, PLAN_DUE_ONLY, err, errlen) < 0)
		goto out;
	mdw_info("run=%" PRId64 " phase=%s msg=\"incremental plan\" covered_ranges=%lld by_updated_at=%s due_chunks=%d "
		 "rows=%lld",
		 c->run, mdw_phases[ph].name, nranges, upd ? "yes" : "no", plan->n, plan->rows);
	rc = 0;
out:
	free(los);
	free(his);
	free(ats);
	return rc;
}

/* The embeddings phase: per part, the target entities due for an embedding. */
static const struct {
	const char *table;
	const char *filter;
} embed_due[MDW_NPARTS] = {
	{NULL, NULL},
	{"patients", "NOT EXISTS (SELECT 1 FROM public.ai_embedding_sources s WHERE s.content_type = 'patient' "
		     "AND s.content_id = t.id) OR EXISTS (SELECT 1 FROM public.cases x JOIN public.ai_embedding_sources s "
		     "ON s.content_type = 'patient' AND s.content_id = t.id WHERE x.patient_id = t.id "
		     "AND coalesce(x.mdw_run_id, 0) > coalesce(s.mdw_run_id, 0))"},
	{"cases", "NOT EXISTS (SELECT 1 FROM public.ai_embedding_sources s WHERE s.content_type = 'case' "
		  "AND s.content_id = t.id)"},
	{"projects", "NOT EXISTS (SELECT 1 FROM public.ai_embedding_sources s WHERE s.content_type = 'project' "
		     "AND s.content_id = t.id)"},
};

static int walk_embeddings(struct coord *c, struct plan *plan, enum mdw_part **parts, char *err, size_t errlen)
{
	for (int pt = 1; pt < MDW_NPARTS; pt++) {
		struct due_src s = {c->tgt, "", {NULL}, 0};
		struct plan one = {0};
		enum mdw_part *np;
		struct plan_chunk *nc;

		due_sql(&s, "", embed_due[pt].table, embed_due[pt].filter);
		if (plan_walk(&one, due_next, &s, c->cfg.embed_batch, PLAN_DUE_ONLY, err, errlen) < 0)
			goto fail;
		np = realloc(*parts, sizeof *np * (size_t)(plan->n + one.n + 1));
		if (np)
			*parts = np;
		nc = np ? realloc(plan->chunks, sizeof *nc * (size_t)(plan->n + one.n + 1)) : NULL;
		if (!nc) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		plan->chunks = nc;
		plan->cap = plan->n + one.n + 1;
		for (int i = 0; i < one.n; i++) {
			(*parts)[plan->n] = (enum mdw_part)pt;
			plan->chunks[plan->n++] = one.chunks[i];
		}
		plan->rows += one.rows;
		plan_free(&one);
		continue;
fail:
		plan_free(&one);
		return -1;
	}
	mdw_info("run=%" PRId64 " phase=embeddings msg=\"incremental plan\" due_chunks=%d rows=%lld", c->run, plan->n,
		 plan->rows);
	return 0;
}

int incr_walk(struct coord *c, enum mdw_phase_id ph, struct plan *plan, enum mdw_part **parts, char *err,
	      size_t errlen)
{
	*parts = calloc(1, sizeof **parts);
	if (!*parts) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ph == MDW_PH_EMBEDDINGS)
		return walk_embeddings(c, plan, parts, err, errlen);
	if (walk_relational(c, ph, plan, err, errlen) < 0)
		return -1;
	free(*parts);
	*parts = calloc((size_t)plan->n + 1, sizeof **parts);
	if (!*parts) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
