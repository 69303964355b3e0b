/* mdwctl status and validate: the ledger's view of the newest run, phase by phase. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "coord.h"
#include "criteria.h"
#include "ctl.h"
#include "mdw/pgx.h"
#include "mdw/queue.h"
#include "report.h"

static const char *const state_names[] = {"not started", "planning", "running", "validating", "complete", "failed"};

struct qinfo {
	long long length, pending;
};

/* Queue depth and pending entries per phase; -1 when Redis is unreachable. */
static int load_queues(struct rds *r, int64_t run, struct qinfo *q)
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

static void bar(char *out, double frac, int width)
{
	int full = (int)(frac * width + 0.5);
	if (full > width)
		full = width;
	for (int i = 0; i < width; i++)
		out[i] = i < full ? '#' : '.';
	out[width] = 0;
}

static void eta(char *out, size_t len, long long remaining, double rate)
{
	if (remaining <= 0)
		snprintf(out, len, "-");
	else if (rate <= 0)
		snprintf(out, len, "?");
	else {
		long long s = (long long)(remaining / rate);
		snprintf(out, len, "%lldh%02lldm%02llds", s / 3600, s / 60 % 60, s % 60);
	}
}

static int show(struct mdw_config *cfg, PGconn *c, struct rds *r, int have_redis)
{
	struct phase_stat ps[MDW_NPHASES];
	struct qinfo q[MDW_NPHASES];
	char err[512], key[128];
	int64_t run = ctl_current_run(c, cfg->run_id);
	redisReply *workers = NULL;
	json_t *root = NULL, *arr = NULL;
	double now = (double)time(NULL);

	if (!run || coord_load_stats(c, run, ps, err, sizeof err) < 0) {
		if (run)
			fprintf(stderr, "mdwctl status: %s\n", err);
		return 1;
	}
	memset(q, 0, sizeof q);
	if (have_redis && load_queues(r, run, q) < 0)
		have_redis = 0;
	if (have_redis) {
		mdwq_key(key, sizeof key, run, "workers", NULL);
		workers = rds_cmd(r, "HGETALL %s", key);
	}
	if (cfg->json) {
		root = json_object();
		arr = json_array();
		json_object_set_new(root, "run", json_integer(run));
		json_object_set_new(root, "redis", json_boolean(have_redis));
	} else {
		printf("run %" PRId64 "%s\n%-19s %-11s %-22s %11s %8s %8s %8s %7s %8s %7s %5s %8s %10s\n", run,
		       have_redis ? "" : "  (Redis unreachable: queue and workers unknown)", "phase", "state", "progress",
		       "chunks", "read", "inserted", "existing", "merged", "rejected", "flagged", "dead", "rows/s", "eta");
	}
	for (int i = 0; i < MDW_NPHASES; i++) {
		const struct phase_stat *s = &ps[i];
		double frac = s->source_rows > 0 ? (double)s->read / (double)s->source_rows : (s->state == PS_COMPLETE);
		char b[24], chunks[32], e[32];
		const char *state = s->state == PS_NONE && s->rolled_back ? "rolled back" : state_names[s->state];

		eta(e, sizeof e, s->source_rows - s->read, s->rate);
		if (cfg->json) {
			json_t *o = json_object();
			json_object_set_new(o, "phase", json_string(mdw_phases[i].name));
			json_object_set_new(o, "state", json_string(state));
			json_object_set_new(o, "progress", json_real(frac));
			json_object_set_new(o, "chunks", json_integer(s->total));
			json_object_set_new(o, "chunks_done", json_integer(s->done));
			json_object_set_new(o, "chunks_dead", json_integer(s->dead));
			json_object_set_new(o, "source_rows", json_integer(s->source_rows));
			json_object_set_new(o, "read", json_integer(s->read));
			json_object_set_new(o, "inserted", json_integer(s->inserted));
			json_object_set_new(o, "existing", json_integer(s->existing));
			json_object_set_new(o, "merged", json_integer(s->merged));
			json_object_set_new(o, "rejected", json_integer(s->rejected));
			json_object_set_new(o, "flagged", json_integer(s->flagged));
			json_object_set_new(o, "rows_per_second", json_real(s->rate));
			json_object_set_new(o, "eta_seconds",
					    s->rate > 0 && s->source_rows > s->read
						    ? json_integer((long long)((s->source_rows - s->read) / s->rate))
						    : json_null());
			json_object_set_new(o, "queue_length", have_redis ? json_integer(q[i].length) : json_null());
			json_object_set_new(o, "queue_pending", have_redis ? json_integer(q[i].pending) : json_null());
			json_array_append_new(arr, o);
			continue;
		}
		bar(b, frac, 20);
		snprintf(chunks, sizeof chunks, "%lld/%lld", s->done, s->total);
		printf("%-19s %-11s [%s] %11s %8lld %8lld %8lld %7lld %8lld %7lld %5lld %8.0f %10s\n",
		       mdw_phases[i].name, state, b, chunks, s->read, s->inserted, s->existing, s->merged, s->rejected,
		       s->flagged, s->dead, s->rate, e);
	}
	if (cfg->json) {
		json_t *w = json_array();
		json_object_set_new(root, "phases", arr);
		for (size_t k = 0; workers && workers->type == REDIS_REPLY_ARRAY && k + 1 < workers->elements; k += 2) {
			json_t *o = json_object();
			const char *v = workers->element[k + 1]->str, *sp = strchr(v, ' ');
			json_object_set_new(o, "id", json_string(workers->element[k]->str));
			json_object_set_new(o, "seen_seconds_ago", json_real(now - strtod(v, NULL) / 1000.0));
			json_object_set_new(o, "chunk", json_string(sp ? sp + 1 : ""));
			json_array_append_new(w, o);
		}
		json_object_set_new(root, "workers", w);
		json_dumpf(root, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("\n");
		json_decref(root);
	} else if (have_redis) {
		printf("\nqueues:");
		for (int i = 0; i < MDW_NPHASES; i++)
			if (q[i].length || q[i].pending)
				printf(" %s %lld queued/%lld pending;", mdw_phases[i].name, q[i].length - q[i].pending,
				       q[i].pending);
		printf("\nworkers:\n");
		for (size_t k = 0; workers && workers->type == REDIS_REPLY_ARRAY && k + 1 < workers->elements; k += 2) {
			const char *v = workers->element[k + 1]->str, *sp = strchr(v, ' ');
			printf("  %-24s %-24s seen %.0f s ago\n", workers->element[k]->str, sp ? sp + 1 : "?",
			       now - strtod(v, NULL) / 1000.0);
		}
	}
	freeReplyObject(workers);
	fflush(stdout);
	return 0;
}

static volatile sig_atomic_t status_stop;

static void on_int(int sig)
{
	(void)sig;
	status_stop = 1;
}

int ctl_status(struct mdw_config *cfg, int argc, char **argv)
{
	struct rds r;
	char err[512];
	PGconn *c;
	int have_redis, rc, tty = isatty(1);

	(void)argc, (void)argv;
	if (!(c = ctl_target(cfg)))
		return 1;
	have_redis = rds_parse_url(&r, cfg->redis_url, err, sizeof err) == 0 && rds_connect(&r) == 0;
	signal(SIGINT, on_int);
	for (;;) {
		if (cfg->watch && tty && !cfg->json)
			printf("\033[H\033[J"); /* redraw in place */
		rc = show(cfg, c, &r, have_redis);
		if (!cfg->watch || rc != 0 || status_stop)
			break;
		if (!tty && !cfg->json)
			printf("\n");
		if (fflush(stdout) == EOF)
			break; /* the reader went away (SIGPIPE is ignored) */
		sleep(2);
		if (status_stop)
			break;
		if (PQstatus(c) != CONNECTION_OK)
			PQreset(c);
	}
	if (have_redis)
		rds_close(&r);
	PQfinish(c);
	return rc;
}

int ctl_report(struct mdw_config *cfg, int argc, char **argv)
{
	char err[512];
	PGconn *c, *src;
	int64_t run;
	int rc = 1;

	(void)argc, (void)argv;
	if (!(c = ctl_target(cfg)))
		return 1;
	/* the source rows now; without the legacy database the counts taken at planning */
	if (!(src = pgx_connect(cfg->source_dsn, "mdwctl", err, sizeof err)))
		fprintf(stderr, "mdwctl report: legacy database unreachable (%s): source counts as planned\n", err);
	if ((run = ctl_current_run(c, cfg->run_id))) {
		if (report_write(c, src, run, cfg->report_path, err, sizeof err) < 0)
			fprintf(stderr, "mdwctl report: %s\n", err);
		else {
			printf("wrote %s and its .json twin (run %" PRId64 ")\n", cfg->report_path, run);
			rc = 0;
		}
	}
	if (src)
		PQfinish(src);
	PQfinish(c);
	return rc;
}

/*
 * The success criteria (criteria.h), where the migration stands: informational
 * (they do not fail validation); -1 only when they cannot be measured.
 */
static int print_criteria(PGconn *c, const struct mdw_config *cfg, int phase)
{
	char err[512];
	json_t *a = criteria_eval(c, phase, err, sizeof err);

	if (!a) {
		fprintf(stderr, "mdwctl validate: success criteria: %s\n", err);
		return -1;
	}
	if (cfg->json) {
		char *s = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf(", \"successCriteria\": %s", s ? s : "[]");
		free(s);
	} else if (json_array_size(a)) {
		printf("\nsuccess criteria (every run):\n");
		criteria_print(a, stdout, 0);
	}
	json_decref(a);
	return 0;
}

int ctl_validate(struct mdw_config *cfg, int argc, char **argv)
{
	struct phase_stat ps[MDW_NPHASES];
	char err[512];
	PGconn *c;
	int64_t run;
	int bad = 0, n = 0;
	const struct mdw_phase *only = NULL;

	(void)argc, (void)argv;
	if (cfg->phase[0] && !(only = mdw_phase_find(cfg->phase))) {
		fprintf(stderr, "mdwctl validate: unknown phase \"%s\"\n", cfg->phase);
		return 2;
	}
	if (!(c = ctl_target(cfg)))
		return 1;
	if (!(run = ctl_current_run(c, cfg->run_id)) || coord_load_stats(c, run, ps, err, sizeof err) < 0) {
		PQfinish(c);
		return 1;
	}
	if (cfg->json)
		printf("{\"run\": %" PRId64 ", \"phases\": [", run);
	for (int i = 0; i < MDW_NPHASES; i++) {
		char why[512];
		int v;
		if ((only && (int)only->id != i) || (!only && ps[i].state == PS_NONE))
			continue;
		v = coord_validate_phase(c, run, (enum mdw_phase_id)i, why, sizeof why);
		if (v != 1)
			bad++;
		if (cfg->json)
			printf("%s{\"phase\": \"%s\", \"valid\": %s, \"detail\": \"%s\"}", n ? ", " : "", mdw_phases[i].name,
			       v == 1 ? "true" : "false", why);
		else
			printf("%-19s %-5s %s\n", mdw_phases[i].name, v == 1 ? "ok" : "FAIL", why);
		n++;
	}
	if (cfg->json)
		printf("]");
	if (print_criteria(c, cfg, only ? (int)only->id : -1) < 0)
		bad++;
	if (cfg->json)
		printf("}\n");
	PQfinish(c);
	return bad ? 1 : 0;
}
