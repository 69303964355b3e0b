/* Prometheus metrics (see metrics.h). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "metrics.h"
#include "mdw/ledger.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "mdw/phase.h"
#include "mdw/queue.h"
#include "mdw/strbuf.h"

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static char *snapshot;

static const double buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

char *metrics_render(PGconn *tgt, struct rds *r, int64_t run, char *err, size_t errlen)
{
	struct strbuf b = STRBUF_INIT;
	PGresult *res;
	static const char *const states[] = {"pending", "running", "done", "dead"};
	static const char *const outcomes[] = {"read", "inserted", "existing", "merged", "rejected", "updated"};
	int redis_up = 0;

	if (ledger_chunk_totals(tgt, run, &res, err, errlen) < 0)
		return NULL;
	strbuf_printf(&b,
		      "# HELP mdw_run Id of the run these metrics describe.\n# TYPE mdw_run gauge\nmdw_run %" PRId64
		      "\n",
		      run);
	strbuf_printf(&b, "# HELP mdw_chunks Chunks by phase and ledger state.\n# TYPE mdw_chunks gauge\n");
	for (int ph = 0; ph < MDW_NPHASES; ph++)
		for (int s = 0; s < 4; s++) {
			long long n = 0;
			for (int i = 0; i < PQntuples(res); i++)
				if (!strcmp(PQgetvalue(res, i, 0), mdw_phases[ph].name) &&
				    !strcmp(PQgetvalue(res, i, 1), states[s]))
					n = strtoll(PQgetvalue(res, i, 2), NULL, 10);
			strbuf_printf(&b, "mdw_chunks{phase=\"%s\",state=\"%s\"} %lld\n", mdw_phases[ph].name,
				      states[s], n);
		}
	strbuf_printf(&b,
		      "# HELP mdw_rows_total Source rows by phase and outcome (done chunks).\n# TYPE mdw_rows_total counter\n");
	for (int ph = 0; ph < MDW_NPHASES; ph++)
		for (int o = 0; o < 6; o++) {
			long long n = 0;
			for (int i = 0; i < PQntuples(res); i++)
				if (!strcmp(PQgetvalue(res, i, 0), mdw_phases[ph].name) &&
				    !strcmp(PQgetvalue(res, i, 1), "done"))
					n = strtoll(PQgetvalue(res, i, 3 + o), NULL, 10);
			strbuf_printf(&b, "mdw_rows_total{phase=\"%s\",outcome=\"%s\"} %lld\n", mdw_phases[ph].name,
				      outcomes[o], n);
		}
	PQclear(res);

	if (ledger_flags_by_phase(tgt, run, &res, err, errlen) < 0) {
		free(b.p);
		return NULL;
	}
	strbuf_printf(&b,
		      "# HELP mdw_rows_flagged_total Rows inserted with a repaired reference (mdw.flags), by phase.\n"
		      "# TYPE mdw_rows_flagged_total counter\n");
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		long long n = 0;
		for (int i = 0; i < PQntuples(res); i++)
			if (!strcmp(PQgetvalue(res, i, 0), mdw_phases[ph].name))
				n = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		strbuf_printf(&b, "mdw_rows_flagged_total{phase=\"%s\"} %lld\n", mdw_phases[ph].name, n);
	}
	PQclear(res);

	if (ledger_chunk_durations(tgt, run, &res, err, errlen) < 0) {
		free(b.p);
		return NULL;
	}
	strbuf_printf(&b, "# HELP mdw_chunk_duration_seconds Time from a chunk's last start to its commit.\n"
			  "# TYPE mdw_chunk_duration_seconds histogram\n");
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		long long cnt[NBUCKETS + 1] = {0}, total = 0;
		double sum = 0;
		for (int i = 0; i < PQntuples(res); i++) {
			double d;
			if (strcmp(PQgetvalue(res, i, 0), mdw_phases[ph].name))
				continue;
			d = strtod(PQgetvalue(res, i, 1), NULL);
			if (d < 0)
				d = 0;
			sum += d;
			total++;
			for (size_t k = 0; k < NBUCKETS; k++)
				if (d <= buckets[k])
					cnt[k]++;
		}
		for (size_t k = 0; k < NBUCKETS; k++)
			strbuf_printf(&b, "mdw_chunk_duration_seconds_bucket{phase=\"%s\",le=\"%g\"} %lld\n",
				      mdw_phases[ph].name, buckets[k], cnt[k]);
		strbuf_printf(&b, "mdw_chunk_duration_seconds_bucket{phase=\"%s\",le=\"+Inf\"} %lld\n",
			      mdw_phases[ph].name, total);
		strbuf_printf(&b, "mdw_chunk_duration_seconds_sum{phase=\"%s\"} %.6f\n", mdw_phases[ph].name, sum);
		strbuf_printf(&b, "mdw_chunk_duration_seconds_count{phase=\"%s\"} %lld\n", mdw_phases[ph].name, total);
	}
	PQclear(res);

	if (r) {
		char key[128];
		long long live = 0;
		int up = 1;
		struct timeval tv;
		redisReply *rep;

		gettimeofday(&tv, NULL);
		strbuf_printf(&b,
			      "# HELP mdw_queue_length Entries in the phase's stream (queued and in workers' hands).\n"
			      "# TYPE mdw_queue_length gauge\n");
		for (int ph = 0; ph < MDW_NPHASES && up; ph++) {
			mdwq_key(key, sizeof key, run, "q", mdw_phases[ph].name);
			rep = rds_cmd(r, "XLEN %s", key);
			up = rep != NULL;
			if (rep)
				strbuf_printf(&b, "mdw_queue_length{phase=\"%s\"} %lld\n", mdw_phases[ph].name,
					      rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0);
			freeReplyObject(rep);
		}
		strbuf_printf(&b, "# HELP mdw_queue_pending Entries delivered to a worker and not yet acknowledged.\n"
				  "# TYPE mdw_queue_pending gauge\n");
		for (int ph = 0; ph < MDW_NPHASES && up; ph++) {
			mdwq_key(key, sizeof key, run, "q", mdw_phases[ph].name);
			rep = rds_cmd(r, "XPENDING %s " MDWQ_GROUP, key);
			up = rep != NULL;
			if (rep)
				strbuf_printf(&b, "mdw_queue_pending{phase=\"%s\"} %lld\n", mdw_phases[ph].name,
					      rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
							      rep->element[0]->type == REDIS_REPLY_INTEGER
						      ? rep->element[0]->integer
						      : 0);
			freeReplyObject(rep);
		}
		mdwq_key(key, sizeof key, run, "workers", NULL);
		if (up && (rep = rds_cmd(r, "HVALS %s", key))) {
			for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++)
				if ((double)tv.tv_sec * 1000 - strtod(rep->element[i]->str, NULL) < 10000)
					live++;
			freeReplyObject(rep);
		} else {
			up = 0;
		}
		mdwq_key(key, sizeof key, run, "embed", NULL);
		if (up && (rep = rds_cmd(r, "HGETALL %s", key))) {
			static const char *const outcomes[] = {"ok", "throttled", "failed"};
			long long v[4] = {0, 0, 0, 0};
			for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2)
				for (int k = 0; k < 4; k++)
					if (!strcmp(rep->element[i]->str, k < 3 ? outcomes[k] : "limiter_waits"))
						v[k] = strtoll(rep->element[i + 1]->str, NULL, 10);
			freeReplyObject(rep);
			strbuf_printf(&b, "# HELP mdw_embed_requests_total Embedding provider requests by outcome.\n"
					  "# TYPE mdw_embed_requests_total counter\n");
			for (int k = 0; k < 3; k++)
				strbuf_printf(&b, "mdw_embed_requests_total{outcome=\"%s\"} %lld\n", outcomes[k], v[k]);
			strbuf_printf(&b,
				      "# HELP mdw_ratelimit_waits_total Times a worker waited for the shared rate limiter.\n"
				      "# TYPE mdw_ratelimit_waits_total counter\nmdw_ratelimit_waits_total %lld\n",
				      v[3]);
		} else {
			up = 0;
		}
		strbuf_printf(&b,
			      "# HELP mdw_workers_live Workers whose heartbeat is less than 10 s old.\n"
			      "# TYPE mdw_workers_live gauge\nmdw_workers_live %lld\n",
			      live);
		redis_up = up;
	}
	strbuf_printf(&b,
		      "# HELP mdw_redis_up Whether Redis answered this snapshot's queue queries.\n"
		      "# TYPE mdw_redis_up gauge\nmdw_redis_up %d\n",
		      redis_up);
	if (b.oom) {
		free(b.p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return b.p;
}

void metrics_update(PGconn *tgt, struct rds *r, int64_t run)
{
	char err[256];
	char *text = metrics_render(tgt, r, run, err, sizeof err);

	if (!text) {
		mdw_debug("run=%" PRId64 " msg=\"metrics not refreshed\" error=\"%s\"", run, err);
		return;
	}
	pthread_mutex_lock(&snap_lock);
	free(snapshot);
	snapshot = text;
	pthread_mutex_unlock(&snap_lock);
}

char *metrics_snapshot(void)
{
	char *copy;

	pthread_mutex_lock(&snap_lock);
	copy = snapshot ? strdup(snapshot) : NULL;
	pthread_mutex_unlock(&snap_lock);
	return copy;
}

void metrics_stop(void)
{
	pthread_mutex_lock(&snap_lock);
	free(snapshot);
	snapshot = NULL;
	pthread_mutex_unlock(&snap_lock);
}
