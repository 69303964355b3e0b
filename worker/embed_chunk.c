/*
 * The embeddings phase's chunk: one kind of entity (patient, case, project)
 * over a range of target ids.
 *
 *  1. Outside any transaction: build each entity's text (clinical content
 *     only: no names, birth dates or emails), cut it to the model's limits,
 *     hash it (model, dimensions, text), and find the hashes that
 *     ai_embeddings lacks. Claim each missing hash in Redis (SET NX with the
 *     lease) so that two workers never pay for the same text; embed the
 *     claimed ones and commit them at once (an embedding is content-addressed
 *     and paid for: it is kept even if the chunk fails later); wait for the
 *     ones claimed by others to appear (or take over their expired claims).
 *  2. In the chunk's ledger transaction: link every entity to its hash in
 *     ai_embedding_sources with its practice, write rejects, record counts.
 *
 * Outcomes per entity: inserted (this chunk embedded its text), existing
 * (its link already held this hash, or it has a link that existed before the
 * migration: mdw_run_id NULL, never changed, so a rollback keeps it), merged
 * (its text was already embedded: deduplicated), rejected (the provider
 * refused the text).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "chunk.h"
#include "copy_binary.h"
#include "embed_claims.h"
#include "mdw/embed_text.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "mdw/queue.h"
#include "mdw/rds.h"
#include "provider.h"

#define CLAIM_POLL_MS 25 /* how often a text claimed by another worker is looked for */

struct entity {
	long long id;
	const char *practice; /* text or NULL, points into the result */
	const char *text;
	size_t len;
	char hash[65];
	int cut;
	int rejected;
	int foreign; /* its link existed before the migration: left as it is, counted existing */
	char why[256];
};

struct ejob {
	struct chunk_ctx *ctx;
	const struct mdw_chunk *c;
	PGresult *rows;
	struct entity *e;
	int n;
	char **missing; /* distinct hashes absent from ai_embeddings */
	int nmissing;
	unsigned char *embedded_here; /* per missing hash: embedded by this chunk */
	char run[24];
	char **held; /* the claims this chunk holds (NULL entries released), refreshed by claims_timer */
	int nheld;
	ev_timer claims_timer;
	/* per-chunk scratch of step 1 and 2 (sized for nmissing), freed in one place: ejob_free */
	unsigned char *present;     /* per missing hash: in ai_embeddings now */
	int *todo;                  /* the missing hashes claimed by this chunk in this round (indexes) */
	char **todo_hash;           /* their hashes, the claims held (j->held) */
	char **claimed;             /* the hashes claimed, to look for again */
	unsigned char *now_present; /* of those, the ones another worker stored meanwhile */
	struct embed_item *items;   /* this round's texts for the provider, and its answers */
	unsigned char *stored;      /* per item: inserted by this chunk */
	char **first;               /* per missing hash embedded here: the first entity linked to it */
	/* where the chunk's time went (s), for the debug line "embedding chunk steps" */
	double t_provider, t_store, t_wait;
	int calls;
};

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void touch(struct ejob *j)
{
	if (j->ctx->touch)
		j->ctx->touch(j->ctx->touch_arg);
}

/*
 * The outcome of a step of this chunk kind that failed with ERR (TRANSIENT
 * from pgx, Redis or the provider): not now when the target refuses writes
 * (read-only, disk full: the chunk is given back uncounted, as the relational
 * kind's is; the texts it embedded and could not store are embedded again), else
 * retry, or a failed attempt. (A lock timeout keeps the outcome pgx gave it
 * here: only the claim, in chunk_claim, treats it as "not now".)
 */
static enum chunk_outcome failed(const char *err, int transient)
{
	return chunk_writes_refused(err) ? CHUNK_NOT_NOW : transient ? CHUNK_RETRY : CHUNK_FAILED;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A '{a,b,c}' text array literal of the hashes (hex only: no quoting needed). */
static char *hash_array(char **h, int n)
{
	char *s = malloc((size_t)n * 66 + 3), *p = s;
	if (!s)
		return NULL;
	*p++ = '{';
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", h[i]);
	*p++ = '}';
	*p = 0;
	return s;
}

/* Which of HASHES[0..n) ai_embeddings holds: sets PRESENT[i]. */
static int present_hashes(struct ejob *j, char **hashes, int n, unsigned char *present, char *err, size_t errlen,
			  int *transient)
{
	char *arr = hash_array(hashes, n);
	const char *p[1] = {arr};
	PGresult *r;

	if (!arr) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = pgx_query(j->ctx->tgt, "SELECT sha256_hash FROM public.ai_embeddings WHERE sha256_hash = ANY($1::text[])",
		      1, p, err, errlen, transient);
	free(arr);
	if (!r)
		return -1;
	memset(present, 0, (size_t)n);
	for (int i = 0; i < PQntuples(r); i++) {
		char *key = PQgetvalue(r, i, 0);
		char **hit = bsearch(&key, hashes, (size_t)n, sizeof *hashes, cmp_str);
		if (hit)
			present[hit - hashes] = 1;
	}
	PQclear(r);
	return 0;
}

/* Store the embeddings of ITEMS (hashes HASHES) in their own transaction. */
static int store(struct ejob *j, struct embed_item *items, char **hashes, int n, const char *model,
		 unsigned char *inserted, char *err, size_t errlen, int *transient)
{
	struct rowbuf b;
	int has_vector = mdw_schema_has_vector(j->ctx->tgt, err, errlen), rc = -1;
	const char *p[1] = {j->run};
	PGresult *r = NULL;

	if (has_vector < 0) {
		*transient = PQstatus(j->ctx->tgt) != CONNECTION_OK;
		return -1;
	}
	/* binary: the vectors' floats as they are, not formatted and parsed again (3.7 ms a text as text, loaded) */
	rb_init(&b);
	cb_begin(&b);
	for (int i = 0; i < n; i++) {
		if (items[i].rejected)
			continue;
		cb_row(&b, 4);
		cb_text(&b, hashes[i]);
		cb_text(&b, model);
		cb_float4_array(&b, items[i].vec, MDW_EMBED_DIMS);
		cb_int4(&b, (int32_t)items[i].tokens);
	}
	cb_end(&b);
	if (b.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (pgx_exec(j->ctx->tgt, "BEGIN", 0, NULL, err, errlen, transient) < 0)
		goto out;
	if (pgx_exec(j->ctx->tgt,
		     "CREATE TEMP TABLE IF NOT EXISTS stage_embeddings (sha256_hash text, model_id text, embedding real[], "
		     "token_count integer) ON COMMIT DELETE ROWS",
		     0, NULL, err, errlen, transient) < 0 ||
	    chunk_copy_in(j->ctx->tgt, "COPY stage_embeddings FROM STDIN (FORMAT binary)", &b, err, errlen, transient) <
		    0 ||
	    !(r = pgx_query(j->ctx->tgt,
			    has_vector
				    ? "INSERT INTO public.ai_embeddings (sha256_hash, model_id, dimensions, embedding, "
				      "token_count, mdw_run_id) SELECT sha256_hash, model_id, 1024, embedding::vector, "
				      "token_count, $1::bigint FROM stage_embeddings ON CONFLICT (sha256_hash) DO NOTHING "
				      "RETURNING sha256_hash"
				    : "INSERT INTO public.ai_embeddings (sha256_hash, model_id, dimensions, embedding, "
				      "token_count, mdw_run_id) SELECT sha256_hash, model_id, 1024, embedding, token_count, "
				      "$1::bigint FROM stage_embeddings ON CONFLICT (sha256_hash) DO NOTHING "
				      "RETURNING sha256_hash",
			    1, p, err, errlen, transient)) ||
	    pgx_exec(j->ctx->tgt, "COMMIT", 0, NULL, err, errlen, transient) < 0) {
		PQclear(r);
		if (PQstatus(j->ctx->tgt) == CONNECTION_OK)
			PQclear(PQexec(j->ctx->tgt, "ROLLBACK"));
		goto out;
	}
	memset(inserted, 0, (size_t)n);
	for (int i = 0; i < PQntuples(r); i++)
		for (int k = 0; k < n; k++)
			if (!inserted[k] && !strcmp(PQgetvalue(r, i, 0), hashes[k])) {
				inserted[k] = 1;
				break;
			}
	PQclear(r);
	rc = 0;
out:
	rb_free(&b);
	return rc;
}

/* Claim HASH for this worker in Redis for the lease. 1 claimed, 0 held by another, -1 Redis error. */
static int claim_hash(struct ejob *j, const char *hash)
{
	return embed_claim(j->ctx->redis, j->run, hash, j->ctx->worker_id, j->ctx->lease_ms);
}

static void release_hash(struct ejob *j, const char *hash)
{
	embed_claim_release(j->ctx->redis, j->run, hash, j->ctx->worker_id);
}

/* Every third of a lease while texts are claimed (the provider's requests may outlast a lease): refresh them. */
static void on_claims_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ejob *j = t->data;
	(void)loop, (void)revents;
	if (embed_claims_refresh(j->ctx->redis, j->run, j->held, j->nheld, j->ctx->worker_id, j->ctx->lease_ms) < 0)
		mdw_warn("phase=embeddings chunk=%d msg=\"claims refresh failed\" error=\"%s\"", (int)j->c->chunk_no,
			 j->ctx->redis->errstr);
}

/* The scratch of steps 1 and 2, once the missing hashes are known. -1 out of memory. */
static int ejob_scratch(struct ejob *j)
{
	size_t n = (size_t)j->nmissing + 1;

	j->embedded_here = calloc(n, 1);
	j->present = calloc(n, 1);
	j->todo = calloc(n, sizeof *j->todo);
	j->todo_hash = calloc(n, sizeof *j->todo_hash);
	j->claimed = calloc(n, sizeof *j->claimed);
	j->now_present = calloc(n, 1);
	j->first = calloc(n, sizeof *j->first);
	return j->embedded_here && j->present && j->todo && j->todo_hash && j->claimed && j->now_present && j->first
		       ? 0
		       : -1;
}

/* Free everything chunk J holds (its result rows, entities, scratch). */
static void ejob_free(struct ejob *j)
{
	PQclear(j->rows);
	free(j->e);
	free(j->missing);
	free(j->embedded_here);
	free(j->present);
	free(j->todo);
	free(j->todo_hash);
	free(j->claimed);
	free(j->now_present);
	free(j->items);
	free(j->stored);
	free(j->first);
}

/* Refresh the claims held every third of a lease while step 1 runs (needs the worker's loop). */
static void claims_timer_start(struct ejob *j)
{
	j->held = j->todo_hash;
	if (!j->ctx->loop)
		return;
	ev_timer_init(&j->claims_timer, on_claims_timer, j->ctx->lease_ms / 3000.0, j->ctx->lease_ms / 3000.0);
	j->claims_timer.data = j;
	ev_timer_start(j->ctx->loop, &j->claims_timer);
}

static void claims_timer_stop(struct ejob *j)
{
	if (j->ctx->loop && j->held)
		ev_timer_stop(j->ctx->loop, &j->claims_timer);
	j->held = NULL;
	j->nheld = 0;
}

/* Release every claim still held (after a failure in a round). */
static void release_held(struct ejob *j)
{
	for (int k = 0; k < j->nmissing; k++)
		if (j->todo_hash[k]) {
			release_hash(j, j->todo_hash[k]);
			j->todo_hash[k] = NULL;
		}
}

/*
 * Claim the missing hashes that ai_embeddings still lacks and no one has
 * rejected or stored: *NTODO claimed into j->todo, *WAITING held by others.
 */
static int claim_missing(struct ejob *j, int *ntodo, int *waiting, char *err, size_t errlen, int *transient)
{
	*ntodo = *waiting = 0;
	if (present_hashes(j, j->missing, j->nmissing, j->present, err, errlen, transient) < 0)
		return -1;
	for (int i = 0; i < j->nmissing; i++) {
		int got;
		if (j->present[i] || j->embedded_here[i] >= 2) /* rejected, or already stored by another */
			continue;
		got = claim_hash(j, j->missing[i]);
		if (got < 0) {
			snprintf(err, errlen, "%s", j->ctx->redis->errstr);
			*transient = 1;
			return -1;
		}
		if (got)
			j->todo[(*ntodo)++] = i;
		else
			(*waiting)++;
	}
	return 0;
}

/* A text embedded and released by another worker between our check and our claim: release it, drop it from todo. */
static int drop_stored_meanwhile(struct ejob *j, int *ntodo, char *err, size_t errlen, int *transient)
{
	int keep = 0;

	for (int k = 0; k < *ntodo; k++)
		j->claimed[k] = j->missing[j->todo[k]];
	if (present_hashes(j, j->claimed, *ntodo, j->now_present, err, errlen, transient) < 0) {
		for (int k = 0; k < *ntodo; k++)
			release_hash(j, j->missing[j->todo[k]]);
		return -1;
	}
	for (int k = 0; k < *ntodo; k++) {
		if (j->now_present[k])
			release_hash(j, j->missing[j->todo[k]]);
		else
			j->todo[keep++] = j->todo[k];
	}
	*ntodo = keep;
	return 0;
}

/* Note what became of item K (stored here, rejected, stored by another) and release its claim. */
static void settle_item(struct ejob *j, int k)
{
	struct embed_item *it = &j->items[k];

	/* 1: this chunk stored it (counts as inserted); 2: rejected; 3: stored by another */
	j->embedded_here[j->todo[k]] = it->rejected ? 2 : j->stored[k] ? 1 : 3;
	if (it->rejected)
		for (int e = 0; e < j->n; e++)
			if (!strcmp(j->e[e].hash, j->todo_hash[k])) {
				j->e[e].rejected = 1;
				snprintf(j->e[e].why, sizeof j->e[e].why, "%s", it->why);
			}
	release_hash(j, j->todo_hash[k]);
	j->todo_hash[k] = NULL;
}

/*
 * Embed items S0..S0+SN through the provider and store the answers at once.
 * A provider that refuses the credentials is CHUNK_FATAL.
 */
static enum chunk_outcome embed_slice(struct ejob *j, int s0, int sn, char *err, size_t errlen)
{
	double t0 = now_s(), t1;
	int prc = provider_embed(j->ctx->provider, j->items + s0, sn, err, errlen), transient = 0;

	t1 = now_s();
	j->t_provider += t1 - t0;
	j->calls += sn;
	if (prc != PROVIDER_OK)
		return prc == PROVIDER_FATAL ? CHUNK_FATAL : failed("", prc == PROVIDER_TRANSIENT);
	if (store(j, j->items + s0, j->todo_hash + s0, sn, provider_model(j->ctx->provider), j->stored + s0, err,
		  errlen, &transient) < 0)
		return failed(err, transient);
	j->t_store += now_s() - t1;
	for (int k = s0; k < s0 + sn; k++)
		settle_item(j, k);
	touch(j);
	return CHUNK_OK;
}

/* Embed the NTODO texts this chunk claimed; on failure every claim still held is released. */
static enum chunk_outcome embed_claimed(struct ejob *j, int ntodo, char *err, size_t errlen)
{
	free(j->items);
	free(j->stored);
	j->items = calloc((size_t)ntodo, sizeof *j->items);
	j->stored = NULL;
	if (!j->items) {
		snprintf(err, errlen, "out of memory");
		return CHUNK_FAILED;
	}
	for (int k = 0; k < ntodo; k++) {
		/* the text of the first entity holding this hash */
		for (int e = 0; e < j->n; e++)
			if (!strcmp(j->e[e].hash, j->missing[j->todo[k]])) {
				j->items[k].text = j->e[e].text;
				j->items[k].len = j->e[e].len;
				break;
			}
		j->todo_hash[k] = j->missing[j->todo[k]];
	}
	j->nheld = ntodo;
	if (!(j->stored = calloc((size_t)ntodo, 1))) {
		snprintf(err, errlen, "out of memory");
		release_held(j);
		return CHUNK_FAILED;
	}
	/*
	 * In slices, each stored as soon as it is answered: a worker that dies, or a
	 * database that goes away, loses at most one slice of paid answers.
	 */
	for (int s0 = 0; s0 < ntodo; s0 += j->ctx->embed_slice) {
		int sn = ntodo - s0 < j->ctx->embed_slice ? ntodo - s0 : j->ctx->embed_slice;
		enum chunk_outcome res = embed_slice(j, s0, sn, err, errlen);
		if (res != CHUNK_OK) {
			release_held(j);
			return res;
		}
	}
	touch(j);
	return CHUNK_OK;
}

/*
 * Another worker is embedding texts we need: look again soon (it stores them
 * a slice at a time, tens of ms apart), or take over its claim once expired.
 */
static void wait_for_others(struct ejob *j)
{
	struct timespec ts = {0, CLAIM_POLL_MS * 1000000L};
	double t0 = now_s();

	nanosleep(&ts, NULL);
	touch(j);
	j->t_wait += now_s() - t0;
}

/* Step 1: make every distinct text of the chunk present in ai_embeddings (or rejected). */
static enum chunk_outcome ensure_embedded(struct ejob *j, char *err, size_t errlen)
{
	double deadline = now_s() + (double)j->ctx->lease_ms / 1000.0 * 4;
	int last_waiting = -1, transient = 0;
	enum chunk_outcome res = CHUNK_OK;

	claims_timer_start(j);
	for (;;) {
		int ntodo, waiting;

		if (claim_missing(j, &ntodo, &waiting, err, errlen, &transient) < 0 ||
		    (ntodo > 0 && drop_stored_meanwhile(j, &ntodo, err, errlen, &transient) < 0)) {
			res = failed(err, transient);
			break;
		}
		if (ntodo > 0) {
			if ((res = embed_claimed(j, ntodo, err, errlen)) != CHUNK_OK)
				break;
			continue;
		}
		if (!waiting)
			break;
		if (last_waiting >= 0 && waiting < last_waiting) /* progress: their holders are alive */
			deadline = now_s() + (double)j->ctx->lease_ms / 1000.0 * 4;
		last_waiting = waiting;
		if (now_s() > deadline) {
			snprintf(err, errlen, "%d texts claimed by other workers did not appear in time", waiting);
			res = CHUNK_RETRY;
			break;
		}
		wait_for_others(j);
	}
	claims_timer_stop(j);
	return res;
}

/* Mark the entities whose link existed before the migration (rows ascending by id, like the entities). */
static int mark_foreign(struct ejob *j, const char *const p[2], char *err, size_t errlen, int *transient)
{
	const char *q[3] = {mdw_parts[j->c->part].name, p[0], p[1]};
	PGresult *r = pgx_query(j->ctx->tgt,
				"SELECT content_id FROM public.ai_embedding_sources WHERE content_type = $1 "
				"AND content_id BETWEEN $2 AND $3 AND mdw_run_id IS NULL ORDER BY content_id",
				3, q, err, errlen, transient);

	if (!r)
		return -1;
	for (int i = 0, k = 0; i < j->n && k < PQntuples(r);) {
		long long id = strtoll(PQgetvalue(r, k, 0), NULL, 10);
		if (id < j->e[i].id) {
			k++;
		} else {
			j->e[i].foreign = id == j->e[i].id;
			i++;
		}
	}
	PQclear(r);
	return 0;
}

/* Read the entities and their texts; hash them; list the distinct hashes ai_embeddings lacks. */
static int prepare(struct ejob *j, char *err, size_t errlen, int *transient)
{
	char lo[24], hi[24];
	const char *p[2] = {lo, hi};
	const char *model = provider_model(j->ctx->provider);
	char **distinct;
	unsigned char *present;
	int nd = 0, cuts = 0;

	snprintf(lo, sizeof lo, "%" PRId64, j->c->lo);
	snprintf(hi, sizeof hi, "%" PRId64, j->c->hi);
	if (!(j->rows = pgx_query(j->ctx->tgt, embed_text_sql(j->c->part, j->ctx->embed_identifiers), 2, p, err, errlen,
				  transient)))
		return -1;
	j->n = PQntuples(j->rows);
	j->e = calloc((size_t)j->n + 1, sizeof *j->e);
	distinct = calloc((size_t)j->n + 1, sizeof *distinct);
	if (!j->e || !distinct) {
		free(distinct);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < j->n; i++) {
		struct entity *e = &j->e[i];
		e->id = strtoll(PQgetvalue(j->rows, i, 0), NULL, 10);
		e->practice = PQgetisnull(j->rows, i, 1) ? NULL : PQgetvalue(j->rows, i, 1);
		e->text = PQgetvalue(j->rows, i, 2);
		e->len = embed_truncate(e->text, (size_t)PQgetlength(j->rows, i, 2), EMBED_TITAN_MAX_CHARS,
					EMBED_TITAN_MAX_TOKENS, &e->cut);
		cuts += e->cut;
		if (embed_hash(model, MDW_EMBED_DIMS, e->text, e->len, e->hash) < 0) {
			free(distinct);
			snprintf(err, errlen, "hashing failed");
			return -1;
		}
	}
	if (mark_foreign(j, p, err, errlen, transient) < 0) {
		free(distinct);
		return -1;
	}
	for (int i = 0; i < j->n; i++)
		if (!j->e[i].foreign) /* no text to pay for: its link stays as it was */
			distinct[nd++] = j->e[i].hash;
	if (cuts)
		mdw_info("phase=embeddings chunk=%d part=%s msg=\"texts cut to the model's input limit\" cut=%d",
			 (int)j->c->chunk_no, mdw_parts[j->c->part].name, cuts);
	qsort(distinct, (size_t)nd, sizeof *distinct, cmp_str);
	{
		int u = 0;
		for (int i = 0; i < nd; i++)
			if (u == 0 || strcmp(distinct[u - 1], distinct[i]))
				distinct[u++] = distinct[i];
		nd = u;
	}
	present = calloc((size_t)nd + 1, 1);
	if (!present || present_hashes(j, distinct, nd, present, err, errlen, transient) < 0) {
		free(present);
		free(distinct);
		return -1;
	}
	j->missing = distinct;
	for (int i = 0; i < nd; i++)
		if (!present[i])
			j->missing[j->nmissing++] = distinct[i];
	free(present);
	if (ejob_scratch(j) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * A rejected entity keeps no link: the hash it links to is the embedding of
 * a text it no longer has. (In the ledger transaction.)
 */
static int drop_stale_links(struct ejob *j, const char *type, char *err, size_t errlen, int *transient)
{
	char *ids = malloc((size_t)j->n * 21 + 3), *o = ids;
	const char *p[2] = {type, ids};
	int rc;

	if (!ids) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*o++ = '{';
	for (int i = 0; i < j->n; i++)
		if (j->e[i].rejected)
			o += sprintf(o, "%s%lld", o[-1] == '{' ? "" : ",", j->e[i].id);
	*o++ = '}';
	*o = 0;
	rc = pgx_exec(j->ctx->tgt,
		      "DELETE FROM public.ai_embedding_sources WHERE content_type = $1 AND content_id = ANY($2::bigint[])",
		      2, p, err, errlen, transient);
	free(ids);
	return rc;
}

/* A reject row for entity E, whose text the provider refused. */
static void reject_row(struct ejob *j, const struct entity *e, struct rowbuf *rej)
{
	const char *type = mdw_parts[j->c->part].name;
	char src[128];

	snprintf(src, sizeof src, "{\"id\": %lld, \"content_type\": \"%s\"}", e->id, type);
	rb_str(rej, j->run);
	rb_str(rej, "embeddings");
	rb_str(rej, mdw_part_table(j->c->part));
	rb_int(rej, e->id);
	rb_str(rej, "provider_rejected");
	rb_str(rej, e->why);
	rb_str(rej, src);
	rb_end(rej);
}

/*
 * Count entity E, which needs a link: inserted if its hash was embedded here
 * and no entity before it took that, else merged (its text was there).
 */
static void count_link(struct ejob *j, struct entity *e, struct mdw_counts *n)
{
	char **hit = bsearch(&(char *){e->hash}, j->missing, (size_t)j->nmissing, sizeof *j->missing, cmp_str);
	int idx = hit ? (int)(hit - j->missing) : -1;

	if (idx >= 0 && j->embedded_here[idx] == 1 && !j->first[idx]) {
		j->first[idx] = e->hash;
		n->inserted++;
	} else {
		n->merged++;
	}
}

/*
 * Sort every entity against the links the range has (R: content_id, hash,
 * pre-existing): a reject row, existing, or a link to write (inserted or
 * merged). A pre-existing link that changed meanwhile is a transient error.
 */
static int sort_entities(struct ejob *j, const PGresult *r, struct mdw_counts *n, struct rowbuf *links,
			 struct rowbuf *rej, char *err, size_t errlen, int *transient)
{
	n->read = j->n;
	for (int i = 0; i < j->n; i++) {
		struct entity *e = &j->e[i];
		int existing = 0, foreign = 0;
		if (e->rejected) {
			reject_row(j, e, rej);
			n->rejected++;
			continue;
		}
		for (int k = 0; k < PQntuples(r); k++)
			if (strtoll(PQgetvalue(r, k, 0), NULL, 10) == e->id) {
				foreign = !strcmp(PQgetvalue(r, k, 2), "t");
				existing = foreign || !strcmp(PQgetvalue(r, k, 1), e->hash);
			}
		if (foreign != e->foreign) {
			snprintf(err, errlen, "the pre-existing link of %s %lld changed during the chunk",
				 mdw_parts[j->c->part].name, e->id);
			*transient = 1;
			return -1;
		}
		if (existing) {
			n->existing++;
			continue;
		}
		count_link(j, e, n);
		rb_int(links, e->id);
		rb_str(links, e->practice);
		rb_str(links, e->hash);
		rb_end(links);
	}
	return 0;
}

/* Write LINKS (upserted through a staging table), drop the rejected entities' links, COPY REJ into mdw.rejects. */
static int write_links(struct ejob *j, const struct mdw_counts *n, const struct rowbuf *links, const struct rowbuf *rej,
		       char *err, size_t errlen, int *transient)
{
	const char *type = mdw_parts[j->c->part].name;
	const char *q[2] = {type, j->run};

	if (pgx_exec(j->ctx->tgt,
		     "CREATE TEMP TABLE IF NOT EXISTS stage_links (content_id bigint, practice_id bigint, sha256_hash text) "
		     "ON COMMIT DELETE ROWS",
		     0, NULL, err, errlen, transient) < 0 ||
	    chunk_copy_in(j->ctx->tgt, "COPY stage_links FROM STDIN", links, err, errlen, transient) < 0)
		return -1;
	if (pgx_exec(j->ctx->tgt,
		     "INSERT INTO public.ai_embedding_sources (content_type, content_id, practice_id, sha256_hash, mdw_run_id) "
		     "SELECT $1, content_id, practice_id, sha256_hash, $2::bigint FROM stage_links "
		     "ON CONFLICT (content_type, content_id) DO UPDATE SET sha256_hash = EXCLUDED.sha256_hash, "
		     "practice_id = EXCLUDED.practice_id, mdw_run_id = EXCLUDED.mdw_run_id "
		     "WHERE ai_embedding_sources.mdw_run_id IS NOT NULL",
		     2, q, err, errlen, transient) < 0)
		return -1;
	if (n->rejected && drop_stale_links(j, type, err, errlen, transient) < 0)
		return -1;
	if (rej->len &&
	    chunk_copy_in(j->ctx->tgt,
			  "COPY mdw.rejects (run_id, phase, source_table, legacy_id, reason, detail, source_row) "
			  "FROM STDIN",
			  rej, err, errlen, transient) < 0)
		return -1;
	return 0;
}

/* Step 2, inside the ledger transaction: links, rejects, counts. */
static int link(struct ejob *j, struct mdw_counts *n, char *err, size_t errlen, int *transient)
{
	char lo[24], hi[24];
	const char *p[3] = {mdw_parts[j->c->part].name, lo, hi};
	struct rowbuf links, rej;
	PGresult *r;
	int rc = -1;

	rb_init(&links);
	rb_init(&rej);
	snprintf(lo, sizeof lo, "%" PRId64, j->c->lo);
	snprintf(hi, sizeof hi, "%" PRId64, j->c->hi);
	if (!(r = pgx_query(j->ctx->tgt,
			    "SELECT content_id, sha256_hash, mdw_run_id IS NULL FROM public.ai_embedding_sources "
			    "WHERE content_type = $1 AND content_id BETWEEN $2 AND $3",
			    3, p, err, errlen, transient)))
		goto out;
	rc = sort_entities(j, r, n, &links, &rej, err, errlen, transient);
	PQclear(r);
	if (rc < 0)
		goto out;
	rc = -1;
	if (links.oom || rej.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = write_links(j, n, &links, &rej, err, errlen, transient);
out:
	rb_free(&links);
	rb_free(&rej);
	return rc;
}

enum chunk_outcome chunk_embed_process(struct chunk_ctx *ctx, const struct mdw_chunk *c, struct mdw_counts *counts,
				       char *err, size_t errlen)
{
	struct ejob j = {.ctx = ctx, .c = c};
	struct mdw_counts n = {0};
	enum chunk_outcome res;
	int transient = 0, already;
	double t0 = now_s(), t1, t2;

	snprintf(j.run, sizeof j.run, "%" PRId64, c->run);
	if (!ctx->provider || !ctx->redis) {
		snprintf(err, errlen, "no embedding provider");
		return CHUNK_FAILED;
	}
	res = chunk_claim(ctx, c, err, errlen);
	if (res != CHUNK_OK)
		return res;
	if (prepare(&j, err, errlen, &transient) < 0) {
		res = failed(err, transient);
		goto out;
	}
	t1 = now_s();
	if ((res = ensure_embedded(&j, err, errlen)) != CHUNK_OK)
		goto out;
	t2 = now_s();
	if (chunk_begin(ctx, c, &already, err, errlen, &transient) < 0) {
		res = failed(err, transient);
		goto out;
	}
	if (already) {
		res = CHUNK_ALREADY;
		goto out;
	}
	if (link(&j, &n, err, errlen, &transient) < 0 || chunk_finish(ctx, c, &n, -1, err, errlen, &transient) < 0) {
		if (PQstatus(ctx->tgt) == CONNECTION_OK)
			PQclear(PQexec(ctx->tgt, "ROLLBACK"));
		res = failed(err, transient);
		goto out;
	}
	*counts = n;
	mdw_debug("phase=embeddings chunk=%d msg=\"embedding chunk steps\" calls=%d prepare_ms=%.0f provider_ms=%.0f "
		  "store_ms=%.0f claims_ms=%.0f wait_ms=%.0f link_ms=%.0f",
		  (int)c->chunk_no, j.calls, (t1 - t0) * 1000, j.t_provider * 1000, j.t_store * 1000,
		  (t2 - t1 - j.t_provider - j.t_store - j.t_wait) * 1000, j.t_wait * 1000, (now_s() - t2) * 1000);
out:
	ejob_free(&j);
	return res;
}
