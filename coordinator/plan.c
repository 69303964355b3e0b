/* The plan of a run, writing nothing (see plan.h). */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catchup.h"
#include "coord.h"
#include "mdw/embed_local.h"
#include "mdw/embed_text.h"
#include "mdw/ledger.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "plan.h"
#include "planner.h"

struct phase_plan {
	long long source_rows;            /* legacy rows (embeddings: target entities) */
	long long chunks, rows;           /* what the run would plan (full, or incremental with --incremental) */
	long long full_chunks, full_rows; /* a full run */
	long long incr_chunks, incr_rows; /* an incremental run */
	long long migrated;               /* source rows an incremental run would not read again */
	double rate;                      /* rows per second of the last runs; 0 = no history */
	double time_s;                    /* -1 = unknown */
};

struct embed_plan {
	int exact; /* texts built from the target; else estimated from the legacy rows */
	char basis[512];
	long long texts, distinct, held, tokens, new_tokens, requests;
	double time_s, cost;
};

struct th {
	char hash[65];
	long long tokens;
};

static long long q_ll(PGconn *c, const char *sql, int n, const char *const *p, int col, char *err, size_t errlen,
		      int *ok)
{
	PGresult *r = pgx_query(c, sql, n, p, err, errlen, NULL);
	long long v = 0;

	if (!r) {
		*ok = 0;
		return 0;
	}
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, col))
		v = strtoll(PQgetvalue(r, 0, col), NULL, 10);
	PQclear(r);
	return v;
}

/* The phases complete in some run (bit mask); 0 without a ledger. */
static unsigned complete_phases(PGconn *tgt, int have_ledger, char *err, size_t errlen, int *ok)
{
	unsigned m = 0;
	PGresult *r;

	if (!have_ledger)
		return 0;
	if (ledger_complete_phases(tgt, &r, err, errlen) < 0) {
		*ok = 0;
		return 0;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		const struct mdw_phase *ph = mdw_phase_find(PQgetvalue(r, i, 0));
		if (ph)
			m |= MDW_PH_BIT(ph->id);
	}
	PQclear(r);
	return m;
}

/* Rows per second of PHASE over its last three runs (first chunk start to last chunk end); 0 = none. */
static double phase_rate(PGconn *tgt, const char *phase, char *err, size_t errlen, int *ok)
{
	double n, s;

	if (ledger_phase_rate(tgt, phase, &n, &s, err, errlen) < 0) {
		*ok = 0;
		return 0;
	}
	return s > 0 ? n / s : 0;
}

/*
 * In the catch-up plan CU (NULL: none), the rows PHASE's catch-up would
 * update or insert into *ROWS, and its chunks of up to CHUNK_ROWS listed ids
 * each into *CHUNKS: 1, or 0 if CU has no counts for PHASE.
 */
static int catchup_rows(json_t *cu, enum mdw_phase_id ph, long long chunk_rows, long long *chunks, long long *rows)
{
	json_t *o = cu ? json_object_get(cu, mdw_phases[ph].name) : NULL;
	json_t *u = json_object_get(o, "update"), *i = json_object_get(o, "insert");

	if (!json_is_integer(u) || !json_is_integer(i))
		return 0;
	*rows = (long long)(json_integer_value(u) + json_integer_value(i));
	*chunks = chunk_rows > 0 ? (*rows + chunk_rows - 1) / chunk_rows : *rows;
	return 1;
}

/* One walk of PHASE in the given mode: its chunks and rows; with HASHES, the texts of the embeddings. */
static int walk_counts(struct coord *c, enum mdw_phase_id ph, int incremental, long long *chunks, long long *rows,
		       struct plan *out, enum mdw_part **parts, char *err, size_t errlen)
{
	struct plan p = {0};
	enum mdw_part *pp = NULL;
	int rc;

	c->cfg.incremental = incremental;
	rc = coord_walk(c, ph, &p, &pp, err, errlen);
	*chunks = p.n;
	*rows = p.rows;
	if (rc == 0 && out) {
		*out = p;
		*parts = pp;
		return 0;
	}
	plan_free(&p);
	free(pp);
	return rc;
}

static int cmp_th(const void *a, const void *b)
{
	return strcmp(((const struct th *)a)->hash, ((const struct th *)b)->hash);
}

/* Of the sorted distinct T[0..n), how many ai_embeddings holds, and the tokens of the others. */
static int held_hashes(PGconn *tgt, const struct th *t, long long n, long long *held, long long *new_tokens, char *err,
		       size_t errlen)
{
	for (long long at = 0; at < n; at += 1000) {
		long long m = n - at < 1000 ? n - at : 1000;
		char *arr = malloc((size_t)m * 66 + 3), *w = arr;
		const char *p[1] = {arr};
		PGresult *r;
		unsigned char *hit;

		if (!arr) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		*w++ = '{';
		for (long long i = 0; i < m; i++)
			w += sprintf(w, "%s%s", i ? "," : "", t[at + i].hash);
		*w++ = '}';
		*w = 0;
		r = pgx_query(tgt, "SELECT sha256_hash FROM public.ai_embeddings WHERE sha256_hash = ANY($1::text[])",
			      1, p, err, errlen, NULL);
		free(arr);
		if (!r)
			return -1;
		hit = calloc((size_t)m, 1);
		if (!hit) {
			PQclear(r);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		for (int i = 0; i < PQntuples(r); i++) {
			struct th key;
			const struct th *f;
			snprintf(key.hash, sizeof key.hash, "%s", PQgetvalue(r, i, 0));
			f = bsearch(&key, t + at, (size_t)m, sizeof *t, cmp_th);
			if (f)
				hit[f - (t + at)] = 1;
		}
		PQclear(r);
		for (long long i = 0; i < m; i++) {
			*held += hit[i];
			if (!hit[i])
				*new_tokens += t[at + i].tokens;
		}
		free(hit);
	}
	return 0;
}

/* The texts of the embeddings chunks of P (parts PARTS), built as the worker builds them. */
static int embed_exact(struct coord *c, const struct plan *p, const enum mdw_part *parts, struct embed_plan *e,
		       char *err, size_t errlen)
{
	const char *model = strcmp(c->cfg.embed_provider, "local") == 0 ? EMBED_LOCAL_MODEL : c->cfg.embed_model;
	struct th *t = NULL;
	long long nt = 0, cap = 0;
	int rc = -1;

	for (int i = 0; i < p->n; i++) {
		char lo[24], hi[24], sql[4096];
		const char *q[3] = {lo, hi, mdw_parts[parts[i]].name};
		PGresult *r;

		snprintf(lo, sizeof lo, "%lld", p->chunks[i].lo);
		snprintf(hi, sizeof hi, "%lld", p->chunks[i].hi);
		/* the worker leaves a link that existed before the migration as it is: no text to pay for */
		snprintf(sql, sizeof sql,
			 "SELECT x.id, x.practice_id, x.text, EXISTS (SELECT 1 FROM public.ai_embedding_sources s "
			 "WHERE s.content_type = $3 AND s.content_id = x.id AND s.mdw_run_id IS NULL) "
			 "FROM (%s) AS x(id, practice_id, text)",
			 embed_text_sql(parts[i], c->cfg.embed_identifiers));
		if (!(r = pgx_query(c->tgt, sql, 3, q, err, errlen, NULL)))
			goto out;
		e->texts += PQntuples(r);
		for (int k = 0; k < PQntuples(r); k++) {
			const char *text = PQgetvalue(r, k, 2);
			size_t len = embed_truncate(text, (size_t)PQgetlength(r, k, 2), EMBED_TITAN_MAX_CHARS,
						    EMBED_TITAN_MAX_TOKENS, NULL);
			if (PQgetvalue(r, k, 3)[0] == 't')
				continue;
			if (nt == cap) {
				struct th *g = realloc(t, sizeof *t * (size_t)(cap = cap ? cap * 2 : 1024));
				if (!g) {
					PQclear(r);
					snprintf(err, errlen, "out of memory");
					goto out;
				}
				t = g;
			}
			if (embed_hash(model, MDW_EMBED_DIMS, text, len, t[nt].hash) < 0) {
				PQclear(r);
				snprintf(err, errlen, "hashing failed");
				goto out;
			}
			t[nt++].tokens = (long long)embed_tokens_est(text, len);
		}
		PQclear(r);
	}
	qsort(t, (size_t)nt, sizeof *t, cmp_th);
	for (long long i = 0; i < nt; i++)
		if (e->distinct == 0 || strcmp(t[e->distinct - 1].hash, t[i].hash))
			t[e->distinct++] = t[i];
	for (long long i = 0; i < e->distinct; i++)
		e->tokens += t[i].tokens;
	if (held_hashes(c->tgt, t, e->distinct, &e->held, &e->new_tokens, err, errlen) < 0)
		goto out;
	e->exact = 1;
	snprintf(e->basis, sizeof e->basis,
		 "exact: the texts the workers would build from the target's patients, cases and projects, hashed with "
		 "model %s",
		 model);
	rc = 0;
out:
	free(t);
	return rc;
}

/*
 * Before patients, cases and projects are migrated: the texts estimated from
 * the legacy rows. Texts: one per legacy patient and project and per project
 * as a case (an upper bound: rejected rows get none); distinct: patients
 * counted as all distinct, cases by distinct (type, status, notes), projects
 * by distinct (type, name); tokens: the limiter's rule (bytes / 4) over the
 * legacy columns the texts are made of plus their fixed wording.
 */
static int embed_estimate(struct coord *c, struct embed_plan *e, char *err, size_t errlen)
{
	PGresult *r =
		pgx_query(c->src,
			  "SELECT (SELECT count(*) FROM public.dispatch_patient), "
			  "(SELECT coalesce(sum(ceil((70 + octet_length(coalesce(p.status::text, '')) + coalesce(k.b, 0)) / 4.0)), 0) "
			  " FROM public.dispatch_patient p LEFT JOIN (SELECT patient_id, sum(octet_length(coalesce(type::text, '')) "
			  " + octet_length(coalesce(status::text, '')) + 6) AS b FROM public.dispatch_project GROUP BY patient_id) k "
			  " ON k.patient_id = p.id), "
			  "(SELECT count(*) FROM public.dispatch_project), "
			  "(SELECT count(*) FROM (SELECT DISTINCT type, status, notes FROM public.dispatch_project) d), "
			  "(SELECT coalesce(sum(ceil((45 + octet_length(coalesce(type::text, '')) + octet_length(coalesce(status::text, "
			  "'')) + least(octet_length(coalesce(notes, '')), 4 * 8192)) / 4.0)), 0) FROM public.dispatch_project), "
			  "(SELECT count(*) FROM (SELECT DISTINCT type, name FROM public.dispatch_project) d), "
			  "(SELECT coalesce(sum(ceil((18 + octet_length(coalesce(type::text, '')) + octet_length(coalesce(name, ''))) "
			  "/ 4.0)), 0) FROM public.dispatch_project)",
			  0, NULL, err, errlen, NULL);
	long long v[7];

	if (!r)
		return -1;
	for (int i = 0; i < 7; i++)
		v[i] = strtoll(PQgetvalue(r, 0, i), NULL, 10);
	PQclear(r);
	e->texts = v[0] + 2 * v[2];
	e->distinct = v[0] + v[3] + v[5];
	e->tokens = v[1] + v[4] + v[6];
	e->new_tokens = e->tokens;
	e->held = 0;
	snprintf(e->basis, sizeof e->basis,
		 "estimate: patients, cases and projects are not migrated yet, so the texts cannot be built; counted "
		 "from the legacy rows (dispatch_patient, dispatch_project as cases and as projects: an upper bound, "
		 "rejected rows get no text), distinct by the legacy columns the texts are made of (patients all "
		 "distinct), tokens by the limiter's rule (bytes / 4) over those columns and the texts' fixed wording, "
		 "none held by the target");
	return 0;
}

static void embed_cost(const struct mdw_config *cfg, struct embed_plan *e)
{
	double by_req, by_tok;

	e->requests = e->distinct - e->held; /* one text per request (Bedrock InvokeModel) */
	by_req = (double)e->requests / (double)cfg->rate_rpm;
	by_tok = (double)e->new_tokens / (double)cfg->rate_tpm;
	e->time_s = 60.0 * (by_req > by_tok ? by_req : by_tok);
	e->cost = (double)e->new_tokens / 1000.0 * cfg->embed_price_per_1k;
}

static void fmt_time(double s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "unknown");
	else if (s < 120)
		snprintf(buf, len, "%.1f s", s);
	else if (s < 7200)
		snprintf(buf, len, "%.1f min", s / 60);
	else
		snprintf(buf, len, "%.1f h", s / 3600);
}

static void print_table(const struct mdw_config *cfg, unsigned sel, const struct phase_plan *pp,
			const struct embed_plan *e, long long resume_run, long long resume_left, double total_s)
{
	char t[32];

	printf("plan (writes nothing): %s run, chunk rows %lld, embed batch %lld\n",
	       cfg->catch_up      ? "a catch-up"
	       : cfg->incremental ? "an incremental"
				  : "a full",
	       cfg->chunk_rows, cfg->embed_batch);
	if (resume_run)
		printf("note: run %lld is unfinished: mdw-coordinator without --new-run resumes it (%lld chunks not done)\n",
		       resume_run, resume_left);
	printf("%-20s %12s %8s %12s %12s %8s %12s %10s %10s\n", "phase", "source_rows", "chunks", "rows", "migrated",
	       "incr_chk", "incr_rows", "rows/s", "time");
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		if (!(sel & MDW_PH_BIT(ph)))
			continue;
		fmt_time(pp[ph].time_s, t, sizeof t);
		printf("%-20s %12lld %8lld %12lld %12lld %8lld %12lld %10.0f %10s\n", mdw_phases[ph].name,
		       pp[ph].source_rows, pp[ph].chunks, pp[ph].rows, pp[ph].migrated, pp[ph].incr_chunks,
		       pp[ph].incr_rows, pp[ph].rate, t);
	}
	if (sel & MDW_PH_BIT(MDW_PH_EMBEDDINGS)) {
		fmt_time(e->time_s, t, sizeof t);
		printf("\nembeddings (%s, provider %s): texts %lld, distinct %lld, held by the target %lld (free), "
		       "to embed %lld\n",
		       e->exact ? "exact" : "ESTIMATE", cfg->embed_provider, e->texts, e->distinct, e->held,
		       e->requests);
		printf("  tokens %lld (to pay for: %lld); at %lld requests/min and %lld tokens/min: %s; cost at $%g per "
		       "1,000 tokens: $%.4f\n",
		       e->tokens, e->new_tokens, cfg->rate_rpm, cfg->rate_tpm, t, cfg->embed_price_per_1k, e->cost);
		printf("  basis: %s\n", e->basis);
	}
	fmt_time(total_s, t, sizeof t);
	printf("\ntotal time (phases in sequence, where known): %s%s\n", t,
	       cfg->source_rows_per_s ? " (bounded by MDW_SOURCE_ROWS_PER_S)" : "");
}

static int print_json(const struct mdw_config *cfg, unsigned sel, const struct phase_plan *pp,
		      const struct embed_plan *e, long long resume_run, long long resume_left, double total_s,
		      json_t *catch_up)
{
	json_t *root = json_object(), *arr = json_array();
	char *s;

	if (catch_up)
		json_object_set(root, "catch_up", catch_up);

	json_object_set_new(root, "incremental", json_boolean(cfg->incremental || cfg->catch_up));
	json_object_set_new(root, "chunk_rows", json_integer(cfg->chunk_rows));
	json_object_set_new(root, "embed_batch", json_integer(cfg->embed_batch));
	json_object_set_new(root, "resume_run", resume_run ? json_integer(resume_run) : json_null());
	json_object_set_new(root, "resume_chunks_left", json_integer(resume_left));
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		json_t *o;
		if (!(sel & MDW_PH_BIT(ph)))
			continue;
		o = json_object();
		json_object_set_new(o, "phase", json_string(mdw_phases[ph].name));
		json_object_set_new(o, "source_rows", json_integer(pp[ph].source_rows));
		json_object_set_new(o, "chunks", pp[ph].chunks >= 0 ? json_integer(pp[ph].chunks) : json_null());
		json_object_set_new(o, "rows", pp[ph].rows >= 0 ? json_integer(pp[ph].rows) : json_null());
		json_object_set_new(o, "full_chunks", json_integer(pp[ph].full_chunks));
		json_object_set_new(o, "full_rows", json_integer(pp[ph].full_rows));
		json_object_set_new(o, "migrated", json_integer(pp[ph].migrated));
		json_object_set_new(o, "incremental_chunks", json_integer(pp[ph].incr_chunks));
		json_object_set_new(o, "incremental_rows", json_integer(pp[ph].incr_rows));
		json_object_set_new(o, "rows_per_s", pp[ph].rate > 0 ? json_real(pp[ph].rate) : json_null());
		json_object_set_new(o, "time_s", pp[ph].time_s >= 0 ? json_real(pp[ph].time_s) : json_null());
		if (ph == MDW_PH_EMBEDDINGS) {
			json_t *x = json_object();
			json_object_set_new(x, "exact", json_boolean(e->exact));
			json_object_set_new(x, "basis", json_string(e->basis));
			json_object_set_new(x, "provider", json_string(cfg->embed_provider));
			json_object_set_new(x, "texts", json_integer(e->texts));
			json_object_set_new(x, "distinct", json_integer(e->distinct));
			json_object_set_new(x, "held", json_integer(e->held));
			json_object_set_new(x, "requests", json_integer(e->requests));
			json_object_set_new(x, "tokens", json_integer(e->tokens));
			json_object_set_new(x, "new_tokens", json_integer(e->new_tokens));
			json_object_set_new(x, "rate_rpm", json_integer(cfg->rate_rpm));
			json_object_set_new(x, "rate_tpm", json_integer(cfg->rate_tpm));
			json_object_set_new(x, "time_at_quota_s", json_real(e->time_s));
			json_object_set_new(x, "price_per_1k_usd", json_real(cfg->embed_price_per_1k));
			json_object_set_new(x, "cost_usd", json_real(e->cost));
			json_object_set_new(o, "embeddings", x);
		}
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "phases", arr);
	json_object_set_new(root, "total_time_s", total_s >= 0 ? json_real(total_s) : json_null());
	s = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (!s)
		return -1;
	printf("%s\n", s);
	free(s);
	return 0;
}

/* A phase's source rows: its legacy table, or for the embeddings the three target tables. */
static long long source_rows(struct coord *c, enum mdw_phase_id ph, int have_app, char *err, size_t errlen, int *ok)
{
	char sql[256];
	long long n = 0;

	if (ph != MDW_PH_EMBEDDINGS) {
		/* the table comes from the phase table, never from input */
		snprintf(sql, sizeof sql, "SELECT count(*) FROM public.%s", mdw_phases[ph].source);
		return q_ll(c->src, sql, 0, NULL, 0, err, errlen, ok);
	}
	for (int pt = 1; have_app && pt < MDW_NPARTS; pt++) {
		snprintf(sql, sizeof sql, "SELECT count(*) FROM public.%s", mdw_part_table(pt));
		n += q_ll(c->tgt, sql, 0, NULL, 0, err, errlen, ok);
	}
	return n;
}

int plan_print(struct mdw_config *cfg)
{
	struct coord c;
	struct phase_plan pp[MDW_NPHASES];
	struct embed_plan e;
	struct plan ep = {0};
	enum mdw_part *eparts = NULL;
	char err[512];
	unsigned sel = 0, done_before;
	/* a catch-up is an incremental run: its phases' rows are the incremental ones (the catch-up's own) */
	int ok = 1, have_ledger = 0, have_app, incremental = cfg->incremental || cfg->catch_up, code = 1;
	long long resume_run = 0, resume_left = 0;
	double total_s = 0;
	json_t *cu = NULL;

	memset(&c, 0, sizeof c);
	memset(pp, 0, sizeof pp);
	memset(&e, 0, sizeof e);
	c.cfg = *cfg;       /* borrowed strings: not freed here */
	c.cfg.catch_up = 0; /* a catch-up's walk records what it finds: its plan is catchup_plan's, below */
	if (mdw_phase_parse_list(cfg->phases, &sel, err, sizeof err) < 0) {
		fprintf(stderr, "plan: invalid MDW_PHASES/--phases: %s\n", err);
		return 2;
	}
	/* read-only sessions on both databases: a plan writes nothing */
	if (!(c.tgt = pgx_connect_source(cfg->target_dsn, "mdw-plan", 0, err, sizeof err)) ||
	    !(c.src = pgx_connect_source(cfg->source_dsn, "mdw-plan", cfg->source_statement_timeout_ms, err,
					 sizeof err))) {
		fprintf(stderr, "plan: cannot connect to the %s database: %s\n", c.tgt ? "legacy" : "target", err);
		goto out;
	}
	if (ledger_present(c.tgt, &have_ledger, err, sizeof err) < 0)
		ok = 0;
	have_app =
		q_ll(c.tgt,
		     "SELECT (to_regclass('public.patients') IS NOT NULL AND to_regclass('public.ai_embeddings') IS NOT NULL "
		     "AND to_regclass('public.ai_embedding_sources') IS NOT NULL)::int",
		     0, NULL, 0, err, sizeof err, &ok) > 0;
	done_before = complete_phases(c.tgt, have_ledger, err, sizeof err, &ok);
	if (ok && have_ledger && !cfg->new_run &&
	    ledger_resumable_run(c.tgt, &resume_run, &resume_left, err, sizeof err) < 0)
		ok = 0;
	/* a catch-up's rows are what its comparison finds (the incremental walk by updated_at is not its plan) */
	if (ok && cfg->catch_up &&
	    !(cu = catchup_plan(cfg, c.src, c.tgt, sel, have_ledger && have_app, err, sizeof err)))
		goto fail;
	for (int ph = 0; ok && ph < MDW_NPHASES; ph++) {
		struct phase_plan *p = &pp[ph];
		int emb = ph == MDW_PH_EMBEDDINGS;
		if (!(sel & MDW_PH_BIT(ph)))
			continue;
		p->source_rows = source_rows(&c, (enum mdw_phase_id)ph, have_app, err, sizeof err, &ok);
		if (!ok)
			break;
		if (!emb || have_app) {
			if (walk_counts(&c, (enum mdw_phase_id)ph, 0, &p->full_chunks, &p->full_rows,
					emb && !incremental ? &ep : NULL, &eparts, err, sizeof err) < 0)
				goto fail;
			if (!have_ledger) {
				p->incr_chunks = p->full_chunks; /* no run yet: everything is due */
				p->incr_rows = p->full_rows;
			} else if (catchup_rows(cu, (enum mdw_phase_id)ph, cfg->chunk_rows, &p->incr_chunks,
						&p->incr_rows)) {
				/* the rows the catch-up would update or insert */
			} else if (walk_counts(&c, (enum mdw_phase_id)ph, 1, &p->incr_chunks, &p->incr_rows,
					       emb && incremental ? &ep : NULL, &eparts, err, sizeof err) < 0) {
				goto fail;
			}
		}
		p->chunks = incremental ? p->incr_chunks : p->full_chunks;
		p->rows = incremental ? p->incr_rows : p->full_rows;
		p->migrated = p->source_rows > p->incr_rows ? p->source_rows - p->incr_rows : 0;
		p->rate = have_ledger ? phase_rate(c.tgt, mdw_phases[ph].name, err, sizeof err, &ok) : 0;
		p->time_s = p->rate > 0 ? (double)p->rows / p->rate : p->rows == 0 ? 0 : -1;
		if (!emb && cfg->source_rows_per_s > 0 && (double)p->rows / (double)cfg->source_rows_per_s > p->time_s)
			p->time_s = (double)p->rows / (double)cfg->source_rows_per_s;
		if (emb) {
			unsigned texts_from =
				MDW_PH_BIT(MDW_PH_PATIENTS) | MDW_PH_BIT(MDW_PH_CASES) | MDW_PH_BIT(MDW_PH_PROJECTS);
			if (have_app && (done_before & texts_from) == texts_from) {
				if (embed_exact(&c, &ep, eparts, &e, err, sizeof err) < 0)
					goto fail;
			} else if (embed_estimate(&c, &e, err, sizeof err) < 0) {
				goto fail;
			} else {
				p->chunks = p->rows = -1; /* not known before the texts' rows exist */
			}
			embed_cost(cfg, &e);
			if (e.time_s > p->time_s)
				p->time_s = e.time_s;
		}
		if (p->time_s < 0 || total_s < 0)
			total_s = -1;
		else
			total_s += p->time_s;
	}
	if (!ok)
		goto fail;
	if (!cfg->json) {
		print_table(cfg, sel, pp, &e, resume_run, resume_left, total_s);
		if (cu)
			catchup_plan_print(cu);
	} else if (print_json(cfg, sel, pp, &e, resume_run, resume_left, total_s, cu) < 0) {
		goto fail;
	}
	code = 0;
	goto out;
fail:
	fprintf(stderr, "plan: %s\n", err);
out:
	json_decref(cu);
	plan_free(&ep);
	free(eparts);
	if (c.src)
		PQfinish(c.src);
	if (c.tgt)
		PQfinish(c.tgt);
	return code;
}
