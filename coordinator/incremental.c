/* Incremental runs (see incremental.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catchup.h"
#include "incremental.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "redrive.h"

int incr_open(struct coord *c, char *err, size_t errlen)
{
	char run[24];
	int mode_incr = c->cfg.incremental || c->cfg.redrive || c->cfg.catch_up;
	const char *p[4] = {run, mode_incr ? "true" : "false", c->cfg.redrive ? "true" : "false",
			    c->cfg.catch_up ? "true" : "false"};
	PGresult *r;
	int was, was_redrive, was_catch_up;

	snprintf(run, sizeof run, "%" PRId64, c->run);
	/* redrive and catch-up runs are incremental runs (validation within their ranges) that plan their own way */
	r = pgx_query(c->tgt,
		      "WITH u AS (UPDATE mdw.runs SET settings = settings || jsonb_build_object('incremental', $2::boolean, "
		      " 'redrive', $3::boolean, 'catch_up', $4::boolean) WHERE id = $1 AND NOT settings ? 'incremental' "
		      " RETURNING settings), "
		      "s AS (SELECT coalesce((SELECT settings FROM u), (SELECT settings FROM mdw.runs WHERE id = $1)) AS v) "
		      "SELECT v ->> 'incremental', coalesce(v ->> 'redrive', 'false'), coalesce(v ->> 'catch_up', 'false') "
		      "FROM s",
		      4, p, err, errlen, NULL);
	if (!r)
		return -1;
	was = !strcmp(PQgetvalue(r, 0, 0), "true");
	was_redrive = !strcmp(PQgetvalue(r, 0, 1), "true");
	was_catch_up = !strcmp(PQgetvalue(r, 0, 2), "true");
	PQclear(r);
	if (was != mode_incr || was_redrive != c->cfg.redrive || was_catch_up != c->cfg.catch_up)
		mdw_warn("run=%" PRId64 " msg=\"the resumed run keeps its mode\" incremental=%s redrive=%s catch_up=%s",
			 c->run, was ? "true" : "false", was_redrive ? "true" : "false",
			 was_catch_up ? "true" : "false");
	c->cfg.incremental = was;
	c->cfg.redrive = was_redrive;
	c->cfg.catch_up = was_catch_up;
	return 0;
}

/* A walk over TABLE's ids in database C, due when FILTER (an expression over alias t) holds. */
struct due_src {
	PGconn *c;
	char sql[4096];
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
	PGresult *r =
		pgx_query(src,
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

/* Copy the first N columns of R's single row into OUT[0..n) (freed by the caller). 0 or -1. */
static int take_arrays(PGresult *r, char **out[], int n, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++)
		if (!(*out[i] = strdup(PQgetvalue(r, 0, i)))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	return 0;
}

/* The five array literals of covering chunks: lo, hi, rows read, epoch planned, run. */
struct cover {
	char *lo, *hi, *n, *at, *run;
};

static void cover_free(struct cover *v)
{
	free(v->lo);
	free(v->hi);
	free(v->n);
	free(v->at);
	free(v->run);
}

/* The done chunks of PHASE's complete runs (target database): what they read, and when. */
static int coverage(struct coord *c, enum mdw_phase_id ph, struct cover *v, char *err, size_t errlen)
{
	const char *p[1] = {mdw_phases[ph].name};
	char **out[5] = {&v->lo, &v->hi, &v->n, &v->at, &v->run};
	PGresult *r =
		pgx_query(c->tgt,
			  "SELECT coalesce(array_agg(ch.lo ORDER BY ch.run_id, ch.lo)::text, '{}'), "
			  "coalesce(array_agg(ch.hi ORDER BY ch.run_id, ch.lo)::text, '{}'), "
			  "coalesce(array_agg(ch.rows_read ORDER BY ch.run_id, ch.lo)::text, '{}'), "
			  "coalesce(array_agg(extract(epoch FROM coalesce(rp.planned_at, rp.started_at)) ORDER BY ch.run_id, ch.lo)"
			  "::text, '{}'), coalesce(array_agg(ch.run_id ORDER BY ch.run_id, ch.lo)::text, '{}') "
			  "FROM mdw.chunks ch JOIN mdw.run_phases rp ON rp.run_id = ch.run_id AND rp.phase = ch.phase "
			  "WHERE ch.phase = $1 AND rp.status = 'complete' AND ch.status = 'done'",
			  1, p, err, errlen, NULL);
	int rc;

	if (!r)
		return -1;
	rc = take_arrays(r, out, 5, err, errlen);
	PQclear(r);
	return rc;
}

/*
 * Of the chunks in V, those whose range still holds as many source ids as
 * the chunk read (TABLE, source database), merged per run into ranges: three
 * array literals lo, hi, epoch planned in LOS, HIS, ATS. A chunk whose count
 * changed (a row committed late inside it, or deleted) covers nothing: its
 * rows are due again. *NRANGES and *NSTALE count the ranges and stale chunks.
 */
static int fresh_ranges(struct coord *c, const char *table, const struct cover *v, char **los, char **his, char **ats,
			long long *nranges, long long *nstale, char *err, size_t errlen)
{
	const char *p[5] = {v->lo, v->hi, v->n, v->at, v->run};
	char **out[3] = {los, his, ats};
	char sql[2048];
	PGresult *r;
	int rc;

	/* TABLE comes from the phase table, never from input */
	snprintf(sql, sizeof sql,
		 "WITH cv AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::float8[], $5::bigint[]) "
		 " AS cv(lo, hi, n, at, run)), "
		 "f AS (SELECT cv.* FROM cv WHERE (SELECT count(*) FROM public.%s t WHERE t.id BETWEEN cv.lo AND cv.hi) = cv.n), "
		 "g AS (SELECT f.*, CASE WHEN lo = lag(hi) OVER (PARTITION BY run ORDER BY lo) + 1 THEN 0 ELSE 1 END AS brk "
		 " FROM f), "
		 "k AS (SELECT g.*, sum(brk) OVER (PARTITION BY run ORDER BY lo) AS grp FROM g), "
		 "i AS (SELECT min(lo) AS lo, max(hi) AS hi, max(at) AS at FROM k GROUP BY run, grp) "
		 "SELECT coalesce(array_agg(lo ORDER BY lo, hi)::text, '{}'), coalesce(array_agg(hi ORDER BY lo, hi)::text, "
		 "'{}'), coalesce(array_agg(at ORDER BY lo, hi)::text, '{}'), count(*), "
		 "(SELECT count(*) FROM cv) - (SELECT count(*) FROM f) FROM i",
		 table);
	if (!(r = pgx_query(c->src, sql, 5, p, err, errlen, NULL)))
		return -1;
	*nranges = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	*nstale = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	rc = take_arrays(r, out, 3, err, errlen);
	PQclear(r);
	return rc;
}

/* A relational phase: its legacy table's due rows. */
static int walk_relational(struct coord *c, enum mdw_phase_id ph, struct plan *plan, char *err, size_t errlen)
{
	const char *table = mdw_phases[ph].source;
	struct due_src s = {c->src, "", {NULL}, 3};
	struct cover v = {0};
	char *los = NULL, *his = NULL, *ats = NULL;
	long long nranges = 0, nstale = 0;
	int upd, rc = -1;

	if (c->cfg.redrive)
		return redrive_walk(c, ph, plan, err, errlen);
	if (c->cfg.catch_up)
		return catchup_walk(c, ph, plan, err, errlen);
	if (coverage(c, ph, &v, err, errlen) < 0 ||
	    fresh_ranges(c, table, &v, &los, &his, &ats, &nranges, &nstale, err, errlen) < 0)
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
	mdw_info("run=%" PRId64 " phase=%s msg=\"incremental plan\" covered_ranges=%lld stale_chunks=%lld "
		 "by_updated_at=%s due_chunks=%d rows=%lld",
		 c->run, mdw_phases[ph].name, nranges, nstale, upd ? "yes" : "no", plan->n, plan->rows);
	rc = 0;
out:
	cover_free(&v);
	free(los);
	free(his);
	free(ats);
	return rc;
}

/* The embeddings phase: per part (its table: mdw_part_table), the target entities due (mdw_parts[].due_sql). */
static int walk_embeddings(struct coord *c, struct plan *plan, enum mdw_part **parts, char *err, size_t errlen)
{
	for (int pt = 1; pt < MDW_NPARTS; pt++) {
		struct due_src s = {c->tgt, "", {NULL}, 0};
		struct plan one = {0};
		enum mdw_part *np;
		struct plan_chunk *nc;
		char filter[1024];

		/* a catch-up run also embeds the entities whose rows it updated (their text may have changed) */
		if (c->cfg.catch_up)
			catchup_embed_filter((enum mdw_part)pt, c->run, mdw_parts[pt].due_sql, filter, sizeof filter);
		else
			snprintf(filter, sizeof filter, "%s", mdw_parts[pt].due_sql);
		due_sql(&s, "", mdw_part_table((enum mdw_part)pt), filter);
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

int incr_walk(struct coord *c, enum mdw_phase_id ph, struct plan *plan, enum mdw_part **parts, char *err, size_t errlen)
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
