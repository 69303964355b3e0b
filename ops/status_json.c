/* The status document of a run (see status_json.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connect.h"
#include "dead.h"
#include "stats.h"
#include "mdw/chunk_codec.h"
#include "mdw/ledger.h"
#include "mdw/pgx.h"
#include "mdw/queue.h"
#include "status_json.h"

int status_load_queues(struct rds *r, int64_t run, struct qinfo *q)
{
	for (int i = 0; i < MDW_NPHASES; i++) {
		char key[128];
		redisReply *len, *pend;
		mdwq_key(key, sizeof key, run, "q", mdw_phases[i].name);
		if (!(len = rds_cmd(r, "XLEN %s", key)))
			return -1;
		q[i].length = len->type == REDIS_REPLY_INTEGER ? len->integer : 0;
		freeReplyObject(len);
		if (!(pend = rds_cmd(r, "XPENDING %s " MDWQ_GROUP, key)))
			return -1;
		q[i].pending = pend->type == REDIS_REPLY_ARRAY && pend->elements > 0 &&
					       pend->element[0]->type == REDIS_REPLY_INTEGER
				       ? pend->element[0]->integer
				       : 0;
		freeReplyObject(pend);
	}
	return 0;
}

/*
 * An error text fit for the page: its first line, with the values Postgres
 * quotes in "Key (col)=(value)" replaced, so that no source value shows.
 */
static json_t *safe_error(const char *in)
{
	char out[512];
	size_t o = 0;

	for (const char *p = in; *p && *p != '\n' && o + 8 < sizeof out; p++) {
		out[o++] = *p;
		if (p[0] == '=' && p[1] == '(') {
			const char *close = strchr(p + 2, ')');
			memcpy(out + o, "(...)", 5);
			o += 5;
			p = close ? close : p + strlen(p) - 1;
		}
	}
	out[o] = 0;
	return json_string(out);
}

/* {phase: {reason: count}} of a query returning phase, reason, count. */
static json_t *by_phase_reason(const PGresult *r)
{
	json_t *o = json_object();
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *ph = json_object_get(o, PQgetvalue(r, i, 0));
		if (!ph)
			json_object_set_new(o, PQgetvalue(r, i, 0), ph = json_object());
		json_object_set_new(ph, PQgetvalue(r, i, 1), json_integer(strtoll(PQgetvalue(r, i, 2), NULL, 10)));
	}
	return o;
}

/* The ledger's dead chunks, and Redis's dead letters that mirror none of them (poison messages). */
static int add_dead(json_t *root, PGconn *c, struct rds *r, int64_t run, char *err, size_t errlen)
{
	PGresult *l;
	json_t *a, *poison = NULL;
	redisReply *letters = NULL;
	char key[128];

	if (ledger_dead_chunks(c, run, "", &l, err, errlen) < 0)
		return -1;
	a = json_array();
	for (int i = 0; i < PQntuples(l); i++) {
		struct mdw_chunk ch;
		char desc[160];
		json_t *o = json_object();
		dead_row_chunk(l, i, run, &ch);
		mdw_chunk_describe(&ch, desc, sizeof desc);
		json_object_set_new(o, "phase", json_string(PQgetvalue(l, i, 0)));
		json_object_set_new(o, "chunk_no", json_integer(ch.chunk_no));
		json_object_set_new(o, "chunk", json_string(desc));
		json_object_set_new(o, "attempts", json_integer(atoi(PQgetvalue(l, i, 5))));
		json_object_set_new(o, "error", safe_error(PQgetvalue(l, i, 6)));
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "dead_chunks", a);
	mdwq_key(key, sizeof key, run, "dead", NULL);
	if (r && (letters = rds_cmd(r, "XRANGE %s - +", key)) && letters->type == REDIS_REPLY_ARRAY) {
		poison = json_array();
		for (size_t i = 0; i < letters->elements; i++) {
			redisReply *f = letters->element[i]->element[1];
			json_t *o;
			if (dead_mirrors(f, l, run))
				continue;
			o = json_object();
			json_object_set_new(o, "id", json_string(letters->element[i]->element[0]->str));
			json_object_set_new(o, "phase", json_string(dead_field(f, "phase", NULL)));
			json_object_set_new(o, "deliveries", json_integer(atoi(dead_field(f, "deliveries", NULL))));
			json_object_set_new(o, "error", safe_error(dead_field(f, "error", NULL)));
			json_array_append_new(poison, o);
		}
	}
	json_object_set_new(root, "poison_messages", poison ? poison : json_null());
	freeReplyObject(letters);
	PQclear(l);
	return 0;
}

/*
 * Rows read per second of each phase over the run: {start, bucket_seconds,
 * phases: {name: [rows/s...]}}, the done chunks by commit time in at most 61
 * buckets of whole seconds.
 */
static json_t *series(PGconn *c, int64_t run, char *err, size_t errlen)
{
	PGresult *r;
	json_t *o, *phases;
	double w = 1, t0 = 0;
	int last = 0;

	if (ledger_rows_series(c, run, &r, err, errlen) < 0)
		return NULL;
	o = json_object();
	phases = json_object();
	if (PQntuples(r)) {
		w = strtod(PQgetvalue(r, 0, 2), NULL);
		t0 = strtod(PQgetvalue(r, 0, 4), NULL);
		last = atoi(PQgetvalue(r, PQntuples(r) - 1, 1)); /* ordered by bucket */
	}
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *a = json_object_get(phases, PQgetvalue(r, i, 0));
		int k = atoi(PQgetvalue(r, i, 1));
		if (k < 0 || k > last)
			continue;
		if (!a) {
			a = json_array();
			for (int j = 0; j <= last; j++)
				json_array_append_new(a, json_real(0));
			json_object_set_new(phases, PQgetvalue(r, i, 0), a);
		}
		json_array_set_new(a, (size_t)k, json_real(strtod(PQgetvalue(r, i, 3), NULL) / w));
	}
	PQclear(r);
	json_object_set_new(o, "start", json_real(t0));
	json_object_set_new(o, "bucket_seconds", json_real(w));
	json_object_set_new(o, "phases", phases);
	return o;
}

/* The embedding provider's counts (mdw:{RUN}:embed), the quota and the calls deduplication saved. */
static json_t *embed(struct rds *r, int64_t run, long long saved, long long rpm)
{
	static const char *const names[] = {"ok", "throttled", "failed", "limiter_waits"};
	json_t *o = json_object();
	redisReply *rep = NULL;
	char key[128];

	mdwq_key(key, sizeof key, run, "embed", NULL);
	if (r)
		rep = rds_cmd(r, "HGETALL %s", key);
	for (int k = 0; k < 4; k++) {
		json_t *v = rep ? json_integer(0) : json_null();
		for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2)
			if (!strcmp(rep->element[i]->str, names[k]))
				json_integer_set(v, strtoll(rep->element[i + 1]->str, NULL, 10));
		json_object_set_new(o, names[k], v);
	}
	freeReplyObject(rep);
	json_object_set_new(o, "quota_rpm", json_integer(rpm));
	json_object_set_new(o, "saved_by_dedup", json_integer(saved));
	return o;
}

/* The run's own row (state, start, end), the rejects and flags by phase and reason, and the validations. */
static int add_ledger(json_t *root, PGconn *c, int64_t run, json_t **valid, json_t **flags, char *err, size_t errlen)
{
	PGresult *r;
	int have_flags;

	if (ledger_run_row(c, run, &r, err, errlen) < 0)
		return -1;
	json_object_set_new(root, "run_status", json_string(PQntuples(r) ? PQgetvalue(r, 0, 0) : ""));
	json_object_set_new(root, "started_at", json_real(PQntuples(r) ? strtod(PQgetvalue(r, 0, 1), NULL) : 0));
	json_object_set_new(root, "finished_at", json_real(PQntuples(r) ? strtod(PQgetvalue(r, 0, 2), NULL) : 0));
	PQclear(r);
	if (ledger_rejects_by_phase_reason(c, run, &r, err, errlen) < 0)
		return -1;
	json_object_set_new(root, "rejects", by_phase_reason(r));
	PQclear(r);
	/* mdw.flags comes with a later schema: without it, flags are unknown (null) */
	*flags = NULL;
	if (ledger_flags_present(c, &have_flags, err, errlen) < 0)
		return -1;
	if (have_flags) {
		if (ledger_flags_by_phase_code(c, run, &r, err, errlen) < 0)
			return -1;
		*flags = by_phase_reason(r);
		PQclear(r);
	}
	if (ledger_phase_validations(c, run, &r, err, errlen) < 0)
		return -1;
	*valid = json_object();
	for (int i = 0; i < PQntuples(r); i++)
		json_object_set_new(*valid, PQgetvalue(r, i, 0), safe_error(PQgetvalue(r, i, 1)));
	PQclear(r);
	return 0;
}

/* The sum of the counts of PHASE in {phase: {reason: count}}, or null when F is NULL. */
static json_t *total_of(json_t *f, const char *phase)
{
	const char *k;
	json_t *v;
	long long n = 0;

	if (!f)
		return json_null();
	json_object_foreach(json_object_get(f, phase), k, v) n += json_integer_value(v);
	return json_integer(n);
}

json_t *status_json(PGconn *c, struct rds *r, int64_t run, const struct status_opts *opt, char *err, size_t errlen)
{
	struct phase_stat ps[MDW_NPHASES];
	struct qinfo q[MDW_NPHASES];
	char key[128];
	redisReply *workers = NULL;
	json_t *root = json_object(), *arr = json_array(), *w = json_array(), *valid = NULL, *flags = NULL, *s;
	double now = (double)time(NULL);
	int have_redis = r != NULL;

	if (stats_load(c, run, 0, ps, err, errlen) < 0)
		goto fail;
	memset(q, 0, sizeof q);
	if (have_redis && status_load_queues(r, run, q) < 0)
		have_redis = 0;
	if (have_redis) {
		mdwq_key(key, sizeof key, run, "workers", NULL);
		workers = rds_cmd(r, "HGETALL %s", key);
	}
	json_object_set_new(root, "run", json_integer(run));
	json_object_set_new(root, "redis", json_boolean(have_redis));
	if (add_ledger(root, c, run, &valid, &flags, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < MDW_NPHASES; i++) {
		const struct phase_stat *st = &ps[i];
		double frac =
			st->source_rows > 0 ? (double)st->read / (double)st->source_rows : (st->state == PS_COMPLETE);
		json_t *o = json_object(), *needs = json_array();
		const char *state =
			st->state == PS_NONE && st->rolled_back ? "rolled back" : phase_states[st->state].shown;

		json_object_set_new(o, "phase", json_string(mdw_phases[i].name));
		json_object_set_new(o, "state", json_string(state));
		json_object_set_new(o, "progress", json_real(frac));
		json_object_set_new(o, "chunks", json_integer(st->total));
		json_object_set_new(o, "chunks_done", json_integer(st->done));
		json_object_set_new(o, "chunks_dead", json_integer(st->dead));
		json_object_set_new(o, "source_rows", json_integer(st->source_rows));
		json_object_set_new(o, "read", json_integer(st->read));
		json_object_set_new(o, "inserted", json_integer(st->inserted));
		json_object_set_new(o, "existing", json_integer(st->existing));
		json_object_set_new(o, "updated", json_integer(st->updated));
		json_object_set_new(o, "merged", json_integer(st->merged));
		json_object_set_new(o, "rejected", json_integer(st->rejected));
		json_object_set_new(o, "flagged", total_of(flags, mdw_phases[i].name));
		json_object_set_new(o, "rows_per_second", json_real(st->rate));
		json_object_set_new(o, "eta_seconds",
				    st->rate > 0 && st->source_rows > st->read
					    ? json_integer((long long)((st->source_rows - st->read) / st->rate))
					    : json_null());
		json_object_set_new(o, "queue_length", have_redis ? json_integer(q[i].length) : json_null());
		json_object_set_new(o, "queue_pending", have_redis ? json_integer(q[i].pending) : json_null());
		for (int k = 0; k < MDW_NPHASES; k++)
			if (mdw_phases[i].needs & MDW_PH_BIT(k))
				json_array_append_new(needs, json_string(mdw_phases[k].name));
		json_object_set_new(o, "needs", needs);
		json_object_set(o, "validation", json_object_get(valid, mdw_phases[i].name) ?: json_null());
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "phases", arr);
	arr = NULL;
	for (size_t k = 0; workers && workers->type == REDIS_REPLY_ARRAY && k + 1 < workers->elements; k += 2) {
		json_t *o = json_object();
		const char *v = workers->element[k + 1]->str, *sp = strchr(v, ' ');
		json_object_set_new(o, "id", json_string(workers->element[k]->str));
		json_object_set_new(o, "seen_seconds_ago", json_real(now - strtod(v, NULL) / 1000.0));
		json_object_set_new(o, "chunk", json_string(sp ? sp + 1 : ""));
		json_array_append_new(w, o);
	}
	json_object_set_new(root, "workers", w);
	w = NULL;
	/* the rejects after the phases and workers (add_ledger read them first) */
	s = json_incref(json_object_get(root, "rejects"));
	json_object_del(root, "rejects");
	json_object_set_new(root, "rejects", s);
	json_object_set_new(root, "flags", flags ? flags : json_null());
	flags = NULL;
	if (add_dead(root, c, have_redis ? r : NULL, run, err, errlen) < 0)
		goto fail;
	json_object_set_new(root, "embed",
			    embed(have_redis ? r : NULL, run, ps[MDW_PH_EMBEDDINGS].merged, opt->rate_rpm));
	if (!(s = series(c, run, err, errlen)))
		goto fail;
	json_object_set_new(root, "series", s);
	json_object_set_new(root, "report", json_string(opt->report_path ? opt->report_path : ""));
	json_decref(valid);
	freeReplyObject(workers);
	return root;
fail:
	json_decref(valid);
	json_decref(flags);
	json_decref(arr);
	json_decref(w);
	json_decref(root);
	freeReplyObject(workers);
	return NULL;
}
