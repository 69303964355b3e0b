/*
 * mdwctl verify: row-level verification. For each verified phase, what every
 * legacy row should have become is computed in SQL over the legacy database,
 * from the rules of docs/transforms.md and independently of the C transforms
 * (repairs included: a dangling reference is NULL, a patient's office may
 * come from its doctor); the target's rows are read back in the same legacy
 * terms (a practice as its legacy id, a profile as its email, so merged users
 * compare equal). Rows rejected and not placed since, and merged rows, are
 * expected absent. The SQL of both sides, by phase, is the table of
 * shared/verify_spec.c (the worker hashes its target side too); this file
 * compares them.
 *
 * Set-based: each side computes every row's md5 (over the row's text) in
 * one query per phase, read in id order by cursor and merged here by id, so
 * each side is computed once whatever the number of differences (with
 * changes spread thinly every bucket of ids differs: reading the differing
 * buckets again, batch by batch, cost a pass over the whole side per batch).
 * The summary counts buckets of VERIFY_BUCKET consecutive legacy ids, a
 * bucket differing if any of its rows does. Only the rows whose hashes
 * differ are then read as JSON, by id, to name the differing columns: by
 * legacy id and column, never their values unless --show-values.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criteria.h"
#include "mdw/pgx.h"
#include "mdw/strbuf.h"
#include "row_cursor.h"
#include "verify.h"

#define VERIFY_NAME_BATCH 4096   /* differing rows read as JSON in one query per side, to name their columns */
#define VERIFY_CHECK_BATCH 20000 /* recorded candidates read back and hashed in one query */

struct side {
	PGconn *c;
	const char *rows;
	const char *ids;     /* $3 of the source side; NULL: the target side */
	const char *holders; /* $4 of the source side, or NULL */
	const char *table;   /* the target side's table, whose row's xmin comes third (NULL: two columns) */
	const char *key;     /* its legacy id column */
	/*
	 * Collecting for a catch-up: the phase whose recorded hashes
	 * (mdw.row_hashes) stand for the target rows of TABLE (NULL: the rows
	 * read back). See verify_run.
	 */
	const char *recorded;
};

/*
 * Per row of S ($1 bucket size, $2 the buckets, bigint[], or NULL for every
 * bucket): id and md5 of the row's text, in id order, by cursor NAME into K.
 */
static int side_rows_open(const struct side *s, const char *name, const char *buckets, struct row_cursor *k, char *err,
			  size_t errlen)
{
	char sql[16384], sz[24];
	const char *p[4] = {sz, buckets, s->ids, s->holders};

	char xmin[256] = "";

	snprintf(sz, sizeof sz, "%d", VERIFY_BUCKET);
	if (s->recorded) { /* TABLE and KEY come from the phase table, never from input */
		p[2] = s->recorded;
		snprintf(sql, sizeof sql,
			 "SELECT t.%s::bigint AS id, h.hash FROM public.%s t LEFT JOIN mdw.row_hashes h ON h.phase = $3 "
			 "AND h.legacy_id = t.%s WHERE t.%s IS NOT NULL AND ($2::bigint[] IS NULL OR "
			 "floor(t.%s::numeric / $1::int)::bigint = ANY($2::bigint[])) ORDER BY 1",
			 s->key, s->table, s->key, s->key, s->key);
		return row_cursor_open(k, s->c, name, sql, 3, p, err, errlen);
	}
	if (s->table)
		snprintf(xmin, sizeof xmin, ", (SELECT r.xmin FROM public.%s r WHERE r.%s = x.id LIMIT 1)::text",
			 s->table, s->key);
	snprintf(sql, sizeof sql,
		 "WITH x AS (%s) SELECT x.id, md5(x::text)%s FROM x "
		 "WHERE $2::bigint[] IS NULL OR floor(x.id::numeric / $1::int)::bigint = ANY($2::bigint[]) ORDER BY x.id",
		 s->rows, xmin);
	return row_cursor_open(k, s->c, name, sql, !s->ids ? 2 : s->holders ? 4 : 3, p, err, errlen);
}

/* The rows of S whose legacy ids are IDS ('{..}'): id and row as JSON, in id order. */
static PGresult *side_json(const struct side *s, const char *ids, char *err, size_t errlen)
{
	char sql[16384], sz[24];
	const char *p[4] = {sz, ids, s->ids, s->holders};

	snprintf(sz, sizeof sz, "%d",
		 VERIFY_BUCKET); /* $1 unused here: typed so that the parameters stay those of side_rows_open */
	snprintf(sql, sizeof sql,
		 "WITH x AS (%s) SELECT x.id, to_jsonb(x)::text FROM x WHERE $1::int IS NOT NULL AND x.id = ANY($2::bigint[]) "
		 "ORDER BY x.id",
		 s->rows);
	return pgx_query(s->c, sql, !s->ids ? 2 : s->holders ? 4 : 3, p, err, errlen, NULL);
}

struct tally {
	FILE *out;              /* where the differing rows are named; NULL: nowhere */
	struct verify_ids *ids; /* where their legacy ids are collected; NULL: nowhere */
	int oom;
	long long rows_checked, missing, stray, differing, buckets, buckets_differing;
};

/* Append ID to the list *V of *N (capacity *CAP). 0, or -1 out of memory. */
static int push_id(long long **v, long long *n, long long *cap, long long id)
{
	if (*n == *cap) {
		long long c = *cap ? *cap * 2 : 256;
		long long *nv = realloc(*v, sizeof *nv * (size_t)c);
		if (!nv)
			return -1;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = id;
	return 0;
}

/* Append ID to the list *V of *N (capacity *CAP) of T's collection, if it collects. */
static void ids_add(struct tally *t, long long **v, long long *n, long long *cap, const char *id)
{
	if (t->ids && push_id(v, n, cap, strtoll(id, NULL, 10)) < 0)
		t->oom = 1;
}

/* Append ID, with its target row's md5 HASH and XMIN (NULL: not known), to the differing rows collected by T. */
static void differ_add(struct tally *t, const char *id, const char *hash, const char *xmin)
{
	struct verify_ids *v = t->ids;
	long long cap;

	if (!v)
		return;
	cap = v->capdiffer;
	ids_add(t, &v->differ, &v->ndiffer, &v->capdiffer, id);
	if (t->oom)
		return;
	if (v->capdiffer != cap || !v->differ_hash || !v->differ_xmin) {
		char(*nh)[33] = realloc(v->differ_hash, sizeof *nh * (size_t)v->capdiffer);
		char(*nx)[12] = nh ? realloc(v->differ_xmin, sizeof *nx * (size_t)v->capdiffer) : NULL;
		if (nh)
			v->differ_hash = nh;
		if (!nx) {
			v->ndiffer--;
			t->oom = 1;
			return;
		}
		v->differ_xmin = nx;
	}
	snprintf(v->differ_hash[v->ndiffer - 1], sizeof v->differ_hash[0], "%s", hash ? hash : "");
	snprintf(v->differ_xmin[v->ndiffer - 1], sizeof v->differ_xmin[0], "%s", xmin ? xmin : "");
}

void verify_ids_free(struct verify_ids *v)
{
	if (!v)
		return;
	free(v->missing);
	free(v->stray);
	free(v->differ);
	free(v->differ_hash);
	free(v->differ_xmin);
	*v = (struct verify_ids){0};
}

/* Compare the JSON rows A (expected) and B (target) of one legacy id: print the differing columns. */
static void diff_row(const char *phase, const char *id, const char *a, const char *b, int show, struct tally *t)
{
	json_t *x = json_loads(a, 0, NULL), *y = json_loads(b, 0, NULL);
	const char *k;
	json_t *v;
	int any = 0;

	json_object_foreach(x, k, v)
	{
		json_t *w = json_object_get(y, k);
		if (json_equal(v, w))
			continue;
		any = 1;
		if (show) {
			char *vs = json_dumps(v, JSON_ENCODE_ANY), *ws = w ? json_dumps(w, JSON_ENCODE_ANY) : NULL;
			if (t->out)
				fprintf(t->out, "%-19s %11s differs   %-16s expected %s, target %s\n", phase, id, k,
					vs ? vs : "?", ws ? ws : "null");
			free(vs);
			free(ws);
		} else {
			if (t->out)
				fprintf(t->out, "%-19s %11s differs   %s\n", phase, id, k);
		}
	}
	t->differing += any;
	if (any)
		differ_add(t, id, NULL, NULL);
	json_decref(x);
	json_decref(y);
}

/* Walk the rows of the legacy IDS ('{..}') on both sides (ascending ids) and name what differs. */
static int diff_named(const struct side *src, const struct side *tgt, const char *phase, const char *ids, int show,
		      struct tally *t, char *err, size_t errlen)
{
	PGresult *a = side_json(src, ids, err, errlen), *b = a ? side_json(tgt, ids, err, errlen) : NULL;
	int i = 0, j = 0;

	if (!a || !b) {
		PQclear(a);
		return -1;
	}
	while (i < PQntuples(a) || j < PQntuples(b)) {
		long long x = i < PQntuples(a) ? strtoll(PQgetvalue(a, i, 0), NULL, 10) : 0;
		long long y = j < PQntuples(b) ? strtoll(PQgetvalue(b, j, 0), NULL, 10) : 0;
		if (j >= PQntuples(b) || (i < PQntuples(a) && x < y)) {
			if (t->out)
				fprintf(t->out, "%-19s %11s missing   (expected in the target, not there)\n", phase,
					PQgetvalue(a, i, 0));
			t->missing++;
			if (t->ids)
				ids_add(t, &t->ids->missing, &t->ids->nmissing, &t->ids->capmissing,
					PQgetvalue(a, i, 0));
			i++;
		} else if (i >= PQntuples(a) || y < x) {
			if (t->out)
				fprintf(t->out,
					"%-19s %11s stray     (in the target, no legacy row should have become it)\n",
					phase, PQgetvalue(b, j, 0));
			t->stray++;
			if (t->ids)
				ids_add(t, &t->ids->stray, &t->ids->nstray, &t->ids->capstray, PQgetvalue(b, j, 0));
			j++;
		} else {
			if (strcmp(PQgetvalue(a, i, 1), PQgetvalue(b, j, 1)))
				diff_row(phase, PQgetvalue(a, i, 0), PQgetvalue(a, i, 1), PQgetvalue(b, j, 1), show, t);
			i++;
			j++;
		}
	}
	PQclear(a);
	PQclear(b);
	return 0;
}

/* IDS[FROM..TO) as a bigint[] literal (caller frees), or NULL with ERR (out of memory). */
static char *ids_array(const long long *ids, long long from, long long to, char *err, size_t errlen)
{
	struct strbuf lit = STRBUF_INIT;

	strbuf_putc(&lit, '{');
	for (long long k = from; k < to; k++)
		strbuf_printf(&lit, "%s%lld", k == from ? "" : ",", ids[k]);
	strbuf_putc(&lit, '}');
	if (lit.oom) {
		strbuf_free(&lit);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return strbuf_take(&lit);
}

/* Name the columns of the rows of IDS[0..N) (their hashes differ): a query per side per VERIFY_NAME_BATCH rows. */
static int name_differing(const struct side *src, const struct side *tgt, const char *phase, const long long *ids,
			  long long n, int show, struct tally *t, char *err, size_t errlen)
{
	for (long long i = 0; i < n; i += VERIFY_NAME_BATCH) {
		char *lit = ids_array(ids, i, i + VERIFY_NAME_BATCH < n ? i + VERIFY_NAME_BATCH : n, err, errlen);
		int rc = lit ? diff_named(src, tgt, phase, lit, show, t, err, errlen) : -1;
		free(lit);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Append ID with its expected hash HASH to the candidates (*IDS, *N of *CAP; *EXPECT alongside). 0, or -1 out of memory. */
static int candidate_add(long long **ids, long long *n, long long *cap, char (**expect)[33], long long id,
			 const char *hash)
{
	long long had = *cap;

	if (push_id(ids, n, cap, id) < 0)
		return -1;
	if (*cap != had || !*expect) {
		char(*ne)[33] = realloc(*expect, sizeof *ne * (size_t)*cap);
		if (!ne) {
			(*n)--;
			return -1;
		}
		*expect = ne;
	}
	snprintf((*expect)[*n - 1], sizeof(*expect)[0], "%s", hash);
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/*
 * The recorded side's candidates IDS[0..N) (ascending; EXPECT[i] the
 * expected hash of IDS[i]): each target row read back and hashed, with its
 * version, in one statement per VERIFY_CHECK_BATCH rows. A row whose hash is
 * the expected one is the same (its recorded hash is stale, or it has none);
 * the others differ, collected with that hash and version; a row gone from
 * the target since the cursor listed it is missing.
 */
static int check_candidates(const struct side *tgt, const long long *ids, char (*expect)[33], long long n,
			    struct tally *t, char *err, size_t errlen)
{
	char sql[16384];
	int unsorted = 0;

	/* TABLE and KEY come from the phase table, never from input */
	snprintf(sql, sizeof sql,
		 "WITH x AS (%s) SELECT x.id, md5(x::text), (SELECT r.xmin FROM public.%s r WHERE r.%s = x.id LIMIT 1)::text "
		 "FROM x WHERE x.id = ANY($1::bigint[]) ORDER BY x.id",
		 tgt->rows, tgt->table, tgt->key);
	for (long long i = 0; i < n; i += VERIFY_CHECK_BATCH) {
		long long end = i + VERIFY_CHECK_BATCH < n ? i + VERIFY_CHECK_BATCH : n, k = i;
		char *lit = ids_array(ids, i, end, err, errlen);
		const char *p[1] = {lit};
		PGresult *r = lit ? pgx_query(tgt->c, sql, 1, p, err, errlen, NULL) : NULL;

		free(lit);
		if (!r)
			return -1;
		for (int row = 0; row <= PQntuples(r); row++) {
			long long id = row < PQntuples(r) ? strtoll(PQgetvalue(r, row, 0), NULL, 10) : 0;
			for (; k < end && (row == PQntuples(r) || ids[k] < id); k++) { /* gone from the target */
				t->missing++;
				if (t->ids &&
				    push_id(&t->ids->missing, &t->ids->nmissing, &t->ids->capmissing, ids[k]) < 0)
					t->oom = 1;
				unsorted = 1;
			}
			if (row == PQntuples(r) || k >= end || ids[k] != id)
				continue;
			if (strcmp(PQgetvalue(r, row, 1), expect[k])) {
				t->differing++;
				differ_add(t, PQgetvalue(r, row, 0), PQgetvalue(r, row, 1), PQgetvalue(r, row, 2));
			}
			k++;
		}
		PQclear(r);
	}
	if (unsorted && t->ids) /* the missing ids stay ascending, as catch-up's plan walks them */
		qsort(t->ids->missing, (size_t)t->ids->nmissing, sizeof *t->ids->missing, cmp_id);
	return 0;
}

/* The bucket of legacy id ID: floor(id / VERIFY_BUCKET), as the SQL of --sample computes it. */
static long long bucket_of(long long id)
{
	return id >= 0 ? id / VERIFY_BUCKET : -((-id + VERIFY_BUCKET - 1) / VERIFY_BUCKET);
}

/*
 * Compare the rows of the BUCKETS ('{..}', NULL: every bucket): each side's
 * ids and md5s in one query, merged by id; a bucket differs if any of its
 * rows does (counted in T). Missing and stray rows are counted here; rows
 * whose hashes differ are collected with their target hash, or, when T names
 * rows (T->out), read as JSON to name their columns.
 */
static int drill_down(const struct side *src, const struct side *tgt, const char *phase, const char *buckets, int show,
		      struct tally *t, char *err, size_t errlen)
{
	struct row_cursor a = {0}, b = {0};
	long long *cand = NULL, ncand = 0, capcand = 0, bucket = 0;
	char(*expect)[33] = NULL; /* recorded: the expected hash of each candidate */
	int ha = 0, hb = 0, rc = -1, in_bucket = 0, bucket_differs = 0;

	if (side_rows_open(src, "mdw_verify_src", buckets, &a, err, errlen) < 0 ||
	    side_rows_open(tgt, "mdw_verify_tgt", buckets, &b, err, errlen) < 0)
		goto out;
	/* both servers compute their side at once (two connections: the legacy database and the target) */
	if (src->c != tgt->c && (row_cursor_start(&a, err, errlen) < 0 || row_cursor_start(&b, err, errlen) < 0))
		goto out;
	if ((ha = row_cursor_next(&a, err, errlen)) < 0 || (hb = row_cursor_next(&b, err, errlen)) < 0)
		goto out;
	while (ha > 0 || hb > 0) {
		long long x = ha > 0 ? strtoll(row_cursor_get(&a, 0), NULL, 10) : 0;
		long long y = hb > 0 ? strtoll(row_cursor_get(&b, 0), NULL, 10) : 0;
		long long here = bucket_of(hb <= 0 || (ha > 0 && x < y) ? x : y);
		if (!in_bucket || here != bucket) {
			t->buckets_differing += bucket_differs;
			t->buckets++;
			bucket = here;
			in_bucket = 1;
			bucket_differs = 0;
		}
		if (hb <= 0 || (ha > 0 && x < y)) {
			bucket_differs = 1;
			if (t->out)
				fprintf(t->out, "%-19s %11lld missing   (expected in the target, not there)\n", phase,
					x);
			t->missing++;
			if (t->ids)
				ids_add(t, &t->ids->missing, &t->ids->nmissing, &t->ids->capmissing,
					row_cursor_get(&a, 0));
			ha = row_cursor_next(&a, err, errlen);
		} else if (ha <= 0 || y < x) {
			bucket_differs = 1;
			if (t->out)
				fprintf(t->out,
					"%-19s %11lld stray     (in the target, no legacy row should have become it)\n",
					phase, y);
			t->stray++;
			if (t->ids)
				ids_add(t, &t->ids->stray, &t->ids->nstray, &t->ids->capstray, row_cursor_get(&b, 0));
			hb = row_cursor_next(&b, err, errlen);
		} else {
			if (strcmp(row_cursor_get(&a, 1), row_cursor_get(&b, 1))) {
				bucket_differs = 1;
				if (tgt->recorded) {
					if (candidate_add(&cand, &ncand, &capcand, &expect, x, row_cursor_get(&a, 1)) <
					    0) {
						snprintf(err, errlen, "out of memory");
						goto out;
					}
				} else if (!t->out) {
					t->differing++;
					differ_add(t, row_cursor_get(&b, 0), row_cursor_get(&b, 1),
						   tgt->table ? row_cursor_get(&b, 2) : NULL);
				} else if (push_id(&cand, &ncand, &capcand, x) < 0) {
					snprintf(err, errlen, "out of memory");
					goto out;
				}
			}
			ha = row_cursor_next(&a, err, errlen);
			hb = row_cursor_next(&b, err, errlen);
		}
		if (ha < 0 || hb < 0)
			goto out;
	}
	t->buckets_differing += bucket_differs;
	row_cursor_close(&b);
	row_cursor_close(&a);
	rc = tgt->recorded ? check_candidates(tgt, cand, expect, ncand, t, err, errlen)
			   : name_differing(src, tgt, phase, cand, ncand, show, t, err, errlen);
out:
	row_cursor_close(&b);
	row_cursor_close(&a);
	free(cand);
	free(expect);
	return rc;
}

/* The single value of R as a new string (R is cleared). */
static char *first_value(PGresult *r, char *err, size_t errlen)
{
	char *s = strdup(PQgetvalue(r, 0, 0));

	PQclear(r);
	if (!s)
		snprintf(err, errlen, "out of memory");
	return s;
}

/* The legacy ids of PHASE expected absent from the target: rejected and not placed since, or merged. */
static char *absent_ids(PGconn *tgt, enum mdw_phase_id ph, int merges, char *err, size_t errlen)
{
	char placed[256], sql[1024];
	const char *p[1] = {mdw_phases[ph].name};
	PGresult *r;

	criteria_placed(ph, placed, sizeof placed);
	snprintf(sql, sizeof sql,
		 "SELECT coalesce(array_agg(DISTINCT legacy_id)::text, '{}') FROM (SELECT j.legacy_id FROM mdw.rejects j "
		 "WHERE j.phase = $1 AND NOT %s%s) z",
		 placed, merges ? " UNION ALL SELECT legacy_id FROM mdw.merges WHERE phase = $1" : "");
	if (!(r = pgx_query(tgt, sql, 1, p, err, errlen, NULL)))
		return NULL;
	return first_value(r, err, errlen);
}

/* --sample N: N distinct buckets of the legacy table's ids, drawn at random (*OF: how many it has). */
static char *sample_buckets(PGconn *src, const struct verify_spec *v, long long n, long long *of, char *err,
			    size_t errlen)
{
	char sql[512], sz[24], nn[24], *s;
	const char *p[2] = {sz, nn};
	PGresult *r;

	snprintf(sz, sizeof sz, "%d", VERIFY_BUCKET);
	snprintf(nn, sizeof nn, "%lld", n);
	snprintf(sql, sizeof sql,
		 "SELECT count(*), coalesce(array_agg(b ORDER BY b) FILTER (WHERE k <= $2::bigint)::text, '{}') FROM "
		 "(SELECT b, row_number() OVER (ORDER BY random()) AS k FROM "
		 "(SELECT DISTINCT floor(id::numeric / $1::int)::bigint AS b FROM public.%s) d) z",
		 mdw_phases[v->phase].source);
	if (!(r = pgx_query(src, sql, 2, p, err, errlen, NULL)))
		return NULL;
	*of = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	if (!(s = strdup(PQgetvalue(r, 0, 1))))
		snprintf(err, errlen, "out of memory");
	PQclear(r);
	return s;
}

/* Whether the target records the rows' hashes (mdw.row_hashes, sql/target/008): 1 yes, 0 no (-1: the query failed, the same). */
static int recorded_ok(PGconn *tgt, char *err, size_t errlen)
{
	PGresult *r = pgx_query(tgt, "SELECT to_regclass('mdw.row_hashes') IS NOT NULL", 0, NULL, err, errlen, NULL);
	int ok = r && !strcmp(PQgetvalue(r, 0, 0), "t");

	PQclear(r);
	return r ? ok : -1;
}

/* verify_phase, collecting the ids of the rows that differ into COLLECT (NULL: no list). */
static int verify_run(PGconn *srcc, PGconn *tgtc, enum mdw_phase_id ph, FILE *out, int show, long long sample,
		      struct verify_ids *collect, char *summary, size_t slen, char *err, size_t errlen)
{
	const struct verify_spec *v = verify_spec_find(ph);
	const char *phase = mdw_phases[ph].name;
	char *ids = NULL, *holders = NULL, *buckets = NULL, scope[64] = "";
	struct side src, tgt;
	struct tally t = {.out = out, .ids = collect};
	int rc = -1;

	if (!v) {
		snprintf(summary, slen, "no row-level verification for this phase yet");
		return 2;
	}
	if (!(ids = absent_ids(tgtc, ph, v->merges_absent, err, errlen)))
		goto out;
	if (v->holders) {
		PGresult *r = pgx_query(tgtc, v->holders, 0, NULL, err, errlen, NULL);
		if (!r || !(holders = first_value(r, err, errlen)))
			goto out;
	}
	if (sample > 0) {
		long long of = 0;
		if (!(buckets = sample_buckets(srcc, v, sample, &of, err, errlen)))
			goto out;
		if (out)
			fprintf(out, "%-19s sample: buckets %s of %lld, drawn at random\n", phase, buckets, of);
		snprintf(scope, sizeof scope, "sample of %lld of %lld buckets: ", sample < of ? sample : of, of);
	}
	src = (struct side){srcc, v->source, ids, holders, NULL, NULL, NULL};
	/* collecting for a catch-up: each target row's version too (its table's own rows; a mapping has none) */
	tgt = (struct side){tgtc,
			    v->target,
			    NULL,
			    NULL,
			    collect && !mdw_phases[ph].mapping && mdw_phases[ph].legacy_col ? mdw_phases[ph].target
											    : NULL,
			    mdw_phases[ph].legacy_col,
			    NULL};
	/*
	 * Collecting for a catch-up, a phase whose target side is its table's
	 * own rows (none merged into another read back): the target side is
	 * each row's legacy id and the hash recorded when the migration last
	 * wrote it, not the row read back. A legacy row whose expected hash is
	 * that one has not changed since, and needs no catch-up, whatever the
	 * application did to its target row; only the others (candidates) are
	 * read back and hashed, by id (check_candidates).
	 */
	if (tgt.table && v->merges_absent && recorded_ok(tgtc, err, errlen) == 1)
		tgt.recorded = phase;
	if (drill_down(&src, &tgt, phase, buckets, show, &t, err, errlen) < 0)
		goto out;
	if (t.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(summary, slen, "%s%lld buckets of %d ids, %lld differ: %lld rows missing, %lld stray, %lld differing",
		 scope, t.buckets, VERIFY_BUCKET, t.buckets_differing, t.missing, t.stray, t.differing);
	rc = t.missing + t.stray + t.differing ? 1 : 0;
out:
	free(ids);
	free(holders);
	free(buckets);
	return rc;
}

int verify_phase(PGconn *src, PGconn *tgt, enum mdw_phase_id ph, FILE *out, int show, long long sample, char *summary,
		 size_t slen, char *err, size_t errlen)
{
	return verify_run(src, tgt, ph, out, show, sample, NULL, summary, slen, err, errlen);
}

int verify_collect(PGconn *src, PGconn *tgt, enum mdw_phase_id ph, struct verify_ids *ids, char *summary, size_t slen,
		   char *err, size_t errlen)
{
	*ids = (struct verify_ids){0};
	return verify_run(src, tgt, ph, NULL, 0, 0, ids, summary, slen, err, errlen);
}
